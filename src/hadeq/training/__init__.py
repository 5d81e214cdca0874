"""Training: physics-informed losses, the trainer, checkpoints and data parallelism."""

from hadeq.training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from hadeq.training.config import (
    OptimizerConfig,
    TrainConfig,
    apply_overrides,
    load_train_config,
    parse_train_config,
    read_config_file,
)
from hadeq.training.errors import TrainingDivergedError
from hadeq.training.evaluation import evaluate_model
from hadeq.training.physics import (
    PhysicsConfig,
    conductance_term,
    contraction_term,
    near_zero_fraction,
    physics_loss,
    sparsity_term,
    spectral_norm_estimate,
)
from hadeq.training.seeding import derive_seed
from hadeq.training.trainer import Trainer, TrainResult, load_trained, rebuild_model

__all__ = [
    "Checkpoint",
    "OptimizerConfig",
    "PhysicsConfig",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingDivergedError",
    "apply_overrides",
    "conductance_term",
    "contraction_term",
    "derive_seed",
    "evaluate_model",
    "load_checkpoint",
    "load_train_config",
    "load_trained",
    "near_zero_fraction",
    "parse_train_config",
    "physics_loss",
    "read_config_file",
    "rebuild_model",
    "save_checkpoint",
    "sparsity_term",
    "spectral_norm_estimate",
]
