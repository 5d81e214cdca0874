"""Uniform symmetric quantizers: with a straight-through gradient (:func:`quantize_ste`)
and in level units (:func:`round_levels`)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor


def abs_max(t: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """``max |t|`` over everything or along ``dim``, as ``max(max t, −min t)``: one pass
    with no temporary (``linalg.vector_norm(t, inf)`` is ~10× slower on CPU). The range of
    a symmetric quantizer that clips nothing."""
    lo, hi = torch.aminmax(t, dim=dim, keepdim=keepdim)
    return torch.maximum(hi, lo.neg_())


def n_levels(bits: int) -> int:
    """Levels of a symmetric ``bits``-bit quantizer on [−1, 1]: ``2^b − 1`` (odd, so 0 is a
    level), or 2 (±1) for a single bit."""
    return 2 if bits == 1 else (1 << bits) - 1


def level_step(bits: int) -> float:
    """Spacing ``Δ = 2 / (L − 1)`` of the ``L = n_levels(bits)`` levels on [−1, 1]."""
    return 2.0 / (n_levels(bits) - 1)


def half_range(bits: int) -> float:
    """``H = (L − 1)/2 = 1/Δ``: the levels ``−1 + k·Δ`` are ``j/H`` for the ``L`` values
    ``j ∈ {−H, −H + 1, …, H}`` (integers for ``bits ≥ 2``, ±½ for one bit)."""
    return (n_levels(bits) - 1) / 2


def round_levels(t: Tensor, bits: int, *, inplace: bool = False) -> Tensor:
    """``j = nearest of {−H, −H + 1, …, H} to clip(t, −H, H)`` (``H = half_range(bits)``).

    For ``t = H·v`` this is the quantizer of :func:`quantize_ste` in integer units:
    ``j/H = −1 + Δ·round((clip(v, −1, 1) + 1)/Δ)`` (the two may differ only for ``v``
    exactly half-way between two levels). No gradient: for callers that scale into and
    out of level units themselves. ``inplace`` overwrites ``t``.
    """
    h = half_range(bits)
    j = t.clamp_(-h, h) if inplace else t.clamp(-h, h)
    if h == math.floor(h):
        return j.round_()
    return j.add_(0.5).round_().sub_(0.5)  # one bit: the levels are ±½


def quantize_(x: Tensor, bits: int) -> Tensor:
    """The forward of :func:`quantize_ste` in place on ``x`` (no gradient)."""
    step = level_step(bits)
    return x.clamp_(-1.0, 1.0).add_(1.0).mul_(1.0 / step).round_().mul_(step).sub_(1.0)


class _ClipRoundSTE(torch.autograd.Function):
    """Forward ``−1 + Δ·round((clip(x, −1, 1) + 1)/Δ)``; backward: the gradient of the
    clip alone (1 inside [−1, 1], 0 outside) — a straight-through estimator for the
    rounding. One fused function keeps the elementwise passes (and memory) few."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, step: float) -> Tensor:  # type: ignore[override]
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x.abs() <= 1.0)
        inv = 1.0 / step
        return x.clamp(-1.0, 1.0).add_(1.0).mul_(inv).round_().mul_(step).sub_(1.0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (inside,) = ctx.saved_tensors
        return grad * inside, None


def quantize_ste(x: Tensor, bits: int) -> Tensor:
    """Clip ``x`` to [−1, 1] and round it to the nearest of the uniform levels
    ``−1 + k·Δ`` (``k = 0 … L−1``), so the error inside the range is at most ``Δ/2``.

    Forward: the clipped, rounded value. Backward: the clip's gradient (identity inside
    the range, zero outside): the straight-through estimator.
    """
    return _ClipRoundSTE.apply(x, level_step(bits))
