"""The model kinds a config file's ``model: {kind: ..., ...}`` section can name: an
explicit table, :data:`MODEL_KINDS`.

A kind is two functions: ``configure(options, hints) -> config`` turns the section's
remaining keys into the model's validated config object (refusing unknown keys, naming
them as ``model.<key>``), and ``build(config, seed) -> HadeqModel`` makes a model from it.
Keeping them apart lets a config file be validated without allocating a model, and the
section is parsed once: :func:`parse_model_section` returns a typed :class:`ModelSpec`
that everything downstream uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from hadeq.analog import HardwareConfig
from hadeq.errors import ConfigError
from hadeq.models.config import ConvHybridDEQConfig, HybridDEQConfig
from hadeq.models.conv_hybrid import ConvHybridDEQ
from hadeq.models.feedforward import AnalogCNN, AnalogCNNConfig, AnalogMLP, AnalogMLPConfig
from hadeq.models.ffebm import FFEBM, FFEBMConfig
from hadeq.models.hybrid import HybridDEQ
from hadeq.models.interface import HadeqModel
from hadeq.validation import from_mapping, to_dict

T = TypeVar("T")


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


@dataclass(frozen=True)
class ModelKind:
    """One model kind of the table."""

    name: str
    configure: Callable[[Mapping[str, Any], ModelHints], Any]
    """``(options, hints) -> config``: validate the options (without ``kind``)."""
    build: Callable[[Any, int], HadeqModel]
    """``(config, seed) -> model``."""
    description: str


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``model`` section: its kind and the kind's validated config."""

    kind: str
    config: Any

    def build(self, seed: int = 0) -> HadeqModel:
        """A fresh model of this spec, its chip programmed with ``seed``."""
        return MODEL_KINDS[self.kind].build(self.config, seed)

    def to_dict(self) -> dict[str, Any]:
        """The ``model`` section that parses back to this spec (every field explicit)."""
        return {"kind": self.kind, **to_dict(self.config)}


# --------------------------------------------------------------------------- configure
def configure(cls: type[T], data: Mapping[str, Any]) -> T:
    """The config ``cls`` from a ``model`` section's fields (errors named ``model.<key>``);
    a ``hardware`` entry may be a preset name or a mapping."""
    data = dict(data)
    if "hardware" in data:
        data["hardware"] = HardwareConfig.parse(data["hardware"], "model.hardware")
    try:
        return from_mapping(cls, data, owner="model")
    except ConfigError as exc:
        raise exc.prefixed("model") from None


def _dense(cls: type[T]) -> Callable[[Mapping[str, Any], ModelHints], T]:
    """The configure function of a flat-input model: in/out features default to the
    task's."""
    def configure_dense(options: Mapping[str, Any], hints: ModelHints) -> T:
        return configure(cls, {"in_features": hints.in_features,
                               "out_features": hints.out_features, **options})
    return configure_dense


def _configure_conv_hybrid_deq(options: Mapping[str, Any],
                               hints: ModelHints) -> ConvHybridDEQConfig:
    """From the task's input shape: a 2-D field ``(H, W)`` is one channel; an output of
    ``H·W`` values per sample is a field (one output channel per pixel, with coordinate
    channels by default), anything else a class vector."""
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


def _image_shape(shape: tuple[int, ...], in_features: int) -> tuple[int, int, int]:
    if len(shape) == 3:
        return shape[0], shape[1], shape[2]
    if len(shape) == 2:
        return 1, shape[0], shape[1]
    side = math.isqrt(in_features)
    if side * side != in_features:
        raise ConfigError("model.height", None, "give in_channels/height/width: the input "
                          f"({in_features} features) is not a square image")
    return 1, side, side


def _configure_analog_cnn(options: Mapping[str, Any], hints: ModelHints) -> AnalogCNNConfig:
    """The image shape defaults to the task's ``input_shape`` (a flat square input is
    read as one channel)."""
    data: dict[str, Any] = {"out_features": hints.out_features, **options}
    if not {"in_channels", "height", "width"} <= set(data):
        ch, h, w = _image_shape(tuple(hints.input_shape), hints.in_features)
        data.setdefault("in_channels", ch)
        data.setdefault("height", h)
        data.setdefault("width", w)
    return configure(AnalogCNNConfig, data)


MODEL_KINDS: dict[str, ModelKind] = {kind.name: kind for kind in (
    ModelKind("hybrid_deq", _dense(HybridDEQConfig),
              lambda c, seed: HybridDEQ(c, seed=seed),
              "digital stem, analog DEQ core, ADC, digital head (ideal hardware: digital DEQ)"),
    ModelKind("conv_hybrid_deq", _configure_conv_hybrid_deq,
              lambda c, seed: ConvHybridDEQ(c, seed=seed),
              "digital conv stem, analog convolutional DEQ core, ADC, digital head"),
    ModelKind("analog_mlp", _dense(AnalogMLPConfig),
              lambda c, seed: AnalogMLP(c, seed=seed),
              "feed-forward analog MLP, DAC and ADC at every layer"),
    ModelKind("analog_cnn", _configure_analog_cnn,
              lambda c, seed: AnalogCNN(c, seed=seed),
              "feed-forward analog CNN, DAC and ADC at every layer"),
    ModelKind("ffebm", _dense(FFEBMConfig),
              lambda c, seed: FFEBM(c, seed=seed),
              "feed-forward / energy-based model trained with EP inside blocks"),
)}
"""Every model kind, by name."""


def parse_model_section(section: Mapping[str, Any] | ModelSpec,
                        hints: ModelHints) -> ModelSpec:
    """The typed spec of a ``model`` section (``kind`` defaults to ``hybrid_deq``); a
    spec is returned as it is."""
    if isinstance(section, ModelSpec):
        return section
    if not isinstance(section, Mapping):
        raise ConfigError("model", section, "a mapping with a 'kind' and the model's options")
    options = dict(section)
    kind = options.pop("kind", "hybrid_deq")
    if not isinstance(kind, str) or kind not in MODEL_KINDS:
        raise ConfigError("model.kind", kind, "one of " + ", ".join(sorted(MODEL_KINDS)))
    return ModelSpec(kind, MODEL_KINDS[kind].configure(options, hints))


def build_model(section: Mapping[str, Any] | ModelSpec, hints: ModelHints,
                seed: int = 0) -> HadeqModel:
    """Build the model a ``model`` section describes, for data with these ``hints``."""
    return parse_model_section(section, hints).build(seed)
