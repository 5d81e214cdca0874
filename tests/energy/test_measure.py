"""measure_random_core: hadeq's loop settling against an independent fine forward-Euler
integration written here, and the Anderson iterations."""

from __future__ import annotations

import math

import pytest
import torch

from hadeq.analog.config import HardwareConfig
from hadeq.energy import random_contractive_core, settling_time_ns
from hadeq.energy.measure import measure_random_core


def _euler_settling_ns(W: torch.Tensor, c: torch.Tensor, tau_ns: float, tol: float) -> float:
    """Forward Euler of τ·da/dt = −a + W tanh(a) + c at dt = τ/400 (rate error ≈ 0.1 %)
    over 25 τ (about three settling times), settled to the last sample."""
    dt = tau_ns / 400.0
    steps = int(25 * tau_ns / dt)
    a = torch.zeros_like(c)
    zs = [torch.tanh(a)]
    for _ in range(steps):
        a = a + (dt / tau_ns) * (-a + W @ torch.tanh(a) + c)
        zs.append(torch.tanh(a))
    t = torch.arange(steps + 1, dtype=torch.float64) * dt
    return settling_time_ns(t, torch.stack(zs), tol)


@pytest.mark.parametrize(("neurons", "seed", "tau_ns"), [(8, 3, 10.0), (5, 1, 7.0)])
def test_settling_matches_an_independent_euler_integration(neurons: int, seed: int,
                                                           tau_ns: float) -> None:
    m = measure_random_core(neurons, samples=3, seed=seed, hardware=HardwareConfig(tau_ns=tau_ns))
    W, _, _ = random_contractive_core(neurons, norm=0.7, seed=seed)
    c = torch.randn(3, neurons, generator=torch.Generator().manual_seed(seed + 1),
                    dtype=torch.float64)
    for k in range(3):
        expected = _euler_settling_ns(W, c[k], tau_ns, 1e-3)
        assert math.isfinite(expected)
        # hadeq steps one τ (fourth order) and interpolates the crossing between steps.
        assert m.settling_time_ns[k] == pytest.approx(expected, rel=5e-3)
    assert len(m.iterations) == 3 and all(1 < k < 200 for k in m.iterations)
