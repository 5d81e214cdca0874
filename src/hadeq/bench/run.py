"""Run a suite: plan its cells, run them (cached, in parallel), assemble, write outputs."""

from __future__ import annotations

import concurrent.futures as futures
import datetime
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from tqdm import tqdm

from hadeq.analog.config import HardwareConfig
from hadeq.analog.loop import adc_half_lsb
from hadeq.bench.assemble import assemble_task
from hadeq.bench.cells import (
    Cell,
    Evaluation,
    result_path,
    run_cell,
    run_dir,
    run_dir_key,
)
from hadeq.bench.environment import environment
from hadeq.bench.measure import Settling
from hadeq.bench.report import write_report
from hadeq.bench.schema import FEEDFORWARD, SCHEMA, trained_at
from hadeq.bench.suites import SNR_FIELD, SuiteConfig, TaskPlan
from hadeq.energy import EnergyConfig, calibrated_energy_config, calibration_report
from hadeq.errors import ConfigError
from hadeq.io import check_output_dir, write_json_atomic
from hadeq.validation import check_choice, to_dict

Executor = Callable[[list[Cell], str, int, bool], list[dict[str, Any]]]


def plan_cells(suite: SuiteConfig) -> list[Cell]:
    """Every cell of ``suite``: per task and seed, the digitally trained DEQ, the
    physics-aware hybrid, the feed-forward control (the DEQ without feedback, trained
    digitally), each baseline and a hybrid trained at each of the task's
    ``train_at_corners``; per task, one cell per regularizer."""
    headline = dict(suite.headline_hardware)
    chip = HardwareConfig.parse(headline, "headline_hardware")
    tol = adc_half_lsb(chip.output_bits) if suite.settle_tol is None else suite.settle_tol
    settle = Settling(chip, tol, suite.settle_dt_ns)
    cells: list[Cell] = []
    for plan in suite.tasks:
        sweep_episodes = plan.sweep_episodes if _is_control(plan) else None
        sweeps = tuple(
            [Evaluation(f"bits={b}", chip.replace(weight_bits=b), episodes=sweep_episodes)
             for b in suite.weight_bits]
            + [Evaluation(f"noise={n}", chip.replace(read_noise=n), episodes=sweep_episodes)
               for n in suite.read_noise])
        head = Evaluation("headline", chip, reference=True, snr_target_db=suite.headline_snr_db)
        corners = tuple(_corner(label, chip, fields, sweep_episodes, suite.corner_chips)
                        for label, fields in suite.corners.items())
        for label in plan.train_at_corners:
            check_choice("train_at_corners", label,
                         [c for c, fields in suite.corners.items() if SNR_FIELD not in fields])

        def cell(role: str, model: dict[str, Any], seed: int, evaluations: tuple[Evaluation, ...],
                 measure_solvers: bool, physics: dict[str, Any] | None = None,
                 plan: TaskPlan = plan, train_snr_db: float | None = None) -> Cell:
            return Cell(suite=suite.name, task=plan.task, task_options=dict(plan.task_options),
                        role=role, model=model, train=dict(plan.train), physics=physics or {},
                        seed=seed, evaluations=evaluations, measure_solvers=measure_solvers,
                        settle=settle, calibration_samples=plan.calibration_samples,
                        train_snr_db=train_snr_db)

        at_snr = suite.train_snr_db  # models trained on the headline chip

        hybrid = dict(plan.hybrid)
        seeds = plan.seeds or suite.seeds
        for seed in seeds:
            cells.append(cell("digital", {**hybrid, "hardware": "ideal"}, seed,
                              (Evaluation("ideal", HardwareConfig.preset("ideal")), head,
                               *sweeps, *corners), True))
            cells.append(cell("physics_aware",
                              {**hybrid, "hardware": headline, "mode": "physics_aware"}, seed,
                              (head, *sweeps, *corners), True, train_snr_db=at_snr))
            cells.append(cell(FEEDFORWARD, {**hybrid, "hardware": "ideal", "feedback": False},
                              seed, (Evaluation("ideal", HardwareConfig.preset("ideal")),),
                              False))
            for name, model in plan.baselines.items():
                cells.append(cell(name, {**dict(model), "hardware": headline}, seed, (head,),
                                  False, train_snr_db=at_snr))
            for label in plan.train_at_corners:
                corner = next(ev for ev in corners if ev.label == f"corner:{label}")
                cells.append(cell(trained_at(label),
                                  {**hybrid, "hardware": {**headline, **suite.corners[label]},
                                   "mode": "physics_aware"}, seed, (corner,), False))
        if plan.regularizers:
            for term, weight in suite.regularizer_weights.items():
                cells.append(cell(f"reg:{term}",
                                  {**hybrid, "hardware": headline, "mode": "physics_aware"},
                                  seeds[0], (head,), True, physics={term: weight},
                                  train_snr_db=at_snr))
    return cells


