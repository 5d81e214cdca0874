"""Put your PyTorch model on PCM hardware and see what the chip does to it.

    python examples/02_pytorch_core_on_pcm.py [--quick]

Part 1 trains an ordinary ``nn.Sequential`` on scikit-learn's digits, converts its
``nn.Linear`` layers to crossbar layers with ``hadeq.analog.analogize`` on the
``hermes_pcm_8bit`` preset (256×256 PCM tiles, 8-bit DAC/ADC, read noise 0.04 of full
scale, conductance drift to one hour), and scores several programmed chips and later read
times against the float model.

Part 2 does the same for an equilibrium core: a ``HybridDEQ`` (digital stem → analog
fixed-point core → ADC → digital head) built on ``ideal`` hardware *is* the digital DEQ;
``set_hardware`` moves the same weights onto a PCM chip, programmed with a seed.
"""

import argparse

import torch
from torch import nn

from hadeq.analog import HardwareConfig, analog_layers, analogize, measure_snr_db
from hadeq.models import HybridDEQ, HybridDEQConfig
from hadeq.tasks import get_task

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="fewer epochs and chips (for tests)")
args = parser.parse_args()
epochs, chips = (30, 2) if args.quick else (200, 5)
torch.manual_seed(0)

data = get_task("digits").load(seed=0)
x_train, y_train, x_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test


def accuracy(model: nn.Module) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x_test).argmax(1) == y_test).float().mean())


# --- part 1: a feed-forward PyTorch model on PCM ---------------------------------------------
mlp = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(mlp.parameters(), lr=1e-2)
for _ in range(epochs):  # full-batch training: the digits set is small
    opt.zero_grad()
    nn.functional.cross_entropy(mlp(x_train), y_train).backward()
    opt.step()
print(f"float model:             accuracy {accuracy(mlp):.3f}")

pcm = HardwareConfig.preset("hermes_pcm_8bit")
for t_s, label in ((3600.0, "1 hour"), (86400.0, "1 day"), (3.15e7, "1 year")):
    scores = []
    for seed in range(chips):
        chip = analogize(mlp, pcm.replace(t_inference_s=t_s), seed=100 * seed, inplace=False)
        scores.append(accuracy(chip))
    mean = sum(scores) / len(scores)
    print(f"PCM, read after {label:>6}: accuracy {mean:.3f} "
          f"(min {min(scores):.3f} over {chips} programmed chips)")

chip = analogize(mlp, pcm, seed=0, inplace=False)
first = analog_layers(chip)[0]
print(f"first layer on the chip: {first.n_row_tiles}×{first.n_col_tiles} tiles, "
      f"output SNR {measure_snr_db(first, x_test):.1f} dB")

# --- part 2: an equilibrium core on PCM --------------------------------------------------------
config = HybridDEQConfig(in_features=64, out_features=10, hidden=32, hardware="ideal",
                         mode="standard")
deq = HybridDEQ(config)
opt = torch.optim.Adam(deq.parameters(), lr=3e-3)
deq.train()
for _ in range(2 if args.quick else 10):  # a few mini-batch epochs of standard training
    for i in range(0, x_train.shape[0], 128):
        loss = nn.functional.cross_entropy(deq(x_train[i:i + 128]), y_train[i:i + 128])
        opt.zero_grad()
        loss.backward()
        opt.step()
        deq.project_contractive_()  # keep ‖W‖₂ ≤ 1 − margin: the loop stays a contraction
print(f"digital DEQ (ideal):     accuracy {accuracy(deq):.3f}")

with torch.no_grad():
    ideal = deq.eval().forward_with_info(x_test)
# The same weights on PCM with 8-bit weights. Read noise (0.04 of full scale, fresh at
# every read of the loop) leaves a residual floor near 1e-2: ask the solver for no less.
deq.set_hardware(HardwareConfig.preset("hermes_pcm_8bit", weight_bits=8), seed=0)
deq.set_eval_solver("anderson", {"tol": 2e-2, "max_iter": 50})
with torch.no_grad():
    out = deq.eval().forward_with_info(x_test)
acc = float((out.output.argmax(1) == y_test).float().mean())
agree = float((out.output.argmax(1) == ideal.output.argmax(1)).float().mean())
rel = float((out.z_star - ideal.z_star).norm() / ideal.z_star.norm())
print(f"hybrid DEQ on PCM:       accuracy {acc:.3f}, same class as ideal for {agree:.1%} "
      f"of inputs, ‖z*_pcm − z*_ideal‖/‖z*_ideal‖ = {rel:.3f}")
summary = out.stats.summary()
print(f"loop on PCM:             {summary['iterations_mean']:.1f} iterations, residual "
      f"max {summary['residual_max']:.1e}, converged {out.stats.converged_fraction:.0%}")
