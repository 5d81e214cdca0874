"""The read chain around a crossbar: DAC, output amplifiers, read noise, ADC.

Every analog read of a :class:`~hadeq.analog.layer.AnalogMVM` or an
:class:`~hadeq.analog.spectral.AnalogSpectralMix` goes through these stages, in units of
the tile full scale FS:

1. **DAC** — the input range ``x_range`` is ``input_range`` (a fixed DAC range; inputs
   beyond it are clipped) or, without one, the per-vector ``max |x|`` (a dynamic range,
   which never clips): ``x̂ = clip(x / x_range, −1, 1)``, rounded to
   ``n_levels(input_bits)`` levels when ``input_bits`` is set (:func:`dac_range`).
2. **Output amplifiers** — ``v ← (1 + γ)·v + o`` with the static gain and offset errors
   of every tile output (:func:`amplifier_errors`).
3. **Read noise** — ``v ← v + read_noise·ξ``, ``ξ ~ N(0, 1)`` drawn fresh at every read
   (:func:`standard_normal`).
4. **ADC** — clip to ``±output_range`` and, with ``output_bits``, round to
   ``n_levels(output_bits)`` levels on that range.

The DAC and ADC come in two arithmetic forms of the same levels:

- **FS units with a straight-through gradient** (:func:`dac`, :func:`adc`, built on
  :func:`~hadeq.analog.quant.quantize_ste`): ordinary autograd ops, used by
  :class:`~hadeq.analog.spectral.AnalogSpectralMix`;
- **level units** (:func:`dac_levels`, :func:`adc_levels`, built on
  :func:`~hadeq.analog.quant.round_levels`): the converter input is scaled so that the
  levels are the integers of ``[−H, H]`` and rounding is one ``round_``; no gradient.
  Used inside the forward of the fused :class:`~hadeq.analog.mvm.TiledMVM`, which folds
  the scale factors into its matmul and writes the STE backward by hand.

The two forms round to the same level except for a value exactly half-way between two
levels (see :func:`~hadeq.analog.quant.round_levels`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor

from hadeq.analog import fused
from hadeq.analog.config import HardwareConfig
from hadeq.analog.quant import abs_max, half_range, quantize_ste, round_levels


# --- DAC ----------------------------------------------------------------------------------
def dac_range(x: Tensor, hw: HardwareConfig) -> Tensor | float:
    """``x_range`` in layer units: ``input_range``, or the ``max |x|`` of every input vector
    (the last dimension, kept; at least the dtype's smallest normal, no gradient)."""
    if hw.input_range is not None:
        return hw.input_range
    return abs_max(x.detach(), -1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)


def dac(x: Tensor, hw: HardwareConfig) -> tuple[Tensor, Tensor]:
    """``(x̂, x_range)``: the DAC output in FS units (differentiable: identity inside the
    range, 0 where a fixed range clips) and ``x_range`` as a tensor broadcastable to ``x``,
    so that ``x ≈ x_range·x̂``."""
    x_range = dac_range(x, hw)
    if isinstance(x_range, Tensor):
        x_hat = x / x_range  # |x̂| ≤ 1 exactly: nothing to clip
    else:
        x_hat = x * (1.0 / x_range)
        if hw.input_bits is None:
            x_hat = x_hat.clamp(-1.0, 1.0)
        x_range = torch.as_tensor(x_range, dtype=x.dtype, device=x.device)
    if hw.input_bits is not None:
        x_hat = quantize_ste(x_hat, hw.input_bits)
    return x_hat, x_range


@functools.cache
def _dac_constants(bits: int, dtype: torch.dtype) -> tuple[float, np.ndarray, np.ndarray]:
    """``(H, [H], [tiny])`` of a ``bits``-bit DAC for :func:`hadeq.analog.fused.dac_dynamic`
    (the constants as one-element arrays of ``dtype``)."""
    h_in = half_range(bits)
    return h_in, fused.const(h_in, dtype), fused.const(torch.finfo(dtype).tiny, dtype)


def dac_levels(x: Tensor, hw: HardwareConfig) -> tuple[Tensor, Tensor | float, float]:
    """``(k, x_range, fs)`` with the DAC output ``x̂ = fs·k`` in FS units; with
    ``input_bits`` ``k`` holds the integer levels of :func:`round_levels`. No gradient."""
    if (hw.input_range is None and hw.input_bits is not None and hw.input_bits > 1
            and fused.applies(x) and x.dim() == 2):  # integer levels: two bits or more
        h_in, h_arr, tiny = _dac_constants(hw.input_bits, x.dtype)
        data = x.detach().contiguous().numpy()
        k, x_range = fused.dac_dynamic(data, h_arr, tiny)
        return torch.from_numpy(k), torch.from_numpy(x_range), 1.0 / h_in
    x_range = dac_range(x, hw)
    if isinstance(x_range, Tensor):
        k = x / x_range  # |k| ≤ 1 exactly: nothing to clip
        if hw.input_bits is None:
            return k, x_range, 1.0
        h_in = half_range(hw.input_bits)
        return round_levels(k.mul_(h_in), hw.input_bits, inplace=True), x_range, 1.0 / h_in
    if hw.input_bits is None:
        return x.clamp(-x_range, x_range), x_range, 1.0 / x_range
    h_in = half_range(hw.input_bits)
    k = round_levels(x * (h_in / x_range), hw.input_bits, inplace=True)
    return k, x_range, 1.0 / h_in


# --- output amplifiers and read noise -----------------------------------------------------
def amplifier_errors(xi: Tensor, hw: HardwareConfig, dtype: torch.dtype
                     ) -> tuple[Tensor | None, Tensor | None]:
    """``(1 + γ, o)`` of the tile outputs from the standard normals ``xi`` drawn by
    ``program`` (shape ``(2, …)``; ``(0, …)`` when there is no mismatch): the gain
    ``γ = gain_mismatch·xi[0]`` and the offset ``o = offset_mismatch·xi[1]`` in FS units,
    each None when that mismatch is off."""
    if xi.shape[0] == 0:
        return None, None
    amp = xi.to(dtype)
    gain = 1.0 + hw.gain_mismatch * amp[0] if hw.gain_mismatch > 0 else None
    offset = hw.offset_mismatch * amp[1] if hw.offset_mismatch > 0 else None
    return gain, offset


def standard_normal(shape: tuple[int, ...] | torch.Size, like: Tensor,
                    generator: torch.Generator | None) -> Tensor:
    """``ξ ~ N(0, 1)`` of ``shape`` with the dtype and device of ``like``: the fresh read
    noise, ``read_noise·ξ`` in FS units. On CPU (float32/float64) drawn by
    :func:`hadeq.analog.fused.normals` from one 62-bit seed that ``generator`` draws
    (cheaper than ``torch.randn``'s CPU normals); elsewhere ``torch.randn``."""
    if not fused.applies(like):
        return torch.randn(shape, generator=generator, dtype=like.dtype, device=like.device)
    seed = int(torch.randint(1 << 62, (1,), generator=generator))
    return torch.from_numpy(fused.normals(math.prod(shape), seed, fused.empty(like.dtype))
                            ).view(shape)


def add_read_noise(v: Tensor, hw: HardwareConfig, generator: torch.Generator | None
                   ) -> Tensor:
    """``v + read_noise·ξ`` for tile outputs ``v`` in FS units."""
    if hw.read_noise == 0.0:
        return v
    return v + hw.read_noise * standard_normal(v.shape, v, generator)


# --- ADC ----------------------------------------------------------------------------------
def adc(v: Tensor, hw: HardwareConfig) -> Tensor:
    """The ADC output in FS units for tile outputs ``v`` in FS units (differentiable:
    identity inside ``±output_range``, 0 outside)."""
    if hw.output_bits is None:
        return adc_levels(v, hw)  # without bits ADC units are FS units: a clip (or nothing)
    return quantize_ste(v * (1.0 / hw.output_range), hw.output_bits) * hw.output_range


def adc_units(hw: HardwareConfig) -> tuple[float, float]:
    """``(a, lsb)``: ADC units are FS units times ``a`` (its levels at the integers with
    ``output_bits``; ``a = 1`` otherwise), and ``lsb`` takes them back to FS units (the
    level spacing ``output_range/H``; 1 without ``output_bits``). The clip bound is
    ``a·output_range``."""
    if hw.output_bits is None:
        return 1.0, 1.0
    h_out = half_range(hw.output_bits)
    return h_out / hw.output_range, hw.output_range / h_out


def adc_levels(u: Tensor, hw: HardwareConfig) -> Tensor:
    """The ADC on tile outputs ``u`` in ADC units (:func:`adc_units`): the integer levels
    with ``output_bits`` (no gradient), else ``u`` clipped to ``±output_range`` (or ``u``
    itself without a range)."""
    if hw.output_bits is not None:
        return round_levels(u, hw.output_bits)
    if hw.output_range is not None:
        return u.clamp(-hw.output_range, hw.output_range)
    return u
