"""Digital DEQs at the precision a digital accelerator runs them: fp32, fp16 or int8.

The fair digital baseline is charged at the cheapest precision whose task quality holds,
so that quality has to be measured *at* that precision. :func:`at_precision` gives a copy
of a trained digital DEQ that computes as a post-training-quantized accelerator does:

* **weights** of every digital layer and of the core: ``fp16`` — rounded to half
  precision; ``int8`` — symmetric per-output-channel quantization,
  ``ŵ = s·round(w / s)``, ``s = max|w_row| / 127`` (the standard PTQ of weights);
* **activations** entering every linear/conv layer of the stem and head: ``fp16`` —
  rounded to half; ``int8`` — dynamic symmetric quantization with one scale per sample,
  ``s = max|x| / 127``;
* **the loop state** ``z`` after every evaluation of the map: ``fp16`` — rounded to half;
  ``int8`` — ``round(127·z)/127``: σ's output lies in the fixed range [−1, 1], so the
  state has a fixed scale and the solve itself runs on int8 values.

Accumulation stays exact (int32 for int8 products, fp32 for fp16), as on accelerators;
biases stay in the accumulator's precision. The solver's own arithmetic (Anderson's and
Broyden's mixing) is simulated in fp32.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Literal

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from hadeq.analog import AnalogMVM
from hadeq.analog.quant import quantize_ste
from hadeq.errors import ConfigError

if TYPE_CHECKING:
    from hadeq.models.core import AnalogCoreDEQ

DigitalPrecision = Literal["fp32", "fp16", "int8"]
DIGITAL_PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")
"""Precisions a digital DEQ can be run at, most to least precise."""

INT8_LEVELS = 127
"""Largest magnitude of a symmetric int8 code."""


def fake_quantize(x: Tensor, bits: int) -> Tensor:
    """Symmetric ``bits``-bit quantization of each sample with its own max-abs range over
    all its values (straight-through gradient)."""
    flat = x.reshape(x.shape[0], -1)
    scale = flat.detach().abs().amax(dim=1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
    return (quantize_ste(flat / scale, bits) * scale).reshape(x.shape)


def round_activation(x: Tensor, precision: str) -> Tensor:
    """An activation as a ``precision`` accelerator holds it (see the module docstring)."""
    if precision == "fp16":
        return x.to(torch.float16).to(x.dtype)
    if precision == "int8":
        return fake_quantize(x, 8)
    return x


def round_state(z: Tensor, precision: str) -> Tensor:
    """The loop state in ``precision``: int8 over σ's fixed range [−1, 1]."""
    if precision == "int8":
        return torch.round(z * INT8_LEVELS) / INT8_LEVELS
    return round_activation(z, precision)


class _RoundedWeight(nn.Module):
    """Parametrization: the weight as stored at ``precision`` (rows are output channels
    after flattening every dimension but the first, ``rows`` of them)."""

    def __init__(self, precision: str, rows: int) -> None:
        super().__init__()
        self.precision, self.rows = precision, rows

    def forward(self, w: Tensor) -> Tensor:
        if self.precision == "fp16":
            return w.to(torch.float16).to(w.dtype)
        flat = w.reshape(self.rows, -1)
        scale = flat.abs().amax(dim=1, keepdim=True).clamp_min(torch.finfo(w.dtype).tiny)
        step = scale / INT8_LEVELS
        return (torch.round(flat / step) * step).reshape(w.shape)


def _weight_rows(module: nn.Module) -> int:
    if isinstance(module, AnalogMVM):
        return module.mvm_out  # the rows of the matrix the layer computes with
    return int(module.weight.shape[0])  # type: ignore[union-attr,index]


def _round_inputs(precision: str):
    def hook(module: nn.Module, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        return (round_activation(inputs[0], precision), *inputs[1:])
    return hook


def apply_digital_precision(model: AnalogCoreDEQ, precision: str) -> None:
    """Make ``model`` (built in fp32) compute at ``precision`` from now on: rounded
    weights (a parametrization, so training and state dicts see the stored values),
    rounded activations into the stem's and head's layers, and a rounded loop state."""
    if precision not in DIGITAL_PRECISIONS:
        raise ConfigError("digital_precision", precision,
                          "one of " + ", ".join(DIGITAL_PRECISIONS))
    if precision == "fp32":
        return
    layers = [m for m in model.modules()
              if isinstance(m, nn.Linear | nn.Conv2d | AnalogMVM)]
    for layer in layers:
        parametrize.register_parametrization(
            layer, "weight", _RoundedWeight(precision, _weight_rows(layer)))
    for part in (model.stem, model.head):
        for layer in part.modules():
            if isinstance(layer, nn.Linear | nn.Conv2d):
                layer.register_forward_pre_hook(_round_inputs(precision))
    model.state_rounding = precision


def at_precision(model: AnalogCoreDEQ, precision: str) -> AnalogCoreDEQ:
    """A copy of the digital DEQ ``model`` (exact hardware, fp32) that computes at
    ``precision`` (post-training quantization, see the module docstring)."""
    if not model.hardware.is_exact:
        raise ConfigError("hardware", model.hardware.to_dict(),
                          "exact (the ideal preset): precision is a digital design choice")
    if model.config.digital_precision != "fp32":
        raise ConfigError("digital_precision", model.config.digital_precision,
                          "fp32: quantize a float model, not a quantized one")
    copied = model.clone()
    with torch.no_grad():
        copied.config = dataclasses.replace(copied.config, digital_precision=precision)
        apply_digital_precision(copied, precision)
    return copied
