"""Equilibrium propagation (EP) for a Deep-Hopfield energy block, as an autograd Function.

The block. State ``s ∈ Rⁿ``, injection ``u = U x + b`` (computed digitally from the block
input ``x``), symmetric coupling ``W = Wᵀ`` with zero diagonal, and ``ρ`` a hard
nonlinearity: ``hardtanh`` (clip to [−1, 1]) or ``hard_sigmoid`` (clip to [0, 1]). Its
energy is

    E(s; u, W) = ½‖s‖² − ½ ρ(s)ᵀ W ρ(s) − ρ(s)ᵀ u.

The state lives in ρ's range, where ``ρ(s) = s``, so ``E`` is the quadratic Hopfield
energy on a box and the update ``s ← ρ(W ρ(s) + u)`` is projected gradient descent with
unit step; its fixed points ``s* = ρ(W s* + u)`` are the KKT points of ``min E`` on the
box, unique when ``‖W‖₂ < 1`` (``E`` is then strictly convex). This is the same fixed
point as the analog core of :class:`~hadeq.models.HybridDEQ`; a symmetric core *is* a
Hopfield network.

Free phase: relax to ``s*`` with :func:`hadeq.solve`.

Nudged phases: for an output cost whose gradient at ``s*`` is ``g = ∂L/∂s*`` (the
incoming gradient of the next block or loss), run ``T2`` steps of
``s ← ρ(W ρ(s) + u − β g)`` from ``s*`` for ``+β`` and ``−β`` — the projected descent on
``F = E + β gᵀρ(s)``. The centred estimator (Laborieux et al. 2021; Nest & Ernoult 2024)

    dL/dθ ≈ (1/2β) [∂E/∂θ(s^{+β}) − ∂E/∂θ(s^{−β})],

with ``∂E/∂W = −½ ρ(s)ρ(s)ᵀ`` (diagonal masked) and ``∂E/∂u = −ρ(s)``, has error
``O(β²)`` and tends to the implicit-differentiation gradient as ``β → 0`` (and ``T2 → ∞``).
The gradients of ``U``, ``b`` and ``x`` follow from ``∂E/∂u`` by the chain rule through
the (digital) injection — identical to EP's ``∂E/∂U = −ρ(s) xᵀ``, ``∂E/∂x = −Uᵀρ(s)``.

Nudge normalisation. The estimate is linear in ``g`` as ``β → 0``, and samples do not
interact, so each sample may be nudged with ``g_i / c_i`` (``c_i = max_j |g_ij|``) and its
contribution multiplied back by ``c_i``. With this (``normalize=True``) ``β`` is in units
of the state range (0.2 moves a state by at most ≈ 0.2/(1 − ‖W‖)), independent of the loss
scale and batch size; without it a mean-reduced loss nudges by ``β/B`` and drowns in
float32 round-off and hardware noise.

``T2 = 5`` and ``β = 0.2`` are the ff-EBM training defaults (Nest & Ernoult, NeurIPS 2024);
with a finite ``T2`` the nudged states are partial relaxations (a truncated Neumann series
of ``(I − J)⁻¹``), which is what the paper trains with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

import torch
from torch import Tensor

from hadeq.solvers import SolverStats
from hadeq.validation import check_choice

Activation = Literal["hardtanh", "hard_sigmoid"]
ACTIVATIONS: tuple[str, ...] = ("hardtanh", "hard_sigmoid")



def rho(s: Tensor, activation: str) -> Tensor:
    """The hard nonlinearity: ``clip(s, −1, 1)`` (hardtanh) or ``clip(s, 0, 1)``
    (hard_sigmoid)."""
    if activation == "hardtanh":
        return s.clamp(-1.0, 1.0)
    if activation == "hard_sigmoid":
        return s.clamp(0.0, 1.0)
    check_choice("activation", activation, ACTIVATIONS)
    raise AssertionError  # unreachable


def hopfield_energy(s: Tensor, u: Tensor, weight: Tensor, activation: str) -> Tensor:
    """``E(s; u, W) = ½‖s‖² − ½ ρ(s)ᵀ W ρ(s) − ρ(s)ᵀ u`` per sample, shape ``(B,)``."""
    r = rho(s, activation)
    return 0.5 * (s * s).sum(1) - 0.5 * ((r @ weight.t()) * r).sum(1) - (r * u).sum(1)


Couple = Callable[[Tensor], Tensor]
"""``r ↦ W r`` for a batch ``r`` of shape ``(B, n)`` (hardware or float)."""


def nudged_state(couple: Couple, s_star: Tensor, u: Tensor, nudge: Tensor, steps: int,
                 activation: str) -> Tensor:
    """``steps`` updates ``s ← ρ(W ρ(s) + u − nudge)`` from ``s*`` (``nudge = ±β g``)."""
    s = s_star
    for _ in range(steps):
        s = rho(couple(rho(s, activation)) + u - nudge, activation)
    return s


def ep_gradients(couple: Couple, s_star: Tensor, u: Tensor, grad_out: Tensor, *,
                 beta: float, steps: int, activation: str, normalize: bool = True
                 ) -> tuple[Tensor, Tensor]:
    """Centred EP estimate ``(dL/du, dL/dW)`` for the incoming gradient ``grad_out = ∂L/∂s*``.

    ``dL/du = −(ρ(s⁺) − ρ(s⁻)) / 2β`` per sample and
    ``dL/dW = −(Σ_batch ρ(s⁺)ρ(s⁺)ᵀ − ρ(s⁻)ρ(s⁻)ᵀ) / 4β`` with its diagonal set to 0
    (each sample rescaled by ``c_i`` when ``normalize``; see the module docstring).
    """
    if normalize:
        scale = grad_out.abs().amax(dim=1, keepdim=True)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        g = grad_out / scale
    else:
        scale = torch.ones_like(grad_out[:, :1])
        g = grad_out
    r_plus = rho(nudged_state(couple, s_star, u, beta * g, steps, activation), activation)
    r_minus = rho(nudged_state(couple, s_star, u, -beta * g, steps, activation), activation)
    grad_u = -(r_plus - r_minus) * (scale / (2.0 * beta))
    grad_w = -((r_plus * scale).t() @ r_plus - (r_minus * scale).t() @ r_minus) / (4.0 * beta)
    grad_w = 0.5 * (grad_w + grad_w.t())  # symmetric in exact arithmetic; make it exact
    grad_w.fill_diagonal_(0.0)
    return grad_u, grad_w


class EnergyDynamics(Protocol):
    """What :class:`EPFunction` needs from an energy block."""

    activation: str
    beta: float
    nudge_steps: int
    nudge_normalize: bool
    last_stats: SolverStats | None

    def couple(self, r: Tensor, hardware: bool) -> Tensor:
        """``W r`` on the hardware (``hardware=True``) or in float."""
        ...

    def relax(self, u: Tensor, hardware: bool) -> tuple[Tensor, SolverStats]:
        """Free phase: ``s* = ρ(W s* + u)`` and the solve's statistics."""
        ...


