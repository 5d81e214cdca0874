"""``hadeq.solve``: a fixed point by name, without gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from hadeq.solvers import FixedPointSolver, SolverStats, iterate, make_solver


def solve(
    f: Callable[[Tensor], Tensor],
    z0: Tensor,
    solver: str | FixedPointSolver = "anderson",
    **options: Any,
) -> tuple[Tensor, SolverStats]:
    """Find ``z*`` with ``z* = f(z*)``, starting from ``z0`` (batch first).

    ``solver`` is a registered name (``picard``, ``anderson``, ``broyden``, …) or a solver
    instance; ``options`` are that solver's own options and the loop's
    (:class:`hadeq.solvers.IterateOptions`: ``tol``, ``stop_mode``, ``max_iter``, …).
    Unknown options raise :class:`hadeq.ConfigError`. No gradient is tracked; use
    :class:`hadeq.DEQ` to differentiate through the fixed point.
    """
    method, loop = make_solver(solver, options)
    return iterate(method, f, z0, loop)
