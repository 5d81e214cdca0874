"""Fused CPU kernels of the analog read: the device read of
:class:`hadeq.analog.devices.ProgrammedArray` and the converters of
:mod:`hadeq.analog.converters`.

Why. In training the effective weights cannot be cached (the gradient must reach W), so
every forward evaluates the device model over the whole weight matrix. Written as torch
operations that is ~50 elementwise passes for ``pcm``, each a separate trip through
memory (17 ms for a 1024 × 1024 layer on one core, more than the layer's matmuls), and
the IR drop's prefix sums are two levels of small matrix products. Here the arithmetic
of every cell runs in a few compiled loops — for ``pcm``: programming, the exponents of
the drift factor and of the 1/f amplitude, and the read-time conductance with the
compensation's sums — with the two transcendental steps between them as passes of
their own (inside the float64 loops they would stop them from vectorising): torch's
``exp2_``, and ``log2_`` for float64 weights; for float32 weights the exponents' pass
takes the log2 itself, as a float32 polynomial (:func:`pcm_exponents_f32`); then one
pass applies the digital gains and the IR drop (running prefix sums). The DAC and the ADC
with the row tiles' sum are one pass each; the read noise's normals are one more.

They compute the formulas of :mod:`hadeq.analog.devices` and
:mod:`hadeq.analog.converters`, whose torch functions stay the definition: they run
wherever these kernels do not (other devices and dtypes) and build the programmed
array's static factors, and the tests check that both give the same results in float64
(the converters' kernels keep float32 arithmetic in float32 and give the same bits; the
device read's arithmetic is in float64 for either dtype). Each loop is written so that
LLVM vectorises it: no branch in the body (clips and indicators are selects), options
tested outside the loops, per-row factors indexed by an outer loop over rows.

Notation as in :mod:`hadeq.analog.devices`: ``ŵ`` the normalised (and quantized) weight,
``σ = ±1`` the active device (``copysign(1, ŵ)``), ``x = x_mid + σ·x_half`` a static
factor of the active device; matrices are ``(out, in)``. The kernels are compiled on
first use per dtype and cached on disk.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

ENABLED = True
"""Run CPU tensors through these kernels (a switch for the tests that compare them with
the torch formulation)."""
_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


def applies(t: torch.Tensor) -> bool:
    """Whether ``t`` is read through these kernels: a float32 or float64 CPU tensor, while
    :data:`ENABLED`."""
    return ENABLED and t.is_cpu and t.dtype in _NUMPY_DTYPES


@functools.cache
def empty(dtype: torch.dtype) -> np.ndarray:
    """An empty array of ``dtype``: a kernel's absent optional argument."""
    return np.empty(0, dtype=_NUMPY_DTYPES[dtype])


@functools.cache
def const(value: float, dtype: torch.dtype) -> np.ndarray:
    """``value`` as a one-element array of ``dtype`` (float32 or float64): a kernel's
    constant (shared between calls; the kernels only read it)."""
    return np.array([value], dtype=_NUMPY_DTYPES[dtype])


_JIT = {"nogil": True, "cache": True, "error_model": "numpy"}
# The compensation sums may be reassociated (summed in vector lanes): their order is not
# the torch formulation's either, and only their ratio matters, to rounding.
_JIT_SUMS = {**_JIT, "fastmath": {"reassoc"}}


@numba.njit(inline="always")
def _max0(v, one):  # type: ignore[no-untyped-def]
    """``clamp_min(v, 0)`` as torch's (NaN stays NaN), in the precision of ``one`` (a 1 of
    the kernel's arithmetic: a Python float computes in float64, a NumPy float32 in
    float32)."""
    zero = one - one
    return zero if v < zero else v


@numba.njit(inline="always")
def _between(v, lo, hi):  # type: ignore[no-untyped-def]
    """``clamp(v, lo, hi)`` as torch's (NaN stays NaN)."""
    return lo if v < lo else (hi if v > hi else v)


@numba.njit(inline="always")
def _normalised(w, s, step, inv, one):  # type: ignore[no-untyped-def]
    """``Q(w / s)``: the weight quantizer of :func:`hadeq.analog.quant.quantize_` with
    level spacing ``step = 1/inv`` (none if ``step`` is 0), in the precision of ``one``."""
    v = w / s
    q = np.rint((_between(v, -one, one) + one) * inv) * step - one
    return q if step > one - one else v


