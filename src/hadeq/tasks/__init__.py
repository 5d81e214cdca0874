"""Data sets, generators, environments and metrics for hadeq's benchmarks.

* classification — digits (scikit-learn), Fashion-MNIST (Debian package), MNIST, CIFAR-10,
  ImageNet32 (user paths); accuracy and top-5 accuracy.
* PDE regression — Darcy flow and 1-D Burgers generated offline, cached on disk by recipe;
  relative L2 error.
* control — Pendulum-v1: differentiable torch dynamics, a value-iteration expert,
  evaluation in the real gymnasium environment, DAgger imitation of any nn.Module policy.
* :func:`get_task` — one interface (:class:`Task`) over all of them.
"""

from hadeq.tasks.burgers import BurgersConfig, generate_burgers, load_burgers, solve_burgers
from hadeq.tasks.cache import cached, default_cache_dir, recipe_key
from hadeq.tasks.classification import (
    ClassificationData,
    load_cifar10,
    load_digits_data,
    load_fashion_mnist,
    load_imagenet32,
    load_mnist,
)
from hadeq.tasks.control import (
    ControlResult,
    DEQPolicy,
    ImitationConfig,
    MLPPolicy,
    evaluate_policy,
    rollout_states,
    train_imitation,
)
from hadeq.tasks.darcy import DarcyConfig, generate_darcy, load_darcy, solve_darcy
from hadeq.tasks.grf import grf_1d_periodic, grf_2d_neumann
from hadeq.tasks.metrics import accuracy, relative_l2, relative_l2_per_sample, top_k_accuracy
from hadeq.tasks.pendulum import (
    angle_normalize,
    observation,
    pendulum_reward,
    pendulum_step,
    state_from_observation,
)
from hadeq.tasks.pendulum_expert import ExpertConfig, PendulumExpert
from hadeq.tasks.registry import (
    DigitsConfig,
    FashionMNISTConfig,
    PendulumTaskConfig,
    Task,
    TaskData,
    available_tasks,
    get_task,
    register_task,
)

__all__ = [
    "BurgersConfig",
    "ClassificationData",
    "ControlResult",
    "DEQPolicy",
    "DarcyConfig",
    "DigitsConfig",
    "ExpertConfig",
    "FashionMNISTConfig",
    "ImitationConfig",
    "MLPPolicy",
    "PendulumExpert",
    "PendulumTaskConfig",
    "Task",
    "TaskData",
    "accuracy",
    "angle_normalize",
    "available_tasks",
    "cached",
    "default_cache_dir",
    "evaluate_policy",
    "generate_burgers",
    "generate_darcy",
    "get_task",
    "grf_1d_periodic",
    "grf_2d_neumann",
    "load_burgers",
    "load_cifar10",
    "load_darcy",
    "load_digits_data",
    "load_fashion_mnist",
    "load_imagenet32",
    "load_mnist",
    "observation",
    "pendulum_reward",
    "pendulum_step",
    "recipe_key",
    "register_task",
    "relative_l2",
    "relative_l2_per_sample",
    "rollout_states",
    "solve_burgers",
    "solve_darcy",
    "state_from_observation",
    "top_k_accuracy",
    "train_imitation",
]
