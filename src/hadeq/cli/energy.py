"""``hadeq energy``: per-inference energy and latency of a hybrid DEQ vs a digital DEQ."""

from __future__ import annotations

import argparse
import os
from typing import Any

from hadeq import constants as C
from hadeq.analog.config import HardwareConfig
from hadeq.bench.suites import SuiteConfig
from hadeq.energy import (
    BUCKETS,
    DEQWorkload,
    EnergyConfig,
    calibrated_energy_config,
    digital_deq_energy,
    hybrid_deq_energy,
)
from hadeq.energy.config import HARDWARE_FIELDS, with_overrides
from hadeq.energy.solver_costs import DIGITAL_SOLVER, SOLVERS
from hadeq.errors import ConfigError
from hadeq.io import check_output_dir, dumps_json, write_text_atomic
from hadeq.validation import check_choice, check_int, check_range

DESCRIPTION = """\
Estimate the energy (J) and latency (ns) of one inference of a hybrid analog-digital DEQ
(digital injection -> DACs -> analog core settling -> one ADC read of z* -> digital head)
and of the same DEQ run fully digitally (Anderson iterations on a digital accelerator).

The model is n neurons, --in-features inputs and --out-features outputs. Give measured
per-sample numbers with --iterations (digital solver iterations) and --settling-time-ns
(analog settling time); whatever is not given is measured on a random contractive core
(||W||_2 = --norm, seeded by --seed): Anderson iterations to relative residual 1e-3 and
Euler-simulated settling to |z - z*| <= 1e-3.

Every component constant is an EnergyConfig field; the circuit (g_max_us, tile_rows,
tile_cols and the loop time constant tau_ns) is the --hardware preset's, or a checkpoint's
own hardware. The defaults are the calibrated configuration of the benchmark headline
(hadeq.energy.calibrated_energy_config: digital side at 14 nm, analog column periphery
fitted to IBM HERMES). Override any of these with --set KEY=VALUE (repeatable), e.g.
--set adc_energy_ref_j=5e-12 --set tau_ns=20 --set node_nm=7. The amplifier bias power
is a first-order design estimate, P = V_DD * 2*pi*GBW*C_L / (gm/ID) with
GBW = amp_gbw_tau_product / tau_ns -- not a measurement; sweep it.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "energy",
        help="energy/latency breakdown of a hybrid DEQ vs a digital DEQ",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--neurons", type=int, default=32, help="core width n (default 32)")
    p.add_argument("--in-features", type=int, default=64, help="input features (default 64)")
    p.add_argument("--out-features", type=int, default=10, help="output features (default 10)")
    p.add_argument("--iterations", default=None, metavar="K[,K...]",
                   help="measured per-sample digital solver iterations (comma-separated)")
    p.add_argument("--settling-time-ns", default=None, metavar="T[,T...]",
                   help="measured per-sample analog settling times in ns (comma-separated)")
    p.add_argument("--solver", default=DIGITAL_SOLVER, choices=SOLVERS,
                   help="digital solver whose per-iteration overhead is charged "
                        f"(default {DIGITAL_SOLVER})")
    p.add_argument("--history", type=int, default=C.TORCHDEQ_ANDERSON_HISTORY,
                   help="Anderson history m / Broyden memory (default "
                        f"{C.TORCHDEQ_ANDERSON_HISTORY}, torchdeq's)")
    p.add_argument("--samples", type=int, default=8,
                   help="samples for measuring on a random core (default 8)")
    p.add_argument("--norm", type=float, default=0.7,
                   help="||W||_2 of the random core, in (0, 1) (default 0.7)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random core (default 0)")
    p.add_argument("--checkpoint", default=None, metavar="DIR",
                   help="a trained DEQ (a `hadeq train` output directory): its layer sizes, "
                        "its Anderson iterations and its simulated settling time on its own "
                        "hardware are measured on the task's test inputs")
    p.add_argument("--hardware", default="ideal", metavar="PRESET",
                   help="hardware preset whose circuit is priced: "
                        + ", ".join(HardwareConfig.PRESET_NAMES) + " (default ideal; a "
                        "--checkpoint brings its own)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override an EnergyConfig field or a hardware field ("
                        + ", ".join(HARDWARE_FIELDS) + "); repeatable")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--out", default=None, metavar="FILE", help="also write the JSON to FILE")
    p.set_defaults(handler=run)


def _parse_list(field: str, text: str | None, kind: type) -> list[Any] | None:
    if text is None:
        return None
    try:
        values = [kind(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(field, text, f"comma-separated {kind.__name__} values") from None
    if not values:
        raise ConfigError(field, text, "at least one value")
    return values


def run(args: argparse.Namespace) -> int:
    check_choice("--hardware", args.hardware, HardwareConfig.PRESET_NAMES)
    config, hardware = with_overrides(args.overrides, calibrated_energy_config(),
                                      HardwareConfig.preset(args.hardware))
    if args.out:
        check_output_dir("--out", os.path.dirname(os.path.abspath(args.out)))
        if os.path.isdir(args.out):
            raise ConfigError("--out", args.out, "a file path (it is a directory)")
    check_int("--neurons", args.neurons, 1, 4096)
    check_int("--in-features", args.in_features, 1, 1 << 24)
    check_int("--out-features", args.out_features, 1, 1 << 24)
    check_int("--history", args.history, 0, 1024)
    check_int("--samples", args.samples, 1, 10_000)
    check_range("--norm", args.norm, 0.0, 1.0, low_open=True, high_open=True)
    iterations = _parse_list("--iterations", args.iterations, int)
    settling = _parse_list("--settling-time-ns", args.settling_time_ns, float)
    measured: dict[str, Any] = {}
    workload = DEQWorkload.dense(args.neurons, args.in_features, args.out_features)
    model_info = {"neurons": args.neurons, "in_features": args.in_features,
                  "out_features": args.out_features}
    if args.checkpoint is not None:
        workload, hardware, measured = _measure_checkpoint(args.checkpoint, args.overrides,
                                                           args.samples)
        iterations = iterations or measured["iterations_mean"]
        settling = settling or measured["settling_time_ns"]
        model_info = {"checkpoint": args.checkpoint, "neurons": workload.neurons}
    if iterations is None or settling is None:
        from hadeq.energy.measure import measure_random_core

        m = measure_random_core(args.neurons, samples=args.samples, seed=args.seed,
                                norm=args.norm, hardware=hardware, history=args.history)
        measured = {"source": "random contractive core", "norm": args.norm, "seed": args.seed}
        if iterations is None:
            iterations = m.iterations
            measured["iterations"] = iterations
        if settling is None:
            settling = m.settling_time_ns
            measured["settling_time_ns"] = settling
    digital = digital_deq_energy(workload, iterations, config, solver=args.solver,
                                 history=args.history)
    hybrid = hybrid_deq_energy(workload, settling, config, hardware=hardware)
    result = {
        "schema": "hadeq.energy/1",
        "model": {**model_info, "solver": args.solver, "history": args.history},
        "measured": measured,
        "digital_deq": digital.to_dict(),
        "hybrid_deq": hybrid.to_dict(),
        "energy_ratio_digital_over_hybrid": digital.total_j / hybrid.total_j,
        "latency_ratio_digital_over_hybrid": digital.latency_ns / hybrid.latency_ns,
        "config": config.to_dict(),
        "hardware": hardware.to_dict(),
    }
    text = dumps_json(result)
    if args.out:
        write_text_atomic(args.out, text)
    if args.json:
        print(text, end="")
    else:
        print(_table(result))
    return 0


SETTLE_TOL = C.TORCHDEQ_F_TOL
"""Relative residual to which iterations and settling are measured (torchdeq's f_tol, as
in the bench)."""

SETTLE_DT_NS = SuiteConfig.settle_dt_ns
"""Integration step of the settling measurement, the bench's."""


