"""Anderson acceleration (type II), batched with per-sample coefficients."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from hadeq.solvers import compiled
from hadeq.solvers.base import FixedPointSolver, State
from hadeq.validation import check_int, check_range


@functools.lru_cache(maxsize=64)
def _ones_cached(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    return torch.ones(1, n, 1, dtype=dtype, device=device)


def _ones(n: int, like: Tensor) -> Tensor:
    """A ``(1, n, 1)`` tensor of ones like ``like`` (built once per size and dtype)."""
    return _ones_cached(n, like.dtype, like.device)


@dataclass(frozen=True)
class Anderson(FixedPointSolver):
    """Anderson acceleration over the last ``m`` iterates.

    With ``x_i`` the stored iterates, ``f_i = f(x_i)`` and residuals ``g_i = f_i − x_i``,
    each step solves the regularised least-squares problem

        α = argmin ‖Σ α_i g_i‖² + λ‖α‖²   subject to   Σ α_i = 1,

    whose solution is ``α ∝ (GGᵀ + λI)⁻¹ 1``, and moves to

        x_{k+1} = β Σ α_i f_i + (1 − β) Σ α_i x_i.

    ``λ`` is scaled by the mean of ``diag(GGᵀ)`` so the ridge is invariant to the scale of
    ``z``. A sample whose small system is singular (or whose coefficients sum to 0 or
    overflow) falls back to a Picard step. On the CPU the step runs as one compiled pass
    (:mod:`hadeq.solvers.compiled`); the torch code below is its definition.
    """

    name: ClassVar[str] = "anderson"

    history: int = 6
    """m: how many past iterates the least-squares step combines."""

    ridge: float = 1e-4
    """λ: Tikhonov regularisation of the least-squares step, relative to ``mean diag(GGᵀ)``."""

    mixing: float = 1.0
    """β in (0, 1]: weight of ``f`` in the mixed update (1 = undamped Anderson)."""

    def __post_init__(self) -> None:
        check_int("history", self.history, 1, 100)
        check_range("ridge", self.ridge, 0.0, None)
        check_range("mixing", self.mixing, 0.0, 1.0, low_open=True)

    def init(self, z: Tensor, fz: Tensor) -> State:
        # The history keeps f_i and g_i = f_i − x_i (x_i = f_i − g_i is never needed on
        # its own) and the Gram matrix GGᵀ, updated one row per step: a step then costs
        # O(m·d) per sample for the Gram matrix instead of O(m²·d).
        batch, dim = z.shape
        f = z.new_zeros(batch, self.history, dim)
        gram = z.new_zeros(batch, self.history, self.history)
        return {"f": f, "g": torch.zeros_like(f), "gram": gram}

    def step(self, state: State, z: Tensor, fz: Tensor, k: int) -> tuple[Tensor, State]:
        slot = k % self.history
        n = min(k + 1, self.history)
        f, g, gram = state["f"], state["g"], state["gram"]
        if compiled.applies(z, fz, f, g, gram):
            out = torch.empty_like(z)
            compiled.anderson_step(f.numpy(), g.numpy(), gram.numpy(), z.numpy(), fz.numpy(),
                                   slot, n, self.ridge, self.mixing,
                                   torch.finfo(z.dtype).tiny, out.numpy())
            return out, state
        f[:, slot] = fz
        torch.sub(fz, z, out=g[:, slot])
        # Row and column ``slot`` of GGᵀ: the new residual against every stored one. As
        # a (1×d)·(d×n) product: the (n×d)·(d×1) form is several times slower on CPU.
        row = torch.bmm(g[:, slot, None, :], g[:, :n].transpose(1, 2)).squeeze(1)
        gram[:, slot, :n] = row
        gram[:, :n, slot] = row
        if n == 1:
            return z.lerp(fz, self.mixing), state
        system = gram[:, :n, :n].clone()
        diag = system.diagonal(dim1=1, dim2=2)
        scale = diag.mean(dim=1).clamp_min_(torch.finfo(z.dtype).tiny)
        diag.add_(scale.mul_(self.ridge)[:, None])
        alpha, info = torch.linalg.solve_ex(system, _ones(n, z).expand(z.shape[0], n, 1))
        alpha = alpha.squeeze(2)
        total = alpha.sum(dim=1, keepdim=True)
        alpha = alpha / total
        # A NaN/Inf coefficient makes the total NaN/Inf: checking it covers every one.
        fallback = (info != 0) | ~torch.isfinite(total.squeeze(1)) | (total.squeeze(1) == 0)
        # On an accelerator the Picard weights are selected with ``where`` (asking whether
        # some sample needs them would synchronise with the host); on the CPU asking is
        # free and saves the selection.
        if z.device.type != "cpu" or bool(fallback.any()):
            picard = torch.zeros_like(alpha)
            picard[:, slot] = 1.0
            alpha = torch.where(fallback[:, None], picard, alpha)
        mixed_f = torch.bmm(alpha[:, None], f[:, :n]).squeeze(1)
        if self.mixing == 1.0:
            return mixed_f, state
        # Σ α_i x_i = Σ α_i f_i − Σ α_i g_i.
        mixed_x = mixed_f - torch.bmm(alpha[:, None], g[:, :n]).squeeze(1)
        return mixed_x.lerp(mixed_f, self.mixing), state
