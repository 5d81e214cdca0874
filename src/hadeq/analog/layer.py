"""The analog layer base class, :class:`AnalogMVM`: the crossbar matrix-vector multiply
shared by every analog layer.

:class:`AnalogMVM` holds a layer's hardware config, its frozen static non-idealities
(sampled by :meth:`AnalogMVM.program`) and the operation counters, and computes
``y = W x`` for a batch of input vectors through the hardware model:

1. **DAC** — ``x̂ = clip(x / x_range, −1, 1)``, rounded to ``2^b − 1`` levels (STE).
2. **Conductances** — ``ŵ = W / w_scale`` (rounded to ``2^b − 1`` levels, STE), mapped
   to a differential pair ``G± = g_min + (g_max − g_min)·max(±ŵ, 0)``, then the device
   model (programming noise, PCM drift + 1/f noise + drift compensation) and IR drop.
3. **Analog summation per tile** — ``ŷ = x̂ᵀ ŵ_eff`` per tile, then per output amplifier
   gain and offset mismatch ``ŷ ← (1 + γ)·ŷ + o`` and fresh read noise ``N(0, read_noise²)``
   (all in units of the tile full scale FS).
4. **ADC** — clip to ``±output_range`` and round to ``2^b − 1`` levels (STE); the partial
   sums of the row tiles are added digitally and scaled back by ``x_range · w_scale``.

Training vs inference. The physics is the same in ``.train()`` and ``.eval()``: every
forward goes through the hardware model with the frozen static non-idealities and fresh
read noise; gradients pass straight through the quantizers and clipping gradients are
zero outside the ranges (as ``torch.clamp``). Static non-idealities are stored as
standard-normal draws, so they stay frozen while the weights train and the effective
weights remain differentiable. Whenever no gradient is needed (``torch.no_grad()`` or a
weight without ``requires_grad``) the effective weights are cached until the weights
change or the layer is re-programmed, so repeated reads — e.g. the iterations of a
fixed-point solve — cost one pass through the converters and matmuls each. When a
gradient is needed the device model runs in every forward, as one autograd function
(:class:`hadeq.analog.devices.ProgrammedArray`: the draws' static factors precomputed per
programming, one device per pair evaluated in place, no graph) whose backward is one
multiplication by the slope it returns.
:meth:`AnalogMVM.ideal_forward` gives the float result, e.g. for a digital proxy or for
:func:`hadeq.analog.measure_snr_db`. Steps 1, 3 and 4 (the read chain of
:mod:`hadeq.analog.converters`) run as one autograd function,
:class:`hadeq.analog.mvm.TiledMVM`, whose backward is that STE derivative written out
(two matmuls per tile and the clip masks), which keeps training close to the cost of
:class:`torch.nn.Linear`.

Counters (Python ints since the last :meth:`AnalogMVM.reset_counters`), read by the
energy model:

- ``n_vectors``: input vectors processed (a conv layer processes one per output pixel);
- ``n_mvms``: tile MVMs, ``n_vectors · R · C`` (every tile reads every vector once);
- ``n_macs``: logical multiply-accumulates, ``n_vectors · in_features · out_features``;
- ``n_dac_conversions``: ``n_vectors · in_features · C`` (each tile has its own DACs);
- ``n_adc_conversions``: ``n_vectors · out_features · R`` (one per tile output).
"""

from __future__ import annotations

import math
from typing import Any, Self

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hadeq.analog.config import DeviceModel, HardwareConfig, WeightScale
from hadeq.analog.converters import adc_units, amplifier_errors
from hadeq.analog.crossbar import tile_grid, to_tiles
from hadeq.analog.devices import ProgrammedArray
from hadeq.analog.mvm import per_cell, tiled_mvm
from hadeq.analog.quant import abs_max, quantize_ste
from hadeq.errors import ConfigError

_COUNTERS = ("n_vectors", "n_mvms", "n_macs", "n_dac_conversions", "n_adc_conversions")


def _per_output(scale: Tensor) -> Tensor:
    """A weight scale (0-d, or one per output row) shaped to divide an ``(out, in)``."""
    return scale if scale.dim() == 0 else scale[:, None]


