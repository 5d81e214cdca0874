"""Train the baselines (analog MLP, analog CNN, ff-EBM) briefly on scikit-learn digits.

Usage: ``python benchmarks/baselines_digits.py [--epochs N] [--hardware PRESET]``. Prints
one JSON line per model: test accuracy on the training hardware, and after programming
on ``hermes_pcm_8bit`` (hardware-aware training evaluated on PCM), the settings and time.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F

from hadeq.analog import HardwareConfig
from hadeq.models.feedforward import (
    AnalogCNN,
    AnalogCNNConfig,
    AnalogMLP,
    AnalogMLPConfig,
)
from hadeq.models.ffebm import FFEBM, FFEBMConfig
from hadeq.models.interface import parameter_count
from hadeq.tasks import load_digits_data


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train(model: torch.nn.Module, data, epochs: int, lr: float, batch: int, seed: int) -> float:
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(data.x_train), generator=gen)
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if hasattr(model, "project_contractive_"):
                model.project_contractive_()
        sched.step()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hardware", default="ideal")
    parser.add_argument("--models", default="mlp,cnn,ffebm")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_digits_data(args.seed)
    hw = HardwareConfig.preset(args.hardware)
    builders = {
        "mlp": lambda: AnalogMLP(AnalogMLPConfig(64, 10, hardware=hw), seed=args.seed),
        "cnn": lambda: AnalogCNN(AnalogCNNConfig(1, 8, 8, 10, hardware=hw), seed=args.seed),
        "ffebm": lambda: FFEBM(FFEBMConfig(64, 10, hardware=hw), seed=args.seed),
    }
    lrs = {"mlp": 1e-3, "cnn": 1e-3, "ffebm": 1e-3}
    for name in args.models.split(","):
        model = builders[name]()
        secs = train(model, data, args.epochs, lrs[name], 64, args.seed)
        acc = accuracy(model, data.x_test, data.y_test)
        model.set_hardware(HardwareConfig.preset("hermes_pcm_8bit"), seed=1)
        acc_pcm = accuracy(model, data.x_test, data.y_test)
        snr = model.output_snr_db(data.x_test)
        print(json.dumps({"model": name, "params": parameter_count(model),
                          "train_hardware": args.hardware, "epochs": args.epochs,
                          "lr": lrs[name], "batch": 64, "test_acc": acc,
                          "test_acc_hermes_pcm_8bit": acc_pcm, "snr_db_hermes": snr,
                          "train_s": round(secs, 1)}), flush=True)


if __name__ == "__main__":
    main()
