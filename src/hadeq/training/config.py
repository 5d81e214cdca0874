"""Configuration of a training run (:class:`TrainConfig`) and its file format.

A run is described by one mapping, usually a YAML or JSON file::

    task: digits
    task_options: {test_fraction: 0.2}
    model: {kind: hybrid_deq, hidden: 64, hardware: {preset: hermes_pcm_8bit, weight_bits: 8}}
    physics: {sparsity: 0.0}
    optimizer: {lr: 0.003}
    epochs: 15
    batch_size: 64
    seed: 0

Every key is checked on load: an unknown key is an error naming its path
(``model.hidden_size=<unknown option> is not allowed: did you mean 'hidden'? ...``), and
``--set a.b.c=value`` overrides (:func:`apply_overrides`) parse ``value`` as a YAML scalar.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from hadeq.analog import HardwareConfig
from hadeq.errors import ConfigError, DataError
from hadeq.models.registry import ModelHints, ModelSpec, parse_model_section
from hadeq.tasks import Task, get_task
from hadeq.training.physics import PhysicsConfig
from hadeq.validation import (
    check_choice,
    check_int,
    check_range,
    from_mapping,
    to_dict,
    unknown_key_error,
)

ProgrammingResample = Literal["never", "epoch", "batch"]

SUPPORTED_TASK_KINDS = ("classification", "regression")

SNR_SAMPLES = 32
"""Training inputs (the last of the training set) on which ``train_snr_db`` is measured
(thousands of crossbar outputs even for the smallest core: the SNR to a few tenths of a
dB)."""


@dataclass(frozen=True)
class OptimizerConfig:
    """The optimizer (Adam) and its step."""

    name: Literal["adam", "adamw"] = "adam"
    """``adam`` (L2 penalty added to the gradient) or ``adamw`` (decoupled weight decay)."""

    lr: float = 3e-3
    """Learning rate, > 0."""

    weight_decay: float = 0.0
    """Weight decay coefficient, ≥ 0 (its meaning depends on ``name``)."""

    grad_clip_norm: float | None = None
    """Clip the global gradient 2-norm to this value before each step; None: no clipping."""

    def __post_init__(self) -> None:
        check_choice("name", self.name, ("adam", "adamw"))
        check_range("lr", self.lr, 0.0, None, low_open=True)
        check_range("weight_decay", self.weight_decay, 0.0, None)
        if self.grad_clip_norm is not None:
            check_range("grad_clip_norm", self.grad_clip_norm, 0.0, None, low_open=True)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (same config + same seed → same weights)."""

    task: str = "digits"
    """Registered task name (see :func:`hadeq.tasks.available_tasks`); classification or
    regression tasks only."""

    task_options: Mapping[str, Any] = field(default_factory=dict)
    """Options of the task's loader (the fields of its config dataclass)."""

    model: Mapping[str, Any] | ModelSpec = field(default_factory=lambda: {"kind": "hybrid_deq"})
    """The model: ``kind`` (a model kind of :data:`hadeq.models.MODEL_KINDS`, default
    ``hybrid_deq``) and that kind's options; for ``hybrid_deq`` the fields of
    :class:`~hadeq.models.HybridDEQConfig` (``in_features`` / ``out_features`` default to
    the task's; ``hardware`` may be a preset name or a mapping with an optional ``preset``
    key plus overrides). Parsed once, into a typed :class:`~hadeq.models.ModelSpec`."""

    physics: PhysicsConfig = field(default_factory=PhysicsConfig)
    """Physics-informed loss terms (hybrid DEQs only when any is active)."""

    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    """Optimizer settings."""

    epochs: int = 10
    """Passes over the training set."""

    batch_size: int = 64
    """Global batch size: samples per optimizer step summed over all processes."""

    eval_batch_size: int = 512
    """Samples per forward pass when scoring the test set."""

    max_train_samples: int | None = None
    """Train on only the first this many training samples (None: all)."""

    max_test_samples: int | None = None
    """Score only the first this many test samples (None: all)."""

    seed: int = 0
    """Seed of weights, data order, noise and programming; also the task's data seed."""

    programming_resample: ProgrammingResample = "batch"
    """When physics-aware training re-programs the chip (new programming noise, drift and
    mismatch draws): ``never`` (one chip, programmed once with a seed derived from
    ``seed``), ``epoch`` or ``batch``; the seed of each chip is derived from
    ``(seed, epoch, step)``, so it is reproducible and survives a resume."""

    eval_hardware: str | Mapping[str, Any] | HardwareConfig | None = None
    """Hardware the test metric is measured on (preset name or mapping as in
    ``model.hardware``, parsed into a :class:`~hadeq.analog.HardwareConfig`); None: the
    model's training hardware."""

    eval_seed: int = 0
    """Programming seed of the evaluation chip (and seed of its read noise)."""

    train_snr_db: float | None = None
    """Train where the model's crossbars measure this SNR, dB, in (0, 100] (training
    through the hardware model only): at the start of every epoch the training chip's
    read noise is set where the crossbar SNR (:meth:`hadeq.models.HadeqModel.crossbar_snr_db`)
    on the last :data:`SNR_SAMPLES` training inputs is this, found on the chip of that
    epoch's programming seed (:func:`hadeq.training.snr.retune_read_noise`) and recorded
    in ``metrics.jsonl``; None: the model's own read noise throughout."""

    out_dir: str = "runs/train"
    """Directory of ``metrics.jsonl``, ``checkpoint.json`` and the weights."""

    deterministic: bool = True
    """Run with ``torch.use_deterministic_algorithms(True)`` during training."""

    def __post_init__(self) -> None:
        if not isinstance(self.task, str):
            raise ConfigError("task", self.task, "a task name")
        task = get_task(self.task)
        if task.kind not in SUPPORTED_TASK_KINDS:
            raise ConfigError("task", self.task, "a classification or regression task (the "
                              f"trainer does not train {task.kind} tasks)")
        if not isinstance(self.task_options, Mapping):
            raise ConfigError("task_options", self.task_options, "a mapping of task options")
        object.__setattr__(self, "task_options", copy.deepcopy(dict(self.task_options)))
        try:
            task.config(**self.task_options)
        except ConfigError as exc:
            raise exc.prefixed("task_options") from None
        object.__setattr__(self, "physics", _nested(PhysicsConfig, self.physics, "physics"))
        object.__setattr__(self, "optimizer",
                           _nested(OptimizerConfig, self.optimizer, "optimizer"))
        object.__setattr__(self, "model", parse_model_section(self.model, model_hints(task)))
        if self.physics.active and self.model.kind not in ("hybrid_deq", "conv_hybrid_deq"):
            raise ConfigError("physics", to_dict(self.physics), "physics-informed terms "
                              "need a hybrid DEQ (model.kind 'hybrid_deq' or "
                              "'conv_hybrid_deq')")
        check_int("epochs", self.epochs, 1, 1_000_000)
        check_int("batch_size", self.batch_size, 1, 1 << 24)
        check_int("eval_batch_size", self.eval_batch_size, 1, 1 << 24)
        for name in ("max_train_samples", "max_test_samples"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 1)
        check_int("seed", self.seed, 0, 2**63 - 1)
        check_choice("programming_resample", self.programming_resample,
                     ("never", "epoch", "batch"))
        if self.eval_hardware is not None:
            object.__setattr__(self, "eval_hardware",
                               HardwareConfig.parse(self.eval_hardware, "eval_hardware"))
        check_int("eval_seed", self.eval_seed, 0, 2**63 - 1)
        if self.train_snr_db is not None:
            check_range("train_snr_db", self.train_snr_db, 0.0, 100.0, low_open=True)
        if not isinstance(self.out_dir, str | os.PathLike) or not str(self.out_dir):
            raise ConfigError("out_dir", self.out_dir, "a directory path")
        object.__setattr__(self, "out_dir", str(self.out_dir))
        check_choice("deterministic", self.deterministic, (True, False))

    # --- helpers ------------------------------------------------------------------------
    @property
    def task_spec(self) -> Task:
        return get_task(self.task)

    @property
    def model_spec(self) -> ModelSpec:
        """The parsed ``model`` section."""
        assert isinstance(self.model, ModelSpec)  # parsed in __post_init__
        return self.model

    @property
    def eval_hardware_config(self) -> HardwareConfig | None:
        """The parsed ``eval_hardware`` (None: the model's own hardware)."""
        assert self.eval_hardware is None or isinstance(self.eval_hardware, HardwareConfig)
        return self.eval_hardware

    @property
    def model_kind(self) -> str:
        return self.model_spec.kind

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping that :func:`parse_train_config` turns back into this config."""
        return {**to_dict(self), "model": self.model_spec.to_dict()}


def model_hints(task: Task) -> ModelHints:
    """What the model builders need to know about ``task``'s data."""
    return ModelHints(in_features=math.prod(task.input_shape), out_features=task.output_dim,
                      input_shape=tuple(task.input_shape), hidden_hint=task.hidden_hint)


