"""Measure iterations and settling times on a random contractive core (until trained
cores exist): the inputs :func:`~hadeq.energy.digital_deq_energy` and
:func:`~hadeq.energy.hybrid_deq_energy` need. Both are run by :mod:`hadeq.solvers`: the
digital DEQ by ``anderson``, the analog loop by ``analog_relaxation``."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch

from hadeq import constants as C
from hadeq.analog.config import HardwareConfig
from hadeq.energy.reference import random_contractive_core, settling_time_ns
from hadeq.energy.spice.netlist import default_stop_time_ns
from hadeq.solvers import iterate, make_solver
from hadeq.validation import check_int, check_range


@dataclass(frozen=True)
class CoreMeasurement:
    iterations: list[int]
    """Per-sample Anderson iterations (f evaluations) to relative residual ``solver_tol``."""
    settling_time_ns: list[float]
    """Per-sample analog settling time to |z − z*|∞ ≤ ``settle_tol`` (Euler, dt = τ/100)."""
    w_norm2: float
    solver: str
    history: int


def measure_random_core(
    neurons: int,
    *,
    samples: int = 8,
    seed: int = 0,
    norm: float = 0.7,
    hardware: HardwareConfig | None = None,
    settle_tol: float = 1e-3,
    solver_tol: float = 1e-3,
    history: int = C.TORCHDEQ_ANDERSON_HISTORY,
    max_iter: int = 200,
) -> CoreMeasurement:
    """Draw a core W (‖W‖₂ = ``norm``) and ``samples`` injections u + b, then measure:

    * digital: ``hadeq.solvers`` Anderson (memory ``history``) iterations to a relative
      residual ``‖f(z) − z‖/max(‖f(z)‖, ‖z‖) ≤ solver_tol`` (torchdeq's f_tol 1e-3);
    * analog: settling time of τ·da/dt = −a + W tanh(a) + u + b to ``settle_tol`` on z,
      with τ = ``hardware.tau_ns`` (default ``HardwareConfig()``): the ``analog_relaxation``
      solver integrates the loop on its state a (map a ↦ W tanh(a) + u + b, Euler step
      τ/100) over the window of :func:`~hadeq.energy.spice.default_stop_time_ns`, and
      :func:`~hadeq.energy.reference.settling_time_ns` reads the time from z = tanh(a).
    """
    check_int("neurons", neurons, 1, 4096)
    check_int("samples", samples, 1, 10_000)
    check_range("norm", norm, 0.0, 1.0, low_open=True, high_open=True)
    tau_ns = (hardware or HardwareConfig()).tau_ns
    W, _, _ = random_contractive_core(neurons, norm=norm, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    c = torch.randn(samples, neurons, generator=g, dtype=torch.float64)

    def f(z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z @ W.T + c)

    solver, options = make_solver(
        "anderson", {"tol": solver_tol, "max_iter": max_iter, "history": history}
    )
    _, stats = iterate(solver, f, torch.zeros_like(c), options)
    iterations = [int(k) for k in stats.iterations.tolist()]
    t_stop = default_stop_time_ns(tau_ns, norm, settle_tol)
    dt = tau_ns / 100.0
    steps = int(t_stop / dt) + 1
    zs: list[torch.Tensor] = []

    def loop(a: torch.Tensor) -> torch.Tensor:
        """The loop's map on its state a; records z = tanh(a) at every time step."""
        zs.append(torch.tanh(a))
        return zs[-1] @ W.T + c

    # The whole window, every sample (a residual of exactly 0 would only end it once the
    # state is constant); steps + 1 evaluations are the states at 0, dt, …, steps·dt.
    relax, relax_options = make_solver("analog_relaxation", {
        "tau_ns": tau_ns, "dt_ns": dt, "tol": sys.float_info.min, "stop_mode": "abs",
        "max_iter": steps + 1, "per_sample": False, "stagnation_window": 0})
    iterate(relax, loop, torch.zeros_like(c), relax_options)
    trace = torch.stack(zs)
    t = torch.arange(trace.shape[0], dtype=torch.float64) * dt
    settles = [settling_time_ns(t, trace[:, k], settle_tol) for k in range(samples)]
    return CoreMeasurement(iterations=iterations, settling_time_ns=settles,
                           w_norm2=norm, solver="anderson", history=history)