def _corner(label: str, chip: HardwareConfig, fields: Any, episodes: int | None,
            chips: int) -> Evaluation:
    """The evaluation of a harsh corner: the headline chip with ``fields`` changed, one of
    which may be :data:`~hadeq.bench.suites.SNR_FIELD` (the read noise then found per
    trained model for that crossbar SNR)."""
    fields = dict(fields)
    target = fields.pop(SNR_FIELD, None)
    return Evaluation(f"corner:{label}", chip.replace(**fields), episodes=episodes,
                      chips=chips, snr_target_db=target)


def _is_control(plan: TaskPlan) -> bool:
    from hadeq.tasks import get_task

    return get_task(plan.task).kind == "control"


class CellProgress:
    """What the progress bar says: the cells running now (by label) and, per task, an
    estimate of the time its remaining cells need, from the wall time of its cells
    finished so far (cells served from the cache count with their recorded time)."""

    def __init__(self, cells: list[Cell], jobs: int, cached: set[int] | None = None) -> None:
        self.cells = cells
        self.jobs = jobs
        self.cached = set(cached or ())
        """Cells whose result is in the cache: they take no time."""
        self.started: dict[int, float] = {}
        self.finished: dict[int, float] = {}

    def start(self, i: int, now: float | None = None) -> None:
        self.started[i] = time.perf_counter() if now is None else now

    def finish(self, i: int, wall_time_s: float) -> None:
        self.started.pop(i, None)
        self.finished[i] = wall_time_s

    def estimates(self, now: float | None = None) -> dict[str, float | None]:
        """Per task with cells left: seconds until they are done at ``jobs`` cells at a
        time (None: no cell of the task has finished yet, nothing to estimate from)."""
        now = time.perf_counter() if now is None else now
        out: dict[str, float | None] = {}
        for task in dict.fromkeys(c.task for c in self.cells):
            mine = [i for i, c in enumerate(self.cells) if c.task == task]
            done = [self.finished[i] for i in mine if i in self.finished]
            left = [i for i in mine if i not in self.finished and i not in self.cached]
            if not left:
                continue
            if not done:
                out[task] = None
                continue
            mean = sum(done) / len(done)
            work = sum(max(mean - (now - self.started[i]), 0.0) if i in self.started else mean
                       for i in left)
            out[task] = work / self.jobs
        return out

    def text(self, now: float | None = None) -> str:
        """``running <labels> | left: <task> ~<time>, ...`` (``done`` at the end)."""
        running = ", ".join(self.cells[i].label for i in sorted(self.started))
        left = ", ".join(f"{task} {_duration(t)}" for task, t in self.estimates(now).items())
        if not running and not left:
            return "done"
        return f"running {running or '-'}" + (f" | left: {left}" if left else "")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    if seconds < 60:
        return f"~{seconds}s"
    if seconds < 3600:
        return f"~{seconds // 60}m{seconds % 60:02d}s"
    return f"~{seconds // 3600}h{seconds % 3600 // 60:02d}m"


REFRESH_S = 5.0
"""How often the progress bar's running cells and estimates are redrawn."""