class EPFunction(torch.autograd.Function):
    """``s* = EPFunction.apply(u, weight, block, hardware)``: forward relaxes the block
    (free phase); backward runs the two nudged phases with the incoming gradient as the
    nudging signal and returns the centred EP estimates of ``dL/du`` and ``dL/dW``.

    ``weight`` must be the coupling parameter the block computes with (passed so that
    autograd routes its gradient); ``hardware`` selects whether the phases run on the
    hardware model (physics-aware EP) or on the float weights.
    """

    @staticmethod
    def forward(ctx: Any, u: Tensor, weight: Tensor, block: EnergyDynamics,  # type: ignore[override]
                hardware: bool) -> Tensor:
        del weight  # the block reads its own parameter; autograd needs it as an input
        with torch.no_grad():
            s_star, stats = block.relax(u.detach(), hardware)
        block.last_stats = stats
        s_star = rho(s_star, block.activation)
        ctx.block, ctx.hardware = block, hardware
        ctx.save_for_backward(u.detach(), s_star)
        return s_star

    @staticmethod
    def backward(ctx: Any, grad_s: Tensor) -> tuple[Tensor, Tensor, None, None]:  # type: ignore[override]
        u, s_star = ctx.saved_tensors
        block: EnergyDynamics = ctx.block
        with torch.no_grad():
            grad_u, grad_w = ep_gradients(
                lambda r: block.couple(r, ctx.hardware), s_star, u, grad_s,
                beta=block.beta, steps=block.nudge_steps, activation=block.activation,
                normalize=block.nudge_normalize)
        return grad_u, grad_w, None, None
