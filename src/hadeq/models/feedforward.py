"""Feed-forward analog networks: the "analog neural network" baselines.

Every layer is an analog MVM with its own converters: the layer input passes through
DACs (``hardware.input_bits``, range ``input_range`` or per-vector max ``|x|``), the
crossbar computes ``W x`` with programmed, noisy conductances, and the outputs are read by
ADCs (``hardware.output_bits`` over ``±output_range·FS``) before the digital bias and
activation. So, unlike :class:`~hadeq.models.HybridDEQ` (one DAC pass in, one ADC read
out), an ``L``-layer network pays ``L`` DAC and ``L`` ADC passes per input vector.

* :class:`AnalogMLP` — ``x → [AnalogLinear → ReLU]* → AnalogLinear``;
* :class:`AnalogCNN` — ``[AnalogConv2d 3×3 → ReLU → max-pool 2]* → AnalogLinear → ReLU →
  AnalogLinear`` (every output pixel of a convolution is one MVM input vector).

Hardware-aware training is noise injection: in ``mode="hardware_aware"`` training runs
through the hardware model (quantized weights and converters with straight-through
gradients, fresh read noise at every read, the programmed static noise), exactly as
inference does; ``mode="standard"`` trains the float network (``ideal_forward`` of every
layer) and uses the hardware only in ``.eval()``. With the ``ideal`` preset both are the
float network (bit-identical to ``nn.Linear`` / ``nn.Conv2d``).

Both are :class:`~hadeq.models.interface.HadeqModel` s; in addition they have
``ideal_forward``, :meth:`AnalogFeedForward.layer_specs` (the workload for
:func:`hadeq.energy.analog_feedforward_energy`) and :meth:`AnalogFeedForward.energy_report`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hadeq.analog import AnalogConv2d, AnalogLinear, AnalogMVM, HardwareConfig, snr_db
from hadeq.energy import EnergyConfig, EnergyReport, LayerSpec, analog_feedforward_energy
from hadeq.errors import ConfigError
from hadeq.models.interface import HadeqModel, ModelOutput
from hadeq.validation import check_choice, check_int

FeedForwardMode = Literal["hardware_aware", "standard"]


def _check_widths(name: str, widths: Any, allow_empty: bool) -> tuple[int, ...]:
    if isinstance(widths, int) and not isinstance(widths, bool):
        widths = (widths,)
    if not isinstance(widths, list | tuple):
        raise ConfigError(name, widths, "a list of positive integers")
    if not widths and not allow_empty:
        raise ConfigError(name, widths, "at least one width is required")
    for w in widths:
        check_int(name, w, 1, 65_536)
    return tuple(widths)


# --------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class AnalogMLPConfig:
    """An MLP whose every layer is an :class:`~hadeq.analog.AnalogLinear` with DAC and ADC."""

    in_features: int
    """Size of a flattened input sample."""

    out_features: int
    """Size of the output (classes, or regression targets)."""

    hidden: tuple[int, ...] = (128, 96)
    """Widths of the hidden layers (each followed by a digital ReLU). The default gives
    21,674 parameters on digits (64 → 10), against 21,386 for a HybridDEQ with hidden 64
    and stem_hidden 128; 113,834 on 28×28 images (HybridDEQ: 113,546)."""

    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    """Hardware of every layer, converters included (a preset name or a mapping of fields
    is accepted too)."""

    mode: FeedForwardMode = "hardware_aware"
    """``hardware_aware``: train through the hardware model (noise injection, STE).
    ``standard``: train the float network; the hardware is used only in ``.eval()``."""

    def __post_init__(self) -> None:
        check_int("in_features", self.in_features, 1)
        check_int("out_features", self.out_features, 1)
        object.__setattr__(self, "hidden", _check_widths("hidden", self.hidden, True))
        object.__setattr__(self, "hardware", HardwareConfig.parse(self.hardware))
        check_choice("mode", self.mode, ("hardware_aware", "standard"))


@dataclass(frozen=True)
class AnalogCNNConfig:
    """A small CNN of :class:`~hadeq.analog.AnalogConv2d` (3×3, padding 1, each followed by
    a digital ReLU and 2×2 max-pool) and two :class:`~hadeq.analog.AnalogLinear` layers."""

    in_channels: int
    """Channels of an input image."""

    height: int
    """Input image height, pixels (≥ 2^len(channels) so every pool has input)."""

    width: int
    """Input image width, pixels (≥ 2^len(channels))."""

    out_features: int
    """Size of the output (classes)."""

    channels: tuple[int, ...] = (16, 32)
    """Output channels of the convolutions."""

    fc_hidden: int = 128
    """Width of the hidden fully connected layer. The defaults give 22,602 parameters on
    8×8 digits (HybridDEQ: 21,386); on 28×28 images use ``fc_hidden=64`` for 105,866
    (HybridDEQ: 113,546)."""

    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    """Hardware of every layer, converters included."""

    mode: FeedForwardMode = "hardware_aware"
    """As :attr:`AnalogMLPConfig.mode`."""

    def __post_init__(self) -> None:
        check_int("in_channels", self.in_channels, 1, 4096)
        object.__setattr__(self, "channels", _check_widths("channels", self.channels, False))
        min_size = 2 ** len(self.channels)
        check_int("height", self.height, min_size, 1 << 16)
        check_int("width", self.width, min_size, 1 << 16)
        check_int("out_features", self.out_features, 1)
        check_int("fc_hidden", self.fc_hidden, 1, 65_536)
        object.__setattr__(self, "hardware", HardwareConfig.parse(self.hardware))
        check_choice("mode", self.mode, ("hardware_aware", "standard"))

    @property
    def in_features(self) -> int:
        """Size of a flattened input sample."""
        return self.in_channels * self.height * self.width


# --------------------------------------------------------------------------- models
class AnalogFeedForward(HadeqModel):
    """Shared behaviour of the feed-forward analog baselines (see the module docstring)."""

    config: AnalogMLPConfig | AnalogCNNConfig
    layers: nn.ModuleList

    def reset_counters(self) -> None:
        for layer in self.analog_layers():
            layer.reset_counters()

    def _layer(self, layer: nn.Module, x: Tensor, hardware: bool) -> Tensor:
        return layer(x) if hardware else layer.ideal_forward(x)  # type: ignore[operator]

    def _run(self, x: Tensor, hardware: bool) -> ModelOutput:
        raise NotImplementedError

    def forward_with_info(self, x: Tensor) -> ModelOutput:
        """The output with every analog layer's output (after the bias, before the
        activation) in ``states``."""
        self._check_input(x)
        return self._run(x, self.uses_hardware())

    def ideal_forward(self, x: Tensor) -> Tensor:
        """The float network's output (no hardware, no converters; counts nothing)."""
        self._check_input(x)
        return self._run(x, False).output

    def _check_input(self, x: Tensor) -> None:
        n = self.config.in_features
        if x.dim() < 2 or x[0].numel() != n:
            raise ConfigError("x.shape", tuple(x.shape), f"(batch, ...) with {n} features "
                              "per sample")

    # --- metrics hooks --------------------------------------------------------------------
    def vectors_per_inference(self) -> list[int]:
        """Input vectors each analog layer processes per sample (output pixels for a
        convolution, 1 for a linear layer)."""
        raise NotImplementedError

    def layer_specs(self) -> tuple[LayerSpec, ...]:
        """One :class:`~hadeq.energy.LayerSpec` per analog MVM *shape* (crossbar
        ``mvm_in × mvm_out``); ``macs`` is the MACs of one MVM. See :meth:`energy_report`
        for how convolutions repeat them."""
        specs = []
        for i, layer in enumerate(self.analog_layers()):
            last = i == len(self.layers) - 1
            specs.append(LayerSpec(layer.mvm_in, layer.mvm_out, name=f"layer{i}",
                                   activation=not last))
        return tuple(specs)

    def energy_report(self, config: EnergyConfig | None = None) -> EnergyReport:
        """Energy and latency of one inference on analog tiles, DAC and ADC at every layer.

        Each layer's single-MVM cost is :func:`hadeq.energy.analog_feedforward_energy` of
        its :class:`LayerSpec`; a layer processing ``v`` vectors per sample (a convolution:
        one per output pixel) costs ``v`` times that, and — one tile reused serially —
        ``v`` times its latency. Counts (conversions, MACs, …) are summed likewise.
        Digital max-pooling is not charged (comparisons, negligible next to the MVMs).
        The tiles priced are this model's hardware's, so the conversions priced equal the
        layers' counters.
        """
        energy, latency, counts = None, 0.0, {}
        for spec, v in zip(self.layer_specs(), self.vectors_per_inference(), strict=True):
            rep = analog_feedforward_energy([spec], config, hardware=self.hardware)
            e = rep.energy.scaled(float(v))
            energy = e if energy is None else energy + e
            latency += v * rep.latency_ns
            for key, value in rep.counts.items():
                counts[key] = counts.get(key, 0.0) + v * value
        assert energy is not None
        counts["layers"] = float(len(self.layers))
        return EnergyReport(energy=energy, latency_ns=latency, kind="analog_feedforward",
                            counts=counts)

    @torch.no_grad()
    def output_snr_db(self, x: Tensor) -> float:
        """SNR (dB) of the hardware output against the float network's, on ``x``; leaves
        the counters unchanged."""
        saved = [layer.counters() for layer in self.analog_layers()]
        was_training = self.training
        self.eval()
        try:
            clean, noisy = self.ideal_forward(x), self.forward(x)
        finally:
            self.train(was_training)
            for layer, counts in zip(self.analog_layers(), saved, strict=True):
                for name, value in counts.items():
                    setattr(layer, name, value)
        return snr_db(clean, noisy)


