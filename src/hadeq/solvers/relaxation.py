"""The ``analog_relaxation`` solver: continuous-time settling of an analog feedback loop
(forward Euler, with read noise).

Circuit. A crossbar ``W`` in a loop with a saturating amplifier ``σ`` obeys

    τ · da/dt = −a + W·σ(a) + u,        z = σ(a),

(``u`` includes any bias) and settles at ``z* = σ(W z* + u)``; ``τ = R·C``. When only a
map ``f`` is known, :class:`AnalogRelaxation` integrates ``τ · dz/dt = f(z) − z``, which
has the same fixed points and, for ``f(z) = σ(Wz + u)`` near ``z*``, the same local rate.

Noise model. The summed currents carry white noise; ``read_noise`` is its std when
observed over the loop bandwidth ``1/τ`` (one "read" of duration τ), as a fraction of
``full_scale``. Its power spectral density is therefore ``S = (read_noise·FS)²·τ``, and
the Euler–Maruyama step of length ``dt`` adds an independent increment of std

    read_noise · FS · sqrt(dt/τ),

so the statistics of the trajectory do not depend on ``dt`` (for a linear loop of gain
``L`` the stationary std is ``read_noise·FS / sqrt((2 − h(1−L))(1−L))``, ``h = dt/τ``,
→ ``read_noise·FS/sqrt(2(1−L))`` as ``dt → 0``).

Settling time. For a contraction of Lipschitz constant ``L < 1`` the error decays like
``exp(−(1−L)·t/τ)``, so the residual falls by ``tol`` after ``t ≈ τ·ln(1/tol)/(1−L)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from hadeq import constants as C
from hadeq.solvers.base import FixedPointSolver, State
from hadeq.solvers.stats import SolverStats
from hadeq.validation import check_int, check_range


@dataclass(frozen=True)
class AnalogRelaxation(FixedPointSolver):
    """Fixed-point "solver" that simulates the analog loop ``τ·dz/dt = f(z) − z``.

    One step is one forward-Euler time step of ``dt_ns``:
    ``z ← z + (dt/τ)·(f(z) − z) + read_noise·full_scale·sqrt(dt/τ)·ε``, ``ε ~ N(0, I)``
    (see the module docstring for the noise model). The generic loop's stopping rules
    apply unchanged; a noisy loop typically ends on the stagnation rule at its noise floor.

    ``postprocess`` adds ``stats.extras["settling_time_ns"]``, shape ``(B,)``: the
    physical time ``k·dt_ns`` of the first iteration ``k`` whose residual (in the solve's
    ``stop_mode``) reached the tolerance, NaN for samples that never did.
    """

    name: ClassVar[str] = "analog_relaxation"

    tau_ns: float = C.LOOP_TAU_NS
    """Loop time constant τ = R·C in ns (> 0)."""

    dt_ns: float = 1.0
    """Euler time step in ns, in (0, tau_ns]; smaller is more accurate and slower."""

    read_noise: float = 0.0
    """Std of the loop's current noise observed over its bandwidth 1/τ, as a fraction of
    ``full_scale`` (≥ 0)."""

    full_scale: float = 1.0
    """Full-scale value of ``z`` that ``read_noise`` refers to (> 0)."""

    seed: int | None = None
    """Seed of the noise (a fresh generator per solve, so a solve is reproducible); None
    draws from torch's global generator."""

    def __post_init__(self) -> None:
        check_range("tau_ns", self.tau_ns, 0.0, None, low_open=True)
        # dt ≤ τ keeps forward Euler stable for every contraction (|1 − h(1 − λ)| < 1).
        check_range("dt_ns", self.dt_ns, 0.0, self.tau_ns, low_open=True)
        check_range("read_noise", self.read_noise, 0.0, None)
        check_range("full_scale", self.full_scale, 0.0, None, low_open=True)
        if self.seed is not None:
            check_int("seed", self.seed)

    @property
    def step_fraction(self) -> float:
        """``h = dt/τ``, the fraction of the way to ``f(z)`` covered per step."""
        return self.dt_ns / self.tau_ns

    def init(self, z: Tensor, fz: Tensor) -> State:
        # A per-solve generator keeps solves reproducible; the state dict may only hold
        # batch-first tensors, so the generator lives on the (otherwise frozen) solver.
        gen = None
        if self.seed is not None and self.read_noise > 0.0:
            gen = torch.Generator(device=z.device).manual_seed(self.seed)
        object.__setattr__(self, "_generator", gen)
        return {}

    def step(self, state: State, z: Tensor, fz: Tensor, k: int) -> tuple[Tensor, State]:
        h = self.step_fraction
        z_next = z + h * (fz - z)
        if self.read_noise > 0.0:
            gen = getattr(self, "_generator", None)
            noise = torch.randn(z.shape, generator=gen, dtype=z.dtype, device=z.device)
            z_next = z_next + (self.read_noise * self.full_scale * math.sqrt(h)) * noise
        return z_next, state

    def postprocess(self, stats: SolverStats) -> SolverStats:
        stats.extras["settling_time_ns"] = settling_time_from_trace(
            stats.trace, stats.tol, self.dt_ns)
        return stats


def settling_time_from_trace(trace: Tensor, tol: float, dt_ns: float) -> Tensor:
    """Per-sample time ``k·dt_ns`` of the first row ``k`` of ``trace`` (shape ``(T, B)``)
    at or below ``tol``; NaN where no row is (NaN entries never count)."""
    reached = trace <= tol  # NaN compares False
    any_reached = reached.any(dim=0)
    first = reached.float().argmax(dim=0).to(trace.dtype)
    time = first * dt_ns
    return torch.where(any_reached, time, torch.full_like(time, math.nan))