def run_local(cells: list[Cell], root: str, jobs: int, progress: bool) -> list[dict[str, Any]]:
    """Run cells in this process (``jobs == 1``) or in ``jobs`` worker processes, at most
    ``jobs`` at a time in the order given (so the bar names exactly the running cells)."""
    bar = tqdm(total=len(cells), desc="bench", unit="cell", disable=not progress,
               dynamic_ncols=True)
    state = CellProgress(cells, jobs, {i for i, c in enumerate(cells)
                                       if os.path.exists(result_path(c, root))})
    results: dict[int, dict[str, Any]] = {}

    def finish(i: int, result: dict[str, Any]) -> None:
        results[i] = result
        state.finish(i, float(result.get("wall_time_s", 0.0)))
        bar.update()

    try:
        if jobs == 1:
            for i, c in enumerate(cells):
                state.start(i)
                bar.set_postfix_str(state.text(), refresh=True)
                finish(i, run_cell(c, root))
        else:
            context = multiprocessing.get_context("spawn")
            with futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                queue = list(enumerate(cells))
                pending: dict[futures.Future[dict[str, Any]], int] = {}
                while queue or pending:
                    while queue and len(pending) < jobs:
                        i, c = queue.pop(0)
                        pending[pool.submit(run_cell, c, root)] = i
                        state.start(i)
                    bar.set_postfix_str(state.text(), refresh=True)
                    done, _ = futures.wait(pending, timeout=REFRESH_S,
                                           return_when=futures.FIRST_COMPLETED)
                    for future in done:
                        finish(pending.pop(future), future.result())
        bar.set_postfix_str(state.text(), refresh=True)
    finally:
        bar.close()
    return [results[i] for i in range(len(cells))]


def run_ray(cells: list[Cell], root: str, jobs: int, progress: bool) -> list[dict[str, Any]]:
    """Run cells as Ray tasks: on the cluster at ``RAY_ADDRESS`` or on a new local Ray
    instance of ``jobs`` CPUs (even when a local cluster is running: Ray would otherwise
    join it, and refuse ``jobs``).

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
        ray.init(address=address or "local", num_cpus=None if address else jobs,
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


def stale_run_dirs(cells: list[Cell], root: str) -> list[str]:
    """Run folders of the cells still to train that hold another configuration's training
    (they will be replaced). Raises :class:`ConfigError` before any work when such a
    folder holds files but no cell key (hadeq did not make it)."""
    stale = []
    for cell in cells:
        if os.path.exists(result_path(cell, root)):
            continue
        path = run_dir(cell, root)
        found = run_dir_key(path)
        if found == "":
            raise ConfigError("out", path, "a bench run folder (it holds files but no cell "
                              "key; move them away)")
        if found is not None and found != cell.key():
            stale.append(path)
    return stale


def run_suite(suite: SuiteConfig, out_root: str = "results", *, jobs: int = 1,
              executor: str = "local", progress: bool = True,
              energy: EnergyConfig | None = None,
              only_tasks: Iterable[str] | None = None) -> dict[str, Any]:
    """Run ``suite`` and write ``<out_root>/<suite>/results.json`` and ``report.md``."""
    if executor not in EXECUTORS:
        raise ConfigError("executor", executor, "one of " + ", ".join(EXECUTORS))
    energy = energy or calibrated_energy_config()
    out_dir = os.path.join(out_root, suite.name)
    check_output_dir("out", out_dir)  # one line, before any work, when a file is in the way
    os.makedirs(out_dir, exist_ok=True)
    if only_tasks is not None:
        wanted = set(only_tasks)
        suite = type(suite)(**{**suite.__dict__,
                               "tasks": tuple(t for t in suite.tasks if t.task in wanted)})
    start = time.perf_counter()
    cells = plan_cells(suite)
    for path in stale_run_dirs(cells, out_dir):
        print(f"bench: {path} holds an earlier configuration of its cell: it is replaced",
              file=sys.stderr)
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
        # Summed over every cell, cached ones included (their time in the run that made
        # them): what the suite cost, however many invocations it took.
        "cell_time_s": sum(float(o.get("wall_time_s", 0.0)) for o in outcomes),
        "config": to_dict(suite),
        "seeds": list(suite.seeds),
        "environment": environment(),
        "energy_assumptions": to_dict(energy),
        "calibration": calibration_report(energy),
        "tasks": tasks,
    }
    write_json_atomic(os.path.join(out_dir, "results.json"), results)
    write_report(results, out_dir)
    return results