def _nested(cls: type, value: Any, name: str) -> Any:
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(name, value, f"a mapping of {cls.__name__} options")
    try:
        return from_mapping(cls, value, owner=name)
    except ConfigError as exc:
        raise exc.prefixed(name) from None


# --------------------------------------------------------------------------- file format
def parse_train_config(data: Mapping[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from a mapping; unknown keys raise ConfigError naming the
    key path with the closest known name."""
    if not isinstance(data, Mapping):
        raise ConfigError("config", data, "a mapping of option names to values")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    for key in data:
        if key not in known:
            err = unknown_key_error("config", str(key), known)
            raise ConfigError(str(key), err.value, err.allowed)
    return TrainConfig(**dict(data))


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The mapping in a YAML or JSON file (YAML is read with ``safe_load``)."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise DataError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"config file {path} is not valid "
                        f"{'JSON' if path.endswith('.json') else 'YAML'}: {first}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DataError(f"config file {path} must hold a mapping of options, "
                        f"not a {type(data).__name__}")
    return data


def parse_scalar(text: str) -> Any:
    """A ``--set`` value: a YAML scalar (or flow list/mapping); ``1e-3`` is a float too."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        try:
            return float(value) if value.strip().lower() not in ("nan", "inf", "-inf") else value
        except ValueError:
            return value
    return value


def apply_overrides(data: Mapping[str, Any], pairs: Sequence[str],
                    preset_keys: Sequence[str] = ("hardware", "eval_hardware")) -> dict[str, Any]:
    """A deep copy of ``data`` with ``key.path=value`` overrides applied.

    Intermediate mappings are created as needed. A preset name found where a mapping is
    needed (``hardware: hermes_pcm_8bit`` then ``--set model.hardware.read_noise=0.1``)
    becomes ``{preset: name}``, for the keys named in ``preset_keys``.
    """
    out = copy.deepcopy(dict(data))
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError("--set", pair, "KEY=VALUE, e.g. model.hidden=32")
        key, text = pair.split("=", 1)
        parts = [p.strip() for p in key.strip().split(".")]
        if not all(parts):
            raise ConfigError("--set", pair, "a dotted key path such as optimizer.lr")
        node: dict[str, Any] = out
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif isinstance(child, str) and part in preset_keys:
                child = node[part] = {"preset": child}
            elif not isinstance(child, dict):
                raise ConfigError("--set", pair,
                                  f"{'.'.join(parts[:i + 1])} is {child!r}, not a mapping")
            node = child
        node[parts[-1]] = parse_scalar(text.strip())
    return out


def load_train_config(path: str | os.PathLike[str] | None = None,
                      overrides: Sequence[str] = (),
                      base: Mapping[str, Any] | None = None) -> TrainConfig:
    """Read ``path`` (or start from ``base``), apply ``--set`` overrides and validate."""
    data = read_config_file(path) if path is not None else dict(base or {})
    return parse_train_config(apply_overrides(data, overrides))
