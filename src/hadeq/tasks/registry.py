"""One small interface over all tasks, and a registry ``get_task(name)``.

A :class:`Task` says what the data are (``kind``, input shape, output size), how to load
them (``load(seed, **options)`` → :class:`TaskData`), how to train on them (``loss``) and
how to score a model (``metrics`` → ``{name: value}``; ``primary_metric`` with
``higher_is_better``). Options are the fields of the task's frozen config dataclass,
given by keyword; an unknown or out-of-range option raises :class:`hadeq.ConfigError`.

For the control task, ``load`` returns no tensors but an environment factory and the
expert, ``loss`` is the imitation (torque MSE) loss and ``metrics(policy)`` evaluates a
policy in the real gymnasium environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn.functional as F

from hadeq.errors import ConfigError
from hadeq.tasks.burgers import BurgersConfig, load_burgers
from hadeq.tasks.classification import load_digits_data, load_fashion_mnist, load_imagenet32
from hadeq.tasks.darcy import DarcyConfig, load_darcy
from hadeq.tasks.metrics import accuracy, relative_l2, relative_l2_per_sample, top_k_accuracy
from hadeq.validation import check_int, check_range, from_mapping

TaskKind = Literal["classification", "regression", "control"]


@dataclasses.dataclass(frozen=True)
class TaskData:
    """Tensors of one split (classification: labels int64; regression: fields float32).

    For control tasks the tensors are empty and ``env_factory`` / ``expert`` are set.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    env_factory: Callable[[], Any] | None = None
    expert: Callable[..., Any] | None = None


@dataclasses.dataclass(frozen=True)
class DigitsConfig:
    """Options of the ``digits`` task."""

    test_fraction: float = 0.2
    """Fraction of the 1797 images held out (stratified)."""

    def __post_init__(self) -> None:
        check_range("test_fraction", self.test_fraction, 0.0, 1.0, low_open=True, high_open=True)


@dataclasses.dataclass(frozen=True)
class FashionMNISTConfig:
    """Options of the ``fashion_mnist`` task."""

    root: str | None = None
    """Directory of the IDX files; None: the Debian package's /usr/share/datasets/fashion-mnist."""
    limit_train: int | None = None
    """Use only the first this many training images (None: all 60 000)."""
    limit_test: int | None = None
    """Use only the first this many test images (None: all 10 000). The prefixes are
    close to balanced: the first 2 000 hold 188–219 images of each class."""

    def __post_init__(self) -> None:
        if self.root is not None and not isinstance(self.root, str | os.PathLike):
            raise ConfigError("root", self.root, "a directory path or None")
        if self.limit_train is not None:
            check_int("limit_train", self.limit_train, 1)
        if self.limit_test is not None:
            check_int("limit_test", self.limit_test, 1)


@dataclasses.dataclass(frozen=True)
class PendulumTaskConfig:
    """Options of the ``pendulum`` task."""

    n_episodes: int = 50
    """Seeded evaluation episodes in gymnasium Pendulum-v1."""

    def __post_init__(self) -> None:
        check_int("n_episodes", self.n_episodes, 1)


@dataclasses.dataclass(frozen=True)
class ImageNet32Config:
    """Options of the ``imagenet32`` task (data from a path the user gives)."""

    root: str | None = None
    """Directory of the official batches (``train_data_batch_1..10``, ``val_data``)."""
    n_train_batches: int = 10
    """How many of the 10 training batches to load (each ~128k images)."""

    def __post_init__(self) -> None:
        if self.root is not None and not isinstance(self.root, str | os.PathLike):
            raise ConfigError("root", self.root, "a directory path")
        check_int("n_train_batches", self.n_train_batches, 1, 10)


