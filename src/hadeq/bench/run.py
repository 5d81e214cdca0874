"""Run a suite: plan its cells, run them (cached, in parallel), assemble, write outputs."""

from __future__ import annotations

import concurrent.futures as futures
import datetime
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from tqdm import tqdm

from hadeq.analog.config import HardwareConfig
from hadeq.bench.assemble import assemble_task
from hadeq.bench.cells import Cell, Evaluation, run_cell
from hadeq.bench.environment import environment
from hadeq.bench.measure import Settling
from hadeq.bench.report import write_report
from hadeq.bench.schema import SCHEMA
from hadeq.bench.suites import SuiteConfig, TaskPlan
from hadeq.energy import EnergyConfig
from hadeq.errors import ConfigError
from hadeq.io import check_output_dir, write_json_atomic
from hadeq.validation import to_dict

Executor = Callable[[list[Cell], str, int, bool], list[dict[str, Any]]]


def plan_cells(suite: SuiteConfig) -> list[Cell]:
    """Every cell of ``suite``: per task and seed, the digitally trained DEQ, the
    physics-aware hybrid and each baseline; per task, one cell per regularizer."""
    headline = dict(suite.headline_hardware)
    chip = HardwareConfig.parse(headline, "headline_hardware")
    settle = Settling(chip, suite.settle_tol, suite.settle_dt_ns)
    cells: list[Cell] = []
    for plan in suite.tasks:
        sweep_episodes = plan.sweep_episodes if _is_control(plan) else None
        sweeps = tuple(
            [Evaluation(f"bits={b}", chip.replace(weight_bits=b), episodes=sweep_episodes)
             for b in suite.weight_bits]
            + [Evaluation(f"noise={n}", chip.replace(read_noise=n), episodes=sweep_episodes)
               for n in suite.read_noise])
        head = Evaluation("headline", chip, reference=True)

        def cell(role: str, model: dict[str, Any], seed: int, evaluations: tuple[Evaluation, ...],
                 measure_solvers: bool, physics: dict[str, Any] | None = None,
                 plan: TaskPlan = plan) -> Cell:
            return Cell(suite=suite.name, task=plan.task, task_options=dict(plan.task_options),
                        role=role, model=model, train=dict(plan.train), physics=physics or {},
                        seed=seed, evaluations=evaluations, measure_solvers=measure_solvers,
                        settle=settle)

        hybrid = dict(plan.hybrid)
        seeds = plan.seeds or suite.seeds
        for seed in seeds:
            cells.append(cell("digital", {**hybrid, "hardware": "ideal"}, seed,
                              (Evaluation("ideal", HardwareConfig.preset("ideal")), head,
                               *sweeps), True))
            cells.append(cell("physics_aware",
                              {**hybrid, "hardware": headline, "mode": "physics_aware"}, seed,
                              (head, *sweeps), True))
            for name, model in plan.baselines.items():
                cells.append(cell(name, {**dict(model), "hardware": headline}, seed, (head,),
                                  False))
        if plan.regularizers:
            for term, weight in suite.regularizer_weights.items():
                cells.append(cell(f"reg:{term}",
                                  {**hybrid, "hardware": headline, "mode": "physics_aware"},
                                  seeds[0], (head,), True, physics={term: weight}))
    return cells


def _is_control(plan: TaskPlan) -> bool:
    from hadeq.tasks import get_task

    return get_task(plan.task).kind == "control"


def run_local(cells: list[Cell], root: str, jobs: int, progress: bool) -> list[dict[str, Any]]:
    """Run cells in this process (``jobs == 1``) or in ``jobs`` worker processes."""
    bar = tqdm(total=len(cells), desc="bench", unit="cell", disable=not progress)
    results: dict[int, dict[str, Any]] = {}
    try:
        if jobs == 1:
            for i, c in enumerate(cells):
                bar.set_postfix_str(c.label)
                results[i] = run_cell(c, root)
                bar.update()
        else:
            context = multiprocessing.get_context("spawn")
            with futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                pending = {pool.submit(run_cell, c, root): i for i, c in enumerate(cells)}
                for done in futures.as_completed(pending):
                    results[pending[done]] = done.result()
                    bar.set_postfix_str(cells[pending[done]].label)
                    bar.update()
    finally:
        bar.close()
    return [results[i] for i in range(len(cells))]


def run_ray(cells: list[Cell], root: str, jobs: int, progress: bool) -> list[dict[str, Any]]:
    """Run cells as Ray tasks: on the cluster at ``RAY_ADDRESS`` or a local Ray instance.

    Every worker must see ``root`` (a shared file system on a cluster), where cells cache
    their results; each task uses one CPU.
    """
    try:
        import ray
    except ImportError:
        raise ConfigError("executor", "ray", "install Ray first: pip install 'ray>=2.9'") from None
    started = not ray.is_initialized()
    if started:
        address = os.environ.get("RAY_ADDRESS")
        ray.init(address=address, num_cpus=None if address else jobs,
                 include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(run_cell)
        refs = [remote.remote(c, os.path.abspath(root)) for c in cells]
        bar = tqdm(total=len(refs), desc="bench (ray)", unit="cell", disable=not progress)
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            bar.update(len(ready))
        bar.close()
        return ray.get(refs)
    finally:
        if started:
            ray.shutdown()


EXECUTORS: dict[str, Executor] = {"local": run_local, "ray": run_ray}


def run_suite(suite: SuiteConfig, out_root: str = "results", *, jobs: int = 1,
              executor: str = "local", progress: bool = True,
              energy: EnergyConfig | None = None,
              only_tasks: Iterable[str] | None = None) -> dict[str, Any]:
    """Run ``suite`` and write ``<out_root>/<suite>/results.json`` and ``report.md``."""
    if executor not in EXECUTORS:
        raise ConfigError("executor", executor, "one of " + ", ".join(EXECUTORS))
    energy = energy or EnergyConfig()
    out_dir = os.path.join(out_root, suite.name)
    check_output_dir("out", out_dir)  # one line, before any work, when a file is in the way
    os.makedirs(out_dir, exist_ok=True)
    if only_tasks is not None:
        wanted = set(only_tasks)
        suite = type(suite)(**{**suite.__dict__,
                               "tasks": tuple(t for t in suite.tasks if t.task in wanted)})
    start = time.perf_counter()
    cells = plan_cells(suite)
    outcomes = EXECUTORS[executor](cells, out_dir, jobs, progress)
    tasks: dict[str, Any] = {}
    for plan in suite.tasks:
        mine = [o for o in outcomes if o["cell"]["task"] == plan.task]
        tasks[plan.task] = assemble_task(plan, suite, mine, energy)
    results = {
        "schema": SCHEMA,
        "suite": suite.name,
        "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "wall_time_s": time.perf_counter() - start,
        "cells": {"total": len(cells), "cached": sum(bool(o.get("cached")) for o in outcomes)},
        "config": to_dict(suite),
        "seeds": list(suite.seeds),
        "environment": environment(),
        "energy_assumptions": to_dict(energy),
        "tasks": tasks,
    }
    write_json_atomic(os.path.join(out_dir, "results.json"), results)
    write_report(results, out_dir)
    return results
