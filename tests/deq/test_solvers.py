"""Solver behaviour: fixed points, per-sample and noise-floor stopping, NaN handling,
stop modes and stats that are consistent with the returned iterate."""

from __future__ import annotations

import dataclasses
import warnings
from typing import ClassVar

import pytest
import torch

import hadeq
from hadeq.solvers import FixedPointSolver, make_solver, residual
from tests.deq.maps import DenseMap

SOLVERS = ["picard", "anderson", "broyden"]


def linear_problem(generator, batch=5, d=12, norm=0.8, slow=False):
    """``f(z) = A z + c`` with the exact fixed point ``(I − A)⁻¹ c``.

    ``slow``: ``A`` symmetric with eigenvalues spread over [0, norm], so plain iteration
    contracts at rate ``norm`` (a random matrix has a spectral radius well below its norm).
    """
    a = torch.randn(d, d, dtype=torch.float64, generator=generator)
    if slow:
        q, _ = torch.linalg.qr(a)
        a = q @ torch.diag(torch.linspace(0, norm, d, dtype=torch.float64)) @ q.T
    a *= norm / torch.linalg.matrix_norm(a, ord=2)
    c = torch.randn(batch, d, dtype=torch.float64, generator=generator)
    exact = torch.linalg.solve(torch.eye(d, dtype=torch.float64) - a, c.T).T
    return hadeq.batched(lambda z, c: z @ a.T + c, c), exact


@pytest.mark.parametrize("solver", SOLVERS)
def test_finds_the_exact_fixed_point_of_a_linear_contraction(solver, generator):
    f, exact = linear_problem(generator)
    z, stats = hadeq.solve(f, torch.zeros_like(exact), solver=solver, tol=1e-12,
                           stop_mode="abs", max_iter=500)
    assert stats.all_converged and not stats.stagnated.any()
    torch.testing.assert_close(z, exact, rtol=0, atol=1e-10)


@pytest.mark.parametrize("solver", SOLVERS)
def test_any_batch_shape(solver, generator):
    f, exact = linear_problem(generator, batch=6, d=12)
    shaped = lambda z: f(z.reshape(6, 12)).reshape(6, 3, 2, 2)  # noqa: E731
    z, stats = hadeq.solve(shaped, torch.zeros(6, 3, 2, 2, dtype=torch.float64), solver=solver,
                           tol=1e-11, max_iter=500)
    assert z.shape == (6, 3, 2, 2) and stats.all_converged
    torch.testing.assert_close(z.reshape(6, 12), exact, rtol=0, atol=1e-9)


@pytest.mark.parametrize("solver", SOLVERS)
def test_acceleration_needs_fewer_iterations_than_picard(solver, generator):
    f, exact = linear_problem(generator, norm=0.97, slow=True)
    z0 = torch.zeros_like(exact)
    _, picard = hadeq.solve(f, z0, solver="picard", tol=1e-8, max_iter=2000)
    _, stats = hadeq.solve(f, z0, solver=solver, tol=1e-8, max_iter=2000)
    assert stats.all_converged
    if solver != "picard":
        assert stats.iterations.float().mean() < 0.5 * picard.iterations.float().mean()


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("restrictable", [True, False])
def test_per_sample_stopping_matches_solving_each_sample_alone(solver, restrictable, generator):
    fmap = DenseMap(16, 4, 0.9, generator)
    # Inputs of very different scale: saturated samples converge much faster.
    x = torch.randn(6, 4, dtype=torch.float64, generator=generator)
    x = x * torch.tensor([0.05, 0.2, 1.0, 3.0, 10.0, 30.0], dtype=torch.float64)[:, None]
    f = fmap.bind(x) if restrictable else (lambda z: fmap(z, x))
    z0 = torch.zeros(6, 16, dtype=torch.float64)
    options = {"tol": 1e-9, "max_iter": 300, "solver": solver}
    with torch.no_grad():
        z, stats = hadeq.solve(f, z0, **options)
        assert stats.all_converged
        assert len(set(stats.iterations.tolist())) >= 3
        for i in range(6):
            zi, si = hadeq.solve(fmap.bind(x[i : i + 1]), z0[i : i + 1], **options)
            assert int(si.iterations[0]) == int(stats.iterations[i])
            torch.testing.assert_close(z[i : i + 1], zi, rtol=0, atol=1e-12)


def test_restrictable_map_computes_only_running_samples(generator):
    fmap = DenseMap(8, 3, 0.9, generator)
    x = torch.randn(4, 3, dtype=torch.float64, generator=generator)
    x[0] *= 50.0
    rows = []
    f = hadeq.batched(lambda z, x: (rows.append(z.shape[0]), fmap(z, x))[1], x)
    with torch.no_grad():
        _, stats = hadeq.solve(f, torch.zeros(4, 8, dtype=torch.float64), tol=1e-10, max_iter=200)
    assert sum(rows) == int(stats.iterations.sum())
    assert min(rows) < 4


