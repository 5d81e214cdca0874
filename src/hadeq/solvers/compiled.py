"""A compiled CPU kernel for the Anderson step (numba).

Why. On the CPU an Anderson step over a batch of a few hundred samples is a dozen small
torch operations — the Gram row, the ridge, a batched ``linalg.solve`` of ``m × m``
systems, the normalisation, the fallback check, the mixing product — each with its own
dispatch and pass over memory; together they cost as much as one evaluation of a small
map, in both the forward solve and the adjoint. Here one pass per sample does all of it:
the new history slot, the Gram row (the dot products vectorised, summed in any order),
the ridge-regularised system solved in float64 by Gaussian elimination with partial
pivoting, and the mixed iterate.

It computes :meth:`hadeq.solvers.anderson.Anderson.step`'s formulas, whose torch code stays
the definition (it runs on other devices, dtypes and with autograd); the tests hold the
two together. Results differ at rounding level: the small system is solved in float64
here, in the iterates' dtype there.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

ENABLED = True
"""Run CPU float32/float64 steps through the kernel (a switch for the tests that compare it
with the torch formulation)."""

_DTYPES = (torch.float32, torch.float64)


def applies(*tensors: torch.Tensor) -> bool:
    """Whether the Anderson step on these tensors runs compiled: contiguous CPU float32 or
    float64 tensors of one dtype that need no gradient, while :data:`ENABLED`."""
    first = tensors[0]
    return ENABLED and all(
        t.device.type == "cpu" and t.dtype == first.dtype and t.is_contiguous()
        and not t.requires_grad for t in tensors) and first.dtype in _DTYPES


@numba.njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
def anderson_step(f: np.ndarray, g: np.ndarray, gram: np.ndarray, z: np.ndarray,
                  fz: np.ndarray, slot: int, n: int, ridge: float, mixing: float,
                  tiny: float, out: np.ndarray) -> int:
    """One Anderson step for every sample ``b`` (see :class:`~hadeq.solvers.Anderson`):
    ``f[b, slot] = fz[b]``, ``g[b, slot] = fz[b] − z[b]``, row and column ``slot`` of
    ``gram[b]`` from ``g[b, :n]``; then ``α ∝ (GGᵀ + λ·max(mean diag, tiny)·I)⁻¹ 1`` over
    the first ``n`` slots, normalised to sum 1 (the Picard weights ``e_slot`` when the
    system is singular or the sum is 0 or not finite), and
    ``out[b] = Σ α_i f_i − (1 − β) Σ α_i g_i``; with one slot, ``lerp(z, fz, β)``.
    ``f``, ``g``: ``(B, m, d)``; ``gram``: ``(B, m, m)``; ``z``, ``fz``, ``out``: ``(B, d)``.
    Returns how many samples took the Picard weights."""
    batch, _, d = f.shape
    fallbacks = 0
    a = np.empty((n, n + 1))
    alpha = np.empty(n)
    for b in range(batch):
        fb, gb, zb, fzb, ob = f[b], g[b], z[b], fz[b], out[b]
        for j in range(d):
            fb[slot, j] = fzb[j]
            gb[slot, j] = fzb[j] - zb[j]
        for i in range(n):
            acc = gb[slot, 0] - gb[slot, 0]  # a zero of the data's dtype
            for j in range(d):
                acc += gb[slot, j] * gb[i, j]
            gram[b, slot, i] = acc
            gram[b, i, slot] = acc
        if n == 1:  # torch.lerp's two forms, exact at both ends
            for j in range(d):
                step = fzb[j] - zb[j]
                ob[j] = (zb[j] + mixing * step if mixing < 0.5
                         else fzb[j] - step * (1.0 - mixing))
            continue
        shift = 0.0
        for i in range(n):
            shift += gram[b, i, i]
        shift = max(shift / n, tiny) * ridge
        for i in range(n):
            for k in range(n):
                a[i, k] = gram[b, i, k]
            a[i, i] += shift
            a[i, n] = 1.0
        singular = False
        for c in range(n):
            p = c
            for r in range(c + 1, n):
                if abs(a[r, c]) > abs(a[p, c]):
                    p = r
            if a[p, c] == 0.0:
                singular = True
                break
            for k in range(c, n + 1):
                a[c, k], a[p, k] = a[p, k], a[c, k]
            for r in range(c + 1, n):
                q = a[r, c] / a[c, c]
                for k in range(c, n + 1):
                    a[r, k] -= q * a[c, k]
        total = 0.0
        if not singular:
            for i in range(n - 1, -1, -1):
                v = a[i, n]
                for k in range(i + 1, n):
                    v -= a[i, k] * alpha[k]
                alpha[i] = v / a[i, i]
                total += alpha[i]
        if singular or total == 0.0 or not math.isfinite(total):
            fallbacks += 1
            alpha[:] = 0.0
            alpha[slot] = 1.0
            total = 1.0
        for j in range(d):
            ob[j] = 0.0
        for i in range(n):
            w = alpha[i] / total
            for j in range(d):
                ob[j] += w * fb[i, j]
        if mixing != 1.0:
            for i in range(n):
                w = alpha[i] / total * (1.0 - mixing)
                for j in range(d):
                    ob[j] -= w * gb[i, j]
    return fallbacks
