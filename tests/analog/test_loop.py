"""The physical loop integrator against independent references: a plain fixed-point
iteration, a fine-step forward-Euler solve of the same ODE, the analytic
Ornstein–Uhlenbeck statistics and the analytic exponential decay of a linear loop."""

from __future__ import annotations

import math

import pytest
import torch

from hadeq.analog.loop import (
    LoopDynamics,
    LoopSampling,
    adc_half_lsb,
    amplifier_noise_density_v_per_rthz,
    crossing_times,
    integrate,
    sampling_time_ns,
    settle,
)
from hadeq.errors import ConfigError


def _core(n: int = 32, batch: int = 40, gain: float = 0.8, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(n, n, generator=gen, dtype=torch.float64)
    w *= gain / torch.linalg.matrix_norm(w, ord=2)
    b = 0.1 * torch.randn(n, generator=gen, dtype=torch.float64)
    u = torch.randn(batch, n, generator=gen, dtype=torch.float64)
    return (lambda z: z @ w.T + b), u


def _fixed_point(current, u):
    z = torch.zeros_like(u)
    for _ in range(5000):
        z_new = torch.tanh(current(z) + u)
        if float((z_new - z).abs().max()) < 1e-14:
            break
        z = z_new
    return z_new


def test_noise_free_loop_reaches_the_fixed_point():
    current, u = _core()
    a, _, t = integrate(current, torch.tanh, u, LoopDynamics(10.0, 5.0), 2000.0)
    assert t == 2000.0
    assert float((torch.tanh(a) - _fixed_point(current, u)).abs().max()) < 1e-6


def test_a_step_of_tau_matches_a_fine_euler_trajectory():
    """ETDRK4 at dt = τ against forward Euler at τ/2000 of τ·da/dt = −a + W·tanh(a) + u."""
    current, u = _core(batch=8)
    tau = 10.0
    times = (5.0, 20.0, 45.0, 80.0)
    _, states, _ = integrate(current, torch.tanh, u, LoopDynamics(tau, tau), 80.0,
                             sample_times_ns=times)
    a, h, k = torch.zeros_like(u), tau / 2000, 0
    reference = {}
    for step in range(1, 16001):
        a = a + (h / tau) * (-a + current(torch.tanh(a)) + u)
        if abs(step * h - times[k]) < 1e-9:
            reference[times[k]] = torch.tanh(a)
            k += 1
            if k == len(times):
                break
    for t, state in zip(times, states, strict=True):
        assert float((torch.tanh(state) - reference[t]).abs().max()) < 5e-3


def test_settling_of_a_linear_loop_follows_its_exponential_decay():
    """g(a) = L·a + c: the error decays as exp(−(1 − L)·t/τ) from |c|/(1 − L), so the
    output settles to tol at τ·ln(|c|/((1 − L)·tol))/(1 − L) (identity σ)."""
    gain, c, tol, tau = 0.5, 0.8, 1e-3, 10.0
    u = torch.full((1, 1), c, dtype=torch.float64)
    result = settle(lambda z: gain * z, lambda a: a, u, LoopDynamics(tau, tau), tol)
    expected = tau * math.log(c / ((1 - gain) * tol)) / (1 - gain)
    assert float(result.time_ns[0]) == pytest.approx(expected, rel=0.01)


def test_halving_the_step_changes_settling_statistics_by_under_one_percent():
    current, u = _core(batch=64)
    tol = adc_half_lsb(8)
    coarse = settle(current, torch.tanh, u, LoopDynamics(10.0, 10.0), tol).time_ns
    fine = settle(current, torch.tanh, u, LoopDynamics(10.0, 5.0), tol).time_ns
    assert float(coarse.mean()) == pytest.approx(float(fine.mean()), rel=0.01)
    assert sampling_time_ns(coarse) == pytest.approx(sampling_time_ns(fine), rel=0.01)


@pytest.mark.parametrize("dt_ns", [10.0, 1.0])
def test_noise_has_the_stationary_std_of_the_circuit_whatever_the_step(dt_ns):
    """Without feedback the loop is an Ornstein–Uhlenbeck process of stationary std
    ς/√2, at any step (the step's noise is the exact OU increment)."""
    sigma_noise = 0.1
    gen = torch.Generator().manual_seed(3)
    u = torch.zeros(20000, 1, dtype=torch.float64)

    def noise(a, generator):
        return sigma_noise * torch.randn(a.shape, generator=generator, dtype=a.dtype)

    a, _, _ = integrate(lambda z: torch.zeros_like(z), torch.tanh, u,
                        LoopDynamics(10.0, dt_ns), 100.0, noise=noise, generator=gen)
    assert float(a.std()) == pytest.approx(sigma_noise / math.sqrt(2), rel=0.03)


def test_crossing_times_interpolate_and_flag_samples_that_never_settle():
    t = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    err = torch.tensor([[1.0, 1.0, 0.0], [0.1, 1.0, 0.0], [0.01, 1.0, 0.0],
                        [0.001, 1.0, 0.0]], dtype=torch.float64)
    out = crossing_times(t, err, 0.05)
    # log-linear between 0.1 (t = 1) and 0.01 (t = 2): 0.05 at t = 1 + log10(2)
    assert float(out[0]) == pytest.approx(1 + math.log10(2))
    assert math.isinf(float(out[1]))
    assert float(out[2]) == 0.0


def test_sampling_instant_is_the_quantile_and_an_unsettled_sample_counts_as_slowest():
    times = torch.arange(1.0, 101.0, dtype=torch.float64)
    assert sampling_time_ns(times, 0.99) == 99.0
    times[-1] = math.inf
    assert sampling_time_ns(times, 1.0) == math.inf


def test_amplifier_noise_density_is_the_thermal_noise_of_the_power_model():
    # 2·4kTγ/g_m with g_m = 2π·1 GHz·100 fF at τ = 10 ns: about 5.9 nV/√Hz.
    assert amplifier_noise_density_v_per_rthz(10.0) == pytest.approx(5.93e-9, rel=0.01)
    # a faster loop needs more g_m, so less noise density
    assert amplifier_noise_density_v_per_rthz(1.0) < amplifier_noise_density_v_per_rthz(10.0)


def test_bad_settings_are_refused_with_the_field_named():
    with pytest.raises(ConfigError, match="dt_ns"):
        LoopDynamics(10.0, 0.0)
    with pytest.raises(ConfigError, match="quantile"):
        LoopSampling(quantile=1.5)
    with pytest.raises(ConfigError, match="sample_time_ns"):
        LoopSampling(sample_time_ns=-1.0)
