"""Configurations of the hybrid DEQs: :class:`HybridDEQConfig` (dense core) and
:class:`ConvHybridDEQConfig` (convolutional core)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hadeq.analog import HardwareConfig
from hadeq.deq import DEQConfig
from hadeq.errors import ConfigError
from hadeq.validation import check_choice, check_int, check_range

TrainingMode = Literal["physics_aware", "standard"]
ProxyKind = Literal["clean", "frozen"]

RELAXATION = "analog_relaxation"


CIRCUIT_OPTIONS = ("tau_ns", "read_noise")
"""Options of ``analog_relaxation`` that are properties of the circuit: a model's loop
takes them from its ``hardware``, never from solver options."""


def check_loop_solvers(deq: DEQConfig, field: str = "deq") -> None:
    """Refuse a time constant or read noise given to the ``analog_relaxation`` solver
    directly: they are ``hardware.tau_ns`` and ``hardware.read_noise``."""
    for name, solver, options in (("solver_options", deq.solver, deq.solver_options),
                                  ("eval_options", deq.eval_solver or deq.solver,
                                   deq.eval_solver_options)):
        for key in CIRCUIT_OPTIONS:
            if solver == RELAXATION and key in options:
                raise ConfigError(f"{field}.{name}.{key}", options[key], "not an option "
                                  f"here: the loop's {key} is hardware.{key}")


def check_loop_fields(config: HybridDEQConfig | ConvHybridDEQConfig) -> None:
    """Validate the fields every hybrid DEQ config shares (the injection, the loop, its
    hardware and solvers, the training mode) and parse its ``hardware``."""
    if config.injection_bits is not None:
        check_int("injection_bits", config.injection_bits, 2, 16)
    if config.injection_rms is not None:
        check_range("injection_rms", config.injection_rms, 0.0, 100.0, low_open=True)
    check_choice("activation", config.activation, ("tanh", "hardtanh"))
    check_range("contraction_margin", config.contraction_margin, 0.0, 1.0, high_open=True)
    object.__setattr__(config, "hardware", HardwareConfig.parse(config.hardware))
    if not isinstance(config.deq, DEQConfig):
        raise ConfigError("deq", config.deq, "a DEQConfig or a mapping of its fields")
    check_loop_solvers(config.deq)
    check_choice("mode", config.mode, ("physics_aware", "standard"))
    check_choice("proxy", config.proxy, ("clean", "frozen"))
    check_choice("digital_precision", config.digital_precision, ("fp32", "fp16", "int8"))
    if not isinstance(config.feedback, bool):
        raise ConfigError("feedback", config.feedback, "true or false")
    if config.physical_training_tau is not None:
        check_range("physical_training_tau", config.physical_training_tau, 0.0, 10_000.0,
                    low_open=True)
    if config.digital_precision != "fp32" and not config.hardware.is_exact:
        raise ConfigError("digital_precision", config.digital_precision, "fp32 unless the "
                          "hardware is exact (a digital DEQ): precision is a digital design "
                          "choice")


@dataclass(frozen=True)
class HybridDEQConfig:
    """A digital stem, an analog DEQ core and a digital head (see :class:`HybridDEQ`)."""

    in_features: int
    """Size of a flattened input sample."""

    out_features: int
    """Size of the output (classes, or regression targets)."""

    hidden: int = 64
    """n, the number of neurons of the analog core (its crossbar is n × n)."""

    stem_hidden: int | None = 128
    """Width of the digital stem's hidden layer; None: a single linear layer."""

    injection_bits: int | None = 8
    """Fake quantization of the digital injection ``u`` (int8-style, dynamic per-sample
    range) before the DACs; None keeps it in float."""

    injection_rms: float | None = 0.5
    """A digital gain that scales every sample's injection ``u`` to this root mean square
    over its values before the quantization and the DACs, so that the amplifiers work in
    their linear region (σ′ near 1, where the loop's feedback and noise carry through)
    whatever scale the stem learns; None leaves ``u`` as the stem outputs it (units then
    tend to saturate and the core to act feed-forward)."""

    activation: Literal["tanh", "hardtanh"] = "tanh"
    """The amplifier's saturating nonlinearity σ (both are 1-Lipschitz, range [−1, 1])."""

    contraction_margin: float = 0.1
    """After every optimizer step the feedback weight is projected onto
    ``‖W‖₂ ≤ 1 − margin`` (so the loop is a contraction); 0 disables the projection."""

    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    """Hardware of the core crossbar and its converters. Inside the loop there is no DAC
    or ADC: the core computes with quantized, programmed conductances plus read noise;
    ``input_bits`` quantizes the injection once and ``output_bits`` the single ADC read
    of ``z*``. A preset name or a mapping of fields is accepted too."""

    deq: DEQConfig = field(default_factory=DEQConfig)
    """Solvers and backward mode of the fixed point (``analog_relaxation`` simulates the
    settling physics; it then takes its read noise from ``hardware``)."""

    mode: TrainingMode = "physics_aware"
    """``physics_aware``: training solves through the hardware model (quantized weights
    with a straight-through estimator, fresh read noise at every iteration) and
    differentiates the proxy at that ``z*``. ``standard``: training solves the ideal
    float map; the hardware is used only at evaluation."""

    proxy: ProxyKind = "clean"
    """Map differentiated by the implicit backward pass in ``physics_aware`` mode:
    ``clean`` (float weights, no noise) or ``frozen`` (the programmed, quantized
    effective weights without read noise: the frozen noise sample)."""

    digital_precision: Literal["fp32", "fp16", "int8"] = "fp32"
    """Arithmetic of a digital DEQ (exact hardware only): ``fp16`` or ``int8`` round the
    weights, the activations entering every digital layer and the loop state after every
    iteration, as a post-training-quantized accelerator computes (see
    :mod:`hadeq.models.precision`); ``fp32`` computes in float."""

    feedback: bool = True
    """False: a feed-forward control — the loop layers' weights are held at zero (not
    trained), so ``z = σ(u + b)``: the same stem, injection and head without the
    equilibrium, to measure what the equilibrium adds."""

    physical_training_tau: float | None = None
    """``physics_aware`` training with the physical loop: the forward solve simulates
    the circuit (:mod:`hadeq.analog.loop`, read and amplifier noise included) from
    ``a = 0`` for this many time constants τ and the implicit backward differentiates
    the proxy at the sampled state; None: the configured solver on the noisy map (the
    cheaper proxy)."""

    def __post_init__(self) -> None:
        check_int("in_features", self.in_features, 1)
        check_int("out_features", self.out_features, 1)
        check_int("hidden", self.hidden, 1, 65_536)
        if self.stem_hidden is not None:
            check_int("stem_hidden", self.stem_hidden, 1, 65_536)
        check_loop_fields(self)


