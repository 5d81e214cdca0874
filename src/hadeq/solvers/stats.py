"""What a fixed-point solve reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor


@dataclass
class SolverStats:
    """Per-sample outcome of a fixed-point solve ``z* = f(z*)``.

    All per-sample tensors have shape ``(B,)`` for a batch of ``B`` samples.

    Attributes:
        solver: registry name of the solver that ran.
        stop_mode: how ``residual`` is measured (``abs``, ``rel`` or ``mixed``).
        tol: the tolerance ``residual`` was compared with (1 for ``mixed``, whose
            residual is already normalised by ``atol + rtol·|z|``).
        iterations: evaluations of ``f`` spent on each sample, including the first.
        residual: residual of the *returned* iterate, in the ``stop_mode`` measure.
        converged: residual reached the tolerance.
        stagnated: stopped at a noise floor — the residual fell to the floor the map's
            known noise sets (``extras["noise_floor"]``, see
            :attr:`~hadeq.solvers.IterateOptions.noise_floor`) or stopped decreasing
            (the stagnation rule: a noise floor or a non-contractive map); never set
            together with ``converged``.
        nonfinite: ``f`` returned NaN/Inf for this sample; the returned iterate is the
            last finite one with the lowest residual (or ``z0``).
        trace: residual at every iteration, shape ``(T, B)``; NaN once a sample stopped.
        extras: solver-specific per-sample results, e.g. ``settling_time_ns``, and
            ``noise_floor`` (the residual floor from the map's known noise at the last
            iteration of each sample) when the solve was given one.
    """

    solver: str
    stop_mode: str
    tol: float
    iterations: Tensor
    residual: Tensor
    converged: Tensor
    stagnated: Tensor
    nonfinite: Tensor
    trace: Tensor
    extras: dict[str, Tensor] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return int(self.iterations.shape[0])

    @property
    def all_converged(self) -> bool:
        return bool(self.converged.all())

    @property
    def unconverged(self) -> Tensor:
        """Samples that neither converged nor stopped at a noise floor (they ran out of
        iterations while their residual was still falling, or became non-finite)."""
        return ~self.converged & ~self.stagnated

    @property
    def converged_fraction(self) -> float:
        return float(self.converged.float().mean()) if self.batch_size else 1.0

    def summary(self) -> dict[str, Any]:
        """JSON-ready aggregate numbers (means over the batch, worst cases)."""
        it = self.iterations.float()
        res = self.residual.double()
        out: dict[str, Any] = {
            "solver": self.solver,
            "stop_mode": self.stop_mode,
            "tol": self.tol,
            "batch_size": self.batch_size,
            "iterations_mean": float(it.mean()) if self.batch_size else 0.0,
            "iterations_max": int(self.iterations.max()) if self.batch_size else 0,
            "residual_mean": float(res.mean()) if self.batch_size else 0.0,
            "residual_max": float(res.max()) if self.batch_size else 0.0,
            "converged_fraction": self.converged_fraction,
            "stagnated_count": int(self.stagnated.sum()),
            "unconverged_count": int(self.unconverged.sum()),
            "nonfinite_count": int(self.nonfinite.sum()),
        }
        for name, value in self.extras.items():
            v = value.double()
            out[f"{name}_mean"] = float(v.nanmean()) if v.numel() else 0.0
            out[f"{name}_max"] = float(v.nan_to_num(nan=-torch.inf).max()) if v.numel() else 0.0
        return out

    def __repr__(self) -> str:
        s = self.summary()
        floor = ""
        if s["stagnated_count"]:
            at = self.iterations[self.stagnated].float().mean()
            floor = f" after {float(at):.1f} iterations"
            if "noise_floor" in self.extras:
                size = self.extras["noise_floor"][self.stagnated].double().nanmean()
                floor += f", floor {float(size):.1e}"
        return (
            f"SolverStats(solver={self.solver!r}, batch={s['batch_size']}, "
            f"iterations mean={s['iterations_mean']:.1f} max={s['iterations_max']}, "
            f"residual max={s['residual_max']:.2e} ({self.stop_mode}, tol={self.tol:g}), "
            f"converged={s['converged_fraction']:.0%}, at noise floor={s['stagnated_count']}"
            f"{floor}, unconverged={s['unconverged_count']}, "
            f"nonfinite={s['nonfinite_count']})"
        )
