import math
import subprocess
import sys

import pytest
import torch

import hadeq
from hadeq.errors import ConfigError
from hadeq.solvers import (
    BUILTIN_SOLVERS,
    AnalogRelaxation,
    IterateOptions,
    available_solvers,
    iterate,
    make_solver,
)


def _contractive(n, lip, seed=0):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(n, n, generator=gen, dtype=torch.float64)
    return w * (lip / torch.linalg.matrix_norm(w, ord=2))


def test_registered_and_validated():
    assert BUILTIN_SOLVERS["analog_relaxation"] is AnalogRelaxation
    assert "analog_relaxation" in available_solvers()
    with pytest.raises(ConfigError) as info:
        make_solver("analog_relaxation", {"tau_ns": 10.0, "dt_ns": 20.0})
    assert info.value.field == "dt_ns"


def test_known_in_a_fresh_interpreter_without_importing_analog():
    # No registration by import side effect: the top-level package alone knows the solver.
    code = ("import sys, hadeq; hadeq.DEQ(solver='analog_relaxation'); "
            "assert 'hadeq.analog' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_reaches_the_same_fixed_point_as_anderson():
    w = _contractive(16, 0.6)
    u = torch.randn(8, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def f(z):
        return torch.tanh(z @ w.t() + u)

    opts = IterateOptions(tol=1e-9, stop_mode="abs", max_iter=2000)
    z_ref, s_ref = iterate(make_solver("anderson")[0], f, torch.zeros_like(u), opts)
    z, stats = iterate(AnalogRelaxation(tau_ns=10.0, dt_ns=2.0), f, torch.zeros_like(u), opts)
    assert s_ref.all_converged and stats.all_converged
    torch.testing.assert_close(z, z_ref, atol=1e-7, rtol=0)
    assert bool(torch.isfinite(stats.extras["settling_time_ns"]).all())


def test_linear_settling_time_matches_tau_log_over_gap():
    tau, dt, tol = 10.0, 0.5, 1e-4
    lips = torch.tensor([0.0, 0.5, 0.8], dtype=torch.float64)
    c = torch.zeros(3, 4, dtype=torch.float64)
    c[:, 0] = 1.0  # ‖f(0) − 0‖ = 1, so the absolute residual is relative to the start

    def f(z):
        return lips[:, None] * z + c

    opts = IterateOptions(tol=tol, stop_mode="abs", max_iter=5000)
    z, stats = iterate(AnalogRelaxation(tau_ns=tau, dt_ns=dt), f, torch.zeros_like(c), opts)
    expected = tau * math.log(1 / tol) / (1 - lips)
    t = stats.extras["settling_time_ns"]
    assert bool(((t / expected - 1).abs() < 0.2).all()), (t, expected)
    torch.testing.assert_close(z, c / (1 - lips[:, None]), atol=1e-3, rtol=0)


def test_solve_by_name_matches_plain_iteration_and_the_linear_settling_formula():
    w = _contractive(12, 0.5, seed=2)
    u = torch.randn(6, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(3))

    def f(z):
        return torch.tanh(z @ w.t() + u)

    z, stats = hadeq.solve(f, torch.zeros_like(u), solver="analog_relaxation", tau_ns=5.0,
                           dt_ns=0.5, tol=1e-10, stop_mode="abs", max_iter=5000)
    z_ref = torch.zeros_like(u)
    for _ in range(200):  # plain iteration, a 0.5-contraction: error 0.5^200
        z_ref = f(z_ref)
    assert stats.all_converged
    torch.testing.assert_close(z, z_ref, atol=1e-8, rtol=0)
    # Linear loop f(z) = L·z + u with ‖u‖ = 1 from z = 0: t = τ·ln(1/tol)/(1 − L).
    lip, tol, tau = 0.75, 1e-3, 10.0
    u1 = torch.zeros(1, 3, dtype=torch.float64)
    u1[0, 0] = 1.0
    _, lin = hadeq.solve(lambda z: lip * z + u1, torch.zeros_like(u1),
                         solver="analog_relaxation", tau_ns=tau, dt_ns=0.1, tol=tol,
                         stop_mode="abs", max_iter=5000)
    expected = tau * math.log(1 / tol) / (1 - lip)
    assert abs(float(lin.extras["settling_time_ns"][0]) / expected - 1) < 0.2


@pytest.mark.parametrize(("dt", "lip"), [(1.0, 0.0), (5.0, 0.0), (1.0, 0.5), (5.0, 0.5)])
def test_noise_increment_scales_with_sqrt_dt_over_tau(dt, lip):
    # f(z) = L·z: z_k+1 = (1 − h(1 − L))·z_k + σ·sqrt(h)·ε has stationary variance
    # σ²/((2 − h(1 − L))(1 − L)) (the module docstring), independent of dt up to the
    # Euler factor.
    sigma, tau = 0.2, 10.0
    solver = AnalogRelaxation(tau_ns=tau, dt_ns=dt, read_noise=sigma, seed=0)
    z = torch.zeros(20_000, 1, dtype=torch.float64)
    state = solver.init(z, z)
    for k in range(int(40 * tau / dt)):
        z, state = solver.step(state, z, lip * z, k)
    h = dt / tau
    expected = sigma / math.sqrt((2 - h * (1 - lip)) * (1 - lip))
    assert abs(float(z.std()) / expected - 1) < 0.05


def test_noisy_solve_is_reproducible_per_seed():
    w = _contractive(8, 0.5)
    u = torch.randn(4, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def f(z):
        return torch.tanh(z @ w.t() + u)

    opts = IterateOptions(tol=1e-3, max_iter=300)
    solver = AnalogRelaxation(read_noise=0.01, seed=3)
    z1, _ = iterate(solver, f, torch.zeros_like(u), opts)
    z2, _ = iterate(solver, f, torch.zeros_like(u), opts)
    assert torch.equal(z1, z2)
