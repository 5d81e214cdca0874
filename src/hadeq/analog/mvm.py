"""The tiled analog MVM as one autograd function with a hand-written backward.

Notation (as in :mod:`hadeq.analog.layer`): ``x`` of shape ``(N, in)``; ``E`` the
effective weight in layer units ``(out, in)``; ``s`` the digital weight scale (scalar or
per output); row tiles ``r = 1 … R`` take the inputs ``i ∈ r``; ``γ_rj``/``o_rj`` the
amplifier gain/offset mismatch of output ``j`` of tile ``r``; ``σ`` the read noise.

Forward, per tile ``r``, output ``j`` and vector ``n``, in full-scale (FS) units::

    x̂_q = DAC(x / x_range)                              (clip to [−1, 1], round)
    v_rnj = (1 + γ_rj) · Σ_{i ∈ r} x̂_q,ni · E_ji / s_j + o_rj + σ·ξ_rnj,   ξ ~ N(0, 1)
    y_nj  = x_range_n · s_j · Σ_r ADC(v_rnj) + b_j       (clip to ±output_range, round)

Backward: the straight-through estimator, i.e. the derivative of the same expression
with every rounding replaced by identity, so only the clips remain. Writing
``h_rnj = g_nj · [v_rnj inside the ADC range]`` for the incoming gradient ``g``, the
scale factors cancel exactly::

    ∂L/∂x_ni = [x_ni inside the DAC range] · Σ_j h_rnj · (1 + γ_rj) · E_ji     (i ∈ r)
    ∂L/∂E_ji = (1 + γ_rj) · Σ_n h_rnj · x_q,ni        (x_q = x_range · x̂_q, layer units)
    ∂L/∂b_j  = Σ_n g_nj

— nn.Linear's two matmuls per tile plus one mask per converter. This is what autograd
computes through the elementwise formulation; doing it by hand avoids keeping ~10
elementwise intermediates alive and re-running their backward.

How the forward keeps the elementwise passes few: the converters run in the level units
of :mod:`hadeq.analog.converters` (their levels at the integers of ``[−H, H]``,
``H = (L − 1)/2``), so rounding is one ``round_`` and every scale — ``1/x_range``,
``1/s``, the ADC's ``H/output_range`` and ``σ`` — is folded into the ``α``/``β`` of the
per-tile ``noise ← β·noise + α·x Eᵀ`` (one ``baddbmm_`` into the noise buffer). On CPU
the DAC and the ADC with the row tiles' sum and the output scaling are one compiled pass
each (:mod:`hadeq.analog.fused`). The clip masks are not stored: the backward recomputes
them from the saved pre-clip values inside ``hardtanh_backward`` (one fused pass that
also applies them), and skips them when the ADC clipped nothing (then every tile passes
the same gradient and the per-tile products are one matmul). The tiles are strided
views, so nothing is padded or copied per tile; the backward writes each tile's product
straight into its columns.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
from torch import Tensor

from hadeq.analog import fused
from hadeq.analog.config import HardwareConfig
from hadeq.analog.converters import adc_levels, adc_units, dac_levels, standard_normal
from hadeq.analog.quant import half_range

_hardtanh_backward = torch.ops.aten.hardtanh_backward


@functools.cache
def _outside(bound: float, dtype: torch.dtype) -> float:
    """The next value of ``dtype`` above ``bound`` (> 0): ``hardtanh_backward`` passes the
    gradient strictly inside (−b, b), and the clips pass it on the closed range."""
    t = torch.tensor(bound, dtype=dtype)
    return float(torch.nextafter(t, torch.tensor(math.inf, dtype=dtype)))


def _split(t: Tensor, rows: int) -> list[Tensor]:
    """The columns of ``t (M, in)`` by row tile, as views: the full tiles as one
    ``(M, R', rows)`` block, then the remaining columns (a shorter last tile) if any."""
    m, n = t.shape
    n_full = n // rows
    blocks = [] if n_full == 0 else [t.as_strided(
        (m, n_full, rows), (t.stride(0), rows * t.stride(1), t.stride(1)), t.storage_offset())]
    return [*blocks, t[:, n_full * rows:]] if n % rows else blocks


def per_cell(gain: Tensor, n_in: int, rows: int) -> Tensor:
    """A per-(tile, output) factor ``(R, out)`` spread over the ``(out, in)`` cells."""
    return gain.repeat_interleave(rows, dim=0)[:n_in].t()


def _tiles(n_in: int, rows: int) -> list[slice]:
    """The input columns of every row tile (the last one may be shorter)."""
    return [slice(start, min(start + rows, n_in)) for start in range(0, n_in, rows)]


def _per_tile(a: Tensor, b: Tensor, rows: int, out: Tensor) -> Tensor:
    """The matrix whose column block of tile ``r`` is ``a[r] @ b[:, tile r]``, for
    ``a (R, M, K)`` and ``b (K, in)``: one matmul per tile, written straight into its
    columns of ``out`` (BLAS takes the column block as a strided matrix, so nothing is
    reordered or copied). When this backward is itself differentiated (``create_graph``)
    ``out=`` is not allowed: the products are concatenated instead."""
    tiles = _tiles(b.shape[1], rows)
    if torch.is_grad_enabled():
        return torch.cat([a[r] @ b[:, cols] for r, cols in enumerate(tiles)], dim=1)
    for r, cols in enumerate(tiles):
        torch.mm(a[r], b[:, cols], out=out[:, cols])
    return out


class TiledMVM(torch.autograd.Function):
    """``y = x_range·s·Σ_r ADC(v_r) + b`` (see the module docstring); ``apply`` takes
    ``(x, e, bias, scale, gain, offset, hardware, generator)``.

    ``e`` is differentiable (the float weight, or any differentiable function of it);
    ``scale`` (0-d or ``(out,)``), ``gain = 1 + γ`` and ``offset = o`` (both ``(R, out)``
    or None) are constants. The read noise is one ``standard_normal((R, N, out))`` draw from
    ``generator``, as in the elementwise formulation.

    ``read = (E, ∂E/∂e)``, optional: the effective weight computed from ``e`` elementwise
    (a device read, :meth:`hadeq.analog.devices.ProgrammedArray.read`) and its slope. The
    forward then computes with ``E`` and the backward returns ``∂L/∂E·∂E/∂e`` for ``e``:
    the device read's chain rule done here, in place on the fresh ``∂L/∂E``, instead of
    in an autograd node of its own (one node, one weight-sized product and buffer fewer
    per training step).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, e: Tensor, bias: Tensor | None,  # type: ignore[override]
                scale: Tensor, gain: Tensor | None, offset: Tensor | None,
                hw: HardwareConfig, generator: torch.Generator | None,
                read: tuple[Tensor, Tensor] | None = None) -> Tensor:
        w, slope = e, None
        if read is not None:
            e, slope = read
        (n, n_in), out, rows = x.shape, e.shape[0], hw.tile_rows
        n_tiles = -(-n_in // rows)
        # DAC: kx·x_fs = x̂_q, the DAC output in FS units.
        kx, x_range, x_fs = dac_levels(x, hw)

        # ADC input units: its levels at the integers of [−H, H]; FS units without bits.
        a_out, lsb = adc_units(hw)
        w_fwd = e if gain is None else e * per_cell(gain, n_in, rows)
        # 1/s goes into alpha (a float; reading it costs nothing on CPU) unless it is per
        # output or reading it would synchronise a device.
        if scale.dim() == 0 and scale.device.type == "cpu":
            alpha = a_out * x_fs / float(scale)
        else:
            w_fwd = w_fwd / scale.reshape(-1, 1)
            alpha = a_out * x_fs
        if hw.read_noise > 0.0:
            u = standard_normal((n_tiles, n, out), x, generator)
            beta = a_out * hw.read_noise
        else:
            u = x.new_empty((n_tiles, n, out))
            beta = 0.0  # the uninitialised buffer is never read
        if n_tiles == 1:
            u[0].addmm_(kx, w_fwd.t(), beta=beta, alpha=alpha)
        else:
            n_full = n_in // rows
            for i, (x_blk, w_blk) in enumerate(zip(_split(kx, rows), _split(w_fwd, rows),
                                                   strict=True)):
                if i == 0 and n_full:  # u is contiguous: one batched BLAS call
                    u[:n_full].baddbmm_(x_blk.transpose(0, 1), w_blk.permute(1, 2, 0),
                                        beta=beta, alpha=alpha)
                else:
                    u[-1].addmm_(x_blk, w_blk.t(), beta=beta, alpha=alpha)
        if offset is not None:
            u.add_(offset[:, None, :], alpha=a_out)

        # ADC; d = the factor from its output units back to layer units.
        h_out = None if hw.output_bits is None else half_range(hw.output_bits)
        clipped: int | None = None  # tile outputs the ADC clipped; None: not counted
        if h_out is not None and h_out == int(h_out) and fused.applies(u):
            dtype = u.dtype  # the same, in one pass over u
            y_np, clipped = fused.adc_sum(
                u.numpy(), fused.const(h_out, dtype), scale.detach().numpy(),
                x_range.numpy() if isinstance(x_range, Tensor) else fused.const(x_range, dtype),
                fused.const(lsb, dtype),
                fused.empty(dtype) if bias is None else bias.detach().numpy())
            y = torch.from_numpy(y_np)
        else:
            k = adc_levels(u, hw)
            d = scale * x_range
            if hw.output_bits is not None:
                d = d * lsb
            y = k[0] if n_tiles == 1 else k.sum(0)
            y = torch.addcmul(bias, y, d, out=y) if bias is not None else y.mul_(d)

        ctx.hw, ctx.x_fs = hw, x_fs
        # The ADC's clip mask matters to the backward only if it clipped something.
        ctx.adc_bound = (None if hw.output_range is None or clipped == 0
                         else _outside(hw.output_range * a_out, u.dtype))
        ctx.save_for_backward(x, e, kx, u if ctx.adc_bound is not None else None,
                              x_range if isinstance(x_range, Tensor) else None, gain, slope,
                              w if slope is not None else None)
        return y

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, e, kx, u, x_range_t, gain, slope, w = ctx.saved_tensors
        if slope is not None and torch.is_grad_enabled():
            # Differentiated again: E's first-order dependence on the weights (slope
            # constant, as the device read's own backward has it).
            e = e + (w - w.detach()) * slope
        hw: HardwareConfig = ctx.hw
        n_in, rows = x.shape[1], hw.tile_rows
        need_x, need_e, need_b = ctx.needs_input_grad[:3]
        grad_x = grad_e = grad_b = None
        if need_b:
            grad_b = g.sum(0)
        # Without an ADC clip every tile passes the same gradient g: the per-tile products
        # are then blocks of one matmul.
        single = n_in <= rows or ctx.adc_bound is None
        if ctx.adc_bound is not None:
            h = _hardtanh_backward(g, u, -ctx.adc_bound, ctx.adc_bound)  # (R, N, out)
        else:
            h = g[None]
        g_cell = None if gain is None else per_cell(gain, n_in, rows)
        if need_x:
            w_bwd = e if g_cell is None else e * g_cell
            bound = None if hw.input_range is None else _outside(hw.input_range, x.dtype)
            grad_x = h[0] @ w_bwd if single else _per_tile(h, w_bwd, rows, torch.empty_like(x))
            if bound is not None:
                grad_x = _hardtanh_backward(grad_x, x, -bound, bound)
        if need_e:
            # x_q = x_range·x̂_q = x_range·x_fs·kx in layer units.
            if hw.input_range is not None:
                xq, a = kx, ctx.x_fs * hw.input_range
            else:
                xq, a = kx * (x_range_t * ctx.x_fs), 1.0
            if torch.is_grad_enabled():
                # Double backward: x_q must depend on x through the straight-through
                # estimator (derivative 1 inside the DAC range, 0 outside).
                inside = (x.abs() <= hw.input_range) if hw.input_range is not None else 1.0
                xq, a = xq * a + (x - x.detach()) * inside, 1.0
            grad_e = (h[0].t() @ xq if single
                      else _per_tile(h.transpose(1, 2), xq, rows, torch.empty_like(e)))
            if g_cell is not None:
                grad_e = grad_e * (g_cell * a if a != 1.0 else g_cell)
            elif a != 1.0:
                grad_e = grad_e * a
            if slope is not None:
                # grad_e is this backward's own buffer unless it is itself differentiated.
                grad_e = grad_e * slope if torch.is_grad_enabled() else grad_e.mul_(slope)
        return grad_x, grad_e, grad_b, None, None, None, None, None, None


class _NoGraph:
    """The ``ctx`` of a :class:`TiledMVM` forward run outside autograd: keeps nothing."""

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        pass


def tiled_mvm(x: Tensor, e: Tensor, bias: Tensor | None, scale: Tensor, gain: Tensor | None,
              offset: Tensor | None, hw: HardwareConfig, generator: torch.Generator | None,
              read: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """:class:`TiledMVM` (same arguments): through autograd when a gradient is needed,
    else its forward alone. An autograd function's call costs about as much as a small
    layer's matmul even when it records nothing, and the reads of a fixed-point solve,
    under ``torch.no_grad()``, are many small layers' worth."""
    if torch.is_grad_enabled() and (x.requires_grad or e.requires_grad
                                    or (bias is not None and bias.requires_grad)):
        return TiledMVM.apply(x, e, bias, scale, gain, offset, hw, generator, read)
    return TiledMVM.forward(_NoGraph(), x, e, bias, scale, gain, offset, hw, generator, read)
