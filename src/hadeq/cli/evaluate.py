"""``hadeq evaluate``: score a checkpoint on (other) hardware with a programmed chip."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from torch import Tensor

from hadeq.analog import HardwareConfig, LoopSampling
from hadeq.bench.cells import CALIBRATION_SAMPLES
from hadeq.errors import ConfigError
from hadeq.models import AnalogCoreDEQ, HadeqModel
from hadeq.training import evaluate_model, load_trained
from hadeq.training.checkpoint import jsonable
from hadeq.training.config import apply_overrides
from hadeq.validation import check_int, to_dict

DESCRIPTION = """\
Rebuild the model of a training run from its checkpoint (verifying the SHA-256 of the
weights), put the same weights on the evaluation hardware, program the chip with --seed
and score the test set: task metrics (accuracy, relative L2, ...), solver statistics
(mean/max iterations, non-converged and stagnated samples) and, for analog models, the
metrics of the same weights on ideal hardware and the SNR (dB) of the core equilibrium
z* against the ideal one.

A hybrid DEQ on analog hardware is scored as the circuit runs: the chip's loop is first
calibrated on the last 256 training inputs (the injection DACs' fixed full scale, and
the ADC's sampling instant t_s = the 99th percentile of their settling times to half an
ADC LSB, unless --sample-time-ns sets it), then every test input is simulated from
a = 0 with the loop's read and amplifier noise and read by the ADC at t_s. --proxy
scores the training-time proxy instead (the model's solver on the noisy map).

For a hybrid DEQ it also measures time to equilibrium on the first --settle-samples test
inputs, as the bench does: the analog loop's noise-free settling time in ns (mean and
99th percentile, to half an ADC LSB on z; tau = the chip's tau_ns) and the fraction of
inputs t_s covers, next to the digital DEQ's Anderson iterations to the same output
precision (residual within half an ADC LSB in every component) on the same weights made
ideal.

The hardware is the run's eval_hardware (or the model's training hardware); change it
with --set (repeatable), VALUE read as a YAML scalar:
  --set hardware.read_noise=0.05 --set hardware.weight_bits=6
  --set hardware=rram_4bit                  (a preset by name)
  --set hardware.preset=hermes_pcm_8bit     (a preset plus the other --set fields)
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score a training checkpoint on (other) analog hardware",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT_DIR",
                   help="output directory of `hadeq train` (holds checkpoint.json)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="hardware.KEY=VALUE", help="override a hardware field (repeatable)")
    p.add_argument("--seed", type=int, default=None,
                   help="programming seed of the chip (default: the run's eval_seed)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="samples per forward pass (default: the run's eval_batch_size)")
    p.add_argument("--settle-samples", type=int, default=DEFAULT_SETTLE_SAMPLES, metavar="N",
                   help="hybrid DEQs: test inputs on which settling time and digital "
                        f"iterations are measured (default {DEFAULT_SETTLE_SAMPLES}; 0: skip)")
    p.add_argument("--sample-time-ns", type=float, default=None, metavar="NS",
                   help="hybrid DEQs: the ADC's sampling instant t_s in ns (default: the "
                        "99th percentile of the calibration inputs' settling times)")
    p.add_argument("--proxy", action="store_true",
                   help="hybrid DEQs: score the training-time proxy (the model's solver "
                        "on the noisy map) instead of the simulated circuit")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=run)


DEFAULT_SETTLE_SAMPLES = 64
"""Test inputs on which ``hadeq evaluate`` measures settling (the bench uses 256)."""


def time_to_equilibrium(model: AnalogCoreDEQ, x: Tensor, hardware: HardwareConfig,
                        seed: int, calibration_x: Tensor,
                        sampling: LoopSampling) -> dict[str, Any]:
    """Settling of the analog loop (ns) and the digital DEQ's iterations on inputs ``x``,
    measured as the bench measures them (:mod:`hadeq.bench.measure`)."""
    from hadeq.bench.measure import Settling, analog_settling, digital_iterations
    from hadeq.cli.energy import SETTLE_DT_NS, settle_tol

    tol = settle_tol(hardware)
    analog = analog_settling(model, x, Settling(hardware, tol, SETTLE_DT_NS, loop=sampling),
                             seed, calibration_x)
    digital = digital_iterations(model, x, tol)
    return {
        "samples": int(x.shape[0]),
        "tol": tol,
        "settling": {
            "settling_time_ns_mean": analog["settling_time_ns"],
            "settling_time_ns_p99": analog["settling_time_ns_p99"],
            "settling_time_ns_max": analog["settling_time_ns_max"],
            "settled_fraction": analog["settled_fraction"],
            "sample_time_ns": analog["sample_time_ns"],
            "covered_fraction": analog["covered_fraction"],
            "tau_ns": analog["tau_ns"],
            "dt_ns": analog["dt_ns"],
        },
        "digital": {
            "solver": "anderson",
            "iterations_mean": digital["iterations_mean"],
            "converged_fraction": digital["converged_fraction"],
        },
    }


def _hardware_section(model: HadeqModel, eval_hardware: HardwareConfig | None,
                      overrides: list[str]) -> HardwareConfig:
    """The evaluation hardware: the run's (or the model's own), then ``--set hardware...``
    overrides."""
    for pair in overrides:
        key = pair.split("=", 1)[0].strip()
        if key != "hardware" and not key.startswith("hardware."):
            raise ConfigError("--set", pair, "hardware=PRESET or hardware.FIELD=VALUE")
    base = eval_hardware if eval_hardware is not None else model.hardware
    if not overrides:
        return base
    section = apply_overrides({"hardware": to_dict(base)}, overrides)["hardware"]
    return HardwareConfig.parse(section, "hardware")


def run(args: argparse.Namespace) -> int:
    if args.seed is not None:
        check_int("--seed", args.seed, 0, 2**63 - 1)
    if args.batch_size is not None:
        check_int("--batch-size", args.batch_size, 1, 1 << 24)
    check_int("--settle-samples", args.settle_samples, 0, 1 << 20)
    if args.sample_time_ns is not None and not (math.isfinite(args.sample_time_ns)
                                                and args.sample_time_ns > 0):
        raise ConfigError("--sample-time-ns", args.sample_time_ns, "a time in ns > 0")
    sampling = LoopSampling(sample_time_ns=args.sample_time_ns)
    model, config, ckpt = load_trained(args.checkpoint)
    hardware = _hardware_section(model, config.eval_hardware_config, args.overrides)
    seed = config.eval_seed if args.seed is None else args.seed
    task = config.task_spec
    data = task.load(seed=config.seed, **config.task_options)
    x, y = data.x_test, data.y_test
    if config.max_test_samples is not None:
        x, y = x[:config.max_test_samples], y[:config.max_test_samples]
    calibration_x = data.x_train[-CALIBRATION_SAMPLES:]
    physical = not (args.proxy or hardware.is_exact)
    result = evaluate_model(model, task, x, y, hardware=hardware, seed=seed,
                            batch_size=args.batch_size or config.eval_batch_size,
                            reference=True, loop=sampling if physical else None,
                            calibration_x=calibration_x)
    out = {
        "schema": "hadeq.evaluate/1",
        "checkpoint": args.checkpoint,
        "epoch": ckpt.epoch,
        "task": config.task,
        "model_kind": config.model_kind,
        "hardware": to_dict(hardware),
        **result,
    }
    if isinstance(model, AnalogCoreDEQ) and args.settle_samples > 0:
        out["time_to_equilibrium"] = time_to_equilibrium(model, x[:args.settle_samples],
                                                         hardware, seed, calibration_x,
                                                         sampling)
    if args.json:
        print(json.dumps(jsonable(out), indent=2))
        return 0
    rows: list[tuple[str, str]] = [
        ("checkpoint", f"{args.checkpoint} (epoch {ckpt.epoch})"),
        ("model", f"{config.model_kind} on {config.task}, {result['samples']} test samples"),
        ("programming seed", str(seed)),
    ]
    ideal = to_dict(HardwareConfig.preset("ideal"))
    changed = {k: v for k, v in to_dict(hardware).items() if v != ideal[k]}
    rows.append(("hardware", ", ".join(f"{k}={v}" for k, v in changed.items()) or "ideal"))
    if "loop" in result:
        rows.append(("scored as", f"the circuit, sampled at t_s = "
                                  f"{result['loop']['sample_time_ns']:.1f} ns"))
    elif isinstance(model, AnalogCoreDEQ) and not hardware.is_exact:
        rows.append(("scored as", "the training-time proxy (--proxy)"))
    for name, value in result["metrics"].items():
        rows.append((name, f"{value:.4f}"))
    for name, value in result.get("ideal_metrics", {}).items():
        rows.append((f"{name} (ideal hardware)", f"{value:.4f}"))
    if "core_snr_db" in result:
        snr = result["core_snr_db"]
        rows.append(("core z* SNR vs ideal", f"{snr:.1f} dB" if isinstance(snr, float)
                     and math.isfinite(snr) else str(snr)))
    s = result["solver"]
    if s.get("samples"):
        rows.append(("solver iterations", f"mean {s['iterations_mean']:.1f}, "
                                          f"max {s['iterations_max']} (the model's solver, "
                                          "this chip)"))
        rows.append(("non-converged", f"{s['nonconverged']} (stagnated {s['stagnated']}, "
                                      f"non-finite {s['nonfinite']})"))
        if "settling_time_ns_mean" in s:
            rows.append(("settling time", f"{s['settling_time_ns_mean']:.1f} ns (mean)"))
    if "time_to_equilibrium" in out:
        rows.extend(_time_rows(out["time_to_equilibrium"]))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def _ns(value: float) -> str:
    return f"{value:.1f} ns" if math.isfinite(value) else "not settled"


def _time_rows(t: dict[str, Any]) -> list[tuple[str, str]]:
    a, d = t["settling"], t["digital"]
    settled = (f"{100 * a['settled_fraction']:.0f} % settled"
               if a["settled_fraction"] < 1 else "all settled")
    return [
        ("analog settling", f"mean {_ns(a['settling_time_ns_mean'])}, p99 "
                            f"{_ns(a['settling_time_ns_p99'])} over {t['samples']} test "
                            f"inputs ({settled}; to half an ADC LSB, tau "
                            f"{a['tau_ns']:g} ns, no read noise)"),
        ("sampling instant", f"t_s = {_ns(a['sample_time_ns'])} covers "
                             f"{100 * a['covered_fraction']:.0f} % of them"),
        ("digital DEQ", f"{d['iterations_mean']:.1f} Anderson iterations (mean) to "
                        f"residual |f(z) - z| <= {t['tol']:.3g} in every component, same "
                        "inputs, ideal weights"),
    ]