def _measure_checkpoint(directory: str, overrides: list[str], samples: int
                        ) -> tuple[DEQWorkload, HardwareConfig, dict[str, Any]]:
    """Workload, hardware (the model's, with the ``--set`` hardware overrides), digital
    iterations and analog settling of a trained DEQ checkpoint."""
    from hadeq.bench.measure import Settling, analog_settling, digital_iterations
    from hadeq.models import AnalogCoreDEQ
    from hadeq.training import load_trained

    model, train_config, _ = load_trained(directory)
    if not isinstance(model, AnalogCoreDEQ):
        raise ConfigError("--checkpoint", directory, "a DEQ model (hybrid_deq or "
                          "conv_hybrid_deq); baselines report their energy in `hadeq bench`")
    data = train_config.task_spec.load(seed=train_config.seed, **train_config.task_options)
    x = data.x_test[:samples]
    digital = digital_iterations(model, x, SETTLE_TOL)
    _, hardware = with_overrides(overrides, EnergyConfig(), model.hardware)
    assert hardware is not None
    settle = analog_settling(model, x, Settling(hardware, SETTLE_TOL, SETTLE_DT_NS),
                             train_config.eval_seed)
    measured = {"source": directory, "samples": int(x.shape[0]), "tol": SETTLE_TOL,
                "iterations_mean": digital["iterations_mean"],
                "settling_time_ns": settle["settling_time_ns"],
                "settled_fraction": settle["converged_fraction"]}
    return model.workload(x), hardware, measured


def _table(result: dict[str, Any]) -> str:
    d, h = result["digital_deq"], result["hybrid_deq"]
    lines = [f"{'bucket':<16}{'digital DEQ [J]':>18}{'hybrid DEQ [J]':>18}"]
    for name in (*BUCKETS, "total"):
        lines.append(f"{name:<16}{d['energy_j'][name]:>18.4e}{h['energy_j'][name]:>18.4e}")
    lines.append(f"{'latency [ns]':<16}{d['latency_ns']:>18.1f}{h['latency_ns']:>18.1f}")
    lines.append(
        f"energy ratio digital/hybrid = {result['energy_ratio_digital_over_hybrid']:.2f}, "
        f"latency ratio = {result['latency_ratio_digital_over_hybrid']:.2f}"
    )
    return "\n".join(lines)