def test_joint_stopping_keeps_all_samples_running(generator):
    fmap = DenseMap(8, 3, 0.9, generator)
    x = torch.randn(4, 3, dtype=torch.float64, generator=generator)
    x[0] *= 50.0
    with torch.no_grad():
        _, stats = hadeq.solve(fmap.bind(x), torch.zeros(4, 8, dtype=torch.float64),
                               tol=1e-10, max_iter=200, per_sample=False)
    assert stats.all_converged and len(set(stats.iterations.tolist())) == 1


@pytest.mark.parametrize("solver", SOLVERS)
def test_noisy_map_stagnates_and_is_never_called_converged(solver, generator):
    fmap = DenseMap(32, 4, 0.7, generator)
    x = torch.randn(8, 4, dtype=torch.float64, generator=generator)
    noise = torch.Generator().manual_seed(7)
    sigma = 1e-3

    def noisy(z):
        return fmap(z, x) + sigma * torch.randn(z.shape, dtype=z.dtype, generator=noise)

    with torch.no_grad():
        clean, _ = hadeq.solve(fmap.bind(x), torch.zeros(8, 32, dtype=torch.float64), tol=1e-12,
                               stop_mode="abs", max_iter=300)
        z, stats = hadeq.solve(noisy, torch.zeros(8, 32, dtype=torch.float64), solver=solver,
                               tol=1e-6, stop_mode="abs", max_iter=300, stagnation_window=10)
    assert not stats.converged.any()
    assert stats.stagnated.all()
    assert int(stats.iterations.max()) < 300  # stopped at the floor, not at max_iter
    # The returned iterate sits at the noise floor: error of order sigma·sqrt(d).
    err = torch.linalg.vector_norm(z - clean, dim=1)
    assert float(err.max()) < 10 * sigma * 32**0.5


def test_non_contractive_map_is_not_converged_and_leaks_no_nan():
    c = torch.ones(3, 4, dtype=torch.float64)
    for solver in SOLVERS:
        # Oscillation: f(z) = −z + c has the fixed point c/2 but plain iteration cycles.
        _, stats = hadeq.solve(lambda z: -z + 2 * c, torch.zeros_like(c), solver="picard",
                               tol=1e-8, max_iter=100)
        assert not stats.converged.any() and stats.stagnated.all()
        # Expansion: f(z) = 3z + 1 blows up; nothing NaN or Inf is returned.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            z, stats = hadeq.solve(lambda z: 3.0 * torch.exp(z) + 1, torch.zeros_like(c),
                                   solver=solver, tol=1e-8, max_iter=200)
        assert not stats.converged.any()
        assert torch.isfinite(z).all()


def test_nan_from_f_is_flagged_warned_and_not_returned():
    z0 = torch.zeros(4, 3, dtype=torch.float64)
    bad_rows = torch.tensor([False, True, False, True])

    def f(z):
        out = 0.5 * z + 1.0
        return torch.where(bad_rows[:, None] & (z.abs() > 1.2), torch.nan, out)

    with pytest.warns(RuntimeWarning, match="2 of 4 samples"):
        z, stats = hadeq.solve(f, z0, solver="picard", tol=1e-10, max_iter=100)
    assert stats.nonfinite.tolist() == [False, True, False, True]
    assert stats.converged.tolist() == [True, False, True, False]
    assert torch.isfinite(z).all()
    with pytest.raises(hadeq.ConvergenceError, match="NaN"):
        hadeq.solve(f, z0, solver="picard", tol=1e-10, max_iter=100, on_nonfinite="raise")