# --- the device read ----------------------------------------------------------------------
@numba.njit(**_JIT)
def pcm_program(w: np.ndarray, scale: np.ndarray, step: float, k: float, g_min: float,
                poly: tuple[float, float, float], tiny: float, one: float,
                prog_mid: np.ndarray, prog_half: np.ndarray, w_hat: np.ndarray,
                g_prog: np.ndarray, lam: np.ndarray) -> None:
    """Programming of the active device, from the ``(out, in)`` weights ``w``:
    ``ŵ = Q(w/s)`` into ``w_hat`` (``s`` the row's entry of ``scale``, length 1 or
    ``out``), ``ĝ_T = ĝ_min + k·|ŵ|``,
    ``ĝ_p = max(ĝ_T + P(ĝ_T)·prog·ξ_p, 0)`` into ``g_prog`` with
    ``P(g) = max(c0 + c2·(g + c1/c2)·g, 0)``, ``poly = (c2, c1/c2, c0)``, and
    ``max(ĝ_p, tiny)`` into ``lam`` (whose ``log2`` the caller takes). Without
    programming noise ``prog·ξ_p`` is an exact zero and ``ĝ_p = ĝ_T``. The constants are
    all of ``one``'s type, the precision of the arithmetic (float32 for float32 weights:
    eight lanes, and float32 as the torch formulation computes)."""
    c2, shift, c0 = poly
    per_row = scale.size > 1
    zero = one - one
    inv = one / step if step > zero else zero
    for r in range(w.shape[0]):
        s_r = scale[r if per_row else 0]
        for i in range(w.shape[1]):
            v = _normalised(w[r, i], s_r, step, inv, one)
            w_hat[r, i] = v
            g = abs(v) * k + g_min
            a = prog_mid[r, i] + math.copysign(one, v) * prog_half[r, i]
            g = _max0(g + _max0(c0 + c2 * (g + shift) * g, one) * a, one)
            g_prog[r, i] = g
            lam[r, i] = tiny if g < tiny else g


@numba.njit(inline="always")
def _exponents(lam2, xi, mu_coef, sd_coef, log2_t, q_coef):  # type: ignore[no-untyped-def]
    """``(−|μ_ν + σ_ν·ξ_d|·log2(t/t0), min(log2 a_Q − p·lam2, log2 Q_max))`` of one cell
    (see :func:`pcm_exponents`), in the arguments' precision."""
    a_mu, b_mu, lo_mu, hi_mu = mu_coef
    a_sd, b_sd, lo_sd, hi_sd = sd_coef
    log2_a, p, log2_max = q_coef
    mu = _between(b_mu + a_mu * lam2, lo_mu, hi_mu)
    sd = _between(b_sd + a_sd * lam2, lo_sd, hi_sd)
    q = log2_a - p * lam2
    return -abs(mu + sd * xi) * log2_t, (log2_max if q > log2_max else q)


@numba.njit(**_JIT)
def pcm_exponents(w_hat: np.ndarray, lam2: np.ndarray, drift_mid: np.ndarray,
                  drift_half: np.ndarray, mu_coef: tuple[float, float, float, float],
                  sd_coef: tuple[float, float, float, float], log2_t: float,
                  q_coef: tuple[float, float, float], exponents: np.ndarray) -> None:
    """The base-2 exponents of the drift factor and of the 1/f amplitude from
    ``lam2 = log2 max(ĝ_p, tiny)``: ``−|μ_ν + σ_ν·ξ_d|·log2(t/t0)`` into the first half of
    ``exponents`` and ``min(log2 a_Q − p·lam2, log2 Q_max)`` into the second.
    ``*_coef = (slope per log2, intercept, clip lo, clip hi)`` of μ_ν and σ_ν,
    ``q_coef = (log2 a_Q, p, log2 Q_max)``; flat arrays. Without drift ``log2_t`` is 0
    and the factor ``2^−0`` an exact 1."""
    n = w_hat.size
    for i in range(n):
        xi = drift_mid[i] + math.copysign(1.0, w_hat[i]) * drift_half[i]
        exponents[i], exponents[n + i] = _exponents(lam2[i], xi, mu_coef, sd_coef, log2_t,
                                                    q_coef)


