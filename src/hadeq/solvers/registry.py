"""Solvers by name, and building one from a flat mapping of options.

The built-in solvers are listed in :data:`BUILTIN_SOLVERS`; nothing registers itself on
import. :func:`register_solver` adds a user's own solver.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from hadeq.errors import ConfigError
from hadeq.solvers.anderson import Anderson
from hadeq.solvers.base import FixedPointSolver
from hadeq.solvers.broyden import Broyden
from hadeq.solvers.options import IterateOptions
from hadeq.solvers.picard import Picard
from hadeq.solvers.relaxation import AnalogRelaxation
from hadeq.validation import check_choice, unknown_key_error

BUILTIN_SOLVERS: Mapping[str, type[FixedPointSolver]] = MappingProxyType({
    Picard.name: Picard,
    Anderson.name: Anderson,
    Broyden.name: Broyden,
    AnalogRelaxation.name: AnalogRelaxation,
})
"""The solvers every ``solve``/``DEQ`` knows by name, without importing anything else."""

_REGISTRY: dict[str, type[FixedPointSolver]] = dict(BUILTIN_SOLVERS)


def register_solver(
    name: str, cls: type[FixedPointSolver], *, overwrite: bool = False
) -> type[FixedPointSolver]:
    """Make ``cls`` available to ``solve``/``DEQ`` as ``solver=name``."""
    if not (isinstance(cls, type) and issubclass(cls, FixedPointSolver)):
        raise ConfigError("cls", cls, "a subclass of hadeq.solvers.FixedPointSolver")
    if name in _REGISTRY and _REGISTRY[name] is not cls and not overwrite:
        raise ConfigError("name", name, "already registered; pass overwrite=True to replace it")
    _REGISTRY[name] = cls
    return cls


def available_solvers() -> list[str]:
    """Names of the registered solvers."""
    return sorted(_REGISTRY)


def get_solver_class(name: str) -> type[FixedPointSolver]:
    check_choice("solver", name, available_solvers())
    return _REGISTRY[name]


def make_solver(
    name: str | FixedPointSolver, options: Mapping[str, Any] | None = None
) -> tuple[FixedPointSolver, IterateOptions]:
    """Split flat ``options`` into the method's own and the loop's, validating both.

    An unknown option name raises :class:`ConfigError` naming it and the known ones.
    """
    options = dict(options or {})
    loop_names = {f.name for f in dataclasses.fields(IterateOptions)}
    if isinstance(name, FixedPointSolver):
        solver_name, method_names = name.name, set()
    else:
        solver_name = name
        method_names = {f.name for f in dataclasses.fields(get_solver_class(name))}
    for key in options:
        if key not in loop_names and key not in method_names:
            raise unknown_key_error(f"solver[{solver_name}]", key, loop_names | method_names)
    loop = IterateOptions(**{k: v for k, v in options.items() if k in loop_names})
    if isinstance(name, FixedPointSolver):
        return name, loop
    method = get_solver_class(name)(**{k: v for k, v in options.items() if k in method_names})
    return method, loop
