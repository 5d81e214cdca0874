"""``hadeq spice``: export a random contractive analog DEQ core to ngspice, run it, and
compare equilibrium, settling time and crossbar energy with the software references."""

from __future__ import annotations

import argparse
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
||W||_2 = --norm; u, b random, seeded by --seed), export it to an ngspice netlist
(differential conductance pairs G+/G-, columns at virtual ground sensed by transimpedance
amplifiers, tanh neurons, RC time constant tau, DC DAC sources for u and b, optional wire
resistance per segment), run ngspice in batch mode, and compare with software:

  z_rel_err_fixed_point      SPICE z* vs the fixed point of z = tanh(Wz + u + b)
  z_rel_err_ir_model         (with --r-wire-ohm) vs the first-order IR-drop model
  settling_rel_err           SPICE settling time vs a forward-Euler run of the same ODE
  energy_rel_err_transient   SPICE crossbar energy vs the analytic integral of V^2*G dt

Writes DIR/spice.json (and DIR/core.cir with --keep-netlist), atomically. Needs the
Debian package ngspice.
"""

_HARDWARE, _ENERGY = HardwareConfig(), EnergyConfig()


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "spice",
        help="run an analog DEQ core in ngspice and compare with software",
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
                   help=f"full-scale row voltage, V (default {_ENERGY.v_read_v:g})")
    p.add_argument("--r-wire-ohm", type=float, default=_HARDWARE.wire_resistance_ohm,
                   help="wire resistance per crossbar segment, ohm (default 0: no IR drop)")
    p.add_argument("--tol", type=float, default=1e-3, help="settling tolerance on z (1e-3)")
    p.add_argument("--keep-netlist", action="store_true", help="also write DIR/core.cir")
    p.add_argument("--json", action="store_true", help="print the JSON to stdout")
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
    W, u, b = random_contractive_core(args.neurons, norm=args.norm, seed=args.seed)
    result = compare_core(W, u, b, hardware=hardware, energy_config=energy, tol=args.tol,
                          keep_netlist=args.keep_netlist)
    netlist = result.pop("netlist", None)
    result = {"schema": "hadeq.spice/1", "seed": args.seed, "norm": args.norm, **result}
    text = dumps_json(result)
    # Everything is computed before anything is written; each file is replaced atomically.
    if netlist is not None:
        write_text_atomic(os.path.join(args.out, "core.cir"), netlist)
    write_text_atomic(os.path.join(args.out, "spice.json"), text)
    if args.json:
        print(text, end="")
    else:
        keys = ("neurons", "z_rel_err_fixed_point", "z_rel_err_ir_model",
                "settling_time_ns_spice", "settling_time_ns_euler", "settling_rel_err",
                "crossbar_energy_j_spice", "crossbar_energy_j_model",
                "energy_rel_err_transient", "amplifier_energy_j")
        for key in keys:
            if key in result:
                print(f"{key:<28}{result[key]}")
        print(f"wrote {os.path.join(args.out, 'spice.json')}")
    return 0
