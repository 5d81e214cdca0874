"""The solver interface: a small immutable object that proposes the next iterate.

A solver only knows how to turn the current iterate ``z`` and its image ``f(z)`` into the
next iterate. The generic loop (:func:`hadeq.solvers.loop.iterate`) owns everything else:
evaluating ``f``, residuals, per-sample stopping, stagnation, NaN checks, the trace. This
keeps each method a few lines long and every stopping rule in one place.

State is a ``dict`` of tensors whose first dimension is the batch of samples still
running. When samples stop, the loop drops their rows from every state tensor, so a
solver never has to care which samples are left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from hadeq.solvers.stats import SolverStats

State = dict[str, Tensor]


@dataclass(frozen=True)
class FixedPointSolver:
    """Base class of fixed-point methods for ``z* = f(z*)`` on batched tensors.

    Subclasses are frozen dataclasses whose fields are the method's own options
    (validated in ``__post_init__``) and implement :meth:`step`; :meth:`init` and
    :meth:`postprocess` are optional. Register a subclass under a name with
    :func:`hadeq.solvers.register_solver` to make it available to ``solve`` and ``DEQ``.
    Tensors passed to ``init`` and ``step`` are flattened to ``(B, d)``.
    """

    name: ClassVar[str] = "base"

    def init(self, z: Tensor, fz: Tensor) -> State:
        """The state before the first step, from ``z0`` and ``f(z0)`` (shape ``(B, d)``)."""
        return {}

    def step(self, state: State, z: Tensor, fz: Tensor, k: int) -> tuple[Tensor, State]:
        """Propose the next iterate from the current ``z`` and ``fz = f(z)``.

        ``k`` counts the steps taken so far (0 for the first). Returns the next iterate
        and the new state.
        """
        raise NotImplementedError

    def postprocess(self, stats: SolverStats) -> SolverStats:
        """Add solver-specific results (``stats.extras``) once the loop has finished."""
        return stats
