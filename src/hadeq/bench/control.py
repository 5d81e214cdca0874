"""Cells of control tasks: imitation training of a policy, evaluation in gymnasium."""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict
from typing import Any

import torch

from hadeq import constants as C
from hadeq.bench import measure
from hadeq.bench.schema import FEEDFORWARD
from hadeq.models import HadeqModel, parameter_count
from hadeq.models.registry import build_model
from hadeq.tasks import ImitationConfig, evaluate_policy, observation, train_imitation
from hadeq.training.config import SNR_SAMPLES, model_hints
from hadeq.training.evaluation import on_hardware
from hadeq.training.seeding import derive_seed
from hadeq.training.snr import retune_read_noise

CURVE_EPISODES = 10
"""Episodes per point of the quality-against-time curves (the same initial states at every
point, so the curve's shape is paired; fewer than the headline's to keep them cheap)."""

EVAL_SEED_OFFSET = 10_000
"""Evaluation episodes use seeds disjoint from the imitation roll-outs."""


def _probe_observations(n: int, seed: int) -> torch.Tensor:
    """Observations of states spread over the whole (θ, θ̇) box, for solver measurements."""
    gen = torch.Generator().manual_seed(seed)
    states = (torch.rand(n, 2, generator=gen, dtype=torch.float64) * 2 - 1)
    states = states * torch.tensor([math.pi, C.PENDULUM_MAX_SPEED_RAD_PER_S],
                                   dtype=torch.float64)
    return observation(states).float()


def train_and_measure_control(cell: Any, task: Any, run_dir: str) -> dict[str, Any]:
    del run_dir  # imitation training is short; it is not checkpointed
    data = task.load(seed=cell.seed, **cell.task_options)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(cell.seed, "init"))
        model = build_model(cell.model, model_hints(task), seed=derive_seed(cell.seed, "program"))
    train = dict(cell.train)
    base_hardware, found = model.hardware, []

    def at_snr(obs: torch.Tensor) -> None:
        """Train where the crossbars measure the cell's SNR (as the trainer does)."""
        last = found[-1]["read_noise"] if found else 0.0  # the search starts there
        chip = base_hardware.replace(read_noise=last) if last > 0.0 else base_hardware
        found.append(retune_read_noise(model, obs[-SNR_SAMPLES:], chip, cell.train_snr_db,
                                       derive_seed(cell.seed, "program")))

    start = time.perf_counter()
    history = train_imitation(model, data.expert, ImitationConfig(**train, seed=cell.seed),
                              after_step=model.project_contractive_,
                              before_epoch=None if cell.train_snr_db is None else at_snr)
    train_time = time.perf_counter() - start
    model.eval()
    result: dict[str, Any] = {
        "parameters": parameter_count(model),
        "train_time_s": train_time,
        "train_final": {"imitation_mse": history["loss"][-1],
                        **({"train/read_noise": found[-1]["read_noise"],
                            "train/snr_db": found[-1]["snr_db"]} if found else {})},
        "evaluations": {},
    }
    headline_episodes = cell.task_options.get("n_episodes", 50)

    def rollouts(chip: HadeqModel, episodes: int) -> Any:
        """Episodes of ``chip`` in gymnasium, from the same initial states for every
        model of the cell (paired comparisons)."""
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(derive_seed(cell.seed, "read-noise"))
            return evaluate_policy(chip, n_episodes=episodes,
                                   seed=EVAL_SEED_OFFSET + cell.seed * 1000)

    # States over the whole box calibrate every chip's loop (ranges, sampling instant).
    calibration_x = _probe_observations(256, derive_seed(cell.seed, "calibration"))
    calibrations: dict[Any, Any] = {}

    def calibrated(hardware: Any, seed: int = cell.seed) -> Any:
        """One calibration per programmed chip: the read-noise points share theirs."""
        key = (hardware.replace(read_noise=0.0), seed)
        if key not in calibrations:
            chip = measure.calibrated_chip(model, hardware, seed, calibration_x,
                                           cell.settle.loop)
            calibrations[key] = chip.loop_calibration
        return calibrations[key]

    for ev in cell.evaluations:
        hardware, snr_calibration = ev.resolved(model, _probe_observations(256, cell.seed),
                                                cell.seed)
        physical = cell.as_circuit and not hardware.is_exact
        chips, returns = [], []
        for chip_seed in measure.chip_seeds(cell.seed, ev.chips):
            chips.append(on_hardware(model, hardware, chip_seed))
            if physical:
                chips[-1].adopt_loop_calibration(calibrated(hardware, chip_seed))
            returns.append(rollouts(chips[-1], ev.episodes or headline_episodes))
        chip, outcome = chips[0], returns[0]
        entry = {"quality": statistics.fmean(r.mean_return for r in returns),
                 "metrics": {"mean_return": outcome.mean_return,
                             "std_return": outcome.std_return,
                             "success_rate": outcome.success_rate},
                 "solver": {}, "snr_db": None}
        if ev.chips > 1:
            entry["quality_per_chip"] = [r.mean_return for r in returns]
        if snr_calibration is not None:
            entry["snr_calibration"] = snr_calibration
        if physical:
            calib = chip.loop_calibration
            entry["loop"] = {"sample_time_ns": calib.sample_time_ns, "dt_ns": calib.dt_ns,
                             "settle_tol": calib.tol}
        if ev.reference and cell.measure_solvers:
            entry.update(measure.core_snr(model, _probe_observations(256, cell.seed),
                                          hardware, cell.seed))
            if physical:
                proxy = rollouts(on_hardware(model, hardware, cell.seed),
                                 ev.episodes or headline_episodes)
                entry["proxy_quality"] = proxy.mean_return
                entry["sampling_curve"] = measure.sampling_curve_of_runs(
                    chip, lambda run: rollouts(run, CURVE_EPISODES).mean_return)
        result["evaluations"][ev.label] = entry
    if not cell.as_circuit and cell.role != FEEDFORWARD:
        result["energy"] = measure.baseline_energy(model, _probe_observations(256, cell.seed),
                                                   cell.settle, cell.seed)
    if cell.measure_solvers:
        x = _probe_observations(256, cell.seed)
        result["workload"] = asdict(model.workload(x))
        result["digital"] = measure.digital_iterations(model, x, cell.settle.tol)
        result["settling"] = measure.analog_settling(model, x, cell.settle, cell.seed,
                                                     calibration_x,
                                                     calibrated(cell.settle.hardware))
        if cell.role == "digital":
            result["digital_grid"] = measure.digital_grid(
                model, lambda run: rollouts(run.clone().eval(), headline_episodes).mean_return,
                x, cell.settle.tol)
            result["iteration_curves"] = {
                solver: measure.iteration_curve(
                    model, lambda run: rollouts(run.clone().eval(), CURVE_EPISODES)
                    .mean_return, solver, "fp32", iterations=(1, 2, 3, 4, 6, 8, 12, 16))
                for solver in ("picard", "anderson")}
    return result