@numba.njit(**_JIT)
def pcm_exponents_f32(w_hat: np.ndarray, lam: np.ndarray, drift_mid: np.ndarray,
                      drift_half: np.ndarray, mu_coef: tuple[float, float, float, float],
                      sd_coef: tuple[float, float, float, float], log2_t: float,
                      q_coef: tuple[float, float, float], exponents: np.ndarray) -> None:
    """:func:`pcm_exponents` for float32 arrays and float32 constants, taking the log2 of
    ``lam = max(ĝ_p, tiny)`` itself (a float32 polynomial, within 3 ulps): one pass eight
    lanes wide instead of torch's ``log2_`` and a float64 pass."""
    n = w_hat.size
    one = np.float32(1.0)
    for i in range(n):
        xi = drift_mid[i] + math.copysign(one, w_hat[i]) * drift_half[i]
        exponents[i], exponents[n + i] = _exponents(_log2(lam[i]), xi, mu_coef, sd_coef,
                                                    log2_t, q_coef)


@numba.njit(**_JIT_SUMS)
def pcm_finish(w_hat: np.ndarray, g_prog: np.ndarray, factors: np.ndarray,
               read_mid: np.ndarray, read_half: np.ndarray, idle_mid: np.ndarray,
               idle_half: np.ndarray, idle_prog_mid: np.ndarray, idle_prog_half: np.ndarray,
               with_load: bool, compensate: bool, one: float, e: np.ndarray,
               slope: np.ndarray, load: np.ndarray) -> tuple[float, float]:
    """From ``ĝ_p`` and ``factors = (D, Q)`` (``2^`` of :func:`pcm_exponents`): the
    read-time conductance ``F = max(ĝ_p·D·(1 + read·ξ_r·Q), 0)`` of the active device,
    ``k·e = I_half + σ·(F − I_mid)`` into ``e``, the slope ``D·[F > 0]·[ŵ ≠ 0]`` into
    ``slope``, the pair load ``F + I_idle`` into ``load`` (if ``with_load``), and the drift
    compensation's sums ``(Σ|k·e_p|, Σ|k·e|)`` with ``k·e_p = I_p,half + σ·(ĝ_p − I_p,mid)``
    the programmed pair (if ``compensate``; else zeros); flat arrays. Without read noise
    ``read·ξ_r`` is an exact zero and ``F = ĝ_p·D``. The arithmetic is in ``one``'s
    precision, the sums in float64."""
    n = w_hat.size
    zero = one - one
    for i in range(n):
        s = math.copysign(one, w_hat[i])
        d = factors[i]
        g = _max0(g_prog[i] * d * ((read_mid[i] + s * read_half[i]) * factors[n + i] + one),
                  one)
        e[i] = idle_half[i] + s * (g - idle_mid[i])
        slope[i] = d if (g > zero) & (w_hat[i] != zero) else zero
        if with_load:
            load[i] = g + (idle_mid[i] - s * idle_half[i])
    num = 0.0
    den = 0.0
    if compensate:  # a loop of its own, which vectorises (the fused one does not)
        for i in range(n):
            s = math.copysign(one, w_hat[i])
            num += abs(idle_prog_half[i] + s * (g_prog[i] - idle_prog_mid[i]))
            den += abs(e[i])
    return num, den


@numba.njit(**_JIT)
def linear_read(w: np.ndarray, scale: np.ndarray, step: float, k: float, offset: np.ndarray,
                has_offset: bool, load_static: np.ndarray, with_load: bool, e: np.ndarray,
                slope: np.ndarray, load: np.ndarray) -> None:
    """``ideal``/``gaussian`` devices: with ``ŵ = Q(w/s)`` as in :func:`pcm_program`,
    ``e = ŵ (+ offset)``, slope ``[ŵ ≠ 0]`` and the pair load ``k·|ŵ| + load_static``
    (if ``with_load``)."""
    per_row = scale.size > 1
    inv = 1.0 / step if step > 0.0 else 0.0
    for r in range(w.shape[0]):
        s_r = scale[r if per_row else 0]
        for i in range(w.shape[1]):
            v = _normalised(w[r, i], s_r, step, inv, 1.0)
            e[r, i] = v + offset[r, i] if has_offset else v
            slope[r, i] = 1.0 if v != 0.0 else 0.0
            if with_load:
                load[r, i] = abs(v) * k + load_static[r, i]


