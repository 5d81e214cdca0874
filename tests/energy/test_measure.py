"""measure_random_core: the analog_relaxation solver's settling against the independent
Euler reference of energy.reference, and the Anderson iterations."""

from __future__ import annotations

import pytest
import torch

from hadeq.analog.config import HardwareConfig
from hadeq.energy import euler_trajectory, random_contractive_core, settling_time_ns
from hadeq.energy.measure import measure_random_core
from hadeq.energy.spice import default_stop_time_ns


@pytest.mark.parametrize(("neurons", "seed", "tau_ns"), [(8, 3, 10.0), (5, 1, 7.0)])
def test_settling_matches_the_independent_euler_reference(neurons: int, seed: int,
                                                         tau_ns: float) -> None:
    m = measure_random_core(neurons, samples=3, seed=seed, hardware=HardwareConfig(tau_ns=tau_ns))
    W, _, _ = random_contractive_core(neurons, norm=0.7, seed=seed)
    c = torch.randn(3, neurons, generator=torch.Generator().manual_seed(seed + 1),
                    dtype=torch.float64)
    t_stop = default_stop_time_ns(tau_ns, 0.7, 1e-3)
    for k in range(3):
        t, z = euler_trajectory(W, c[k], torch.zeros(neurons, dtype=torch.float64),
                                tau_ns=tau_ns, t_stop_ns=t_stop, dt_ns=tau_ns / 100)
        expected = settling_time_ns(t, z, 1e-3)
        assert m.settling_time_ns[k] == pytest.approx(expected, rel=1e-9)
    assert len(m.iterations) == 3 and all(1 < k < 200 for k in m.iterations)
