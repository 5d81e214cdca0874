"""The one loop that runs every fixed-point solver.

It evaluates ``f``, measures residuals, tracks each sample's best iterate, stops samples
that converged, stagnated at a noise floor or produced NaN/Inf, drops them from the
working batch (and, when ``f`` can be restricted, from the computation), and records the
residual trace. Solvers only propose the next iterate (:class:`FixedPointSolver.step`).
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Callable

import torch
from torch import Tensor

from hadeq.errors import ConfigError, ConvergenceError
from hadeq.solvers.base import FixedPointSolver
from hadeq.solvers.batched import is_restrictable
from hadeq.solvers.options import IterateOptions
from hadeq.solvers.stats import SolverStats

Map = Callable[[Tensor], Tensor]


def residual(z: Tensor, fz: Tensor, options: IterateOptions) -> Tensor:
    """Per-sample residual of flattened ``(B, d)`` iterates in the ``stop_mode`` measure."""
    r = fz - z
    if options.stop_mode == "abs":
        return torch.linalg.vector_norm(r, dim=1)
    if options.stop_mode == "rel":
        norm = torch.linalg.vector_norm
        scale = torch.maximum(norm(fz, dim=1), norm(z, dim=1))
        return torch.linalg.vector_norm(r, dim=1) / scale.clamp_min(torch.finfo(fz.dtype).tiny)
    return (r.abs() / (options.tol + options.rtol * z.abs())).amax(dim=1)


def noise_floor(z: Tensor, fz: Tensor, options: IterateOptions) -> Tensor:
    """Per-sample residual, in the ``stop_mode`` measure, that noise of std
    ``options.noise_floor·max|z|`` in every element of ``f(z)`` gives on its own at the
    exact fixed point (see :attr:`IterateOptions.noise_floor`)."""
    d = z.shape[1]
    std = options.noise_floor * z.abs().amax(dim=1)
    if options.stop_mode == "mixed":
        low = z.abs().amin(dim=1)
        return std * math.sqrt(2.0 * math.log(max(d, 2))) / (options.tol + options.rtol * low)
    floor = std * math.sqrt(d)
    if options.stop_mode == "rel":
        norm = torch.linalg.vector_norm
        scale = torch.maximum(norm(fz, dim=1), norm(z, dim=1))
        floor = floor / scale.clamp_min(torch.finfo(fz.dtype).tiny)
    return floor


class _ActiveMap:
    """Evaluates ``f`` on the rows still running, as flat ``(n, d)`` tensors."""

    def __init__(self, f: Map, shape: torch.Size, frozen: Tensor):
        self.f = f
        self.shape = shape
        self.frozen = frozen  # (B, d): rows of stopped samples keep their returned value
        self.restrictable = is_restrictable(f)
        self._cached: tuple[int, Map] | None = None
        self._full: Tensor | None = None  # the whole batch's input to an unrestricted f
        self._stopped = 0  # samples stopped when _full was last refreshed from frozen

    def __call__(self, z: Tensor, active: Tensor) -> Tensor:
        n, batch = z.shape[0], self.shape[0]
        if n == batch:
            out = self.f(z.view(self.shape))
        elif self.restrictable:
            if self._cached is None or self._cached[0] != n:
                self._cached = (n, self.f.restrict(active))  # type: ignore[attr-defined]
            out = self._cached[1](z.view(n, *self.shape[1:]))
        else:
            # One buffer for the whole batch: the stopped rows are refreshed from
            # ``frozen`` when more samples have stopped, the running rows written in place.
            if self._full is None or self._stopped != batch - n:
                self._full, self._stopped = self.frozen.clone(), batch - n
            full = self._full.index_copy_(0, active, z)
            out = self.f(full.view(self.shape)).reshape(batch, -1).index_select(0, active)
        if not isinstance(out, Tensor) or out.numel() != z.numel():
            got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            allowed = f"f(z) must return a tensor shaped like z, {tuple(z.shape)}"
            raise ConfigError("f", got, allowed)
        return out.reshape(n, -1)


def iterate(
    solver: FixedPointSolver, f: Map, z0: Tensor, options: IterateOptions
) -> tuple[Tensor, SolverStats]:
    """Solve ``z = f(z)`` from ``z0`` (batch first) with ``solver``; no gradient is tracked.

    Returns the best iterate of every sample (lowest residual seen, so the reported
    residual is exactly that of the returned ``z``) and its :class:`SolverStats`.
    """
    if not isinstance(z0, Tensor) or z0.dim() < 1 or z0.shape[0] == 0:
        shape = tuple(z0.shape) if isinstance(z0, Tensor) else type(z0).__name__
        raise ConfigError("z0", shape, "a tensor with a non-empty leading batch dimension")
    if not z0.is_floating_point():
        raise ConfigError("z0.dtype", z0.dtype, "a floating-point tensor")
    with torch.no_grad():
        return _iterate(solver, f, z0.detach(), options)


def _iterate(
    solver: FixedPointSolver, f: Map, z0: Tensor, options: IterateOptions
) -> tuple[Tensor, SolverStats]:
    shape, batch = z0.shape, z0.shape[0]
    best_z = z0.reshape(batch, -1).clone()
    best_res = torch.full((batch,), torch.inf, dtype=z0.dtype, device=z0.device)
    iterations = torch.zeros(batch, dtype=torch.long, device=z0.device)
    stagnated = torch.zeros(batch, dtype=torch.bool, device=z0.device)
    nonfinite = torch.zeros(batch, dtype=torch.bool, device=z0.device)
    floors = (torch.full((batch,), torch.nan, dtype=z0.dtype, device=z0.device)
              if options.noise_floor > 0.0 else None)
    last_res = torch.full_like(best_res, torch.inf)
    trace: list[Tensor] = []
    window = options.stagnation_window
    history: deque[Tensor] = deque(maxlen=window + 1)
    threshold = options.threshold

    active = torch.arange(batch, device=z0.device)
    fmap = _ActiveMap(f, shape, best_z)
    z = best_z.clone()
    fz = fmap(z, active)
    state = solver.init(z, fz)

    for k in range(options.max_iter):
        # While no sample has stopped (``full``) the active rows are the whole batch and
        # the bookkeeping skips its index operations: a loop iteration is a few dozen
        # small operations, comparable with one evaluation of a small map.
        full = active.numel() == batch
        res = residual(z, fz, options)
        # A NaN/Inf in z or f(z) always makes the residual NaN/Inf, so the elementwise
        # check (two passes over z and f(z)) is only needed when some residual is not
        # finite; it tells a non-finite iterate from a residual that merely overflowed.
        finite = torch.isfinite(res)
        all_finite = bool(finite.all())
        if not all_finite:
            finite = torch.isfinite(fz).all(dim=1) & torch.isfinite(z).all(dim=1)
            res = torch.where(finite, res, torch.full_like(res, torch.inf))
        best_active = best_res if full else best_res.index_select(0, active)
        improved = (res < best_active).nonzero().squeeze(1)
        if full and improved.numel() == batch:
            best_z.copy_(z)
            best_res.copy_(res)
        elif improved.numel():
            rows = improved if full else active.index_select(0, improved)
            best_z.index_copy_(0, rows, z.index_select(0, improved))
            best_res.index_copy_(0, rows, res.index_select(0, improved))
        if full:
            trace.append(res)  # never written to below
        else:
            row = torch.full((batch,), torch.nan, dtype=z0.dtype, device=z0.device)
            trace.append(row.index_copy_(0, active, res))

        converged = res <= threshold
        bad = None if all_finite else ~finite
        stalled = None  # stagnation is only judged once a full window has passed
        if window:
            history.append(best_res.clone())
        if (window and k >= window) or floors is not None:
            running = ~converged if bad is None else ~converged & ~bad
        if window and k >= window:
            old = history[0].index_select(0, active)
            now = best_res.index_select(0, active)
            stalled = (now > (1.0 - options.stagnation_decrease) * old) & running

        if floors is not None:
            floor = noise_floor(z, fz, options)
            # An iterate is built from earlier noisy evaluations, so its residual stays
            # above the floor (√2·ν for one earlier evaluation, ≈ ν for averaging steps):
            # within 2ν, and no longer halving per iteration, it is at the floor.
            previous = last_res.index_select(0, active)
            at_floor = (res <= 2.0 * floor) & (res > 0.5 * previous) & running
            last_res.index_copy_(0, active, res)
            stalled = at_floor if stalled is None else stalled | at_floor
        finished = converged if bad is None else converged | bad
        if stalled is not None:
            finished = finished | stalled
        if options.per_sample or bool(finished.all()):
            done = finished
        else:
            done = torch.zeros_like(finished) if bad is None else bad.clone()
        if k == options.max_iter - 1:
            done = torch.ones_like(done)

        keep = (~done).nonzero().squeeze(1)
        if keep.numel() < active.numel():
            # The bookkeeping of the samples that stop here.
            stop = done.nonzero().squeeze(1)
            stopped = active.index_select(0, stop)
            iterations.index_fill_(0, stopped, k + 1)
            if stalled is not None:
                stagnated.index_fill_(0, active[stalled & done], True)
            if floors is not None:
                floors.index_copy_(0, stopped, floor.index_select(0, stop))
            if bad is not None:
                nonfinite.index_fill_(0, active[bad], True)
        if keep.numel() == 0:
            break
        if keep.numel() < active.numel():
            # One index for every tensor (a boolean mask would be resolved per tensor).
            active, z, fz = (t.index_select(0, keep) for t in (active, z, fz))
            state = {name: value.index_select(0, keep) for name, value in state.items()}
        z, state = solver.step(state, z, fz, k)
        fz = fmap(z, active)

    converged_final = best_res <= threshold
    stagnated &= ~converged_final
    count = int(nonfinite.sum())
    if count:
        message = (
            f"{count} of {batch} samples: f(z) or the iterate became NaN/Inf; they are "
            "flagged 'nonfinite' and return their best finite iterate (or z0)"
        )
        if options.on_nonfinite == "raise":
            raise ConvergenceError(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    stats = SolverStats(
        solver=solver.name,
        stop_mode=options.stop_mode,
        tol=threshold,
        iterations=iterations,
        residual=best_res,
        converged=converged_final,
        stagnated=stagnated,
        nonfinite=nonfinite,
        trace=torch.stack(trace),
    )
    if floors is not None:
        stats.extras["noise_floor"] = floors
    return best_z.view(shape), solver.postprocess(stats)
