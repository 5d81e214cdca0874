"""The implicit layer: a fixed point you can differentiate through."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from hadeq.deq.config import DEQConfig
from hadeq.solvers import SolverStats, iterate, make_solver
from hadeq.validation import from_mapping

Map = Callable[[Tensor], Tensor]


class DEQ(nn.Module):
    """Deep-equilibrium layer: ``z, stats = deq(f, z0)`` returns ``z* = f(z*)``.

    ``f`` is any callable ``z -> z`` closing over the inputs and parameters it depends
    on (wrap it with :func:`hadeq.batched` to let per-sample stopping skip finished
    samples). The forward solve never builds a graph. When gradients are enabled, the
    returned tensor has the value ``z*`` exactly and carries the gradient of the chosen
    backward mode (see :class:`DEQConfig`):

    * ``implicit`` — by the implicit function theorem, for a loss ``L(z*)``,
      ``dL/dθ = gᵀ ∂f/∂θ`` with ``g`` the fixed point of ``g = J_f(z*)ᵀ g + ∂L/∂z*``,
      solved by the backward solver (its statistics go to ``on_backward``, see below).
    * ``phantom`` — the gradient of ``k`` damped steps ``z ← (1 − λ)z + λ f(z)`` from ``z*``.
    * ``jfb`` — the gradient of one step ``f(z*)``, i.e. ``J_f`` replaced by 0.

    ``proxy``, if given, is the map differentiated in the backward pass while ``f`` is
    solved forward: physics-aware training solves through a noisy hardware model and
    differentiates a clean digital proxy of it at the same ``z*``.

    ``on_backward``, if given, receives the :class:`SolverStats` of the adjoint solve
    when ``loss.backward()`` runs it (the layer keeps no statistics of its own, so a
    caller never sees those of another batch).

    ``noise_floor``, if given, is the noise level ``ρ`` of ``f`` for this solve
    (:attr:`hadeq.solvers.IterateOptions.noise_floor`, e.g. from the read noise of the
    analog hardware ``f`` runs on): samples whose residual falls to the floor that noise
    sets stop there, marked ``stagnated``. Samples at a noise floor are reported apart
    from those that did not converge, and do not trigger the ``warn_unconverged``
    warning.

    Options are given as a :class:`DEQConfig` or as its fields by keyword; unknown or
    out-of-range options raise :class:`hadeq.ConfigError` naming the option.
    """

    def __init__(self, config: DEQConfig | None = None, **options: Any) -> None:
        super().__init__()
        if config is not None and options:
            raise TypeError("pass either a DEQConfig or keyword options, not both")
        if config is None:
            config = from_mapping(DEQConfig, options, owner="DEQ")
        self.config = config
        c = self.config
        self._forward_solver = make_solver(c.solver, c.solver_options)
        self._backward_solver = make_solver(c.backward_solver, c.backward_options)
        self._eval_solver = make_solver(c.eval_solver or c.solver, c.eval_solver_options)

    def extra_repr(self) -> str:
        c = self.config
        return f"solver={c.solver!r}, backward={c.backward!r}"

    def forward(self, f: Map, z0: Tensor, proxy: Map | None = None, *,
                on_backward: Callable[[SolverStats], None] | None = None,
                noise_floor: float | None = None) -> tuple[Tensor, SolverStats]:
        differentiable = torch.is_grad_enabled()
        method, options = self._forward_solver if self.training else self._eval_solver
        if noise_floor is not None and noise_floor != options.noise_floor:
            options = dataclasses.replace(options, noise_floor=noise_floor)
        z_star, stats = iterate(method, f, z0, options)
        if self.config.warn_unconverged:
            _warn_unconverged("DEQ forward", stats)
        if not differentiable:
            return z_star, stats
        return self.attach(proxy if proxy is not None else f, z_star, stats,
                           on_backward=on_backward), stats

    def attach(self, g: Map, z_star: Tensor, stats: SolverStats | None = None, *,
               on_backward: Callable[[SolverStats], None] | None = None) -> Tensor:
        """``z_star`` (found elsewhere, e.g. by simulating the analog circuit) carrying the
        gradient of the configured backward mode through the map ``g`` at ``z_star``;
        ``stats`` of the solve that found it set the adjoint's tolerance at a noise floor."""
        mode = self.config.backward
        if mode == "implicit":
            tol = None if stats is None else self._adjoint_tol(stats)
            return self._implicit(g, z_star, on_backward, tol)
        steps = 1 if mode == "jfb" else self.config.phantom_steps
        damping = 1.0 if mode == "jfb" else self.config.phantom_damping
        z = z_star
        for _ in range(steps):
            z = torch.lerp(z, g(z), damping) if damping != 1.0 else g(z)
        return _with_value(z_star, z)

    def _adjoint_tol(self, stats: SolverStats) -> float | None:
        """The adjoint tolerance the forward's noise floor allows (None: the backward
        tolerance; see :attr:`DEQConfig.adjoint_floor_fraction`)."""
        fraction = self.config.adjoint_floor_fraction
        floors = stats.extras.get("noise_floor")
        options = self._backward_solver[1]
        if (fraction == 0.0 or floors is None or not bool(stats.stagnated.any())
                or options.stop_mode != stats.stop_mode or options.stop_mode == "mixed"):
            return None
        tol = fraction * float(floors[stats.stagnated].median())
        return tol if tol > options.tol else None

    def _implicit(self, g: Map, z_star: Tensor,
                  on_backward: Callable[[SolverStats], None] | None,
                  tol: float | None = None) -> Tensor:
        z_leaf = z_star.detach().requires_grad_()
        fz = g(z_leaf)
        if not fz.requires_grad:  # f has no parameters or inputs that need gradients
            return z_star

        def solve(vjp: Map, grad: Tensor) -> Tensor:
            y, stats = self._solve_adjoint(vjp, grad, tol)
            if on_backward is not None:
                on_backward(stats)
            return y

        carrier = _ImplicitAdjoint.apply(fz, z_leaf, solve)
        return _with_value(z_star, carrier)

    def _solve_adjoint(self, vjp: Map, grad: Tensor, tol: float | None = None
                       ) -> tuple[Tensor, SolverStats]:
        """The fixed point ``y = vjp(y) + grad`` of the adjoint equation, ``vjp = y ↦ yᵀJ``
        (to ``tol`` instead of the backward tolerance if given)."""
        method, options = self._backward_solver
        if tol is not None:
            options = dataclasses.replace(options, tol=tol)
        y, stats = iterate(method, lambda y: vjp(y) + grad, grad, options)
        if self.config.warn_unconverged:
            _warn_unconverged("DEQ implicit backward: the adjoint solve", stats)
        return y, stats


