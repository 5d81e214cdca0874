"""How the bench summarises repeated measurements: mean ± 95 % interval, n stated; for
benchmark timings, the median with a distribution-free interval."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Interval:
    """The mean of ``n`` finite values and the half-width of its 95 % confidence
    interval, ``t_{0.975, n−1} · s / √n`` (Student's t; NaN when ``n < 2``)."""

    mean: float
    half_width: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "ci95": self.half_width, "n": self.n}


def interval95(values: Iterable[float | None]) -> Interval:
    """Mean and 95 % interval of the finite ``values`` (None and NaN are left out)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return Interval(math.nan, math.nan, 0)
    mean = statistics.fmean(vals)
    if len(vals) < 2:
        return Interval(mean, math.nan, len(vals))
    sem = statistics.stdev(vals) / math.sqrt(len(vals))
    return Interval(mean, float(stats.t.ppf(0.975, len(vals) - 1)) * sem, len(vals))


def disjoint(a: Interval, b: Interval) -> bool:
    """Whether the 95 % intervals of ``a`` and ``b`` do not overlap (False when either
    has no interval, n < 2)."""
    if not (math.isfinite(a.half_width) and math.isfinite(b.half_width)):
        return False
    return abs(a.mean - b.mean) > a.half_width + b.half_width


def format_interval(interval: Interval, fmt: str = "{:.3g}", unit: str = "") -> str:
    """``mean ± half-width (n=…)`` with ``unit`` after both numbers; a single value says
    ``n=1, no interval``."""
    if interval.n == 0:
        return "n/a"
    mean = fmt.format(interval.mean) + unit
    if interval.n < 2:
        return f"{mean} (n=1, no interval)"
    return f"{mean} ± {fmt.format(interval.half_width)}{unit} (n={interval.n})"


def median_interval(values: Sequence[float], level: float = 0.95
                    ) -> tuple[float, float] | None:
    """A distribution-free interval for the median of the distribution that ``values`` are
    independent draws from: the order statistics ``x_(k)`` and ``x_(n+1−k)`` (sorted,
    1-based), ``k`` the largest with ``P(B ≤ k − 1) ≤ (1 − level)/2`` for ``B ~ Bin(n, ½)``
    (the number of draws below the median), so that it covers the median with probability
    at least ``level`` whatever the distribution. None when ``n`` is too small for any
    ``k`` (fewer than 6 values at 95 %). For 15 values at 95 % it is ``[x_(4), x_(12)]``
    (coverage 96.5 %), for 7 ``[min, max]`` (98.4 %)."""
    x = sorted(values)
    n, alpha, k, cdf = len(x), (1.0 - level) / 2.0, 0, 0.0
    while n and (cdf := cdf + math.comb(n, k) / 2.0 ** n) <= alpha:
        k += 1
    return None if k == 0 else (x[k - 1], x[n - k])
