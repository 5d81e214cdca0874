"""Damped fixed-point (Picard / Krasnosel'skii–Mann) iteration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from hadeq.solvers.base import FixedPointSolver, State
from hadeq.validation import check_range


@dataclass(frozen=True)
class Picard(FixedPointSolver):
    """``z_{k+1} = (1 − β)·z_k + β·f(z_k)``.

    Converges linearly at rate ``1 − β(1 − L)`` for an ``L``-contraction; ``β < 1`` also
    converges for some non-expansive maps where plain iteration oscillates.
    """

    name: ClassVar[str] = "picard"

    damping: float = 1.0
    """β in (0, 1]: the weight of ``f(z)`` in the update; 1 is plain iteration."""

    def __post_init__(self) -> None:
        check_range("damping", self.damping, 0.0, 1.0, low_open=True)

    def step(self, state: State, z: Tensor, fz: Tensor, k: int) -> tuple[Tensor, State]:
        if self.damping == 1.0:
            return fz, state
        return z.lerp(fz, self.damping), state
