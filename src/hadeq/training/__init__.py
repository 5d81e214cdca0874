"""Training: physics-informed losses, the trainer and checkpoints."""

from hadeq.training.physics import (
    PhysicsConfig,
    conductance_term,
    contraction_term,
    near_zero_fraction,
    physics_loss,
    sparsity_term,
    spectral_norm_estimate,
)

__all__ = [
    "PhysicsConfig",
    "conductance_term",
    "contraction_term",
    "near_zero_fraction",
    "physics_loss",
    "sparsity_term",
    "spectral_norm_estimate",
]
