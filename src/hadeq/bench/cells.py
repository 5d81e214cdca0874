"""A cell: one model trained on one task with one seed, then measured.

Cells are independent (they can run in parallel processes or on a cluster) and cached:
a cell's result is written atomically to ``cells/<key>.json``, where ``key`` hashes the
cell's full description and the hadeq version, so a rerun skips finished cells.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import torch

import hadeq
from hadeq.analog import HardwareConfig
from hadeq.bench import measure
from hadeq.io import write_json_atomic
from hadeq.models import parameter_count
from hadeq.tasks import get_task
from hadeq.training import Trainer
from hadeq.training.config import parse_train_config
from hadeq.training.evaluation import evaluate_model


@dataclass(frozen=True)
class Evaluation:
    """One hardware point at which a trained cell is scored."""

    label: str
    """``ideal``, ``headline``, ``bits=4``, ``noise=0.1``, …"""
    hardware: HardwareConfig
    """The chip."""
    reference: bool = False
    """Also run the ideal weights: SNR of the core equilibrium."""
    episodes: int | None = None
    """Control tasks: episodes to run (None: the task's ``n_episodes``)."""


@dataclass(frozen=True)
class Cell:
    """Everything that determines one trained model and its measurements."""

    suite: str
    task: str
    task_options: dict[str, Any]
    role: str
    """``digital`` (ideal training: the digital DEQ and the standard-trained hybrid),
    ``physics_aware``, ``reg:<term>`` or a baseline's name."""
    model: dict[str, Any]
    train: dict[str, Any]
    physics: dict[str, Any]
    seed: int
    evaluations: tuple[Evaluation, ...]
    measure_solvers: bool
    """Measure digital iterations and analog settling (DEQ models)."""
    settle: measure.Settling
    """How settling is measured (DEQ models) and on which chip."""

    def key(self) -> str:
        text = json.dumps({"cell": asdict(self), "hadeq": hadeq.__version__}, sort_keys=True,
                          default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        return f"{self.task}/{self.role}/seed{self.seed}"


def run_cell(cell: Cell, root: str) -> dict[str, Any]:
    """Train and measure ``cell`` (or return its cached result)."""
    key = cell.key()
    path = os.path.join(root, "cells", f"{key}.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            cached = json.load(fh)
        if cached.get("key") == key:
            cached["cached"] = True
            return cached
    torch.set_num_threads(1)
    task = get_task(cell.task)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Non-convergence (e.g. at a noise floor) is recorded in the solver statistics.
        warnings.filterwarnings("ignore", message="DEQ (forward|implicit backward)",
                                category=RuntimeWarning)
        if task.kind == "control":
            from hadeq.bench.control import train_and_measure_control

            result = train_and_measure_control(cell, task, os.path.join(root, "runs", key))
        else:
            result = _train_and_measure(cell, task, os.path.join(root, "runs", key))
    result.update(key=key, label=cell.label, cell=asdict(cell),
                  wall_time_s=time.perf_counter() - start)
    write_json_atomic(path, result)
    result["cached"] = False
    return result


def train_config(cell: Cell, run_dir: str) -> Any:
    """The trainer's validated config for ``cell`` (classification and regression)."""
    train = dict(cell.train)
    return parse_train_config({
        "task": cell.task, "task_options": cell.task_options, "model": cell.model,
        "physics": cell.physics, "optimizer": {"lr": train.pop("lr", 3e-3)},
        "seed": cell.seed, "out_dir": run_dir, **train,
    })


def validate_cell(cell: Cell) -> None:
    """Check everything about ``cell`` that can be checked without training it."""
    task = get_task(cell.task)
    if task.kind == "control":
        from hadeq.models import parse_model_section
        from hadeq.tasks import ImitationConfig
        from hadeq.training.config import model_hints

        task.config(**cell.task_options)
        parse_model_section(cell.model, model_hints(task))
        ImitationConfig(**cell.train)
    else:
        train_config(cell, os.devnull)


def _train_and_measure(cell: Cell, task: Any, run_dir: str) -> dict[str, Any]:
    config = train_config(cell, run_dir)
    fit = Trainer(config, progress=False).fit(resume=True)
    model = fit.model.eval()
    data = task.load(seed=cell.seed, **cell.task_options)
    result: dict[str, Any] = {
        "parameters": parameter_count(model),
        "train_time_s": fit.wall_time_s,
        "train_final": fit.final,
        "evaluations": {},
    }
    for ev in cell.evaluations:
        scored = evaluate_model(model, task, data.x_test, data.y_test, hardware=ev.hardware,
                                seed=cell.seed)
        result["evaluations"][ev.label] = {
            "quality": scored["metrics"][task.primary_metric],
            "metrics": scored["metrics"],
            "solver": scored["solver"],
            "snr_db": None,
        }
        if ev.reference and cell.measure_solvers:
            result["evaluations"][ev.label].update(
                measure.core_snr(model, data.x_test[:256], ev.hardware, cell.seed))
    if not cell.measure_solvers:
        result["energy"] = measure.baseline_energy(model, data.x_test[:256], cell.settle,
                                                   cell.seed)
    if cell.measure_solvers:
        x = data.x_test[:256]
        result["workload"] = asdict(model.workload(x))
        result["digital"] = measure.digital_iterations(model, x, cell.settle.tol)
        result["settling"] = measure.analog_settling(model, x, cell.settle, cell.seed)
    if cell.role.startswith("reg:") or cell.role == "physics_aware":
        from hadeq.training import near_zero_fraction

        result["near_zero_fraction"] = near_zero_fraction(model.core.weight, 0.01)
    return result