@dataclasses.dataclass(frozen=True)
class Task:
    """A learning problem: data, loss, metrics and model-size hints."""

    name: str
    kind: TaskKind
    config_class: type
    """Frozen dataclass whose fields are the options of :meth:`load`."""
    primary_metric: str
    higher_is_better: bool
    input_shape: tuple[int, ...]
    """Shape of one input sample."""
    output_dim: int
    """Classes (classification), values per sample (regression) or action size (control)."""
    hidden_hint: int
    """A suggested hidden width for a small model on this task."""
    _load: Callable[..., TaskData]
    _loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    _metrics: Callable[..., dict[str, float]]

    def config(self, **options: Any) -> Any:
        """The task's config from keyword options (unknown keys raise ConfigError)."""
        return from_mapping(self.config_class, options, owner=self.name)

    def load(self, seed: int = 0, cache_dir: str | os.PathLike[str] | None = None,
             **options: Any) -> TaskData:
        """Load (or generate, or fetch from the cache) the task's data."""
        check_int("seed", seed, 0)
        return self._load(self.config(**options), seed, cache_dir)

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Training loss (differentiable)."""
        return self._loss(pred, target)

    def metrics(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        """Scores: ``metrics(pred, target)``; for control ``metrics(policy, seed=0)``."""
        return self._metrics(*args, **kwargs)


# ------------------------------------------------------------------ task definitions
def _classification_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    return {"accuracy": accuracy(logits, labels),
            "top5_accuracy": top_k_accuracy(logits, labels, 5)}


def _regression_metrics(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    rel = relative_l2(pred, target)  # also checks that the sizes agree
    return {"relative_l2": rel,
            "mse": torch.mean((pred.reshape(target.shape) - target) ** 2).item()}


def _relative_l2_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return relative_l2_per_sample(pred, target).mean()


def _load_digits(cfg: DigitsConfig, seed: int, _cache: Any) -> TaskData:
    d = load_digits_data(seed=seed, test_fraction=cfg.test_fraction)
    return TaskData(d.x_train, d.y_train, d.x_test, d.y_test)


def _load_fashion(cfg: FashionMNISTConfig, _seed: int, _cache: Any) -> TaskData:
    d = load_fashion_mnist(cfg.root, limit_train=cfg.limit_train, limit_test=cfg.limit_test)
    return TaskData(d.x_train, d.y_train, d.x_test, d.y_test)


def _load_darcy(cfg: DarcyConfig, seed: int, cache: Any) -> TaskData:
    """Permeability standardised with the training set's mean and std (raw values are
    3 and 12), solution in units of the training set's std of ``u`` (about 5e-3), so that
    models see O(1) values. The relative L2 metric does not change with the common scale
    of ``u``; ``mse`` is in those units."""
    d = load_darcy(cfg, seed=seed, cache_dir=cache)
    a_tr, u_tr, a_te, u_te = (torch.from_numpy(d[k])
                              for k in ("a_train", "u_train", "a_test", "u_test"))
    mean, std, u_scale = a_tr.mean(), a_tr.std(), u_tr.std()
    return TaskData((a_tr - mean) / std, u_tr / u_scale, (a_te - mean) / std, u_te / u_scale)


def _load_burgers(cfg: BurgersConfig, seed: int, cache: Any) -> TaskData:
    d = load_burgers(cfg, seed=seed, cache_dir=cache)
    keys = ("u0_train", "uT_train", "u0_test", "uT_test")
    return TaskData(*(torch.from_numpy(d[k]) for k in keys))


def _load_imagenet32(cfg: ImageNet32Config, _seed: int, _cache: Any) -> TaskData:
    if cfg.root is None:
        raise ConfigError("task_options.root", None, "the directory of the ImageNet32 batches")
    d = load_imagenet32(cfg.root, n_train_batches=cfg.n_train_batches)
    return TaskData(d.x_train, d.y_train, d.x_test, d.y_test)


def _load_pendulum(cfg: PendulumTaskConfig, _seed: int, _cache: Any) -> TaskData:
    import gymnasium

    from hadeq.tasks.pendulum_expert import PendulumExpert

    empty = torch.empty(0)
    return TaskData(empty, empty, empty, empty,
                    env_factory=lambda: gymnasium.make("Pendulum-v1"), expert=PendulumExpert())


def _pendulum_metrics(policy: Any, seed: int = 0, n_episodes: int = 50) -> dict[str, float]:
    from hadeq.tasks.control import evaluate_policy

    r = evaluate_policy(policy, n_episodes=n_episodes, seed=seed)
    return {"mean_return": r.mean_return, "std_return": r.std_return,
            "success_rate": r.success_rate}


_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> None:
    """Add ``task`` to the registry (a name may be registered once)."""
    if task.name in _TASKS:
        raise ValueError(f"task {task.name!r} is already registered")
    _TASKS[task.name] = task


def available_tasks() -> list[str]:
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    """The registered task called ``name``; unknown names raise ConfigError."""
    if name not in _TASKS:
        raise ConfigError("task", name, "one of " + ", ".join(available_tasks()))
    return _TASKS[name]


register_task(Task("digits", "classification", DigitsConfig, "accuracy", True, (64,), 10, 64,
                   _load_digits, F.cross_entropy, _classification_metrics))
register_task(Task("fashion_mnist", "classification", FashionMNISTConfig, "accuracy", True,
                   (1, 28, 28), 10, 128, _load_fashion, F.cross_entropy,
                   _classification_metrics))
register_task(Task("darcy32", "regression", DarcyConfig, "relative_l2", False, (32, 32), 32 * 32,
                   64, _load_darcy, _relative_l2_loss, _regression_metrics))
register_task(Task("burgers", "regression", BurgersConfig, "relative_l2", False, (128,), 128, 64,
                   _load_burgers, _relative_l2_loss, _regression_metrics))
register_task(Task("imagenet32", "classification", ImageNet32Config, "accuracy", True,
                   (3, 32, 32), 1000, 256, _load_imagenet32, F.cross_entropy,
                   _classification_metrics))
register_task(Task("pendulum", "control", PendulumTaskConfig, "mean_return", True, (3,), 1, 64,
                   _load_pendulum, F.mse_loss, _pendulum_metrics))
