"""Limited-memory Broyden's method on the residual ``g(z) = f(z) − z``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from hadeq.solvers.base import FixedPointSolver, State
from hadeq.validation import check_int


@dataclass(frozen=True)
class Broyden(FixedPointSolver):
    """Broyden's "good" method with a low-rank inverse-Jacobian estimate.

    Root-finding on ``g(z) = f(z) − z``, whose Jacobian is ``J_f − I``. The inverse
    Jacobian estimate starts at ``H₀ = −I`` (so the first step is a Picard step) and is
    kept as ``H = −I + Σ u_i v_iᵀ``. Each ``u_i`` is relative to the estimate it updated,
    so old terms cannot be dropped one by one without breaking the secant conditions:
    when ``memory`` updates are stored the estimate restarts from ``−I``. After a step
    ``Δz`` with residual change ``Δg`` the rank-one update enforcing the secant condition
    ``H Δg = Δz`` is

        v = Hᵀ Δz,   u = (Δz − H Δg) / (vᵀ Δg),

    and the next step is ``z ← z − H g``. Updates with ``|vᵀΔg|`` near zero are skipped.
    """

    name: ClassVar[str] = "broyden"

    memory: int = 30
    """How many rank-one updates are stored before the estimate restarts."""

    def __post_init__(self) -> None:
        check_int("memory", self.memory, 1, 1000)

    def init(self, z: Tensor, fz: Tensor) -> State:
        batch, dim = z.shape
        zeros = z.new_zeros(batch, self.memory, dim)
        return {"u": zeros, "v": zeros.clone(), "z_prev": z.clone(), "g_prev": fz - z}

    @staticmethod
    def _apply(u: Tensor, v: Tensor, x: Tensor) -> Tensor:
        """``H x`` with ``H = −I + Σ u_i v_iᵀ``."""
        return -x + torch.einsum("bmd,bm->bd", u, torch.einsum("bmd,bd->bm", v, x))

    @staticmethod
    def _apply_t(u: Tensor, v: Tensor, x: Tensor) -> Tensor:
        """``Hᵀ x``."""
        return -x + torch.einsum("bmd,bm->bd", v, torch.einsum("bmd,bd->bm", u, x))

    def step(self, state: State, z: Tensor, fz: Tensor, k: int) -> tuple[Tensor, State]:
        g = fz - z
        u, v = state["u"], state["v"]
        if k > 0:
            dz = z - state["z_prev"]
            dg = g - state["g_prev"]
            v_new = self._apply_t(u, v, dz)
            denom = (v_new * dg).sum(dim=1, keepdim=True)
            eps = torch.finfo(z.dtype).eps
            tiny = eps * dz.norm(dim=1, keepdim=True) * dg.norm(dim=1, keepdim=True)
            ok = denom.abs() > tiny
            u_new = (dz - self._apply(u, v, dg)) / torch.where(ok, denom, torch.ones_like(denom))
            slot = (k - 1) % self.memory
            if slot == 0 and k > 1:
                u.zero_()
                v.zero_()
            u[:, slot] = torch.where(ok, u_new, torch.zeros_like(u_new))
            v[:, slot] = torch.where(ok, v_new, torch.zeros_like(v_new))
        state["z_prev"], state["g_prev"] = z, g
        return z - self._apply(u, v, g), state
