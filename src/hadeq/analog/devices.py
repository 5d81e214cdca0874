"""Device models: how programmed conductances deviate from their targets, computed at
close to the cost of a few elementwise passes over the weight matrix.

Conductances are in units of ``g_max`` here (``ĝ = g / g_max``). A normalised weight
``ŵ ∈ [−1, 1]`` is a differential pair with targets

    ĝ±_T = ĝ_min + k·max(±ŵ, 0),        k = (g_max − g_min)/g_max,

and the crossbar computes with ``e = (ĝ+ − ĝ−)/k`` after the device model. The static
non-idealities are standard-normal draws ``ξ`` per device, sampled once by ``program``.

Models (``F`` maps a target ``ĝ_T`` to the read-time conductance of one device):

* ``gaussian`` — ``F(ĝ_T) = ĝ_T + σ_p·ξ``, ``σ_p = programming_noise``.
* ``pcm`` — Nandakumar et al. (ICECS 2019), with ``s = pcm_noise_scale``:

  - programming: ``ĝ_p = max(ĝ_T + s·P(ĝ_T)/25·ξ_p, 0)`` with the noise std in µS for
    ``g_max = 25 µS``, ``P(ĝ) = max(c2·ĝ² + c1·ĝ + c0, 0)`` (scaled by ``g_max/25 µS``,
    i.e. ``P/25`` in units of ``g_max``);
  - drift to ``t > t0``: ``ĝ_d = ĝ_p·D``, ``D = exp(−ν·ln(t/t0))``,
    ``ν = |μ_ν(λ) + σ_ν(λ)·ξ_d|`` with ``λ = ln max(ĝ_p, tiny)`` and the clipped lines
    ``μ_ν = clip(a_μ·λ + b_μ)``, ``σ_ν = clip(a_σ·λ + b_σ)``;
  - accumulated 1/f read noise: ``F = max(ĝ_d·(1 + s·√ℓ·Q·ξ_r), 0)`` with
    ``Q = min(a_Q·exp(−p·λ), Q_max)`` (``= min(a_Q/ĝ_p^p, Q_max)``) and
    ``ℓ = ln((t + t_read)/(2 t_read))`` (no read noise while ``ℓ ≤ 0``);
  - drift compensation: ``e ← α·e``, ``α = Σ|ĝ+_p − ĝ−_p| / Σ|ĝ+ − ĝ−|`` over every cell
    of the layer's tiles (padding included), a digital constant (no gradient).

* IR drop (any model, ``wire_resistance_ohm > 0``): ``e ← e·(1 − ε·c)⁺``, see
  :func:`hadeq.analog.crossbar.ir_drop_factor`, with the pair's load ``ĝ+ + ĝ−``.

Gradients. The noise stds, the drift exponent, ``α`` and the IR-drop load are constants
(they are not differentiated), so ``∂e/∂ŵ`` is the derivative of the clamps and the drift
factor only: ``F'(ĝ_T) = [ĝ_p ≥ 0]·D·[F ≥ 0]`` for ``pcm``, 1 for ``gaussian``, times
``[ŵ ≠ 0]`` (the derivative of ``max(±ŵ, 0)`` is 0 at ``ŵ = 0``), ``α`` and the IR-drop
factor.

How it stays cheap. Of every pair, only one device — the *active* one, ``+`` for
``ŵ > 0`` and ``−`` for ``ŵ < 0`` — has a target that depends on ``ŵ``; the idle one sits at
``ĝ_min`` and its read-time conductance is a constant of the programmed chip.
:class:`ProgrammedArray` precomputes, once per programming and dtype, everything that
depends only on the draws: the idle conductances, the per-device noise factors, the
padding's share of ``α`` and of the IR-drop load. The forward then evaluates ``F`` once
per cell (not twice), in place and without an autograd graph, selecting the active
device's factors with the sign ``σ = ±1`` of ``ŵ`` as ``x = x_mid + σ·x_half``
(``x_mid, x_half = (x+ ± x−)/2``; at ``ŵ = ±0`` both devices sit at ``ĝ_min`` and either
may be taken as active), and returns the slope ``∂e/∂ŵ`` with it: the backward is one
multiplication. Intermediates live in per-thread scratch buffers, so a read allocates
only the two matrices it returns. On CPU the read runs through the compiled loops of
:mod:`hadeq.analog.fused` (a few passes over the cells instead of ~50 tensor operations);
the torch formulation here is their definition and runs everywhere else.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hadeq import constants as C
from hadeq.analog import fused
from hadeq.analog.config import DeviceModel, HardwareConfig
from hadeq.analog.crossbar import from_tiles, to_tiles
from hadeq.analog.quant import level_step, quantize_

_US_TO_S = 1e-6  # conductance in µS times resistance in Ω gives a dimensionless product
_LN_2 = math.log(2.0)


class _Scratch(threading.local):
    """Scratch matrices reused by every read in this thread, one flat buffer per dtype and
    device, grown to the largest request. A fresh CPU allocation of a weight-sized
    tensor costs far more than an elementwise pass over it (the allocator returns large
    blocks to the system and they are page-faulted in again), so a read allocates only
    what it returns."""

    def __init__(self) -> None:
        self.buffers: dict[tuple[torch.dtype, torch.device], Tensor] = {}

    def flat(self, count: int, like: Tensor) -> Tensor:
        """An uninitialised 1-d tensor of ``count`` times the size of ``like``, with its
        dtype and device, valid until the next request in this thread."""
        key, size = (like.dtype, like.device), count * like.numel()
        flat = self.buffers.get(key)
        if flat is None or flat.numel() < size:
            flat = self.buffers[key] = like.new_empty(size)
        return flat[:size]

    def take(self, count: int, like: Tensor) -> list[Tensor]:
        """``count`` uninitialised tensors shaped like ``like``, valid until the next
        request in this thread."""
        flat, n = self.flat(count, like), like.numel()
        return [flat[i * n:(i + 1) * n].view(like.shape) for i in range(count)]


_SCRATCH = _Scratch()


@dataclass(frozen=True)
class _PCMLaw:
    """The PCM model's constants for one hardware config, in units of ``g_max``."""

    prog: float  # s/25: ĝ_p = ĝ_T + prog·P(ĝ_T)·ξ_p
    log2_t: float  # log2(t/t0), 0 without drift
    read: float  # s·√ℓ, 0 without read noise

    @classmethod
    def of(cls, hw: HardwareConfig) -> _PCMLaw:
        t = hw.t_inference_s
        log2_t = math.log2(t / C.PCM_DRIFT_T0_S) if t > C.PCM_DRIFT_T0_S else 0.0
        t_read = C.PCM_READ_NOISE_T_READ_S
        ell = math.log((t + t_read) / (2.0 * t_read))
        read = hw.pcm_noise_scale * math.sqrt(ell) if ell > 0.0 else 0.0
        # The noise std polynomial is in µS for g_max = 25 µS and scales with g_max, so in
        # units of g_max it is P(ĝ)/25 whatever g_max is.
        return cls(hw.pcm_noise_scale / C.PCM_G_MAX_US, log2_t, read)


