"""Run an analog DEQ core as a circuit in ngspice and compare it with the software model.

    python examples/04_spice_your_core.py [--quick] [--neurons N] [--r-wire-ohm R]

``compare_core(W, u, b, hardware=...)`` writes the core — a crossbar of conductances up
to ``hardware.g_max_us`` on differential rows, optionally the word-line wire resistance,
and per neuron two behavioural op-amps of the energy model's bandwidth and bias power (a
transimpedance amplifier and a tanh row driver) around an R·C — as a netlist, runs a
transient from a = 0 in ngspice, and compares its equilibrium, trajectory, settling time
and energy with hadeq's fixed point, its loop integrator of
τ·da/dt = −a + W·tanh(a) + u + b, and its energy model. Use a trained core's ``W``
(``model.core.effective_weight()``), its injection ``u`` for one sample and its bias
``b``; here a random contraction stands in.
Needs the ``ngspice`` program (Debian package ``ngspice``).
"""

import argparse
import math

from hadeq.analog import HardwareConfig
from hadeq.energy import random_contractive_core
from hadeq.energy.spice import compare_core

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a 4-neuron core (for tests)")
parser.add_argument("--neurons", type=int, default=16)
parser.add_argument("--r-wire-ohm", type=float, default=0.0,
                    help="word-line resistance between cells (IR drop), Ω")
args = parser.parse_args()
n = 4 if args.quick else args.neurons

W, u, b = random_contractive_core(n, norm=0.7, seed=0)     # ‖W‖₂ = 0.7, float64
hardware = HardwareConfig(tau_ns=10.0, wire_resistance_ohm=args.r_wire_ohm)
r = compare_core(W, u, b, hardware=hardware, tol=1e-3)

print(f"ngspice: {r['neurons']} neurons, τ = {r['tau_ns']:g} ns, g_max = {r['g_max_us']:g} µS, "
      f"{r['spice_points']} time points in {r['spice_runtime_s']:.2f} s")
print(f"z*: spice {[round(v, 4) for v in r['z_star_spice']]}")
print(f"    software {[round(v, 4) for v in r['z_star_software']]}")
print(f"trajectory: max |z_spice(t) − z_hadeq(t)| = {r['trajectory_max_abs_err']:.4f}")
print(f"settling to 1e-3: spice {r['settling_time_ns_spice']:.1f} ns, "
      f"hadeq {r['settling_time_ns_hadeq']:.1f} ns")
print(f"crossbar energy over the run: spice {r['crossbar_energy_j_spice']:.3e} J, "
      f"V²·G model {r['crossbar_energy_j_model']:.3e} J")
spice, model = r["energy_settle_j"]["spice"], r["energy_settle_j"]["model"]
print(f"core energy until settled: spice {spice['total']:.3e} J (crossbar "
      f"{spice['crossbar']:.3e}, amplifiers {spice['amplifiers']:.3e}), "
      f"model {model['total']:.3e} J")

# The tolerances the test suite holds the comparison to.
if "z_rel_err_ir_model" in r:   # with wires, z* must match the first-order IR-drop model
    eq = ("z* vs IR-drop model", r["z_rel_err_ir_model"], r["ir_model_error_bound"])
else:
    eq = ("z* vs fixed point", r["z_rel_err_fixed_point"], 0.01)
checks = [eq, ("trajectory (abs)", r["trajectory_max_abs_err"], 0.02),
          ("settling time", r["settling_rel_err"], 0.05),
          ("crossbar energy", r["energy_rel_err_transient"], 0.10),
          ("power at z*", r["energy_rel_err_hold"], 0.10),
          ("core energy", r["core_energy_rel_err"], 0.10)]
for name, err, tol in checks:
    ok = math.isfinite(err) and err <= tol
    print(f"  {name:<20} error {err:.2e} (≤ {tol:g}): {'pass' if ok else 'FAIL'}")
passed = all(math.isfinite(err) and err <= tol for _, err, tol in checks)
print(f"verdict: {'pass' if passed else 'fail'}")
raise SystemExit(0 if passed else 1)
