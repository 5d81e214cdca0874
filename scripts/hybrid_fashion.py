"""Train and evaluate the MLP HybridDEQ on Fashion-MNIST (digital, or physics-aware hybrid).

Inputs are the task loader's standardised 28×28 images, flattened to 784 features.

Examples::

    python3 scripts/hybrid_fashion.py --hardware ideal --epochs 8 --save fm_ideal.pt
    python3 scripts/hybrid_fashion.py --hardware hw8 --init fm_ideal.pt --epochs 1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from training_loop import fit_epochs

from hadeq.analog import HardwareConfig
from hadeq.deq import DEQConfig
from hadeq.models import HybridDEQ, HybridDEQConfig
from hadeq.tasks import load_fashion_mnist

HARDWARE = {
    "ideal": HardwareConfig.preset("ideal"),
    # 8-bit weights, DAC and ADC, read noise 0.05 of full scale at every read.
    "hw8": HardwareConfig(weight_bits=8, input_bits=8, output_bits=8, output_range=1.0,
                          read_noise=0.05),
}


def evaluate(model: HybridDEQ, x: torch.Tensor, y: torch.Tensor,
             batch: int = 1000) -> tuple[float, float]:
    """Test accuracy and mean forward iterations."""
    model.eval()
    correct, iters = 0, []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model.forward_with_info(x[i:i + batch])
            correct += int((out.output.argmax(1) == y[i:i + batch]).sum())
            iters.append(out.stats.iterations.float())
    return correct / len(x), float(torch.cat(iters).mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hardware", choices=sorted(HARDWARE), default="ideal")
    p.add_argument("--limit-train", type=int, default=None)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--stem-hidden", type=int, default=256)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--time-limit", type=float, default=1e9)
    p.add_argument("--init", type=str, default=None)
    p.add_argument("--save", type=str, default=None)
    p.add_argument("--out", type=str, default="results/conv_hybrid/fashion.json")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    data = load_fashion_mnist(limit_train=args.limit_train)
    x, y = data.x_train.flatten(1), data.y_train
    x_te, y_te = data.x_test.flatten(1), data.y_test
    hw = HARDWARE[args.hardware]
    digital = args.hardware == "ideal"
    deq = DEQConfig(solver_options={"tol": 1e-4, "max_iter": 40},
                    backward_options={"tol": 1e-5, "max_iter": 40}, warn_unconverged=False)
    config = HybridDEQConfig(in_features=784, out_features=10, hidden=args.hidden,
                             stem_hidden=args.stem_hidden,
                             injection_bits=None if digital else 8, hardware=hw, deq=deq)
    model = HybridDEQ(config, seed=args.seed)
    if args.init:
        model.load_state_dict(load_file(args.init))
        model.project_contractive_()
    history, train_s = fit_epochs(
        model, x, y, F.cross_entropy, epochs=args.epochs,
        batch=args.batch, lr=args.lr, warm_start=args.init is not None,
        time_limit_s=args.time_limit)
    t0 = time.perf_counter()
    acc, iters = evaluate(model, x_te, y_te)
    result = {
        "task": "fashion_mnist", "hardware": args.hardware, "hardware_config": hw.to_dict(),
        "n_train": len(x), "n_test": len(x_te), "hidden": args.hidden,
        "stem_hidden": args.stem_hidden, "epochs_run": len(history), "batch": args.batch,
        "lr": args.lr, "init": args.init, "test_accuracy": acc,
        "mean_forward_iterations": iters, "train_wall_s": train_s,
        "eval_wall_s": time.perf_counter() - t0, "threads": args.threads, "history": history,
    }
    if not digital:
        model.set_hardware(HARDWARE["ideal"])
        result["test_accuracy_same_weights_ideal"] = evaluate(model, x_te, y_te)[0]
    print(json.dumps({k: v for k, v in result.items() if k not in ("history",)}, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    if args.save:
        if not digital:
            model.set_hardware(hw)
        save_file(model.state_dict(), args.save)


if __name__ == "__main__":
    main()