@numba.njit(**_JIT)
def scale_and_ir_drop(e: np.ndarray, slope: np.ndarray, load: np.ndarray,
                      load_pad: np.ndarray, cols: int, eps: float, e_gain: np.ndarray,
                      slope_gain: float) -> None:
    """``e ← e·gain_r·f``, ``slope ← slope·slope_gain·f`` for ``(out, in)`` matrices, with
    ``gain_r`` the row's entry of ``e_gain`` (length 1 or ``out``) and ``f = (1 − ε·c)⁺``
    the IR-drop factor of :meth:`~hadeq.analog.devices.ProgrammedArray._ir_drop`
    (``f = 1`` if ``eps`` is 0).

    Rows are outputs; each block of ``cols`` rows is one tile's columns and ``load_pad``
    ``(pad, in)`` the padded columns after the last row. Per block and input ``i``, with
    ``T`` the block total and ``P_j`` the inclusive prefix sums of the loads,
    ``c_j = Σ_{k ≤ j} (T − P_{k−1})`` (``P_{−1} = 0``): the suffix sums' prefix sums,
    accumulated in one running pass after the totals."""
    n_out, n_in = e.shape
    per_row = e_gain.size > 1
    if eps == 0.0:
        for r in range(n_out):
            g = e_gain[r if per_row else 0]
            for i in range(n_in):
                e[r, i] *= g
                slope[r, i] *= slope_gain
        return
    n_pad = load_pad.shape[0]
    total = np.empty(n_in, dtype=e.dtype)
    prev = np.empty(n_in, dtype=e.dtype)
    acc = np.empty(n_in, dtype=e.dtype)
    for start in range(0, n_out + n_pad, cols):
        stop = start + cols
        total[:] = 0.0
        for r in range(start, stop):
            rows = load[r] if r < n_out else load_pad[r - n_out]
            for i in range(n_in):
                total[i] += rows[i]
        prev[:] = 0.0
        acc[:] = 0.0
        for r in range(start, min(stop, n_out)):
            g = e_gain[r if per_row else 0]
            for i in range(n_in):
                acc[i] += total[i] - prev[i]
                f = _max0(1.0 - eps * acc[i], 1.0)
                e[r, i] *= g * f
                slope[r, i] *= slope_gain * f
                prev[i] += load[r, i]


# --- normal draws (the read noise) ---------------------------------------------------------
# Box–Muller over the SplitMix64 stream (G. Steele, D. Lea, C. Flood, "Fast splittable
# pseudorandom number generators", OOPSLA 2014): output k of state ``seed`` gives normals
# 2k and 2k + 1, z = r·(cos θ, sin θ) with r = √(−2 ln u), u from its high 31 bits and θ
# from its low 32 (2 bits pick the quadrant, 22 the angle within it). Why not
# torch.randn: its CPU normals cost about 4–5 ns each (mt19937 uniforms, then
# Box–Muller), and the read noise of a training step draws R·N·out of them. Here the
# loop has no branch and no table: the logarithm, sine and cosine are short float32
# polynomials on reduced ranges (below 1e-6 relative error), so LLVM vectorises it, and
# the integer → float conversions are of 32-bit fields below 2^31 (AVX2 has no 64-bit
# ones). The radius's tail ends at √(64 ln 2) ≈ 6.7 σ (u ≥ 2^-32), where the normal's
# own mass is 3e-11. The same float32 log2 serves the device read of float32 weights.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_U27, _U30, _U31, _U32 = (np.uint64(b) for b in (27, 30, 31, 32))
_LOW32 = np.uint64(0xFFFFFFFF)
_F = np.float32
_B1, _B8, _B23, _B30 = (np.uint32(b) for b in (1, 8, 23, 30))
_MANTISSA, _ONE_BITS, _ANGLE = np.uint32(0x7FFFFF), np.uint32(0x3F800000), np.uint32(0x3FFFFF)
_BIASED = _F(127.0)
_LOG_TERMS = tuple(_F(1.0 / (2 * k + 1)) for k in range(5))  # 2·atanh(s) = 2·Σ s^(2k+1)/(2k+1)
_SIN_TERMS = tuple(_F((-1) ** k / math.factorial(2 * k + 1)) for k in range(5))
_COS_TERMS = tuple(_F((-1) ** k / math.factorial(2 * k)) for k in range(6))
_SQRT2, _HALF_PI = _F(math.sqrt(2.0)), _F(math.pi / 2)
_ONE, _HALF = _F(1.0), _F(0.5)
_TWO_OVER_LN2, _MINUS_TWO_LN2 = _F(2.0 / math.log(2.0)), _F(-2.0 * math.log(2.0))
_INV_2_31, _INV_2_22 = _F(2.0 ** -31), _F(2.0 ** -22)


