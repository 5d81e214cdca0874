"""``hadeq energy``: per-inference energy and latency of a hybrid DEQ vs a digital DEQ."""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Any

from hadeq import constants as C
from hadeq.analog.config import HardwareConfig
from hadeq.analog.loop import adc_half_lsb
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
the simulated loop's settling (hadeq.analog.loop) to |z - z*| <= 1e-3. A --checkpoint is
measured as the bench measures it: its loop calibrated on training inputs and charged for
its sampling instant t_s, the digital side to the same output precision (half an ADC
LSB), the crossbar at the model's measured conductance and activity (--set
g_mean_fraction=... or input_activity=... replaces the measurement).

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
                   help="measured per-sample digital solver iterations, or their mean "
                        "(comma-separated)")
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
    iterations = _parse_list("--iterations", args.iterations, float)
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
    measured_on = "checkpoint" if args.checkpoint is not None else "random core"
    sources = {"iterations": "given" if args.iterations is not None else measured_on,
               "settling": "given" if args.settling_time_ns is not None else measured_on}
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
        "inputs": _inputs(workload, hardware, None if args.checkpoint else args.hardware,
                          digital.to_dict(), hybrid.to_dict(), sources),
        "vs_bench": _vs_bench(sources, measured, args.solver, args.history,
                              config.digital_precision),
    }
    text = dumps_json(result)
    if args.out:
        write_text_atomic(args.out, text)
    if args.json:
        print(text, end="")
    else:
        print(_table(result))
    return 0


def _inputs(workload: DEQWorkload, hardware: HardwareConfig, preset: str | None,
            digital: dict[str, Any], hybrid: dict[str, Any],
            sources: dict[str, str]) -> dict[str, Any]:
    """What the two energy reports were computed from: the per-sample measurements (and
    where each came from: ``given``, ``random core`` or ``checkpoint``), the workload's
    sizes and the hardware fields the energy model reads."""
    d, h = digital["counts"], hybrid["counts"]
    return {
        "sources": dict(sources),
        "iterations_mean": d["iterations_mean"],
        "iterations_max": d["iterations_max"],
        "settling_time_ns_mean": h["settling_time_ns_mean"],
        "settling_time_ns_max": h["settling_time_ns_max"],
        "samples": {"iterations": int(d["samples"]), "settling": int(h["samples"])},
        "workload": {
            "neurons": workload.neurons,
            "core_macs": workload.n_core_macs,
            "core_weights": (workload.neurons**2 if workload.core_weights is None
                             else workload.core_weights),
            "injection_macs": sum(layer.n_macs for layer in workload.injection),
            "head_macs": sum(layer.n_macs for layer in workload.head),
            "injection": [[layer.in_features, layer.out_features]
                          for layer in workload.injection],
            "head": [[layer.in_features, layer.out_features] for layer in workload.head],
        },
        "hardware_fields": {name: getattr(hardware, name) for name in HARDWARE_FIELDS},
        "hardware_preset": preset,
    }


BENCH_INPUTS = (
    "`hadeq bench` prices each task with the same energy functions but other inputs: the "
    "digital DEQ as its cheapest solver x precision design (picard, anderson, broyden at "
    "fp32, fp16, int8) whose quality stays within 0.5 % of fp32 Anderson's, with that "
    "design's iterations on its own float-trained weights, and the physics-aware hybrid "
    "with its settling (relative residual 1e-3) on the headline chip; each over 256 test "
    "inputs, with each trained model's layer sizes, averaged over seeds.")
"""What the bench's energy ratio is computed from (see :mod:`hadeq.bench.assemble`)."""


def _vs_bench(sources: dict[str, str], measured: dict[str, Any], solver: str,
              history: int, precision: str) -> str:
    """Why this command's ratio differs from the one ``hadeq bench`` reports for a model
    of the same kind: the same energy functions, other inputs."""
    names = {"iterations": "iterations", "settling": "settling times"}
    parts = [BENCH_INPUTS]
    for origin in ("random core", "checkpoint"):
        what = " and ".join(names[k] for k, v in sources.items() if v == origin)
        if not what:
            continue
        if origin == "random core":
            parts.append(
                f"The {what} here come from a random contractive core (||W||_2 = "
                f"{measured['norm']}, seed {measured['seed']}; settling to |z - z*| <= 1e-3) "
                f"on random inputs, with this command's dense layer sizes, not from a "
                "trained model, so its ratio differs from the bench's.")
        else:
            parts.append(
                f"The {what} here come from this one checkpoint (iterations on its "
                f"weights made ideal, settling on its own chip without read noise) over its "
                f"first {measured['samples']} test inputs (--samples); the bench takes the "
                "digital DEQ's iterations from another, float-trained model, over more "
                "inputs and seeds, so its ratio for the same task differs.")
    given = " and ".join(names[k] for k, v in sources.items() if v == "given")
    if given:
        parts.append(f"The {given} here are the ones given on the command line.")
    parts.append("To price a bench cell's measured iterations and settling time, pass them "
                 "with --iterations and --settling-time-ns (and --checkpoint for its layer "
                 "sizes).")
    parts.append(f"This command prices the digital DEQ as {solver} (history {history}) at "
                 f"{precision}; choose with --solver, --history and --set "
                 "digital_precision=...")
    return " ".join(parts)