@pytest.mark.parametrize("stop_mode", ["abs", "rel", "mixed"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_stats_are_consistent_with_the_returned_iterate(stop_mode, solver, generator):
    fmap = DenseMap(10, 3, 0.8, generator)
    x = torch.randn(5, 3, dtype=torch.float64, generator=generator)
    with torch.no_grad():
        z, stats = hadeq.solve(fmap.bind(x), torch.zeros(5, 10, dtype=torch.float64),
                               solver=solver, stop_mode=stop_mode, tol=1e-7, rtol=1e-6)
        _, options = make_solver(solver, {"stop_mode": stop_mode, "tol": 1e-7, "rtol": 1e-6})
        recomputed = residual(z, fmap(z, x), options)
    torch.testing.assert_close(stats.residual, recomputed, rtol=1e-9, atol=1e-15)
    assert torch.equal(stats.converged, recomputed <= options.threshold)
    assert stats.trace.shape[1] == 5
    assert int(stats.trace.isfinite().sum(0).max()) == int(stats.iterations.max())


def test_stop_modes_mean_what_they_say():
    # f(z) = 0.5 z + c with c = 1000: abs needs a far smaller relative error than rel.
    c = torch.full((1, 4), 1000.0, dtype=torch.float64)
    f = lambda z: 0.5 * z + c  # noqa: E731
    _, abs_stats = hadeq.solve(f, torch.zeros_like(c), solver="picard", stop_mode="abs", tol=1e-3)
    _, rel_stats = hadeq.solve(f, torch.zeros_like(c), solver="picard", stop_mode="rel", tol=1e-3)
    # Closed form: z_k = 2c(1 − 2⁻ᵏ), r_k = c·2⁻ᵏ, so ‖r_k‖ = 2000·2⁻ᵏ, ‖z_k‖ = 4000(1 − 2⁻ᵏ)
    # and ‖f(z_k)‖ = 2000(1 − 2⁻ᵏ⁻¹). Iterations count evaluations: index k + 1.
    def first(criterion):
        return next(k for k in range(100) if criterion(k)) + 1

    norm_r = lambda k: 2000 * 0.5**k  # noqa: E731
    scale = lambda k: max(4000 * (1 - 0.5**k), 2000 * (1 - 0.5 ** (k + 1)))  # noqa: E731
    assert int(abs_stats.iterations[0]) == first(lambda k: norm_r(k) <= 1e-3) == 22
    assert int(rel_stats.iterations[0]) == first(lambda k: norm_r(k) / scale(k) <= 1e-3) == 10
    # mixed: every element within atol + rtol·|z|.
    z, mixed = hadeq.solve(f, torch.zeros_like(c), solver="picard", stop_mode="mixed",
                           tol=1e-6, rtol=1e-3)
    assert mixed.all_converged
    assert bool(((f(z) - z).abs() <= 1e-6 + 1e-3 * z.abs()).all())


def test_unknown_and_out_of_range_options_are_named():
    with pytest.raises(hadeq.ConfigError, match=r"solver\[anderson\]\.tol_f.*did you mean 'tol'"):
        hadeq.solve(lambda z: z, torch.zeros(1, 1), tol_f=1e-3)
    with pytest.raises(hadeq.ConfigError, match=r"history=0"):
        hadeq.solve(lambda z: z, torch.zeros(1, 1), history=0)
    with pytest.raises(hadeq.ConfigError, match=r"tol=-1"):
        hadeq.solve(lambda z: z, torch.zeros(1, 1), tol=-1)
    with pytest.raises(hadeq.ConfigError, match=r"stop_mode='relative'"):
        hadeq.solve(lambda z: z, torch.zeros(1, 1), stop_mode="relative")
    with pytest.raises(hadeq.ConfigError, match=r"solver='newton'"):
        hadeq.solve(lambda z: z, torch.zeros(1, 1), solver="newton")
    with pytest.raises(hadeq.ConfigError, match=r"f=\(2,\)"):
        hadeq.solve(lambda z: z.sum(1), torch.zeros(2, 3))
    with pytest.raises(hadeq.ConfigError, match=r"z0.dtype"):
        hadeq.solve(lambda z: z, torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(hadeq.ConfigError, match=r"DEQ\.backwards.*did you mean 'backward'"):
        hadeq.DEQ(backwards="implicit")
    with pytest.raises(hadeq.ConfigError, match=r"backward='adjoint'"):
        hadeq.DEQ(backward="adjoint")
    with pytest.raises(hadeq.ConfigError, match=r"solver\[picard\]\.history"):
        hadeq.DEQ(solver="picard", solver_options={"history": 5})


def test_registry_accepts_a_user_solver(generator):
    @dataclasses.dataclass(frozen=True)
    class HalfStep(FixedPointSolver):
        name: ClassVar[str] = "half_step_test"

        def step(self, state, z, fz, k):
            return 0.5 * (z + fz), state

    hadeq.register_solver("half_step_test", HalfStep)
    assert "half_step_test" in hadeq.available_solvers()
    f, exact = linear_problem(generator, norm=0.5)
    z, stats = hadeq.solve(f, torch.zeros_like(exact), solver="half_step_test", tol=1e-12,
                           stop_mode="abs", max_iter=300)
    assert stats.solver == "half_step_test" and stats.all_converged
    torch.testing.assert_close(z, exact, rtol=0, atol=1e-10)
    with pytest.raises(hadeq.ConfigError, match="already registered"):
        hadeq.register_solver("anderson", HalfStep)


def test_deq_uses_eval_options_in_eval_mode(generator):
    fmap = DenseMap(8, 3, 0.9, generator)
    x = torch.randn(2, 3, dtype=torch.float64, generator=generator)
    deq = hadeq.DEQ(solver="picard", solver_options={"tol": 1e-3},
                    eval_solver="anderson", eval_options={"tol": 1e-10, "max_iter": 100})
    _, stats = deq(fmap.bind(x), torch.zeros(2, 8, dtype=torch.float64))
    assert stats.solver == "picard" and stats.tol == 1e-3
    deq.eval()
    with torch.no_grad():
        _, stats = deq(fmap.bind(x), torch.zeros(2, 8, dtype=torch.float64))
    assert stats.solver == "anderson" and stats.tol == 1e-10


def test_unconverged_forward_warns():
    deq = hadeq.DEQ(solver="picard", solver_options={"max_iter": 3, "tol": 1e-12})
    with pytest.warns(RuntimeWarning, match="did not converge"):
        deq(lambda z: 0.9 * z + 1, torch.zeros(2, 2, dtype=torch.float64))
