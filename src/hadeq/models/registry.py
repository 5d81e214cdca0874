"""A registry of model kinds, so that a config file's ``model: {kind: ..., ...}`` section
can build any model the trainer knows about.

A kind is two functions: ``configure(options, hints) -> config`` turns the section's
remaining keys into the model's validated config object (refusing unknown keys, naming
them as ``model.<key>``), and ``build(config, seed) -> nn.Module`` makes a model from it.
Keeping them apart lets a config file be validated without allocating a model.

``hybrid_deq`` (:class:`~hadeq.models.HybridDEQ`) is registered here. Other model modules
register their kinds with :func:`register_model` when imported; the modules named in
:data:`BUILTIN_MODULES` are imported on the first look-up (missing ones are skipped).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

from hadeq.analog import HardwareConfig
from hadeq.config import from_mapping, to_dict
from hadeq.errors import ConfigError
from hadeq.models.config import HybridDEQConfig
from hadeq.models.conv_config import ConvHybridDEQConfig
from hadeq.models.conv_hybrid import ConvHybridDEQ
from hadeq.models.hybrid import HybridDEQ

T = TypeVar("T")

BUILTIN_MODULES: tuple[str, ...] = ("hadeq.models.feedforward", "hadeq.models.ffebm")
"""Modules imported on the first registry look-up so that their kinds register."""


@dataclass(frozen=True)
class ModelHints:
    """What a task tells a model builder about its data."""

    in_features: int
    """Size of one flattened input sample."""
    out_features: int
    """Classes (classification) or values per sample (regression)."""
    input_shape: tuple[int, ...] = ()
    """Shape of one input sample (before flattening); () when unknown."""
    hidden_hint: int = 64
    """A suggested hidden width for a small model on this task."""


Configure = Callable[[Mapping[str, Any], ModelHints], Any]
Build = Callable[[Any, int], nn.Module]


@dataclass(frozen=True)
class ModelKind:
    """One registered model kind."""

    name: str
    configure: Configure
    """``(options, hints) -> config``: validate the options (without ``kind``)."""
    build: Build
    """``(config, seed) -> nn.Module``."""
    description: str = ""


_KINDS: dict[str, ModelKind] = {}
_builtins_loaded = False


def register_model(kind: str, configure: Configure, build: Build, description: str = "") -> None:
    """Register a model kind under ``kind`` (a name may be registered once)."""
    if kind in _KINDS:
        raise ValueError(f"model kind {kind!r} is already registered")
    _KINDS[kind] = ModelKind(kind, configure, build, description)


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for name in BUILTIN_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside the module
                raise


def available_models() -> list[str]:
    """Names of the registered model kinds."""
    _load_builtins()
    return sorted(_KINDS)


def get_model_kind(kind: object) -> ModelKind:
    """The registered kind ``kind``; anything else raises ConfigError on ``model.kind``."""
    _load_builtins()
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ConfigError("model.kind", kind, "one of " + ", ".join(sorted(_KINDS)))
    return _KINDS[kind]


def split_kind(section: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(kind, options)`` of a ``model`` section (``kind`` defaults to ``hybrid_deq``)."""
    if not isinstance(section, Mapping):
        raise ConfigError("model", section, "a mapping with a 'kind' and the model's options")
    options = dict(section)
    kind = options.pop("kind", "hybrid_deq")
    get_model_kind(kind)
    return kind, options


def model_config(section: Mapping[str, Any], hints: ModelHints) -> Any:
    """The validated config object of a ``model`` section."""
    kind, options = split_kind(section)
    return get_model_kind(kind).configure(options, hints)


def build_model(section: Mapping[str, Any], hints: ModelHints, seed: int = 0) -> nn.Module:
    """Build the model a ``model`` section describes, for data with these ``hints``."""
    kind, options = split_kind(section)
    entry = get_model_kind(kind)
    return entry.build(entry.configure(options, hints), seed)


