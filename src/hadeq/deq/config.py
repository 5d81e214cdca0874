"""Typed, validated options of the implicit layer :class:`hadeq.DEQ`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from hadeq.errors import ConfigError
from hadeq.solvers import make_solver
from hadeq.validation import check_choice, check_int, check_range

BackwardMode = Literal["implicit", "phantom", "jfb"]


def _frozen(options: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """A private copy of the options, so later changes to the caller's dict do nothing."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ConfigError(name, options, "a mapping of solver option names to values")
    return dict(options)


@dataclass(frozen=True)
class DEQConfig:
    """How a :class:`hadeq.DEQ` solves forward, differentiates backward and evaluates."""

    solver: str = "anderson"
    """Forward solver name while training (any registered solver)."""

    solver_options: Mapping[str, Any] = field(
        default_factory=lambda: {"tol": 1e-4, "max_iter": 50}
    )
    """Options of the forward solver (its own and the loop's: ``tol``, ``max_iter``, …)."""

    backward: BackwardMode = "implicit"
    """``implicit``: solve the adjoint fixed point ``g = Jᵀg + ∂L/∂z*`` (exact gradient,
    memory independent of the forward iterations). ``phantom``: differentiate
    ``phantom_steps`` damped unrolled steps from ``z*``. ``jfb``: one step (Jacobian-free)."""

    backward_solver: str = "anderson"
    """Solver of the adjoint fixed point (``implicit`` mode)."""

    backward_options: Mapping[str, Any] = field(
        default_factory=lambda: {"tol": 1e-6, "max_iter": 50}
    )
    """Options of the adjoint solver, including its own tolerance."""

    adjoint_floor_fraction: float = 0.1
    """When the forward solve stopped samples at a noise floor ``ν`` (see
    :attr:`hadeq.solvers.IterateOptions.noise_floor`), the adjoint is solved only to
    ``max(backward tol, fraction·ν)`` (``ν`` the median floor of those samples, in the
    forward's measure; used when both solves measure residuals alike): the equilibrium is
    known only to its floor, so a more accurate adjoint no longer makes the gradient more
    accurate. 0 always solves the adjoint to the backward tolerance."""

    eval_solver: str | None = None
    """Solver in evaluation mode (``module.eval()`` or no grad); ``None``: as ``solver``."""

    eval_options: Mapping[str, Any] | None = None
    """Options in evaluation mode; ``None``: as ``solver_options``."""

    phantom_steps: int = 5
    """k, the number of unrolled steps differentiated in ``phantom`` mode."""

    phantom_damping: float = 0.8
    """λ of the phantom steps ``z ← (1 − λ)z + λ f(z)``, in (0, 1]."""

    warn_unconverged: bool = True
    """Warn when the forward or adjoint solve leaves samples unconverged."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "solver_options", _frozen(self.solver_options, "solver_options"))
        object.__setattr__(
            self, "backward_options", _frozen(self.backward_options, "backward_options")
        )
        if self.eval_options is not None:
            object.__setattr__(self, "eval_options", _frozen(self.eval_options, "eval_options"))
        check_choice("backward", self.backward, ("implicit", "phantom", "jfb"))
        check_int("phantom_steps", self.phantom_steps, 1, 1000)
        check_range("phantom_damping", self.phantom_damping, 0.0, 1.0, low_open=True)
        check_range("adjoint_floor_fraction", self.adjoint_floor_fraction, 0.0, 1.0)
        check_choice("warn_unconverged", self.warn_unconverged, (True, False))
        # Build every solver once so a bad name or option fails here, not mid-training.
        make_solver(self.solver, self.solver_options)
        make_solver(self.backward_solver, self.backward_options)
        make_solver(self.eval_solver or self.solver, self.eval_solver_options)

    @property
    def eval_solver_options(self) -> Mapping[str, Any]:
        return self.solver_options if self.eval_options is None else self.eval_options
