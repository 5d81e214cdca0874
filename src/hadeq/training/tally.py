"""Running totals of fixed-point solver statistics over many batches."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor

from hadeq.solvers import SolverStats


@dataclass
class SolverTally:
    """Sums over the samples of many solves (add with :meth:`add`, report with
    :meth:`summary`); all counts are samples, not batches."""

    samples: float = 0.0
    iterations_sum: float = 0.0
    iterations_max: float = 0.0
    nonconverged: float = 0.0
    """Samples whose residual did not reach the tolerance (includes stagnated ones)."""
    stagnated: float = 0.0
    """Samples stopped because the residual stopped decreasing (noise floor)."""
    nonfinite: float = 0.0
    """Samples where the map returned NaN/Inf."""
    settling_time_ns_sum: float = 0.0
    """Sum of the ``analog_relaxation`` solver's settling times (0 for other solvers)."""

    def add(self, stats: SolverStats | list[SolverStats] | None) -> None:
        """Count one solve (or each of a list: a model with several equilibrium blocks)."""
        if isinstance(stats, list | tuple):
            for item in stats:
                self.add(item)
            return
        if stats is None or stats.batch_size == 0:
            return
        self.samples += stats.batch_size
        self.iterations_sum += float(stats.iterations.double().sum())
        self.iterations_max = max(self.iterations_max, float(stats.iterations.max()))
        self.nonconverged += float((~stats.converged).sum())
        self.stagnated += float(stats.stagnated.sum())
        self.nonfinite += float(stats.nonfinite.sum())
        settle = stats.extras.get("settling_time_ns")
        if settle is not None and settle.numel():
            self.settling_time_ns_sum += float(settle.double().nan_to_num(0.0).sum())

    def to_tensor(self) -> Tensor:
        """The totals as a float64 vector (for an all-reduce; ``iterations_max`` is summed
        too, so take :meth:`merge_max` for it)."""
        return torch.tensor([getattr(self, f.name) for f in fields(self)], dtype=torch.float64)

    @classmethod
    def from_tensor(cls, values: Tensor) -> SolverTally:
        return cls(*(float(v) for v in values.tolist()))

    def summary(self, prefix: str = "") -> dict[str, Any]:
        """JSON-ready means and counts, keys prefixed by ``prefix``."""
        n = max(self.samples, 1.0)
        out: dict[str, Any] = {
            "iterations_mean": self.iterations_sum / n,
            "iterations_max": int(self.iterations_max),
            "nonconverged": int(self.nonconverged),
            "stagnated": int(self.stagnated),
            "nonfinite": int(self.nonfinite),
            "samples": int(self.samples),
        }
        if self.settling_time_ns_sum > 0:
            out["settling_time_ns_mean"] = self.settling_time_ns_sum / n
        return {prefix + k: v for k, v in out.items()}
