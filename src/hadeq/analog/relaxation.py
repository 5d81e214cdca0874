"""Direct simulation of an analog feedback loop ``τ·da/dt = −a + W·σ(a) + u``.

See :mod:`hadeq.solvers.relaxation` for the circuit and noise model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from hadeq import constants as C
from hadeq.config import check_int, check_range
from hadeq.errors import ConfigError
from hadeq.solvers.relaxation import _check_time_step


@dataclass
class SettleResult:
    """Outcome of :func:`settle_network`; per-sample tensors have shape ``(B,)``."""

    z: Tensor
    """Output ``σ(a)`` at the end, ``(B, n)``."""
    a: Tensor
    """Amplifier input state ``a`` at the end, ``(B, n)``."""
    settling_time_ns: Tensor
    """Time at which ``‖−a + W σ(a) + u‖₂ ≤ tol`` first held; NaN if never."""
    converged: Tensor
    """Whether the tolerance was reached within ``max_steps``."""
    steps: int
    """Euler steps simulated (for the slowest sample)."""


def settle_network(
    weight: Tensor,
    injection: Tensor,
    *,
    activation: Callable[[Tensor], Tensor] = torch.tanh,
    tau_ns: float = C.LOOP_TAU_NS,
    dt_ns: float = 1.0,
    tol: float = 1e-4,
    max_steps: int = 10_000,
    read_noise: float = 0.0,
    full_scale: float = 1.0,
    a0: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> SettleResult:
    """Simulate ``τ·da/dt = −a + W·σ(a) + u`` from ``a0`` (default 0) by forward Euler.

    Args:
        weight: ``W`` of shape ``(n, n)``.
        injection: ``u`` (input injection plus bias) of shape ``(B, n)``.
        activation: ``σ``, applied elementwise.
        tau_ns, dt_ns: time constant and Euler step in ns (``0 < dt ≤ τ``).
        tol: a sample has settled when ``‖−a + W σ(a) + u‖₂ ≤ tol`` (the drift ``τ·da/dt``,
            without the noise); it then stops being integrated.
        max_steps: most Euler steps.
        read_noise: std of the current noise over the bandwidth ``1/τ`` as a fraction of
            ``full_scale``; each step adds ``read_noise·full_scale·sqrt(dt/τ)·N(0, I)``.
        a0: initial state ``(B, n)``.
        generator: seeds the noise.

    Returns:
        :class:`SettleResult` with ``z = σ(a)`` and per-sample settling times in ns.
    """
    _check_time_step(tau_ns, dt_ns)
    check_range("tol", tol, 0.0, None, low_open=True)
    check_int("max_steps", max_steps, 1)
    check_range("read_noise", read_noise, 0.0, None)
    if weight.dim() != 2 or weight.shape[0] != weight.shape[1]:
        raise ConfigError("weight.shape", tuple(weight.shape), "a square (n, n) matrix")
    if injection.dim() != 2 or injection.shape[1] != weight.shape[0]:
        raise ConfigError("injection.shape", tuple(injection.shape),
                          f"(B, {weight.shape[0]})")
    h = dt_ns / tau_ns
    noise_sd = read_noise * full_scale * math.sqrt(h)
    a = torch.zeros_like(injection) if a0 is None else a0.clone()
    batch = a.shape[0]
    time = torch.full((batch,), math.nan, dtype=a.dtype, device=a.device)
    active = torch.arange(batch, device=a.device)
    steps = 0
    with torch.no_grad():
        for k in range(max_steps + 1):
            a_act, u_act = a[active], injection[active]
            drift = -a_act + activation(a_act) @ weight.t() + u_act
            done = torch.linalg.vector_norm(drift, dim=1) <= tol
            if bool(done.any()):
                time[active[done]] = k * dt_ns
            keep = ~done
            if k == max_steps or not bool(keep.any()):
                break
            active, a_act, drift = active[keep], a_act[keep], drift[keep]
            a_next = a_act + h * drift
            if noise_sd > 0.0:
                a_next = a_next + noise_sd * torch.randn(
                    a_next.shape, generator=generator, dtype=a.dtype, device=a.device)
            a[active] = a_next
            steps = k + 1
    return SettleResult(z=activation(a), a=a, settling_time_ns=time,
                        converged=~torch.isnan(time), steps=steps)