class AnalogMVM(nn.Module):
    """Base class of analog layers computing ``y = W x`` on crossbar tiles.

    Subclasses own the parameter ``weight`` (its version counter keys the cache of
    effective weights) and implement :meth:`weight_matrix`, the ``(out, in)`` matrix placed
    on the crossbars.
    """

    n_vectors: int
    n_mvms: int
    n_macs: int
    n_dac_conversions: int
    n_adc_conversions: int

    def __init__(self, mvm_in: int, mvm_out: int, hardware: HardwareConfig | None,
                 seed: int = 0) -> None:
        super().__init__()
        if hardware is None:
            hardware = HardwareConfig()
        if not isinstance(hardware, HardwareConfig):
            raise ConfigError("hardware", type(hardware).__name__, "a HardwareConfig")
        self.hardware = hardware
        self.mvm_in, self.mvm_out = mvm_in, mvm_out
        self.n_row_tiles, self.n_col_tiles = tile_grid(
            mvm_in, mvm_out, hardware.tile_rows, hardware.tile_cols)
        self.read_generator: torch.Generator | None = None
        """Generator for the fresh read noise (None: torch's global generator)."""
        self._program_version = 0
        self._cache: tuple[tuple[Any, ...], Tensor, Tensor] | None = None
        self._operands_cache: tuple[tuple[Any, ...], Tensor, Tensor] | None = None
        self._array_cache: tuple[tuple[Any, ...], ProgrammedArray] | None = None
        self.reset_counters()
        shape = (self.n_row_tiles, hardware.tile_rows, self.n_col_tiles * hardware.tile_cols)
        n_dev = {DeviceModel.IDEAL: 0, DeviceModel.GAUSSIAN: 1, DeviceModel.PCM: 3}
        # xi_devices[k, s]: draw k (programming, drift, 1/f) of device s (G+ / G−).
        self.register_buffer("xi_devices", torch.zeros(n_dev[hardware.device_model], 2, *shape))
        amp = 2 if hardware.gain_mismatch > 0 or hardware.offset_mismatch > 0 else 0
        self.register_buffer("xi_amplifiers", torch.zeros(amp, shape[0], shape[2]))
        self.program(seed)

    # --- parameters ---------------------------------------------------------------------
    def reset_parameters(self) -> None:
        """The initialisation of :class:`torch.nn.Linear` and :class:`torch.nn.Conv2d`:
        Kaiming-uniform weights (``a = √5``) and a bias uniform in ``±1/√fan_in``, with
        ``fan_in = mvm_in`` (the crossbar rows)."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # type: ignore[arg-type]
        bias = getattr(self, "bias", None)
        if bias is not None:
            bound = 1.0 / math.sqrt(self.mvm_in)
            nn.init.uniform_(bias, -bound, bound)

    def _copy_parameters_from(self, layer: nn.Module) -> Self:
        """Copy the weight and bias of the digital ``layer`` (same shapes) and its
        train/eval mode into this layer; returns it."""
        with torch.no_grad():
            for name, param in self.named_parameters(recurse=False):
                param.copy_(getattr(layer, name))
        return self.train(layer.training)

    # --- to be provided by subclasses ---------------------------------------------------
    def weight_matrix(self) -> Tensor:
        """The ``(out, in)`` matrix mapped onto the crossbars."""
        raise NotImplementedError

    def _empty_like(self, hardware: HardwareConfig, seed: int) -> AnalogMVM:
        """A freshly initialised layer of the same shape, device and dtype on
        ``hardware`` (its weights are overwritten by :meth:`on_hardware`)."""
        raise NotImplementedError

    # --- the same weights on other hardware ---------------------------------------------
    def on_hardware(self, hardware: HardwareConfig, seed: int | None = None) -> AnalogMVM:
        """A copy of this layer on ``hardware``: same shape, weights, bias and train/eval
        mode, programmed with ``seed`` (default: this layer's seed). The one way every
        model moves trained weights onto another chip."""
        with torch.random.fork_rng(devices=[]):  # the throw-away init draws nothing
            new = self._empty_like(hardware, self.seed if seed is None else seed)
        with torch.no_grad():
            for name, param in self.named_parameters(recurse=False):
                getattr(new, name).copy_(param)
        return new.train(self.training)

    # --- programming --------------------------------------------------------------------
    def program(self, seed: int) -> None:
        """Sample the static non-idealities of one programmed chip, reproducibly per seed.

        Draws the standard normals behind programming noise, PCM drift exponents and
        accumulated 1/f noise (per device of every differential pair) and the amplifier
        gain/offset mismatch (per tile output). Weight quantization and IR drop are
        deterministic. Reprogramming with the same seed restores the same chip.
        """
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError("seed", seed, "an integer")
        gen = torch.Generator(device="cpu").manual_seed(seed)
        for name in ("xi_devices", "xi_amplifiers"):
            buf = getattr(self, name)
            draw = torch.randn(buf.shape, generator=gen, dtype=torch.float32)
            buf.copy_(draw.to(device=buf.device, dtype=buf.dtype))
        self.seed = seed
        self._program_version += 1
        self._cache = self._operands_cache = self._array_cache = None

    # --- static part: effective weights -------------------------------------------------
    def _weight_key(self) -> tuple[Any, ...]:
        """Identifies the weights and the programmed chip: every in-place update of the
        weights (optimizer steps, ``copy_`` under ``no_grad``) bumps ``_version``."""
        param: Tensor = self.weight  # type: ignore[assignment]
        return (id(param), param._version, param.data_ptr(), self._program_version,
                param.dtype, param.device)

    def _effective_operands(self) -> tuple[Tensor, Tensor]:
        """``(E, w_scale)``: the effective ``(out, in)`` weight in layer units (differentiable
        with respect to the weights) and the detached digital weight scale. Cached while no
        gradient is needed; recomputed otherwise (in-place changes through ``.data`` do not
        bump ``_version``, so a cache could go stale while training)."""
        param: Tensor = self.weight  # type: ignore[assignment]
        key = self._weight_key()
        cacheable = not (torch.is_grad_enabled() and param.requires_grad)
        cache = self._operands_cache
        if cacheable and cache is not None and cache[0] == key:
            return cache[1], cache[2]
        hw = self.hardware
        w = self.weight_matrix()
        scale = self._weight_scale(w)
        if self._ideal_devices():
            # Float weights: E is W itself (no copy; the gradient lands on W directly).
            e = w if hw.weight_bits is None else (
                quantize_ste(w / _per_output(scale), hw.weight_bits) * _per_output(scale))
        else:
            e = _DeviceRead.apply(w, scale, self._programmed_array(w.dtype))
        if cacheable:
            self._operands_cache = (key, e, scale)
        return e, scale

    def effective_tiles(self) -> tuple[Tensor, Tensor]:
        """``(w_tiles, w_scale)``: normalised effective weights per tile, shape
        ``(R, tile_rows, C·tile_cols)`` (padding cells 0), and the digital weight scale
        (scalar or per output). ``w_tiles·w_scale`` is what the crossbars compute with at
        read time."""
        key = self._weight_key()
        param: Tensor = self.weight  # type: ignore[assignment]
        cacheable = not (torch.is_grad_enabled() and param.requires_grad)
        if cacheable and self._cache is not None and self._cache[0] == key:
            return self._cache[1], self._cache[2]
        hw = self.hardware
        if self._ideal_devices():
            w = self.weight_matrix()
            scale = self._weight_scale(w)
            w_hat = w / _per_output(scale)
            if hw.weight_bits is not None:
                w_hat = quantize_ste(w_hat, hw.weight_bits)
        else:
            e, scale = self._effective_operands()
            w_hat = e / _per_output(scale)
        tiles = to_tiles(w_hat, hw.tile_rows, hw.tile_cols)
        if cacheable:
            self._cache = (key, tiles, scale)
        return tiles, scale

    def _programmed_array(self, dtype: torch.dtype) -> ProgrammedArray:
        """The static factors of the programmed devices (:mod:`hadeq.analog.devices`) in
        ``dtype``, built once per programming (and again after the draws are replaced,
        e.g. by ``load_state_dict`` or ``.to()``)."""
        xi = self.xi_devices
        key = (self._program_version, xi._version, xi.data_ptr(), xi.device, dtype)
        cached = self._array_cache
        if cached is None or cached[0] != key:
            array = ProgrammedArray.build(self.hardware, xi, self.mvm_in, self.mvm_out, dtype)
            self._array_cache = cached = (key, array)
        return cached[1]

    def _ideal_devices(self) -> bool:
        hw = self.hardware
        return hw.device_model == DeviceModel.IDEAL and hw.wire_resistance_ohm == 0.0

    def _weight_scale(self, w: Tensor) -> Tensor:
        """``max |W|`` of the layer (0-d) or of every output row ``(out,)``, detached: the
        scale is a digital constant per programming, so the STE gradient of the effective
        weight with respect to W is exactly identity."""
        dim = None if self.hardware.weight_scale == WeightScale.LAYER else 1
        return abs_max(w.detach(), dim).clamp_min(torch.finfo(w.dtype).tiny)

    def effective_weight(self) -> Tensor:
        """The ``(out, in)`` weight the hardware computes with (quantization, device
        model and IR drop included; amplifier mismatch and read noise are not)."""
        e = self._effective_operands()[0]
        # Float weights on ideal devices: e is the weight itself; never hand out an alias.
        return e.clone() if e is self.weight or e._base is self.weight else e

    def static_operands(self) -> tuple[Tensor, Tensor | None]:
        """``(W_s, o)``: what the array computes, as a linear map, when its inputs have a
        fixed full scale of 1 (inside an analog loop: the amplifiers' rails) and no read
        noise or converters act — the effective weight with every tile output's amplifier
        gain mismatch, ``W_s[j, i] = (1 + γ_{r(i) j})·E[j, i]``, and the amplifiers'
        offsets summed over the row tiles in layer units, ``o_j = w_scale_j·Σ_r o_{rj}``
        (None without offset mismatch). The same stages as :meth:`analog_matmul`."""
        e, scale = self._effective_operands()
        xi = self.xi_amplifiers[..., : self.mvm_out]
        gain, offset = amplifier_errors(xi, self.hardware, e.dtype)
        if gain is not None:
            e = e * per_cell(gain, self.mvm_in, self.hardware.tile_rows)
        return e, None if offset is None else offset.sum(0) * scale.to(e.dtype)

    # --- the analog MVM -----------------------------------------------------------------
    def read_noise_level(self) -> float | None:
        """``ρ`` with which the noise of one read of every output is at most ``ρ·max|x|``
        (``x`` the input vector), in layer units: with a dynamic input range
        (``input_range`` None) a tile output carries read noise ``read_noise·FS`` and the
        ADC's rounding (std ``lsb/√12``), ``FS = max|x|·w_scale``, and the ``R`` row tiles'
        partial sums add up, so ``ρ = w_scale·√R·√(read_noise² + lsb²/12)``. None with a
        fixed input range (the noise is then not proportional to ``max|x|``); 0 without
        noise. The noise level :class:`hadeq.DEQ` takes to stop a noisy solve at its
        floor."""
        var = self._read_variance_fs()
        if var is None or var == 0.0:
            return var
        return self._max_weight_scale() * math.sqrt(self.n_row_tiles * var)

    def _read_variance_fs(self) -> float | None:
        """The variance of one tile output's read in FS units, ``read_noise² + lsb²/12``
        (the ADC's rounding taken as uniform); None with a fixed input range, where FS is
        not ``max|x|·w_scale``."""
        hw = self.hardware
        if hw.input_range is not None:
            return None
        var = hw.read_noise ** 2
        if hw.output_bits is not None:
            lsb = adc_units(hw)[1]
            var += lsb * lsb / 12.0
        return var

    def _max_weight_scale(self) -> float:
        with torch.no_grad():
            return float(self._effective_operands()[1].max())

    def reset_counters(self) -> None:
        """Set every operation counter to zero."""
        for name in _COUNTERS:
            setattr(self, name, 0)

    def counters(self) -> dict[str, int]:
        """The operation counters as a dict (see the module docstring)."""
        return {name: getattr(self, name) for name in _COUNTERS}

    def _count(self, n: int) -> None:
        r, c = self.n_row_tiles, self.n_col_tiles
        # Plain attributes: updating __dict__ skips nn.Module.__setattr__ (~10 µs a call).
        counts = self.__dict__
        counts["n_vectors"] += n
        counts["n_mvms"] += n * r * c
        counts["n_macs"] += n * self.mvm_in * self.mvm_out
        counts["n_dac_conversions"] += n * self.mvm_in * c
        counts["n_adc_conversions"] += n * self.mvm_out * r

    def analog_matmul(self, x: Tensor, generator: torch.Generator | None = None, *,
                      bias: Tensor | None = None) -> Tensor:
        """``W x (+ b)`` through the hardware model for ``x`` of shape ``(N, in)`` →
        ``(N, out)``; the optional digital ``bias`` is added in the same pass.

        ``generator`` (default :attr:`read_generator`) seeds the fresh read noise.
        """
        hw = self.hardware
        self._count(x.shape[0])
        if hw.is_exact:
            return F.linear(x, self.weight_matrix(), bias)
        generator = generator if generator is not None else self.read_generator
        param: Tensor = self.weight  # type: ignore[assignment]
        read = None
        if self._ideal_devices() or not (torch.is_grad_enabled() and param.requires_grad):
            e, scale = self._effective_operands()
        else:
            # Training on a device model: the MVM's backward applies the read's slope
            # (TiledMVM's ``read``), the same gradient as through _DeviceRead.
            e = self.weight_matrix()
            scale = self._weight_scale(e)
            read = self._programmed_array(e.dtype).read(e.detach(), _per_output(scale))
            if e.dtype != x.dtype:
                read = (read[0].to(x.dtype), read[1].to(x.dtype))
        gain = offset = None
        if hw.gain_mismatch > 0.0 or hw.offset_mismatch > 0.0:
            xi = self.xi_amplifiers[..., : self.mvm_out]
            gain, offset = amplifier_errors(xi, hw, x.dtype)
        return tiled_mvm(x, e.to(x.dtype), bias, scale.to(x.dtype), gain, offset, hw,
                         generator, read)


class _DeviceRead(torch.autograd.Function):
    """The effective weight ``E`` in layer units through the device model of a
    :class:`ProgrammedArray` (:meth:`ProgrammedArray.read`); backward
    ``∂L/∂W = ∂L/∂E · ∂E/∂W``, the slope the array returns with ``E``: one
    multiplication, itself differentiable."""

    @staticmethod
    def forward(ctx: Any, w: Tensor, scale: Tensor,  # type: ignore[override]
                array: ProgrammedArray) -> Tensor:
        e, slope = array.read(w, _per_output(scale))
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(slope)
        return e

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        (slope,) = ctx.saved_tensors
        return grad * slope, None, None