def settle_tol(hardware: HardwareConfig) -> float:
    """The output precision to which iterations and settling are measured, as in the
    bench: half an LSB of ``hardware``'s ADC."""
    return adc_half_lsb(hardware.output_bits)

SETTLE_DT_NS = SuiteConfig.settle_dt_ns
"""Integration step of the settling measurement, the bench's."""


def _measure_checkpoint(directory: str, overrides: list[str], samples: int
                        ) -> tuple[DEQWorkload, HardwareConfig, dict[str, Any]]:
    """Workload, hardware (the model's, with the ``--set`` hardware overrides), digital
    iterations and analog settling of a trained DEQ checkpoint."""
    from hadeq.bench.cells import CALIBRATION_SAMPLES
    from hadeq.bench.measure import Settling, analog_settling, digital_iterations
    from hadeq.models import AnalogCoreDEQ
    from hadeq.training import load_trained

    model, train_config, _ = load_trained(directory)
    if not isinstance(model, AnalogCoreDEQ):
        raise ConfigError("--checkpoint", directory, "a DEQ model (hybrid_deq or "
                          "conv_hybrid_deq); baselines report their energy in `hadeq bench`")
    data = train_config.task_spec.load(seed=train_config.seed, **train_config.task_options)
    x = data.x_test[:samples]
    _, hardware = with_overrides(overrides, EnergyConfig(), model.hardware)
    assert hardware is not None
    tol = settle_tol(hardware)
    digital = digital_iterations(model, x, tol)
    settle = analog_settling(model, x, Settling(hardware, tol, SETTLE_DT_NS),
                             train_config.eval_seed, data.x_train[-CALIBRATION_SAMPLES:])
    # The loop is charged for its sampling instant t_s, which every input waits for.
    measured = {"source": directory, "samples": int(x.shape[0]), "tol": tol,
                "iterations_mean": digital["iterations_mean"],
                "settling_time_ns": settle["sample_time_ns"],
                "settling_time_ns_mean": settle["settling_time_ns"],
                "settled_fraction": settle["settled_fraction"]}
    workload = model.workload(x)
    # The crossbar is priced at the model's measured conductance and activity; an
    # explicit --set of the assumption replaces the measurement.
    keys = {pair.split("=", 1)[0].strip() for pair in overrides}
    if "g_mean_fraction" in keys:
        workload = dataclasses.replace(workload, core_g_fraction=None)
    if "input_activity" in keys:
        workload = dataclasses.replace(workload, core_activity=None)
    return workload, hardware, measured


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
    inp, model = result["inputs"], result["model"]
    w = inp["workload"]
    src = inp["sources"]
    hw = ", ".join(f"{k}={v:g}" for k, v in inp["hardware_fields"].items())
    preset = f" (preset {inp['hardware_preset']})" if inp["hardware_preset"] else ""
    layers = ", ".join(f"{a}->{b}" for a, b in w["injection"])
    head = ", ".join(f"{a}->{b}" for a, b in w["head"])
    lines += [
        "",
        "inputs:",
        f"  digital iterations  mean {inp['iterations_mean']:.2f}, max "
        f"{inp['iterations_max']:g} over {inp['samples']['iterations']} sample(s) "
        f"({src['iterations']}); priced as {model['solver']}, history {model['history']}",
        f"  analog settling     mean {inp['settling_time_ns_mean']:.1f} ns, max "
        f"{inp['settling_time_ns_max']:.1f} ns over {inp['samples']['settling']} sample(s) "
        f"({src['settling']})",
        f"  core                {w['neurons']} neurons, {w['core_macs']} MACs per "
        f"iteration, {w['core_weights']} weights",
        f"  digital layers      injection {layers} ({w['injection_macs']} MACs), head "
        f"{head} ({w['head_macs']} MACs)",
        f"  hardware            {hw}{preset}",
        "",
        _wrap(result["vs_bench"]),
    ]
    return "\n".join(lines)


def _wrap(text: str) -> str:
    import textwrap

    return textwrap.fill(text, width=92)