def pcm_read(g_target: Tensor, law: _PCMLaw, a_prog: Tensor, xi_drift: Tensor,
             b_read: Tensor, scratch: list[Tensor]) -> tuple[Tensor, Tensor, Tensor | None]:
    """``(ĝ_p, F, D)`` of PCM devices with targets ``g_target`` (units of g_max),
    ``a_prog = law.prog·ξ_p``, ``xi_drift = ξ_d`` and ``b_read = law.read·ξ_r`` (see the
    module docstring); ``D`` is None without drift (``t ≤ t0``).

    In place: ``ĝ_p`` overwrites ``g_target``, ``D`` overwrites ``a_prog``, ``F`` is
    written to ``scratch[0]`` (which ``scratch[1]`` joins as a temporary), and ``b_read``
    is overwritten. Logarithms and exponentials are taken to base 2 (cheaper), with the
    constants converted: ``λ = ln 2 · log2 ĝ_p``."""
    out, tmp = scratch
    one = g_target.new_tensor
    if law.prog != 0.0:
        c2, c1, c0 = C.PCM_PROG_NOISE_COEFFS_US
        # P(ĝ) = c2·(ĝ + c1/c2)·ĝ + c0, clipped at 0.
        poly = torch.add(g_target, c1 / c2, out=tmp)
        torch.addcmul(one(c0), poly, g_target, value=c2, out=poly).clamp_min_(0.0)
        g_target.addcmul_(poly, a_prog).clamp_min_(0.0)
    g_prog = g_target
    if law.log2_t == 0.0 and law.read == 0.0:
        return g_prog, out.copy_(g_prog), None
    lam2 = torch.clamp_min(g_prog, torch.finfo(g_prog.dtype).tiny, out=tmp).log2_()
    drift = None
    if law.log2_t != 0.0:
        (a_mu, b_mu), (a_sd, b_sd) = C.PCM_DRIFT_MU_COEFFS, C.PCM_DRIFT_SIGMA_COEFFS
        mu = torch.add(one(b_mu), lam2, alpha=a_mu * _LN_2, out=a_prog)
        mu.clamp_(*C.PCM_DRIFT_MU_CLIP)
        sd = torch.add(one(b_sd), lam2, alpha=a_sd * _LN_2, out=out)
        sd.clamp_(*C.PCM_DRIFT_SIGMA_CLIP)
        # D = exp(−ν·ln(t/t0)) = 2^(−ν·log2(t/t0)).
        drift = mu.addcmul_(sd, xi_drift).abs_().mul_(-law.log2_t).exp2_()
        g = torch.mul(g_prog, drift, out=out)
    else:
        g = out.copy_(g_prog)
    if law.read != 0.0:
        # Q = min(a_Q·ĝ_p^(−p), Q_max) = 2^min(log2 a_Q − p·log2 ĝ_p, log2 Q_max).
        a_q, p_q = C.PCM_READ_NOISE_QS_COEFFS
        q = torch.add(one(math.log2(a_q)), lam2, alpha=-p_q, out=lam2)
        q.clamp_max_(math.log2(C.PCM_READ_NOISE_QS_MAX)).exp2_()
        g.mul_(b_read.mul_(q).add_(1.0)).clamp_min_(0.0)
    return g_prog, g, drift


