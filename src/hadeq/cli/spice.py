"""``hadeq spice``: export a random contractive analog DEQ core — crossbar and behavioural
amplifiers — to ngspice, run it, and compare equilibrium, trajectory, settling time and
the core's energy with hadeq's own loop and energy model."""

from __future__ import annotations

import argparse
import math
import os
from typing import Any

from hadeq.analog.config import HardwareConfig
from hadeq.energy.config import EnergyConfig
from hadeq.energy.reference import random_contractive_core
from hadeq.energy.spice import compare_core
from hadeq.io import check_output_dir, dumps_json, write_text_atomic
from hadeq.validation import check_int, check_range

DESCRIPTION = """\
Build an analog DEQ core tau*da/dt = -a + W*tanh(a) + u + b (W: n x n random, rescaled to
||W||_2 = --norm; u, b random, seeded by --seed), export it to an ngspice netlist and run
it in batch mode. The circuit: a crossbar of one conductance per weight on differential
rows (+/-V_read*z), optional wire resistance per segment; per neuron two behavioural
op-amps of the energy model's amplifier (GBW = amp_gbw_tau_product/tau, DC gain 60 dB,
output limited to the rails +/-V_DD/2, quiescent current P_amp/V_DD from a V_DD supply):
a transimpedance amplifier summing the column and a current DAC for u + b, and a
saturating tanh driver with differential outputs; an RC of time constant tau less the
amplifiers' lag. Compared with hadeq:

  z_rel_err_fixed_point      SPICE z* vs the fixed point of z = tanh(Wz + u + b)
  z_rel_err_ir_model         (with --r-wire-ohm) vs the first-order IR-drop model
  trajectory_max_abs_err     max |z_spice(t) - z_hadeq(t)| over neurons and hadeq's
                             steps (hadeq.analog.loop, one step per tau)
  settling_rel_err           SPICE settling time vs hadeq's (same tolerance, definition)
  energy_rel_err_transient   SPICE crossbar energy vs the integral of V^2*G dt along
                             hadeq's trajectory
  core_energy_rel_err        the whole core's energy in SPICE (every source: row
                             drivers, amplifier supply and outputs, DACs) until settled
                             vs hadeq's energy model for its settling time, the model's
                             crossbar assumptions (mean conductance, activity) taken
                             from this core; core_energy_rel_err_default is the same
                             with the model's default assumptions (reported, not checked)

Each comparison is checked against a stated tolerance and the table ends with a verdict:

  equilibrium   z_rel_err_fixed_point <= 1 %  (with --r-wire-ohm: z_rel_err_ir_model
                within the first-order IR-drop model's error bound, ir_model_error_bound)
  trajectory    trajectory_max_abs_err <= 0.02 (full scale 1)
  settling      settling_rel_err <= 5 %
  energy        energy_rel_err_transient <= 10 %
  power         energy_rel_err_hold <= 10 %
  core energy   core_energy_rel_err <= 10 %

(the tolerances the test suite holds the SPICE comparison to). The table also gives the
SPICE wall time and the energy until settled split into crossbar and amplifiers (SPICE
and model). The exit status is 0 whatever the verdict; with --check it is 1 when a check
fails (2 stays bad input). Writes DIR/spice.json (the raw numbers plus "checks" and
"verdict"; and DIR/core.cir with --keep-netlist), atomically. Needs the Debian package
ngspice.
"""

EQUILIBRIUM_TOL = 0.01
"""Largest relative L2 error of SPICE's z* against the software fixed point."""

TRAJECTORY_TOL = 0.02
"""Largest |z_spice(t) − z_hadeq(t)| over neurons and hadeq's step times (full scale 1)."""

SETTLING_TOL = 0.05
"""Largest relative error of SPICE's settling time against hadeq's loop (the amplifiers'
finite bandwidth is the main difference; see :mod:`hadeq.energy.spice.netlist`)."""

ENERGY_TOL = 0.1
"""Largest relative error of SPICE's crossbar energy (over the run, and its power at the
end) against the analytic V²·G model, and of the whole core's energy until settled
against hadeq's energy model."""