class _ImplicitAdjoint(torch.autograd.Function):
    """Identity on ``f(z*)`` forward; backward replaces the incoming gradient ``∂L/∂z*`` by
    the adjoint fixed point ``y = J_f(z*)ᵀ y + ∂L/∂z*``, which then flows through ``f``'s
    graph to the parameters.

    An autograd Function rather than a tensor hook: a hook closing over ``f(z*)`` forms a
    reference cycle through the C++ graph that Python's collector cannot see, leaking
    every step's graph. Here the graph holds ``f(z*)`` only as a saved input.
    """

    @staticmethod
    def forward(ctx: Any, fz: Tensor, z_leaf: Tensor,  # type: ignore[override]
                solve: Callable[[Map, Tensor], Tensor]) -> Tensor:
        ctx.save_for_backward(fz, z_leaf)
        ctx.solve = solve
        return fz.detach().clone()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        fz, z_leaf = ctx.saved_tensors

        def vjp(y: Tensor) -> Tensor:
            (product,) = torch.autograd.grad(fz, z_leaf, y, retain_graph=True)
            return product

        return ctx.solve(vjp, grad), None, None


def _warn_unconverged(what: str, stats: SolverStats) -> None:
    """Warn about the samples that neither converged nor stopped at a noise floor."""
    failed = stats.unconverged
    n = int(failed.sum())
    if n == 0:
        return
    at_floor = int(stats.stagnated.sum())
    floor = f"; {at_floor} more stopped at their noise floor" if at_floor else ""
    warnings.warn(
        f"{what}: {n} of {stats.batch_size} samples did not converge ({stats.solver}, "
        f"residual max {float(stats.residual[failed].max()):.2e} > tol {stats.tol:g} after "
        f"{int(stats.iterations[failed].max())} iterations{floor})",
        RuntimeWarning,
        stacklevel=3,
    )


def _with_value(value: Tensor, carrier: Tensor) -> Tensor:
    """A tensor equal to ``value`` whose gradient flows into ``carrier``."""
    return value.detach() + (carrier - carrier.detach())
