"""Measure iterations and settling times on a random contractive core (until trained
cores exist): the inputs :func:`~hadeq.energy.digital_deq_energy` and
:func:`~hadeq.energy.hybrid_deq_energy` need. The digital DEQ is solved by
:mod:`hadeq.solvers`' ``anderson``, the analog loop settled by :mod:`hadeq.analog.loop`
(the integrator the models are scored with)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hadeq import constants as C
from hadeq.analog.config import HardwareConfig
from hadeq.energy.reference import loop_dynamics, loop_settling_times_ns, random_contractive_core
from hadeq.solvers import iterate, make_solver
from hadeq.validation import check_int, check_range


@dataclass(frozen=True)
class CoreMeasurement:
    iterations: list[int]
    """Per-sample Anderson iterations (f evaluations) to relative residual ``solver_tol``."""
    settling_time_ns: list[float]
    """Per-sample analog settling time to |z − z*|∞ ≤ ``settle_tol``, ns
    (:func:`hadeq.analog.loop.settle`; ``inf`` if not settled within 200 τ)."""
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
      with τ = ``hardware.tau_ns`` (default ``HardwareConfig()``), as hadeq scores the
      loop: :func:`~hadeq.energy.reference.loop_settling_times_ns`
      (:func:`hadeq.analog.loop.settle`, step :func:`~hadeq.energy.reference.loop_dynamics`).
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
    # c is the whole injection u + b of each sample, so the bias term is zero.
    settles = loop_settling_times_ns(W, c, torch.zeros(neurons, dtype=torch.float64),
                                     dynamics=loop_dynamics(tau_ns), tol=settle_tol)
    return CoreMeasurement(iterations=iterations, settling_time_ns=settles.tolist(),
                           w_norm2=norm, solver="anderson", history=history)
