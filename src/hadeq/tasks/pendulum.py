"""Differentiable pendulum dynamics identical to gymnasium ``Pendulum-v1``.

State s = (θ, θ̇) with θ = 0 upright (θ = π hanging down); action u, a torque. One step
of length dt (constants in :mod:`hadeq.constants`, from gymnasium's source):

    u'   = clip(u, −2, 2)
    r    = −(normalize(θ)² + 0.1 θ̇² + 0.001 u'²)         (reward of the *current* state)
    θ̇'  = clip(θ̇ + (3g/(2l) sin θ + 3/(m l²) u') dt, −8, 8)
    θ'   = θ + θ̇' dt                                       (semi-implicit Euler)

with normalize(θ) = ((θ + π) mod 2π) − π. The observation is (cos θ, sin θ, θ̇).
Everything is plain torch, so gradients flow through it (``clamp`` has zero gradient
where it saturates, exactly as the dynamics do).
"""

from __future__ import annotations

import math

import torch

from hadeq import constants as C

G = C.PENDULUM_GRAVITY_M_PER_S2
M = C.PENDULUM_MASS_KG
L = C.PENDULUM_LENGTH_M
DT = C.PENDULUM_DT_S
MAX_TORQUE = C.PENDULUM_MAX_TORQUE_NM
MAX_SPEED = C.PENDULUM_MAX_SPEED_RAD_PER_S


def angle_normalize(theta: torch.Tensor) -> torch.Tensor:
    """θ wrapped to [−π, π): ((θ + π) mod 2π) − π (gymnasium's ``angle_normalize``)."""
    return torch.remainder(theta + math.pi, 2 * math.pi) - math.pi


def pendulum_reward(state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """Reward −(normalize(θ)² + 0.1 θ̇² + 0.001 u²) for states (…, 2) and actions (…,) or (…, 1)."""
    theta, theta_dot = state[..., 0], state[..., 1]
    u = torch.clamp(action.reshape(theta.shape), -MAX_TORQUE, MAX_TORQUE)
    return -(angle_normalize(theta) ** 2 + 0.1 * theta_dot**2 + 0.001 * u**2)


def pendulum_step(state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One Pendulum-v1 step: returns (next state (…, 2), reward (…,)) as gymnasium does."""
    theta, theta_dot = state[..., 0], state[..., 1]
    u = torch.clamp(action.reshape(theta.shape), -MAX_TORQUE, MAX_TORQUE)
    reward = pendulum_reward(state, u)
    accel = 3 * G / (2 * L) * torch.sin(theta) + 3.0 / (M * L**2) * u
    new_theta_dot = torch.clamp(theta_dot + accel * DT, -MAX_SPEED, MAX_SPEED)
    new_theta = theta + new_theta_dot * DT
    return torch.stack([new_theta, new_theta_dot], dim=-1), reward


def observation(state: torch.Tensor) -> torch.Tensor:
    """Observation (cos θ, sin θ, θ̇) of states (…, 2)."""
    return torch.stack([torch.cos(state[..., 0]), torch.sin(state[..., 0]), state[..., 1]], dim=-1)


def state_from_observation(obs: torch.Tensor) -> torch.Tensor:
    """(θ, θ̇) with θ = atan2(sin, cos) ∈ (−π, π] from observations (…, 3)."""
    return torch.stack([torch.atan2(obs[..., 1], obs[..., 0]), obs[..., 2]], dim=-1)