_HARDWARE, _ENERGY = HardwareConfig(), EnergyConfig()


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "spice",
        help="run an analog DEQ core (crossbar and amplifiers) in ngspice and compare "
             "with hadeq",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="results/spice", metavar="DIR",
                   help="output folder (default results/spice)")
    p.add_argument("--neurons", type=int, default=16, help="core width n, 1-256 (default 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of W, u, b (default 0)")
    p.add_argument("--norm", type=float, default=0.7, help="||W||_2 in (0, 1) (default 0.7)")
    p.add_argument("--tau-ns", type=float, default=_HARDWARE.tau_ns,
                   help=f"neuron time constant, ns (default {_HARDWARE.tau_ns:g})")
    p.add_argument("--g-max-us", type=float, default=_HARDWARE.g_max_us,
                   help=f"conductance of max|W|, uS (default {_HARDWARE.g_max_us:g})")
    p.add_argument("--v-read-v", type=float, default=_ENERGY.v_read_v,
                   help=f"full-scale row voltage, V, below the amplifiers' rail "
                        f"{_ENERGY.amp_vdd_v / 2:g} V (default {_ENERGY.v_read_v:g})")
    p.add_argument("--r-wire-ohm", type=float, default=_HARDWARE.wire_resistance_ohm,
                   help="wire resistance per crossbar segment, ohm (default 0: no IR drop)")
    p.add_argument("--tol", type=float, default=1e-3, help="settling tolerance on z (1e-3)")
    p.add_argument("--keep-netlist", action="store_true", help="also write DIR/core.cir")
    p.add_argument("--json", action="store_true", help="print the JSON to stdout")
    p.add_argument("--check", action="store_true",
                   help="exit with status 1 when a comparison is outside its tolerance "
                        "(default: the verdict is printed and the status is 0)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    check_int("--neurons", args.neurons, 1, 256)
    check_range("--norm", args.norm, 0.0, 1.0, low_open=True, high_open=True)
    check_range("--tol", args.tol, 0.0, 0.5, low_open=True)
    check_range("--tau-ns", args.tau_ns, 0.0, 1e9, low_open=True)
    check_output_dir("--out", args.out)
    hardware = HardwareConfig(tau_ns=args.tau_ns, g_max_us=args.g_max_us,
                              wire_resistance_ohm=args.r_wire_ohm)
    energy = EnergyConfig(v_read_v=args.v_read_v)
    # The rows swing ±V_read, inside the amplifiers' rails ±V_DD/2.
    check_range("--v-read-v", args.v_read_v, 0.0, energy.amp_vdd_v / 2, low_open=True,
                high_open=True)
    W, u, b = random_contractive_core(args.neurons, norm=args.norm, seed=args.seed)
    result = compare_core(W, u, b, hardware=hardware, energy_config=energy, tol=args.tol,
                          keep_netlist=args.keep_netlist)
    netlist = result.pop("netlist", None)
    checks = spice_checks(result)
    passed = all(c["pass"] for c in checks)
    result = {"schema": "hadeq.spice/1", "seed": args.seed, "norm": args.norm, **result,
              "checks": checks, "verdict": "pass" if passed else "fail"}
    text = dumps_json(result)
    # Everything is computed before anything is written; each file is replaced atomically.
    if netlist is not None:
        write_text_atomic(os.path.join(args.out, "core.cir"), netlist)
    write_text_atomic(os.path.join(args.out, "spice.json"), text)
    if args.json:
        print(text, end="")
    else:
        print(_table(result))
        print(f"wrote {os.path.join(args.out, 'spice.json')}")
    return 1 if args.check and not passed else 0


def _check(name: str, what: str, value: float, tolerance: float) -> dict[str, Any]:
    ok = math.isfinite(value) and value <= tolerance
    return {"name": name, "what": what, "value": value, "tolerance": tolerance, "pass": ok}


def spice_checks(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The comparisons of :func:`hadeq.energy.spice.compare_core`'s ``result`` against their
    tolerances (a value passes when it is finite and at most its tolerance)."""
    if "z_rel_err_ir_model" in result:
        # With wire resistance, SPICE's z* moves away from the ideal fixed point by the IR
        # drop itself; the first-order IR model is what it must match, within its bound.
        equilibrium = _check("equilibrium", "z* vs fixed point of the IR-drop model",
                             result["z_rel_err_ir_model"], result["ir_model_error_bound"])
    else:
        equilibrium = _check("equilibrium", "z* vs software fixed point",
                             result["z_rel_err_fixed_point"], EQUILIBRIUM_TOL)
    return [
        equilibrium,
        _check("trajectory", "z(t) vs hadeq's loop, max abs", result["trajectory_max_abs_err"],
               TRAJECTORY_TOL),
        _check("settling", "settling time vs hadeq's loop", result["settling_rel_err"],
               SETTLING_TOL),
        _check("energy", "crossbar energy over the run vs V²G integral",
               result["energy_rel_err_transient"], ENERGY_TOL),
        _check("power", "crossbar power at z* vs static V²G", result["energy_rel_err_hold"],
               ENERGY_TOL),
        _check("core_energy", "core energy until settled vs energy model",
               result["core_energy_rel_err"], ENERGY_TOL),
    ]


def _percent(value: float) -> str:
    return f"{100 * value:.2g} %" if math.isfinite(value) else str(value)


def _value(check: dict[str, Any]) -> str:
    """A check's error: the trajectory's is absolute (full scale 1), the others relative."""
    if check["name"] == "trajectory":
        return f"{check['value']:.2g}" if math.isfinite(check["value"]) else str(check["value"])
    return _percent(check["value"])


def _table(result: dict[str, Any]) -> str:
    checks = result["checks"]
    amp = result["amplifier"]
    lines = [f"ngspice transient of a {result['neurons']}-neuron core (seed {result['seed']}, "
             f"||W||_2 = {result['w_norm2']:.2f}, tau = {result['tau_ns']:g} ns, wire "
             f"{result['r_wire_ohm']:g} ohm/segment): SPICE wall time "
             f"{result['spice_runtime_s']:.2f} s, {result['spice_points']} time points",
             f"  {amp['count']} amplifiers: GBW {amp['gbw_hz'] / 1e9:.3g} GHz, DC gain "
             f"{amp['dc_gain']:.3g}, rails +/-{amp['rail_v']:g} V, "
             f"{amp['power_w'] * 1e6:.3g} uW each"]
    width = max(len(c["what"]) for c in checks)
    lines.append(f"  {'check':<{width}}  {'error':>10}  {'tolerance':>11}  verdict")
    for c in checks:
        tolerance = (f"{c['tolerance']:g}" if c["name"] == "trajectory"
                     else _percent(c["tolerance"]))
        lines.append(f"  {c['what']:<{width}}  {_value(c):>10}  "
                     f"{'<= ' + tolerance:>11}  {'pass' if c['pass'] else 'FAIL'}")
    ok = sum(c["pass"] for c in checks)
    verdict = "PASS" if result["verdict"] == "pass" else "FAIL"
    lines.append(f"verdict: {verdict} ({ok} of {len(checks)} checks within tolerance)")
    lines.append(f"  settling time: SPICE {result['settling_time_ns_spice']:.2f} ns, hadeq "
                 f"{result['settling_time_ns_hadeq']:.2f} ns (to |dz| <= {result['tol']:g})")
    split = result["energy_settle_j"]
    spice, model, default = split["spice"], split["model"], split["model_default"]
    lines.append(f"  core energy until settled: SPICE {spice['total']:.4e} J = crossbar "
                 f"{spice['crossbar']:.4e} + amplifiers {spice['amplifiers']:.4e} + DACs "
                 f"{spice['dac']:.2e}")
    lines.append(f"                             model {model['total']:.4e} J = crossbar "
                 f"{model['crossbar']:.4e} + amplifiers {model['amplifiers']:.4e} "
                 f"(mean g {model['g_mean_fraction']:.3f} g_max, activity "
                 f"{model['input_activity']:.3f})")
    lines.append(f"    with the model's default crossbar assumptions: {default['total']:.4e} J "
                 f"(crossbar {default['crossbar']:.4e}), error "
                 f"{_percent(result['core_energy_rel_err_default'])}")
    if "z_rel_err_ir_model" in result:
        lines.append(f"  z* vs the ideal fixed point (the IR drop's own effect): "
                     f"{_percent(result['z_rel_err_fixed_point'])}")
    return "\n".join(lines)
