"""The per-iteration solver overhead table against hand counts and against the solvers'
own code (n = 4, history m = 3)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from hadeq.energy import SOLVER_COSTS, SOLVERS
from hadeq.energy.accounting import solver_overhead_macs, solver_overhead_values_moved
from hadeq.energy.solver_costs import lu_solve_ops
from hadeq.errors import ConfigError
from hadeq.solvers import compiled, make_solver

N, M = 4, 3
CHECK = 2 * N  # the loop's r = f(z) − z and ‖r‖, charged to every solver

HAND = {
    # z ← f(z): nothing beyond the check.
    "picard": (CHECK, (0, 0)),
    # g (4) + Gram row (3·4) + ridge scale (3 + 1) + diagonal (3) + LU of 3 × 3
    # (elimination 5 MACs + 3 divisions, forward 3, back 3 + 3 divisions = 17)
    # + normalising α (2 + 3) + mixing (3·4); reads 3 residuals + 3 f's, writes 2.
    "anderson": (CHECK + 4 + 12 + 4 + 3 + 17 + 5 + 12, (6 * N, 2 * N)),
    # g, Δz, Δg (12) + HᵀΔz (24 + 4) + vᵀΔg (4) + ‖Δz‖, ‖Δg‖ (8) + H Δg (24 + 4)
    # + Δz − H Δg and ÷ vᵀΔg (8) + z − H g (24 + 8); reads u, v three times (18) and
    # z_prev, g_prev (2), writes u, v, z_prev, g_prev (4).
    "broyden": (CHECK + 12 + 28 + 4 + 8 + 28 + 8 + 32, (20 * N, 4 * N)),
}


def test_every_solver_has_an_entry_and_unknown_names_are_refused() -> None:
    assert set(SOLVERS) == set(SOLVER_COSTS) == set(HAND)
    with pytest.raises(ConfigError, match="newton"):
        solver_overhead_macs(N, "newton", M)


@pytest.mark.parametrize("solver", sorted(HAND))
def test_overhead_equals_the_hand_count(solver: str) -> None:
    macs, moved = HAND[solver]
    assert solver_overhead_macs(N, solver, M) == pytest.approx(macs)
    assert solver_overhead_values_moved(N, solver, M) == pytest.approx(moved)


def test_lu_solve_by_hand() -> None:
    assert lu_solve_ops(1) == 1  # one division
    assert lu_solve_ops(2) == 1 + 1 + 1 + 1 + 2  # eliminate, forward, back, divisions
    assert lu_solve_ops(3) == 17


@pytest.mark.parametrize("solver", sorted(HAND))
def test_matrix_products_match_the_solver_code(solver: str, monkeypatch) -> None:
    """The m·n terms are the solver's matrix products: count the FLOPs torch runs in one
    steady-state step (2 per MAC) and compare with the table's m-dependent vector ops.
    Anderson's torch code is counted (its compiled CPU step, which torch cannot count,
    does the same products)."""
    monkeypatch.setattr(compiled, "ENABLED", False)
    history = {"anderson": "history", "broyden": "memory"}.get(solver)
    method, _ = make_solver(solver, {history: M} if history else {})
    w = 0.3 * torch.randn(N, N, generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def f(z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z @ w.T + 1.0)

    z = torch.zeros(1, N, dtype=torch.float64)
    fz = f(z)
    state = method.init(z, fz)
    for k in range(M + 2):  # fill the history first
        z, state = method.step(state, z, fz, k)
        fz = f(z)
    with FlopCounterMode(display=False) as counter:
        method.step(state, z, fz, M + 2)
    cost = SOLVER_COSTS[solver]
    per_m = cost.vector_ops(M + 1) - cost.vector_ops(M)  # coefficient of m·n
    assert counter.get_total_flops() == 2 * per_m * M * N
