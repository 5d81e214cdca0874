"""What one iteration of each digital fixed-point solver costs beyond evaluating f.

One entry per solver of :mod:`hadeq.solvers`, counted from what its ``step`` does with
its default options, per sample, for a state of n values and a history of m (Anderson's
``history``, Broyden's ``memory``), once the history is full (an upper bound for the first
m − 1 iterations). Every entry includes the generic loop's convergence check, r = f(z) − z
and ‖r‖ (2n).

Conventions: every arithmetic operation — a multiply-accumulate, or a lone add, subtract,
multiply or divide — counts as one operation and is charged as one MAC at
``EnergyConfig.solver_precision``; comparisons, selections and copies cost no arithmetic.
Memory counts the length-n vectors of the solver's stored history read and written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hadeq.validation import check_choice


@dataclass(frozen=True)
class SolverCost:
    """Per-iteration overhead of one solver as functions of the history length m."""

    vector_ops: Callable[[int], float]
    """Operations on length-n vectors, in units of n (total: ``vector_ops(m) · n``)."""
    system_ops: Callable[[int], float]
    """Operations that do not scale with n (Anderson's m × m system)."""
    history_reads: Callable[[int], float]
    """Length-n vectors read from the stored history."""
    history_writes: Callable[[int], float]
    """Length-n vectors written to the stored history."""


def lu_solve_ops(m: int) -> float:
    """Operations of solving one m × m linear system by LU (``torch.linalg.solve``):
    elimination m(m−1)(2m−1)/6 MACs and m(m−1)/2 divisions, forward substitution
    m(m−1)/2 MACs, back substitution m(m−1)/2 MACs and m divisions."""
    return m * (m - 1) * (2 * m - 1) / 6 + 3 * m * (m - 1) / 2 + m


SOLVER_COSTS: dict[str, SolverCost] = {
    # z ← f(z) (damping β = 1): no arithmetic beyond the convergence check.
    "picard": SolverCost(
        vector_ops=lambda m: 2.0,
        system_ops=lambda m: 0.0,
        history_reads=lambda m: 0.0,
        history_writes=lambda m: 0.0,
    ),
    # Anderson, mixing β = 1: g_k = f_k − z_k (n); one new row of the Gram matrix,
    # ⟨g_k, g_i⟩ for the m stored residuals (m·n); the ridge scale, mean of the diagonal
    # times λ (m + 1), added to the diagonal (m); the m × m solve (LU); α normalised to
    # sum 1 (2m − 1); the mixing z ← Σ α_i f_i (m·n). Reads the m stored residuals and
    # the m stored f_i, writes f_k and g_k. (β < 1 would add Σ α_i g_i and a lerp.)
    "anderson": SolverCost(
        vector_ops=lambda m: 2.0 + 1.0 + 2.0 * m,
        system_ops=lambda m: 4.0 * m + lu_solve_ops(m),
        history_reads=lambda m: 2.0 * m,
        history_writes=lambda m: 2.0,
    ),
    # Broyden, H = −I + Σ u_i v_iᵀ over m stored pairs: g = f(z) − z, Δz, Δg (3n);
    # v = HᵀΔz (2m·n + n); vᵀΔg (n); ‖Δz‖, ‖Δg‖ for the skip test (2n); H Δg (2m·n + n);
    # u = (Δz − H Δg) / vᵀΔg (2n); the step z − H g (2m·n + 2n). Each of the three
    # applications of H or Hᵀ reads all m u_i and m v_i; z_prev and g_prev are read, and
    # u, v, z_prev, g_prev written.
    "broyden": SolverCost(
        vector_ops=lambda m: 2.0 + 12.0 + 6.0 * m,
        system_ops=lambda m: 0.0,
        history_reads=lambda m: 6.0 * m + 2.0,
        history_writes=lambda m: 4.0,
    ),
}
"""Per-iteration overhead of every solver the accounting can price."""

SOLVERS: tuple[str, ...] = tuple(SOLVER_COSTS)
"""Names of the solvers in :data:`SOLVER_COSTS`."""

DIGITAL_SOLVER: str = "anderson"
"""The solver a digital DEQ is priced with unless told otherwise (torchdeq's default)."""


def solver_cost(solver: str) -> SolverCost:
    """The :class:`SolverCost` of ``solver`` (a :class:`ConfigError` names the known ones)."""
    check_choice("solver", solver, SOLVERS)
    return SOLVER_COSTS[solver]