class AnalogMLP(AnalogFeedForward):
    """``y = A_L ∘ ReLU ∘ … ∘ ReLU ∘ A_1 (x)`` with every ``A_k(h) = W_k h + b_k`` an
    :class:`~hadeq.analog.AnalogLinear` (DAC → crossbar → ADC, digital bias)."""

    def __init__(self, config: AnalogMLPConfig, *, seed: int = 0) -> None:
        super().__init__()
        if not isinstance(config, AnalogMLPConfig):
            raise ConfigError("config", type(config).__name__, "an AnalogMLPConfig")
        self.config = config
        widths = (config.in_features, *config.hidden, config.out_features)
        torch_gen_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        try:
            self.layers = nn.ModuleList(
                AnalogLinear(a, b, True, config.hardware, seed=seed + i)
                for i, (a, b) in enumerate(itertools.pairwise(widths))
            )
        finally:
            torch.random.set_rng_state(torch_gen_state)

    def _run(self, x: Tensor, hardware: bool) -> ModelOutput:
        h = x.reshape(x.shape[0], -1)
        acts = []
        for i, layer in enumerate(self.layers):
            h = self._layer(layer, h, hardware)
            acts.append(h)
            if i < len(self.layers) - 1:
                h = F.relu(h)
        return ModelOutput(h, states=tuple(acts))

    def vectors_per_inference(self) -> list[int]:
        return [1] * len(self.layers)


