"""Configuration of :class:`hadeq.models.HybridDEQ`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hadeq.analog import HardwareConfig
from hadeq.config import check_choice, check_int, check_range
from hadeq.deq import DEQConfig
from hadeq.errors import ConfigError

TrainingMode = Literal["physics_aware", "standard"]
ProxyKind = Literal["clean", "frozen"]


def _hardware(value: Any, name: str) -> HardwareConfig:
    if isinstance(value, HardwareConfig):
        return value
    if isinstance(value, str):
        return HardwareConfig.preset(value)
    if isinstance(value, dict):
        return HardwareConfig.from_dict(value)
    raise ConfigError(name, value, "a HardwareConfig, a preset name or a mapping of its fields")


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

    def __post_init__(self) -> None:
        check_int("in_features", self.in_features, 1)
        check_int("out_features", self.out_features, 1)
        check_int("hidden", self.hidden, 1, 65_536)
        if self.stem_hidden is not None:
            check_int("stem_hidden", self.stem_hidden, 1, 65_536)
        if self.injection_bits is not None:
            check_int("injection_bits", self.injection_bits, 2, 16)
        check_choice("activation", self.activation, ("tanh", "hardtanh"))
        check_range("contraction_margin", self.contraction_margin, 0.0, 1.0, high_open=True)
        object.__setattr__(self, "hardware", _hardware(self.hardware, "hardware"))
        if not isinstance(self.deq, DEQConfig):
            raise ConfigError("deq", self.deq, "a DEQConfig or a mapping of its fields")
        check_choice("mode", self.mode, ("physics_aware", "standard"))
        check_choice("proxy", self.proxy, ("clean", "frozen"))