_SEGMENT = 16


def _prefix_sum(x: Tensor) -> Tensor:
    """Inclusive prefix sums along dim 1 of ``x`` ``(B, n, m)`` (a new tensor).

    ``torch.cumsum`` runs one scalar loop per sequence; for ``n`` a multiple of 16 (≥ 64)
    two levels of small matrix products are several times faster: the prefix sums within
    segments of 16, ``L·x_seg`` with ``L`` lower-triangular ones, plus the exclusive prefix
    sums of the segment totals."""
    b, n, m = x.shape
    s = _SEGMENT
    if n % s or n < 4 * s:
        return x.cumsum(1)
    n_seg = n // s
    lower = torch.ones(s, s, dtype=x.dtype, device=x.device).tril_()
    y = torch.bmm(lower.expand(b * n_seg, s, s), x.reshape(b * n_seg, s, m))
    y = y.view(b, n_seg, s, m)
    strict = torch.ones(n_seg, n_seg, dtype=x.dtype, device=x.device).tril_(-1)
    offsets = torch.bmm(strict.expand(b, n_seg, n_seg), y[:, :, -1, :])
    return y.add_(offsets.unsqueeze(2)).view(b, n, m)


def _mid_half(plus: Tensor, minus: Tensor) -> tuple[Tensor, Tensor]:
    """``((x+ + x−)/2, (x+ − x−)/2)``: ``x_mid + σ·x_half`` selects ``x±`` for ``σ = ±1``."""
    return (plus + minus).mul_(0.5), (plus - minus).mul_(0.5)