class AnalogCNN(AnalogFeedForward):
    """``[AnalogConv2d(3×3, pad 1) → ReLU → MaxPool 2]* → flatten → AnalogLinear → ReLU →
    AnalogLinear``; ReLU and pooling are digital, between the ADC of one layer and the DAC
    of the next."""

    def __init__(self, config: AnalogCNNConfig, *, seed: int = 0) -> None:
        super().__init__()
        if not isinstance(config, AnalogCNNConfig):
            raise ConfigError("config", type(config).__name__, "an AnalogCNNConfig")
        self.config = config
        c = config
        torch_gen_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        try:
            layers: list[AnalogMVM] = []
            chans = (c.in_channels, *c.channels)
            for i, (a, b) in enumerate(itertools.pairwise(chans)):
                layers.append(AnalogConv2d(a, b, 3, padding=1, hardware=c.hardware,
                                           seed=seed + i))
            flat = c.channels[-1] * self._pooled(c.height) * self._pooled(c.width)
            k = len(layers)
            layers.append(AnalogLinear(flat, c.fc_hidden, True, c.hardware, seed=seed + k))
            layers.append(AnalogLinear(c.fc_hidden, c.out_features, True, c.hardware,
                                       seed=seed + k + 1))
            self.layers = nn.ModuleList(layers)
        finally:
            torch.random.set_rng_state(torch_gen_state)

    def _pooled(self, size: int) -> int:
        for _ in self.config.channels:
            size //= 2
        return size

    def _run(self, x: Tensor, hardware: bool) -> ModelOutput:
        c = self.config
        h = x.reshape(x.shape[0], c.in_channels, c.height, c.width)
        acts = []
        n_conv = len(c.channels)
        for i, layer in enumerate(self.layers):
            if i == n_conv:
                h = h.flatten(1)
            h = self._layer(layer, h, hardware)
            acts.append(h)
            if i < n_conv:
                h = F.max_pool2d(F.relu(h), 2)
            elif i < len(self.layers) - 1:
                h = F.relu(h)
        return ModelOutput(h, states=tuple(acts))

    def vectors_per_inference(self) -> list[int]:
        c = self.config
        h, w, out = c.height, c.width, []
        for _ in c.channels:
            out.append(h * w)  # 3×3 conv with padding 1 keeps the size
            h, w = h // 2, w // 2
        return [*out, 1, 1]
