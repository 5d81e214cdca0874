"""Small helpers for typed, validated configuration dataclasses.

Config classes in hadeq are frozen dataclasses with a docstring per field. They validate
themselves in ``__post_init__`` with the checks below, and are built from user data
(YAML/JSON/CLI overrides) with :func:`from_mapping`, which refuses unknown keys so that a
misspelt option is an error rather than silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from hadeq.errors import ConfigError

T = TypeVar("T")


def check_range(
    field: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite number within the bounds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(field, value, "a number is required")
    if not math.isfinite(value):
        raise ConfigError(field, value, "a finite number is required")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        bracket_l = "(" if low_open or low is None else "["
        bracket_r = ")" if high_open or high is None else "]"
        raise ConfigError(field, value, f"must lie in {bracket_l}{lo}, {hi}{bracket_r}")


def check_int(field: str, value: int, low: int | None = None, high: int | None = None) -> None:
    """Raise :class:`ConfigError` unless ``value`` is an integer within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field, value, "an integer is required")
    check_range(field, value, low, high)


def check_choice(field: str, value: object, choices: Iterable[object]) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``choices``."""
    options = list(choices)
    if value not in options:
        raise ConfigError(field, value, "one of " + ", ".join(repr(c) for c in options))


def unknown_key_error(owner: str, key: str, allowed: Iterable[str]) -> ConfigError:
    """The error for an option name that ``owner`` does not have, with a close match."""
    names = sorted(allowed)
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    allowed = hint + "known options: " + ", ".join(names)
    return ConfigError(f"{owner}.{key}", "<unknown option>", allowed)


def from_mapping(cls: type[T], data: Mapping[str, Any], *, owner: str | None = None) -> T:
    """Build the dataclass ``cls`` from a mapping, refusing unknown keys.

    Nested dataclass fields accept nested mappings. Values are checked by the class's own
    ``__post_init__``; a wrong type for a plain field is reported by name.
    """
    owner = owner or cls.__name__
    if not isinstance(data, Mapping):
        raise ConfigError(owner, data, "a mapping of option names to values is required")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise unknown_key_error(owner, str(key), known)
        sub = _dataclass_in(hints.get(key))
        if sub is not None and isinstance(value, Mapping):
            value = from_mapping(sub, value, owner=f"{owner}.{key}")
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise ConfigError(owner, dict(data), str(exc)) from None


def _dataclass_in(hint: Any) -> type | None:
    if hint is None:
        return None
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return hint
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        for arg in typing.get_args(hint):
            if dataclasses.is_dataclass(arg) and isinstance(arg, type):
                return arg
    return None


def to_dict(obj: Any) -> Any:
    """A JSON-ready copy of a (possibly nested) config dataclass."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_dict(v) for v in obj]
    if hasattr(obj, "value") and hasattr(type(obj), "__members__"):  # Enum
        return obj.value
    return obj
