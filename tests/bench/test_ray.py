"""Cells run as Ray tasks (a local Ray instance) give the same results as local runs."""

from __future__ import annotations

import os
from types import MappingProxyType as Frozen

import pytest

from hadeq.bench.run import plan_cells, run_local, run_ray
from hadeq.bench.suites import SuiteConfig, TaskPlan

ray = pytest.importorskip("ray") if os.environ.get("CI") != "true" else __import__("ray")

TINY = SuiteConfig(
    name="tiny",
    tasks=(TaskPlan(task="digits",
                    hybrid=Frozen({"kind": "hybrid_deq", "hidden": 8, "stem_hidden": 16}),
                    train=Frozen({"epochs": 1, "batch_size": 64, "max_train_samples": 128,
                                  "max_test_samples": 64})),),
    seeds=(0,), weight_bits=(8,), read_noise=(0.05,), corners=Frozen({}),
)


def test_ray_executor_matches_local_execution(tmp_path):
    cells = plan_cells(TINY)
    on_ray = run_ray(cells, str(tmp_path / "ray"), jobs=2, progress=False)
    local = run_local(cells, str(tmp_path / "local"), jobs=1, progress=False)
    assert [r["key"] for r in on_ray] == [r["key"] for r in local]
    for a, b in zip(on_ray, local, strict=True):
        assert a["evaluations"] == b["evaluations"]
        if "digital" in b:  # the DEQ cells (the feed-forward control has no solves)
            assert a["digital"]["iterations_mean"] == b["digital"]["iterations_mean"]
            assert a["settling"]["settling_time_ns"] == b["settling"]["settling_time_ns"]
    # Each Ray task wrote its cell into the cache like a local run does.
    assert len(os.listdir(tmp_path / "ray" / "cells")) == len(cells)