def prefixed(error: ConfigError, prefix: str) -> ConfigError:
    """``error`` with its field renamed ``prefix.field`` (unless it already starts so)."""
    if error.field == prefix or error.field.startswith(prefix + "."):
        return error
    field = error.field
    for owner in ("HybridDEQConfig.", "HardwareConfig.", "DEQConfig."):
        field = field.removeprefix(owner)
    return ConfigError(f"{prefix}.{field}", error.value, error.allowed)


# --------------------------------------------------------------------------- hybrid_deq
def hardware_from(value: Any, field: str) -> HardwareConfig:
    """A HardwareConfig from a preset name, a mapping (optional ``preset`` key plus
    fields) or a HardwareConfig; errors name ``field.<key>``."""
    if isinstance(value, HardwareConfig):
        return value
    try:
        if isinstance(value, str):
            return HardwareConfig.preset(value)
        if isinstance(value, Mapping):
            data = dict(value)
            name = data.pop("preset", None)
            base = to_dict(HardwareConfig.preset(name)) if name is not None else {}
            base.update(data)
            return from_mapping(HardwareConfig, base, owner=field)
    except ConfigError as exc:
        raise prefixed(exc, field) from None
    raise ConfigError(field, value, "a preset name ("
                      + ", ".join(HardwareConfig.PRESET_NAMES) + ") or a mapping of its fields")


def configure(cls: type[T], data: Mapping[str, Any]) -> T:
    """The config ``cls`` from a ``model`` section's fields (errors named ``model.<key>``);
    a ``hardware`` entry may be a preset name or a mapping."""
    data = dict(data)
    if "hardware" in data:
        data["hardware"] = hardware_from(data["hardware"], "model.hardware")
    try:
        return from_mapping(cls, data, owner="model")
    except ConfigError as exc:
        raise prefixed(exc, "model") from None


def configure_dense(cls: type[T], options: Mapping[str, Any], hints: ModelHints) -> T:
    """A flat-input model's config; in/out features default to the task's."""
    return configure(cls, {"in_features": hints.in_features,
                           "out_features": hints.out_features, **options})


def configure_hybrid_deq(options: Mapping[str, Any], hints: ModelHints) -> HybridDEQConfig:
    """HybridDEQConfig from a ``model`` section; in/out features default to the task's."""
    return configure_dense(HybridDEQConfig, options, hints)


def build_hybrid_deq(config: HybridDEQConfig, seed: int) -> HybridDEQ:
    return HybridDEQ(config, seed=seed)


register_model("hybrid_deq", configure_hybrid_deq, build_hybrid_deq,
               "digital stem, analog DEQ core, ADC, digital head (ideal hardware: digital DEQ)")


# --------------------------------------------------------------------------- conv_hybrid_deq
def configure_conv_hybrid_deq(options: Mapping[str, Any],
                              hints: ModelHints) -> ConvHybridDEQConfig:
    """ConvHybridDEQConfig from a ``model`` section. From the task's input shape: a 2-D
    field ``(H, W)`` is one channel; an output of ``H·W`` values per sample is a field
    (one output channel per pixel, with coordinate channels by default), anything else
    a class vector."""
    shape = hints.input_shape
    if len(shape) not in (2, 3):
        raise ConfigError("model.kind", "conv_hybrid_deq",
                          f"a task with (H, W) or (C, H, W) inputs, not {shape}")
    in_channels = 1 if len(shape) == 2 else shape[0]
    field = hints.out_features == shape[-1] * shape[-2]
    return configure(ConvHybridDEQConfig, {
        "in_channels": in_channels,
        "out_features": 1 if field else hints.out_features,
        "head": "field" if field else "classes",
        "coordinates": field,
        **options,
    })


def build_conv_hybrid_deq(config: ConvHybridDEQConfig, seed: int) -> ConvHybridDEQ:
    return ConvHybridDEQ(config, seed=seed)


register_model("conv_hybrid_deq", configure_conv_hybrid_deq, build_conv_hybrid_deq,
               "digital conv stem, analog convolutional DEQ core, ADC, digital head")
