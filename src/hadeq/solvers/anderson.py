"""Anderson acceleration (type II), batched with per-sample coefficients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from hadeq.config import check_int, check_range
from hadeq.solvers.base import FixedPointSolver, State


@dataclass(frozen=True)
class Anderson(FixedPointSolver):
    """Anderson acceleration over the last ``m`` iterates.

    With ``x_i`` the stored iterates, ``f_i = f(x_i)`` and residuals ``g_i = f_i − x_i``,
    each step solves the regularised least-squares problem

        α = argmin ‖Σ α_i g_i‖² + λ‖α‖²   subject to   Σ α_i = 1,

    whose solution is ``α ∝ (GGᵀ + λI)⁻¹ 1``, and moves to

        x_{k+1} = β Σ α_i f_i + (1 − β) Σ α_i x_i.

    ``λ`` is scaled by the mean of ``diag(GGᵀ)`` so the ridge is invariant to the scale of
    ``z``. A sample whose small system is singular falls back to a Picard step.
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
        batch, dim = z.shape
        empty = z.new_zeros(batch, self.history, dim)
        return {"x": empty, "f": empty.clone()}

    def step(self, state: State, z: Tensor, fz: Tensor, k: int) -> tuple[Tensor, State]:
        slot = k % self.history
        state["x"][:, slot] = z
        state["f"][:, slot] = fz
        n = min(k + 1, self.history)
        if n == 1:
            return z.lerp(fz, self.mixing), state
        x, f = state["x"][:, :n], state["f"][:, :n]
        g = f - x
        gram = torch.bmm(g, g.transpose(1, 2))
        scale = gram.diagonal(dim1=1, dim2=2).mean(dim=1).clamp_min(torch.finfo(z.dtype).tiny)
        eye = torch.eye(n, dtype=z.dtype, device=z.device)
        system = gram + (self.ridge * scale)[:, None, None] * eye
        ones = torch.ones(z.shape[0], n, 1, dtype=z.dtype, device=z.device)
        alpha, info = torch.linalg.solve_ex(system, ones)
        alpha = alpha.squeeze(2)
        alpha = alpha / alpha.sum(dim=1, keepdim=True)
        fallback = (info != 0) | ~torch.isfinite(alpha).all(dim=1)
        if bool(fallback.any()):
            picard = torch.zeros_like(alpha)
            picard[:, slot] = 1.0
            alpha = torch.where(fallback[:, None], picard, alpha)
        mixed_f = torch.bmm(alpha[:, None], f).squeeze(1)
        if self.mixing == 1.0:
            return mixed_f, state
        mixed_x = torch.bmm(alpha[:, None], x).squeeze(1)
        return mixed_x.lerp(mixed_f, self.mixing), state
