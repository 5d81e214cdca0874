"""Scoring a trained model on (possibly other) hardware, reproducibly."""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torch import Tensor

from hadeq.analog import HardwareConfig, LoopSampling, snr_db
from hadeq.errors import ConfigError
from hadeq.models import HadeqModel
from hadeq.tasks import Task
from hadeq.training.seeding import derive_seed
from hadeq.training.tally import SolverTally

SOLVER_WARNINGS = r"DEQ (forward|implicit backward)"
"""Messages of the DEQ layer's non-convergence warnings (counted instead of shown)."""


def on_hardware(model: HadeqModel, hardware: HardwareConfig | None, seed: int) -> HadeqModel:
    """A copy of ``model`` (the original is untouched) whose chip is ``hardware`` (None:
    the model's own), programmed with ``seed``, in eval mode."""
    copied = model.clone()
    if hardware is not None:
        copied.set_hardware(hardware, seed=seed)
    else:
        copied.program(seed)
    return copied.eval()


@torch.no_grad()
def _predict(model: HadeqModel, x: Tensor,
             batch_size: int) -> tuple[Tensor, Tensor | None, SolverTally]:
    outputs, cores = [], []
    tally = SolverTally()
    for start in range(0, x.shape[0], batch_size):
        info = model.forward_with_info(x[start:start + batch_size])
        outputs.append(info.output)
        if info.z_star is not None:
            cores.append(info.z_star)
        tally.add(info.solves)
    core = torch.cat(cores) if len(cores) == len(outputs) and cores else None
    return torch.cat(outputs), core, tally


def evaluate_model(
    model: HadeqModel,
    task: Task,
    x: Tensor,
    y: Tensor,
    *,
    hardware: HardwareConfig | None = None,
    seed: int = 0,
    batch_size: int = 512,
    reference: bool = False,
    loop: LoopSampling | None = None,
    calibration_x: Tensor | None = None,
    calibration: Any = None,
) -> dict[str, Any]:
    """Task metrics and solver statistics of ``model`` on ``(x, y)``.

    The model is copied onto ``hardware`` (None: its own) and programmed with ``seed``;
    the read noise is drawn from a generator seeded from ``seed`` inside a forked RNG, so
    the result depends only on the weights, the hardware and ``seed`` and the caller's
    random state is untouched. With ``reference=True`` the same weights are also run on
    ideal hardware, adding ``ideal_metrics`` and the
    SNR in dB of the core equilibrium ``z*`` against the ideal one.

    With ``loop`` (models with a physical loop), the chip's loop is first calibrated on
    ``calibration_x`` (held-out training inputs: fixed ranges and the sampling instant
    ``t_s``), or takes ``calibration`` made on the same chip at another read noise, and
    is scored as the circuit runs (``result["loop"]`` records the calibration).
    """
    chip = on_hardware(model, hardware, seed)
    if loop is not None and chip.has_physical_loop:
        if calibration is not None:
            chip.adopt_loop_calibration(calibration)
        elif calibration_x is None:
            raise ConfigError("calibration_x", None, "inputs to calibrate the loop on")
        else:
            calibration = chip.calibrate_loop(calibration_x, loop)
    else:
        calibration = None
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        # Non-convergence is reported in result["solver"] instead.
        warnings.filterwarnings("ignore", message=SOLVER_WARNINGS, category=RuntimeWarning)
        torch.manual_seed(derive_seed(seed, "read-noise"))
        pred, core, tally = _predict(chip, x, batch_size)
    result: dict[str, Any] = {
        "metrics": task.metrics(pred, y),
        "solver": tally.summary(),
        "samples": int(x.shape[0]),
        "programming_seed": seed,
    }
    if calibration is not None:
        result["loop"] = {"sample_time_ns": calibration.sample_time_ns,
                          "dt_ns": calibration.dt_ns, "settle_tol": calibration.tol,
                          "injection_full_scale": calibration.injection_full_scale}
    if reference:
        ideal = on_hardware(model, HardwareConfig.preset("ideal"), seed)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=SOLVER_WARNINGS, category=RuntimeWarning)
            pred_ideal, core_ideal, _ = _predict(ideal, x, batch_size)
        result["ideal_metrics"] = task.metrics(pred_ideal, y)
        if core is not None and core_ideal is not None:
            snr = snr_db(core_ideal, core)
            result["core_snr_db"] = snr if math.isfinite(snr) else ("inf" if snr > 0 else "-inf")
    return result