HeadKind = Literal["field", "classes"]
NormBound = Literal["fft", "taps"]


@dataclass(frozen=True)
class ConvHybridDEQConfig:
    """A digital conv stem, an analog convolutional DEQ core and a digital head
    (see :class:`hadeq.models.ConvHybridDEQ`)."""

    in_channels: int
    """Channels of an input sample ``(in_channels, H, W)``."""

    out_features: int
    """``field`` head: output channels (per pixel); ``classes`` head: number of classes."""

    channels: int = 16
    """C, the channels of the analog core (its kernel is a ``C × C·k²`` crossbar matrix)."""

    kernel_size: int = 3
    """Odd side k of the core's square kernel; zero padding ``k // 2`` keeps H × W."""

    spectral_modes: int = 0
    """``m > 0`` adds a global path to the core: the field's ``m × m`` lowest sine modes,
    each mixed across channels by its own learned ``C × C`` crossbar
    (:class:`~hadeq.analog.spectral.AnalogSpectralMix`, an FNO layer in the sine basis).
    A local kernel needs about as many iterations as the grid is wide to carry
    information across it; elliptic PDEs (Darcy flow) need that. 0: local kernel only."""

    stem_hidden: int | None = 16
    """Channels of the digital stem's hidden 3×3 conv layer; None: a single 3×3 conv."""

    coordinates: bool = False
    """Append the normalised x and y coordinates of each pixel as two extra input
    channels (as FNO appends its grid), so a translation-invariant stem can tell where a
    pixel lies relative to the boundary."""

    head: HeadKind = "field"
    """``field``: a per-pixel (1×1 conv) head, output ``(B, out_features, H, W)``;
    ``classes``: average pooling to ``pool_size²`` cells, then a linear layer,
    output ``(B, out_features)``."""

    head_hidden: int | None = None
    """Width of one hidden ReLU layer of the head (1×1 conv for ``field``, linear for
    ``classes``); None: a single layer."""

    pool_size: int = 1
    """``classes`` head: side of the adaptive average-pooling grid (1 = global pooling)."""

    injection_bits: int | None = 8
    """Fake quantization of the injection ``u`` (int8-style, one dynamic range per
    sample over all its channels and pixels) before the DACs; None keeps it in float."""

    injection_rms: float | None = None
    """As :attr:`HybridDEQConfig.injection_rms`, over each sample's channels and pixels;
    None (the default) leaves ``u`` as the stem outputs it. Off by default for fields:
    on the quick suite's Darcy task the units already work in their linear region
    without it (mean σ′ ≈ 0.66–0.79), and with 0.5 physics-aware training lost accuracy
    (relative L2 0.167 and 0.141 against 0.110 and 0.114 on two seeds)."""

    activation: Literal["tanh", "hardtanh"] = "tanh"
    """The amplifier's saturating nonlinearity σ (both are 1-Lipschitz, range [−1, 1])."""

    contraction_margin: float = 0.1
    """After every optimizer step the core kernel is rescaled so that an upper bound of
    its operator norm is ≤ ``1 − margin`` (so the loop is a contraction on every grid up
    to ``contraction_grid``); 0 disables the projection."""

    norm_bound: NormBound = "fft"
    """Upper bound of the conv operator's spectral norm used by the projection:
    ``fft`` — the exact norm of the circular convolution on an ``M × M`` torus,
    ``M = contraction_grid + k − 1``, i.e. ``max_ω ‖K̂(ω)‖₂`` over its frequencies (the
    zero-padded conv on any H, W ≤ ``contraction_grid`` is a compression of it, so this
    bounds it; tight up to boundary effects); ``taps`` — ``Σ_taps ‖K_tap‖₂`` (the
    triangle inequality over the k² shifts; grid-independent, looser, cheaper)."""

    contraction_grid: int = 64
    """Largest input height/width the ``fft`` bound covers; larger inputs are refused
    while the projection is on (raise this instead)."""

    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    """Hardware of the core crossbar and its converters, with the semantics of
    :attr:`HybridDEQConfig.hardware`: inside the loop there is no DAC or ADC;
    ``input_bits`` quantizes the injection once and ``output_bits`` the single ADC read
    of ``z*``. A preset name or a mapping of fields is accepted too."""

    deq: DEQConfig = field(default_factory=DEQConfig)
    """Solvers and backward mode of the fixed point."""

    mode: TrainingMode = "physics_aware"
    """As :attr:`HybridDEQConfig.mode`: ``physics_aware`` solves through the hardware
    model while training and differentiates the proxy at that ``z*``; ``standard`` trains
    on the ideal float map."""

    proxy: ProxyKind = "clean"
    """As :attr:`HybridDEQConfig.proxy`: ``clean`` float kernel or ``frozen`` programmed
    effective kernel (no read noise) in the implicit backward pass."""

    digital_precision: Literal["fp32", "fp16", "int8"] = "fp32"
    """Arithmetic of a digital DEQ (exact hardware only): ``fp16`` or ``int8`` round the
    weights, the activations entering every digital layer and the loop state after every
    iteration, as a post-training-quantized accelerator computes (see
    :mod:`hadeq.models.precision`); ``fp32`` computes in float."""

    feedback: bool = True
    """False: a feed-forward control — the loop layers' weights are held at zero (not
    trained), so ``z = σ(u + b)``: the same stem, injection and head without the
    equilibrium, to measure what the equilibrium adds."""

    physical_training_tau: float | None = None
    """``physics_aware`` training with the physical loop: the forward solve simulates
    the circuit (:mod:`hadeq.analog.loop`, read and amplifier noise included) from
    ``a = 0`` for this many time constants τ and the implicit backward differentiates
    the proxy at the sampled state; None: the configured solver on the noisy map (the
    cheaper proxy)."""

    def __post_init__(self) -> None:
        check_int("in_channels", self.in_channels, 1, 65_536)
        check_int("out_features", self.out_features, 1, 65_536)
        check_int("channels", self.channels, 1, 65_536)
        check_int("kernel_size", self.kernel_size, 1, 15)
        check_int("spectral_modes", self.spectral_modes, 0, 4096)
        if self.kernel_size % 2 == 0:
            raise ConfigError("kernel_size", self.kernel_size, "an odd size (1, 3, 5, ...)")
        if self.stem_hidden is not None:
            check_int("stem_hidden", self.stem_hidden, 1, 65_536)
        check_choice("head", self.head, ("field", "classes"))
        check_choice("coordinates", self.coordinates, (True, False))
        if self.head_hidden is not None:
            check_int("head_hidden", self.head_hidden, 1, 65_536)
        check_int("pool_size", self.pool_size, 1, 1024)
        check_choice("norm_bound", self.norm_bound, ("fft", "taps"))
        check_int("contraction_grid", self.contraction_grid, 1, 4096)
        check_loop_fields(self)
