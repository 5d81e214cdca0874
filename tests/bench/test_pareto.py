"""Pareto fronts and crossovers on cases whose answer is known by construction."""

from __future__ import annotations

import math

import pytest

from hadeq.bench.pareto import crossover, pareto_front


def _names(front):
    return [p["name"] for p in front]


def test_dominated_points_are_removed_and_ties_kept():
    points = [
        {"name": "cheap-bad", "energy": 1.0, "acc": 0.90},
        {"name": "mid", "energy": 2.0, "acc": 0.95},
        {"name": "mid-twin", "energy": 2.0, "acc": 0.95},  # a tie: both stay
        {"name": "dominated", "energy": 3.0, "acc": 0.94},  # mid is cheaper and better
        {"name": "same-cost-worse", "energy": 2.0, "acc": 0.93},
        {"name": "best", "energy": 5.0, "acc": 0.99},
        {"name": "no-energy", "energy": None, "acc": 1.0},
        {"name": "nan", "energy": math.nan, "acc": 1.0},
    ]
    front = pareto_front(points, "energy", "acc", higher_is_better=True)
    assert _names(front) == ["cheap-bad", "mid", "mid-twin", "best"]


def test_lower_is_better_quality_flips_the_order():
    points = [{"name": "a", "energy": 1.0, "err": 0.2},
              {"name": "b", "energy": 2.0, "err": 0.1},
              {"name": "c", "energy": 3.0, "err": 0.15}]
    assert _names(pareto_front(points, "energy", "err", higher_is_better=False)) == ["a", "b"]


def test_crossover_of_a_power_law_is_found_exactly():
    # ratio = (n / 64)^0.7 crosses 1 at n = 64, between the grid points 32 and 128
    xs = [8.0, 32.0, 128.0, 512.0]
    ratios = [(x / 64.0) ** 0.7 for x in xs]
    assert crossover(xs, ratios) == pytest.approx(64.0)
    assert crossover(xs, [0.5, 0.6, 0.7, 0.9]) is None
    assert crossover(xs, [1.0, 2.0, 3.0, 4.0]) == 8.0
    with pytest.raises(ValueError):
        crossover([], [])
