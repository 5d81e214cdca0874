"""Where a design wins: quality–cost Pareto fronts and the crossover of a ratio.

A claim "the hybrid saves X×" is only meaningful at equal quality against the best
digital point, so the bench places every design it measured in the (cost, quality) plane
and keeps the designs no other design beats on both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def dominates(a: Mapping[str, Any], b: Mapping[str, Any], cost: str, quality: str,
              higher_is_better: bool) -> bool:
    """``a`` is at least as cheap and at least as good as ``b``, and strictly one of the
    two."""
    qa, qb = (a[quality], b[quality]) if higher_is_better else (-a[quality], -b[quality])
    return a[cost] <= b[cost] and qa >= qb and (a[cost] < b[cost] or qa > qb)


def pareto_front(points: Sequence[Mapping[str, Any]], cost: str, quality: str,
                 higher_is_better: bool) -> list[dict[str, Any]]:
    """The points no other point dominates (:func:`dominates`), by increasing cost; points
    with a missing or non-finite cost or quality are left out, and ties (equal cost and
    quality) are all kept."""
    valid = [dict(p) for p in points
             if _finite(p.get(cost)) and _finite(p.get(quality))]
    front = [p for p in valid
             if not any(dominates(q, p, cost, quality, higher_is_better) for q in valid)]
    return sorted(front, key=lambda p: p[cost])


def crossover(xs: Sequence[float], ratios: Sequence[float]) -> float | None:
    """The first ``x`` at which ``ratio`` (e.g. digital energy / hybrid energy, > 1: the
    hybrid wins) crosses 1, interpolated linearly in ``log x`` and ``log ratio`` between the
    two points that bracket it; the first ``x`` if it starts at 1; None if it never does.
    ``xs`` must be positive and increasing, ``ratios`` positive."""
    if len(xs) != len(ratios) or not xs:
        raise ValueError("xs and ratios must be non-empty and of equal length")
    logs = [math.log(r) for r in ratios]
    if logs[0] == 0.0:
        return float(xs[0])
    for i in range(1, len(xs)):
        if logs[i] == 0.0:
            return float(xs[i])
        if (logs[i - 1] < 0.0) != (logs[i] < 0.0):
            frac = logs[i - 1] / (logs[i - 1] - logs[i])
            lx0, lx1 = math.log(xs[i - 1]), math.log(xs[i])
            return math.exp(lx0 + frac * (lx1 - lx0))
    return None


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