@intrinsic
def _f32_bits(typingctx, value):  # type: ignore[no-untyped-def]
    """The bits of a float32 as a uint32 (a bit cast, which vectorises)."""
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(32))
    return types.uint32(types.float32), codegen


@intrinsic
def _bits_f32(typingctx, bits):  # type: ignore[no-untyped-def]
    """The float32 with the bits of a uint32."""
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.uint32), codegen


@numba.njit(inline="always")
def _splitmix(z):  # type: ignore[no-untyped-def]
    """SplitMix64's output function of the state ``z``."""
    z = (z ^ (z >> _U30)) * _MIX1
    z = (z ^ (z >> _U27)) * _MIX2
    return z ^ (z >> _U31)


@numba.njit(inline="always")
def _log2(x):  # type: ignore[no-untyped-def]
    """log2 x for a positive normal float32: x = 2^e·m with m in [√½, √2), and
    log2 m = 2·atanh(s)/ln 2, s = (m − 1)/(m + 1), |s| ≤ 0.172 (series error below 1e-9;
    within 3 float32 ulps of the exact value)."""
    b = _f32_bits(x)
    e = _F(np.int32(b >> _B23)) - _BIASED
    m = _bits_f32((b & _MANTISSA) | _ONE_BITS)
    big = m > _SQRT2
    m = m * _HALF if big else m
    e = e + _ONE if big else e
    s = (m - _ONE) / (m + _ONE)
    z = s * s
    c0, c1, c2, c3, c4 = _LOG_TERMS
    return e + _TWO_OVER_LN2 * s * (c0 + z * (c1 + z * (c2 + z * (c3 + z * c4))))


@numba.njit(inline="always")
def _normal_pair(bits):  # type: ignore[no-untyped-def]
    """Two standard normals from 64 random bits (Box–Muller)."""
    hi, lo = np.uint32(bits >> _U32), np.uint32(bits & _LOW32)
    u = (_F(np.int32(hi >> _B1)) + _HALF) * _INV_2_31  # in (0, 1)
    r = math.sqrt(_MINUS_TWO_LN2 * _log2(u))
    # θ = quadrant·π/2 + t, t uniform on (−π/4, π/4): a uniform angle on the circle.
    t = ((_F(np.int32((lo >> _B8) & _ANGLE)) + _HALF) * _INV_2_22 - _HALF) * _HALF_PI
    z = t * t
    s0, s1, s2, s3, s4 = _SIN_TERMS
    c0, c1, c2, c3, c4, c5 = _COS_TERMS
    sin = t * (s0 + z * (s1 + z * (s2 + z * (s3 + z * s4))))
    cos = c0 + z * (c1 + z * (c2 + z * (c3 + z * (c4 + z * c5))))
    q = lo >> _B30  # (cos, sin) of θ: a quarter turn per quadrant, as swaps and signs
    odd = (q & _B1) != 0
    a = sin if odd else cos
    b = cos if odd else sin
    a = -a if ((q + _B1) & np.uint32(2)) != 0 else a  # quadrants 1, 2
    b = -b if q >= np.uint32(2) else b  # quadrants 2, 3
    return r * a, r * b


