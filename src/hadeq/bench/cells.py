"""A cell: one model trained on one task with one seed, then measured.

Cells are independent (they can run in parallel processes or on a cluster) and cached:
a cell's result is written atomically to ``cells/<key>.json``, where ``key`` hashes the
cell's full description and the hadeq version, so a rerun skips finished cells. A cell's
training lives in a folder named after the cell, ``runs/<task>/<role>/seed<seed>``, which
records the key of the cell it belongs to (:data:`RUN_KEY_FILE`): a folder left by an
earlier configuration of the same cell is never resumed as if it were this one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import torch

import hadeq
from hadeq.analog import HardwareConfig
from hadeq.bench import measure
from hadeq.bench.schema import FEEDFORWARD, TRAINED_AT
from hadeq.bench.suites import CALIBRATION_SAMPLES
from hadeq.errors import ConfigError
from hadeq.io import write_json_atomic
from hadeq.models import HadeqModel, parameter_count
from hadeq.tasks import get_task
from hadeq.training import Trainer
from hadeq.training.config import parse_train_config
from hadeq.training.evaluation import evaluate_model, on_hardware
from hadeq.training.snr import read_noise_for_snr


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
    chips: int = 1
    """Programmed chips the cell is scored on (:func:`hadeq.bench.measure.chip_seeds`;
    chip 0 is the cell's own); ``quality`` is their mean, ``quality_per_chip`` each
    one's."""
    snr_target_db: float | None = None
    """Score where the trained model's crossbar SNR on its chip
    (:meth:`~hadeq.models.HadeqModel.crossbar_snr_db`: a hybrid's core crossbar at its
    equilibria, a baseline's crossbars pooled) is this many dB: ``hardware``'s read noise
    is replaced by the one found by :func:`hadeq.training.snr.read_noise_for_snr`
    (recorded as ``snr_calibration``)."""

    def resolved(self, model: Any, x: torch.Tensor, seed: int
                 ) -> tuple[HardwareConfig, dict[str, Any] | None]:
        """``(chip, calibration)``: the hardware to score ``model`` on, and how its read
        noise was found (None unless :attr:`snr_target_db` is set)."""
        if self.snr_target_db is None:
            return self.hardware, None
        found = read_noise_for_snr(model, x, self.hardware, self.snr_target_db, seed)
        return self.hardware.replace(read_noise=found["read_noise"]), found


@dataclass(frozen=True)
class Cell:
    """Everything that determines one trained model and its measurements."""

    suite: str
    task: str
    task_options: dict[str, Any]
    role: str
    """``digital`` (ideal training: the digital DEQ and the standard-trained hybrid),
    ``physics_aware``, ``reg:<term>``, ``feedforward_control`` (the DEQ without feedback)
    or a baseline's name."""
    model: dict[str, Any]
    train: dict[str, Any]
    physics: dict[str, Any]
    seed: int
    evaluations: tuple[Evaluation, ...]
    measure_solvers: bool
    """Measure digital iterations and analog settling (DEQ models)."""
    settle: measure.Settling
    """How settling is measured (DEQ models) and on which chip."""
    calibration_samples: int = CALIBRATION_SAMPLES
    """Held-out training inputs (the last of the training set) on which every chip's loop
    is calibrated (its fixed ranges and sampling instant ``t_s``)."""
    train_snr_db: float | None = None
    """Models trained through the hardware: train where their crossbars measure this SNR
    (the read noise found again at every epoch, :func:`hadeq.training.snr.retune_read_noise`;
    ``TrainConfig.train_snr_db``); None: at the training chip's own read noise."""

    def key(self) -> str:
        text = json.dumps({"cell": asdict(self), "hadeq": hadeq.__version__}, sort_keys=True,
                          default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        return f"{self.task}/{self.role}/seed{self.seed}"

    @property
    def as_circuit(self) -> bool:
        """Whether the hybrid is scored as the circuit runs (its chip's loop calibrated,
        read at ``t_s``): DEQs that measure their solvers, and hybrids trained at a corner
        (which measure none: their settling is not priced)."""
        return self.measure_solvers or self.role.startswith(TRAINED_AT)


RUN_KEY_FILE = "cell.json"
"""In a cell's run folder: the key and label of the cell whose training the folder holds."""


def run_dir(cell: Cell, root: str) -> str:
    """Where ``cell`` trains: ``<root>/runs/<task>/<role>/seed<seed>`` (a ``reg:<term>``
    role becomes the folder ``reg-<term>``)."""
    return os.path.join(root, "runs", cell.task, cell.role.replace(":", "-"),
                        f"seed{cell.seed}")


def run_dir_key(path: str) -> str | None:
    """The cell key recorded in run folder ``path``: None when the folder is absent or
    empty, ``""`` when it holds files but no readable key (not a folder hadeq made)."""
    if not os.path.isdir(path) or not os.listdir(path):
        return None
    try:
        with open(os.path.join(path, RUN_KEY_FILE), encoding="utf-8") as fh:
            key = json.load(fh).get("key")
    except (OSError, ValueError, AttributeError):
        return ""
    return key if isinstance(key, str) else ""


def claim_run_dir(cell: Cell, root: str) -> str:
    """``cell``'s run folder, recording its key (written before any training). A folder
    that records another key (the cell's configuration or hadeq changed since it trained
    there) is emptied first; a folder with files but no key is refused."""
    path, key = run_dir(cell, root), cell.key()
    found = run_dir_key(path)
    if found == "":
        raise ConfigError("out", path, f"a bench run folder (it holds files but no "
                          f"{RUN_KEY_FILE}; move them away)")
    if found is not None and found != key:
        shutil.rmtree(path)
    if found != key:
        os.makedirs(path, exist_ok=True)
        write_json_atomic(os.path.join(path, RUN_KEY_FILE),
                          {"key": key, "label": cell.label, "hadeq": hadeq.__version__})
    return path


def result_path(cell: Cell, root: str) -> str:
    """The cache file of ``cell``'s result: ``<root>/cells/<key>.json``."""
    return os.path.join(root, "cells", f"{cell.key()}.json")


def run_cell(cell: Cell, root: str) -> dict[str, Any]:
    """Train and measure ``cell`` (or return its cached result)."""
    key = cell.key()
    path = result_path(cell, root)
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

            # imitation training is short and keeps no run folder
            result = train_and_measure_control(cell, task, run_dir(cell, root))
        else:
            result = _train_and_measure(cell, task, claim_run_dir(cell, root))
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
        "seed": cell.seed, "out_dir": run_dir, "train_snr_db": cell.train_snr_db, **train,
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
    # Held-out training inputs calibrate every chip's loop (ranges, sampling instant).
    calibration_x = data.x_train[-cell.calibration_samples:]
    loop = cell.settle.loop

    def quality_of(outputs: torch.Tensor) -> float:
        return float(task.metrics(outputs, data.y_test)[task.primary_metric])

    calibrations: dict[tuple[HardwareConfig, int], Any] = {}

    def calibrated(hardware: HardwareConfig, seed: int = cell.seed) -> Any:
        """One calibration per programmed chip: the read-noise points share theirs."""
        key = (hardware.replace(read_noise=0.0), seed)
        if key not in calibrations:
            chip = measure.calibrated_chip(model, hardware, seed, calibration_x, loop)
            calibrations[key] = chip.loop_calibration
        return calibrations[key]

    for ev in cell.evaluations:
        hardware, snr_calibration = ev.resolved(model, data.x_test[:256], cell.seed)
        physical = cell.as_circuit and not hardware.is_exact
        per_chip = []
        for chip_seed in measure.chip_seeds(cell.seed, ev.chips):
            per_chip.append(evaluate_model(
                model, task, data.x_test, data.y_test, hardware=hardware, seed=chip_seed,
                loop=loop if physical else None,
                calibration=calibrated(hardware, chip_seed) if physical else None))
        scored = per_chip[0]
        qualities = [float(s["metrics"][task.primary_metric]) for s in per_chip]
        entry = result["evaluations"][ev.label] = {
            "quality": statistics.fmean(qualities),
            "metrics": scored["metrics"],
            "solver": scored["solver"],
            "snr_db": None,
            "loop": scored.get("loop"),
        }
        if ev.chips > 1:
            entry["quality_per_chip"] = qualities
        if snr_calibration is not None:
            entry["snr_calibration"] = snr_calibration
        if ev.reference and cell.measure_solvers:
            entry.update(measure.core_snr(model, data.x_test[:256], hardware, cell.seed))
        if physical and ev.reference:
            # The training-time proxy (a solver on the noisy map) beside the circuit.
            proxy = evaluate_model(model, task, data.x_test, data.y_test,
                                   hardware=hardware, seed=cell.seed)
            entry["proxy_quality"] = proxy["metrics"][task.primary_metric]
            chip = on_hardware(model, hardware, cell.seed)
            chip.adopt_loop_calibration(calibrated(hardware))
            entry["sampling_curve"] = measure.sampling_curve(chip, data.x_test, quality_of,
                                                             seed=cell.seed)
    if not cell.as_circuit and cell.role != FEEDFORWARD:
        result["energy"] = measure.baseline_energy(model, data.x_test[:256], cell.settle,
                                                   cell.seed)
    if cell.measure_solvers:
        x = data.x_test[:256]
        result["workload"] = asdict(model.workload(x))
        result["digital"] = measure.digital_iterations(model, x, cell.settle.tol)
        result["settling"] = measure.analog_settling(model, x, cell.settle, cell.seed,
                                                     calibration_x,
                                                     calibrated(cell.settle.hardware))
        if cell.role == "digital":
            def score(run: HadeqModel) -> float:
                scored = evaluate_model(run, task, data.x_test, data.y_test, seed=cell.seed)
                return float(scored["metrics"][task.primary_metric])

            result["digital_grid"] = measure.digital_grid(model, score, x, cell.settle.tol)
            result["iteration_curves"] = {
                solver: measure.iteration_curve(model, score, solver, "fp32")
                for solver in ("picard", "anderson")}
    if cell.role.startswith("reg:") or cell.role == "physics_aware":
        from hadeq.training.physics import loop_weights, near_zero_fraction

        result["near_zero_fraction"] = near_zero_fraction(loop_weights(model), 0.01)
    return result
