"""Energy and latency per inference of your DEQ: digital accelerator vs the hybrid chip.

    python examples/03_energy_of_your_model.py [--quick]

hadeq prices an inference from what the model *does*, measured, not assumed:

1. ``model.workload(x)`` — the MACs of the digital stem, the analog core and the head;
2. the digital DEQ's Anderson iterations per sample, on ideal float weights, to the
   relative residual 1e-3 (torchdeq's default ``f_tol``);
3. the analog loop's settling time per sample, simulated by the ``analog_relaxation``
   solver (τ·da/dt = −a + W·σ(a) + u, τ = ``hardware.tau_ns``) on the programmed chip,
   to the same relative residual;

then ``digital_deq_energy`` and ``hybrid_deq_energy`` turn them into joules per bucket
with the constants of ``EnergyConfig`` (each sourced in ``hadeq.constants``). This is
what ``hadeq energy --checkpoint RUN_DIR`` and the bench do; here on a fresh model (train
it first, e.g. with example 05, for numbers that mean something).
"""

import argparse

import torch

from hadeq import constants as C
from hadeq.analog import HardwareConfig
from hadeq.energy import BUCKETS, EnergyConfig, digital_deq_energy, hybrid_deq_energy
from hadeq.models import HybridDEQ, HybridDEQConfig
from hadeq.tasks import get_task

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="fewer samples (for tests)")
args = parser.parse_args()
samples = 16 if args.quick else 256
torch.manual_seed(0)

hardware = HardwareConfig.preset("hermes_pcm_8bit", weight_bits=8, read_noise=0.05)
model = HybridDEQ(HybridDEQConfig(in_features=64, out_features=10, hidden=64,
                                  hardware=hardware)).eval()
x = get_task("digits").load(seed=0).x_test[:samples]
tol = C.TORCHDEQ_F_TOL

# 1. what one inference computes
workload = model.workload(x)
print(f"workload: {workload.neurons} neurons, core {workload.n_core_macs} MACs per loop "
      f"evaluation, stem + head {sum(s.n_macs for s in (*workload.injection, *workload.head))}"
      " MACs")

# 2. digital DEQ: the same weights on ideal hardware, Anderson to relative residual tol
digital = model.clone()
digital.set_hardware("ideal")
digital.set_eval_solver("anderson", {"tol": tol, "stop_mode": "rel", "max_iter": 200})
with torch.no_grad():
    iterations = digital.eval().forward_with_info(x).stats.iterations

# 3. analog loop: the programmed chip settling (no read noise: with it the residual stops
#    at its noise floor, and "time to tol" would not exist), Euler step 0.5 ns
dt_ns = 0.5
chip = model.clone()
chip.set_hardware(hardware.replace(read_noise=0.0), seed=0)
chip.set_eval_solver("analog_relaxation", {
    "tol": tol, "stop_mode": "rel", "dt_ns": dt_ns, "stagnation_window": 0,
    "max_iter": int(200 * hardware.tau_ns / dt_ns)})
with torch.no_grad():
    settling_ns = chip.eval().forward_with_info(x).stats.extras["settling_time_ns"]

print(f"measured: {iterations.float().mean():.1f} Anderson iterations, analog settling "
      f"{settling_ns.nanmean():.1f} ns (τ = {hardware.tau_ns:g} ns), {samples} samples")

energy = EnergyConfig()  # every constant at its sourced default
d = digital_deq_energy(workload, iterations, energy)
h = hybrid_deq_energy(workload, settling_ns, energy, hardware=hardware)
print(f"\n{'bucket':<16}{'digital DEQ [J]':>16}{'hybrid DEQ [J]':>16}")
for name in BUCKETS:
    digital_j, hybrid_j = getattr(d.energy, f"{name}_j"), getattr(h.energy, f"{name}_j")
    print(f"{name:<16}{digital_j:>16.3e}{hybrid_j:>16.3e}")
print(f"{'total':<16}{d.energy.total_j:>16.3e}{h.energy.total_j:>16.3e}")
print(f"{'latency [ns]':<16}{d.latency_ns:>16.1f}{h.latency_ns:>16.1f}")
print(f"energy ratio digital/hybrid: {d.energy.total_j / h.energy.total_j:.2f}×")

# Assumptions are fields: e.g. an fp16 digital accelerator, or a measured amplifier power.
for change in ({"digital_precision": "fp16"}, {"amp_power_w": 1e-4}):
    e = EnergyConfig.from_mapping(change)
    ratio = (digital_deq_energy(workload, iterations, e).energy.total_j
             / hybrid_deq_energy(workload, settling_ns, e, hardware=hardware).energy.total_j)
    print(f"with {change}: ratio {ratio:.2f}×")