@numba.njit(**_JIT)
def normals(n: int, seed: int, like: np.ndarray) -> np.ndarray:
    """``n`` standard normals of ``like``'s dtype, a function of ``seed`` alone: entries
    ``2k`` and ``2k + 1`` from SplitMix64 output ``k`` of state ``seed``."""
    out = np.empty(n, dtype=like.dtype)
    normal_fill(out, seed)
    return out


@numba.njit(**_JIT)
def normal_fill(out: np.ndarray, seed: int) -> None:
    """Standard normals into the flat ``out``, a function of ``seed`` alone (as
    :func:`normals`)."""
    base = np.uint64(seed)
    n = out.size
    for k in range(n // 2):
        a, b = _normal_pair(_splitmix(base + np.uint64(k) * _GOLDEN))
        out[2 * k] = a
        out[2 * k + 1] = b
    if n % 2:
        out[n - 1] = _normal_pair(_splitmix(base + np.uint64(n // 2) * _GOLDEN))[0]


# --- converters (:mod:`hadeq.analog.converters`) ------------------------------------------
# Their constants come in one-element arrays of the data's dtype, so that float32 data is
# computed in float32, rounding for rounding as the torch formulation.

@numba.njit(inline="always")
def _clip(v, h):  # type: ignore[no-untyped-def]
    """``clamp(v, −h, h)`` as torch's (NaN stays NaN), as selects that vectorise."""
    return -h if v < -h else (h if v > h else v)


@numba.njit(**_JIT)
def dac_dynamic(x: np.ndarray, h: np.ndarray, tiny: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """The DAC with a dynamic range and ``H = h[0]`` (an integer): per row ``n`` of ``x``
    ``(N, in)``, ``x_range_n = max(max_i |x_ni|, tiny)`` and the levels
    ``k_ni = round(clip(x_ni / x_range_n · H, −H, H))``; returns ``(k, x_range)``, shapes
    ``(N, in)`` and ``(N, 1)``."""
    hh, lo = h[0], tiny[0]
    k = np.empty_like(x)
    x_range = np.empty((x.shape[0], 1), dtype=x.dtype)
    for n in range(x.shape[0]):
        m = abs(x[n, 0])
        for i in range(1, x.shape[1]):
            a = abs(x[n, i])
            if a > m or a != a:  # NaN propagates, as torch's max does
                m = a
        m = max(m, lo)
        x_range[n, 0] = m
        for i in range(x.shape[1]):
            k[n, i] = np.rint(_clip(x[n, i] / m * hh, hh))
    return k, x_range


@numba.njit(**_JIT)
def adc_sum(u: np.ndarray, h: np.ndarray, scale: np.ndarray, x_range: np.ndarray,
            lsb: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, int]:
    """The ADC with ``H = h[0]`` on tile outputs ``u`` ``(R, N, out)`` in ADC units, the
    row tiles' levels added and scaled back to layer units:
    ``y_nj = b_j + Σ_r round(clip(u_rnj, −H, H)) · (s_j·x_range_n)·lsb`` (``scale`` and
    ``x_range`` of one element when shared, else one per output and per vector, any
    shape; ``bias`` empty when there is none). Returns ``y`` ``(N, out)`` and how many
    ``u`` the clip changed (``|u| > H``)."""
    scale, x_range = scale.reshape(-1), x_range.reshape(-1)
    per_out, per_row, has_bias = scale.size > 1, x_range.size > 1, bias.size > 0
    hh, step = h[0], lsb[0]
    n_tiles, n_out = u.shape[0], u.shape[2]
    y = np.empty((u.shape[1], n_out), dtype=u.dtype)
    d = np.empty(n_out, dtype=y.dtype)
    clipped = 0
    for n in range(u.shape[1]):
        row = y[n]
        for r in range(n_tiles):
            for j in range(n_out):
                v = u[r, n, j]
                clipped += (v > hh) | (v < -hh)
                level = np.rint(_clip(v, hh))
                row[j] = level if r == 0 else row[j] + level
        xr = x_range[n if per_row else 0]
        for j in range(n_out):
            d[j] = scale[j if per_out else 0] * xr * step
        if has_bias:
            for j in range(n_out):
                row[j] = bias[j] + row[j] * d[j]
        else:
            for j in range(n_out):
                row[j] = row[j] * d[j]
    return y, clipped