class ProgrammedArray:
    """The static part of one programmed layer, in the ``(out, in)`` layout of its weight
    and in its dtype: :meth:`read` maps normalised weights ``ŵ`` to the normalised
    effective weights and their slope ``∂e/∂ŵ`` (see the module docstring).

    Built by :meth:`build` from the draws ``xi_devices`` (shape
    ``(K, 2, R, tile_rows, C·tile_cols)``, as :class:`~hadeq.analog.layer.AnalogMVM`
    stores them). Holds up to ten weight-sized tensors (``pcm``).
    """

    def __init__(self, hw: HardwareConfig, n_in: int, n_out: int) -> None:
        self.hw, self.n_in, self.n_out = hw, n_in, n_out
        self.k = (hw.g_max_us - hw.g_min_us) / hw.g_max_us  # ĝ_T = ĝ_min + k·|ŵ|
        self.g_min = hw.g_min_us / hw.g_max_us
        self.statics: dict[str, Tensor] = {}
        self.alpha_pad = (0.0, 0.0)  # the padding's Σ|ĝ+_p − ĝ−_p| and Σ|ĝ+ − ĝ−|
        self.load_pad: Tensor | None = None  # IR drop: the padded columns' loads
        # The fused kernels' fixed arguments, keyed by the scratch buffer they view.
        self._kernel_args: tuple[Any, ...] | None = None

    # --- programming --------------------------------------------------------------------
    @classmethod
    def build(cls, hw: HardwareConfig, xi_devices: Tensor, n_in: int, n_out: int,
              dtype: torch.dtype) -> ProgrammedArray:
        """Precompute the static factors from the draws (in ``dtype``)."""
        arr = cls(hw, n_in, n_out)
        xi = xi_devices.to(dtype=dtype)
        # Read-time and programmed conductances of both devices of every cell at ĝ_min.
        idle, idle_prog = arr._idle(xi)
        st = arr.statics
        if hw.device_model == DeviceModel.GAUSSIAN:
            # e = ŵ + (ĝ+ − ĝ−)/k at ŵ = 0: ĝ_min cancels.
            st["offset"] = arr._cells(idle[0] - idle[1]).div_(arr.k)
        elif hw.device_model == DeviceModel.PCM:
            law = _PCMLaw.of(hw)
            for name, draws, factor in (("prog", xi[0], law.prog), ("drift", xi[1], 1.0),
                                        ("read", xi[2], law.read)):
                st[name + "_mid"], st[name + "_half"] = _mid_half(
                    arr._cells(draws[0]) * factor, arr._cells(draws[1]) * factor)
            # k·e = I_half + σ·(F − I_mid) with I_mid, I_half = (I+ ± I−)/2 of the idle
            # conductances: σ = +1 gives F − I−, σ = −1 gives I+ − F.
            for name, (plus, minus) in (("idle", idle), ("idle_prog", idle_prog)):
                st[name + "_mid"], st[name + "_half"] = _mid_half(arr._cells(plus),
                                                                  arr._cells(minus))
            if hw.drift_compensation:
                pad = 1.0 - to_tiles(xi.new_ones(n_out, n_in), hw.tile_rows, hw.tile_cols)
                arr.alpha_pad = (float(((idle_prog[0] - idle_prog[1]).abs() * pad).sum()),
                                 float(((idle[0] - idle[1]).abs() * pad).sum()))
        if hw.wire_resistance_ohm > 0.0:
            load = idle[0] + idle[1]
            st["load"] = arr._cells(load)  # the idle pair; the active device adds k·|ŵ|
            width = arr.n_col_blocks * hw.tile_cols
            if width > n_out:  # the padded columns of the last tile draw current too
                rows = load.shape[0] * load.shape[1]
                arr.load_pad = load.reshape(rows, -1)[:n_in, n_out:width].t().contiguous()
        return arr

    @property
    def n_col_blocks(self) -> int:
        return -(-self.n_out // self.hw.tile_cols)

    def _cells(self, tiles: Tensor) -> Tensor:
        """The real cells of a tile-layout tensor as a contiguous ``(out, in)`` matrix."""
        return from_tiles(tiles, self.n_in, self.n_out).contiguous()

    def _idle(self, xi: Tensor) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
        """``((ĝ+, ĝ−), (ĝ+_p, ĝ−_p))`` of every tile cell at the target ``ĝ_min``."""
        hw = self.hw
        base = xi.new_full(xi.shape[2:], self.g_min)
        if hw.device_model == DeviceModel.GAUSSIAN:
            plus, minus = (base + hw.programming_noise * xi[0, s] for s in range(2))
            return (plus, minus), (plus, minus)
        if hw.device_model == DeviceModel.PCM:
            law = _PCMLaw.of(hw)
            reads = [pcm_read(base.clone(), law, law.prog * xi[0, s], xi[1, s].clone(),
                              law.read * xi[2, s], [torch.empty_like(base) for _ in "ab"])
                     for s in range(2)]
            return (reads[0][1], reads[1][1]), (reads[0][0], reads[1][0])
        return (base, base), (base, base)

    # --- reading ------------------------------------------------------------------------
    def read(self, w: Tensor, scale: Tensor) -> tuple[Tensor, Tensor]:
        """``(E, ∂E/∂W)`` for the ``(out, in)`` weights ``w`` with the weight scale ``scale``
        (0-d, or one per output as ``(out, 1)``): the effective weights in layer units,
        ``E = s·γ·e(Q(W/s))`` with ``Q`` the weight quantizer (if any) and ``γ`` a digital
        constant (``α/k`` for ``pcm``), and their slope. Both are fresh tensors; no
        autograd graph is built. The quantizer passes the gradient straight through (and
        ``|W/s| ≤ 1``, so its clip never masks it), so ``∂E/∂W = γ·∂e/∂ŵ``."""
        if fused.applies(w):
            return self._read_fused(w.detach().contiguous(), scale)
        (w_hat,) = _SCRATCH.take(1, w)
        torch.div(w, scale, out=w_hat)
        if self.hw.weight_bits is not None:
            quantize_(w_hat, self.hw.weight_bits)
        if self.hw.device_model == DeviceModel.PCM:
            e, slope, gain = self._read_pcm(w_hat)
        else:
            e, slope, gain = self._read_linear(w_hat)
        return e.mul_(scale * gain), slope

    def _read_fused(self, w: Tensor, scale: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`read` through :mod:`hadeq.analog.fused`: for ``pcm`` the programming
        pass, ``log2``, the exponents pass, ``exp2`` and the read pass with the
        compensation's sums; for the others one pass; then the digital gains and the IR
        drop in one. Everything but the weights is prepared once (:meth:`_fused_arguments`):
        at small sizes the Python around the kernels would cost more than they do."""
        hw = self.hw
        buffer = _SCRATCH.flat(6, w)
        key = (buffer.data_ptr(), w.numel(), w.dtype)
        args = self._kernel_args
        if args is None or args[0] != key:
            args = self._kernel_args = (key, *self._fused_arguments(w, buffer))
        _, statics, law, scratch, (step, with_load, eps, one) = args
        w_np = w.numpy()
        e_np, slope_np = np.empty_like(w_np), np.empty_like(w_np)
        load, load_static, pad, w_hat, g_prog, lam, lam_t, factors, factors_t, (
            load2, w_hat2, g_prog2, lam2) = scratch
        scale_np = scale.numpy().reshape(-1).astype(w_np.dtype, copy=False)
        slope_gain = 1.0
        if hw.device_model == DeviceModel.PCM:
            p_mid, p_half, d_mid, d_half, r_mid, r_half, i_mid, i_half, ip_mid, ip_half = statics
            program, mu, sd, log2_t, q, tiny, k, g_min = law
            fused.pcm_program(w_np, scale_np, step, k, g_min, program, tiny, one, p_mid,
                              p_half, w_hat2, g_prog2, lam2)
            if w.dtype == torch.float32:  # the log2 inside the exponents' float32 pass
                fused.pcm_exponents_f32(w_hat, lam, d_mid, d_half, mu, sd, log2_t, q, factors)
            else:
                lam_t.log2_()
                fused.pcm_exponents(w_hat, lam, d_mid, d_half, mu, sd, log2_t, q, factors)
            factors_t.exp2_()
            num, den = fused.pcm_finish(w_hat, g_prog, factors, r_mid, r_half, i_mid, i_half,
                                        ip_mid, ip_half, with_load, hw.drift_compensation,
                                        one, e_np.reshape(-1), slope_np.reshape(-1), load)
            gain = 1.0 / self.k
            if hw.drift_compensation:
                alpha = (num + self.alpha_pad[0]) / max(den + self.alpha_pad[1], tiny)
                slope_gain, gain = alpha, alpha * gain
            e_gain = scale_np * gain
        else:
            offset = statics[0] if statics else w_np
            fused.linear_read(w_np, scale_np, step, self.k, offset, bool(statics),
                              load_static if with_load else w_np, with_load, e_np, slope_np,
                              load2)
            e_gain = scale_np
        fused.scale_and_ir_drop(e_np, slope_np, load2, pad, hw.tile_cols, eps, e_gain,
                                slope_gain)
        return torch.from_numpy(e_np), torch.from_numpy(slope_np)

    def _fused_arguments(self, w: Tensor, buffer: Tensor) -> tuple[
            tuple[np.ndarray, ...], tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
        """The kernels' arguments that do not change between reads of weights like ``w``,
        built on the first fused read and again when the scratch ``buffer`` (six times the
        size of ``w``) moves: ``(statics, law, scratch, fixed)`` — NumPy views of the
        statics (the programming noise's as ``(out, in)`` matrices, the others flat), the
        PCM law's constants as :mod:`hadeq.analog.fused` takes them, views of the scratch
        (load, ŵ, ĝ_p, λ and (D, Q): flat arrays, for ``log2_``/``exp2_`` tensors, and the
        first four as ``(out, in)`` matrices) with the idle pairs' and padded columns'
        loads, and ``(step, with_load, eps, one)``."""
        hw, st, n = self.hw, self.statics, w.numel()
        # The constants in the weights' precision, which the PCM kernels compute in: float32
        # weights as the torch formulation computes them, eight lanes at a time.
        typed = np.float32 if w.dtype == torch.float32 else float
        # The buffer holds the load, ŵ, ĝ_p, λ, then (D, Q) for one exp2 pass.
        empty = w.new_zeros(0, self.n_in).numpy()
        law: tuple[Any, ...] = ()
        if hw.device_model == DeviceModel.PCM:
            names = ("drift", "read", "idle", "idle_prog")
            statics = (st["prog_mid"].numpy(), st["prog_half"].numpy(),
                       *(st[f"{name}_{part}"].numpy().reshape(-1) for name in names
                         for part in ("mid", "half")))
            pcm = _PCMLaw.of(hw)
            (a_mu, b_mu), (a_sd, b_sd) = C.PCM_DRIFT_MU_COEFFS, C.PCM_DRIFT_SIGMA_COEFFS
            c2, c1, c0 = C.PCM_PROG_NOISE_COEFFS_US
            a_q, p_q = C.PCM_READ_NOISE_QS_COEFFS
            mu, sd, q = ((a_mu * _LN_2, b_mu, *C.PCM_DRIFT_MU_CLIP),
                         (a_sd * _LN_2, b_sd, *C.PCM_DRIFT_SIGMA_CLIP),
                         (math.log2(a_q), p_q, math.log2(C.PCM_READ_NOISE_QS_MAX)))
            law = (tuple(map(typed, (c2, c1 / c2, c0))), tuple(map(typed, mu)),
                   tuple(map(typed, sd)), typed(pcm.log2_t), tuple(map(typed, q)),
                   typed(torch.finfo(w.dtype).tiny), typed(self.k), typed(self.g_min))
        else:
            statics = (st["offset"].numpy(),) if "offset" in st else ()
            typed = float  # the linear kernels compute in float64
        parts = [buffer[i * n:(i + 1) * n] for i in range(4)]
        load_static = st["load"].numpy() if "load" in st else empty
        pad = self.load_pad.numpy() if self.load_pad is not None else empty
        flat = [t.numpy() for t in parts]
        scratch = (flat[0], load_static, pad, flat[1], flat[2], flat[3], parts[3],
                   buffer[4 * n:].numpy(), buffer[4 * n:],
                   tuple(a.reshape(w.shape) for a in flat))
        step = level_step(hw.weight_bits) if hw.weight_bits is not None else 0.0
        eps = hw.wire_resistance_ohm * hw.g_max_us * _US_TO_S
        fixed = (typed(step), hw.wire_resistance_ohm > 0.0, eps, typed(1.0))
        return statics, law, scratch, fixed

    def _read_linear(self, w_hat: Tensor) -> tuple[Tensor, Tensor, float]:
        """``ideal`` and ``gaussian`` devices: ``e = ŵ (+ offset)``, slope ``[ŵ ≠ 0]``."""
        st = self.statics
        slope = torch.sign(w_hat).abs_()
        e = torch.add(w_hat, st["offset"]) if "offset" in st else w_hat.clone()
        if self.hw.wire_resistance_ohm > 0.0:
            load = w_hat.abs_().mul_(self.k).add_(st["load"])
            self._ir_drop(load, e, slope)
        return e, slope, 1.0

    def _read_pcm(self, w_hat: Tensor) -> tuple[Tensor, Tensor, Tensor | float]:
        """``pcm`` devices: the active device through :func:`pcm_read`, the idle one
        from the statics, drift compensation and IR drop (``w_hat`` is the first scratch
        buffer)."""
        hw, st = self.hw, self.statics
        _, pm, g_target, a_prog, xi_drift, b_read, f, tmp = _SCRATCH.take(8, w_hat)
        torch.copysign(w_hat.new_tensor(1.0), w_hat, out=pm)  # σ = ±1: the active device
        torch.abs(w_hat, out=g_target)
        if self.k != 1.0 or self.g_min != 0.0:
            g_target.mul_(self.k).add_(self.g_min)
        for name, out in (("prog", a_prog), ("drift", xi_drift), ("read", b_read)):
            torch.addcmul(st[name + "_mid"], pm, st[name + "_half"], out=out)
        g_prog, g, drift = pcm_read(g_target, _PCMLaw.of(hw), a_prog, xi_drift, b_read,
                                    [f, tmp])
        # F' = [ĝ_p ≥ 0]·D·[F ≥ 0] = D·[F > 0] (F > 0 implies ĝ_p > 0), times [ŵ ≠ 0]:
        # σ·sign(F·ŵ) is both indicators at once.
        slope = torch.mul(g, w_hat).sign_().mul_(pm)
        if drift is not None:
            slope.mul_(drift)
        load = None
        if hw.wire_resistance_ohm > 0.0:
            load = torch.addcmul(st["idle_mid"], pm, st["idle_half"], value=-1.0, out=tmp)
            load.add_(g)
        e = torch.addcmul(st["idle_half"], pm, g.sub_(st["idle_mid"]))
        gain: Tensor | float = 1.0 / self.k
        if hw.drift_compensation:
            prog = torch.addcmul(st["idle_prog_half"], pm, g_prog.sub_(st["idle_prog_mid"]),
                                 out=b_read)
            num = prog.abs_().sum().add_(self.alpha_pad[0])
            den = torch.abs(e, out=b_read).sum().add_(self.alpha_pad[1])
            alpha = num.div_(den.clamp_min_(torch.finfo(e.dtype).tiny))
            slope.mul_(alpha)
            gain = alpha.mul_(gain)
        if load is not None:
            self._ir_drop(load, e, slope)
        return e, slope, gain

    def _ir_drop(self, load: Tensor, e: Tensor, slope: Tensor) -> None:
        """Multiply ``e`` and ``slope`` by the IR-drop factor ``(1 − ε·c)⁺`` of every cell
        for the pair loads ``load`` ``(out, in)``: :func:`hadeq.analog.crossbar.ir_drop_factor`
        in this layout, ``c_j = Σ_{k ≤ j} S_k`` with the suffix sums ``S_k = T − P_k + ĝ_k``
        of the prefix sums ``P`` along each tile's columns (``T`` the row total)."""
        hw = self.hw
        eps = hw.wire_resistance_ohm * hw.g_max_us * _US_TO_S
        cols, blocks = hw.tile_cols, self.n_col_blocks
        if self.load_pad is not None:
            load = torch.cat([load, self.load_pad])
        g = load.view(blocks, cols, self.n_in)
        prefix = _prefix_sum(g)
        suffix = torch.sub(prefix[:, -1:].clone(), prefix, out=prefix).add_(g)
        c = _prefix_sum(suffix)
        factor = c.mul_(-eps).add_(1.0).clamp_min_(0.0)
        factor = factor.view(blocks * cols, self.n_in)[: self.n_out]
        e.mul_(factor)
        slope.mul_(factor)
