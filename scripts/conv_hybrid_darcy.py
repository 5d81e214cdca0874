"""Train and evaluate a ConvHybridDEQ on Darcy flow 32² (digital, or physics-aware hybrid).

The core is a 3×3 analog convolution plus, with ``--spectral-modes m`` (default 16), the
global sine-mode path of :class:`hadeq.analog.spectral.AnalogSpectralMix`. The defaults are
the recipe whose result the README reports (relative L2 0.024 digital, 0.026 on hw8).

Normalisation (documented in the report): the input is the permeability ``a`` standardised
with the training set's mean/std, plus two coordinate channels ``x, y ∈ [0, 1]`` (as FNO
appends its grid); the model predicts ``(u − μ)/s`` with ``μ`` and ``s`` the training
set's per-pixel mean and std of ``u`` (``--target-norm pixel``, as FNO's Gaussian
normaliser) or ``μ = 0`` and ``s`` one scalar std (``--target-norm global``). Training
minimises the mean per-sample relative L2 error of the decoded ``u``, the metric itself;
it is reported on the test set in the original units.

Examples::

    python3 scripts/conv_hybrid_darcy.py --save darcy_ideal.safetensors
    python3 scripts/conv_hybrid_darcy.py --hardware hw8 --init darcy_ideal.safetensors --epochs 0
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import torch
from safetensors.torch import load_file, save_file
from training_loop import fit_epochs

from hadeq.analog import HardwareConfig
from hadeq.bench.environment import environment
from hadeq.deq import DEQConfig
from hadeq.io import write_atomic, write_json_atomic
from hadeq.models import ConvHybridDEQ, ConvHybridDEQConfig
from hadeq.tasks.darcy import DarcyConfig, load_darcy
from hadeq.tasks.metrics import relative_l2_per_sample

HARDWARE = {
    "ideal": HardwareConfig.preset("ideal"),
    # 8-bit weights, DAC and ADC, read noise 0.05 of full scale at every read. Tiles of
    # 256 rows × 32 columns: the core's C·9 ≤ 256 inputs and C ≤ 32 outputs fit one tile,
    # so the noise model is that of a 256 × 256 tile, without simulating unused columns.
    "hw8": HardwareConfig(weight_bits=8, input_bits=8, output_bits=8, output_range=1.0,
                          read_noise=0.05, tile_rows=256, tile_cols=32),
}


def prepare(n_train: int, n_test: int, resolution: int,
            target_norm: str) -> dict[str, torch.Tensor | float]:
    data = load_darcy(DarcyConfig(resolution=resolution, n_train=n_train, n_test=n_test))
    a_tr, u_tr = torch.from_numpy(data["a_train"]), torch.from_numpy(data["u_train"])
    a_te, u_te = torch.from_numpy(data["a_test"]), torch.from_numpy(data["u_test"])
    mean, std = float(a_tr.mean()), float(a_tr.std())
    if target_norm == "pixel":
        # The boundary pixels are 0 in every sample: a floor keeps their std invertible.
        u_mean, u_scale = u_tr.mean(0), u_tr.std(0) + 1e-3 * u_tr.std()
    else:
        u_mean, u_scale = torch.zeros(resolution, resolution), u_tr.std().expand(
            resolution, resolution)
    grid = torch.linspace(0.0, 1.0, resolution)
    xx, yy = torch.meshgrid(grid, grid, indexing="ij")

    def inputs(a: torch.Tensor) -> torch.Tensor:
        coords = torch.stack([xx, yy]).expand(a.shape[0], 2, resolution, resolution)
        return torch.cat([((a - mean) / std)[:, None], coords], dim=1)

    return {"x_train": inputs(a_tr), "y_train": u_tr[:, None], "x_test": inputs(a_te),
            "y_test": u_te[:, None], "u_mean": u_mean, "u_scale": u_scale,
            "a_mean": mean, "a_std": std}


def evaluate(model: ConvHybridDEQ, x: torch.Tensor, y: torch.Tensor,
             decode: Callable[[torch.Tensor], torch.Tensor],
             batch: int = 50) -> tuple[float, float]:
    """Mean test relative L2 and mean forward iterations."""
    model.eval()
    errs, iters = [], []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model.forward_with_info(x[i:i + batch])
            errs.append(relative_l2_per_sample(decode(out.output), y[i:i + batch]))
            iters.append(out.stats.iterations.float())
    return float(torch.cat(errs).mean()), float(torch.cat(iters).mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hardware", choices=sorted(HARDWARE), default="ideal")
    p.add_argument("--n-train", type=int, default=1000)
    p.add_argument("--n-test", type=int, default=100)
    p.add_argument("--train-subset", type=int, default=None,
                   help="train on the first this many pairs (normalisation uses all n-train)")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--spectral-modes", type=int, default=16)
    p.add_argument("--head-hidden", type=int, default=128)
    p.add_argument("--target-norm", choices=("pixel", "global"), default="pixel")
    p.add_argument("--epochs", type=int, default=80)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--margin", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--time-limit", type=float, default=1e9, help="stop training after s")
    p.add_argument("--init", type=str, default=None, help="state_dict to start from")
    p.add_argument("--save", type=str, default=None)
    p.add_argument("--out", type=str, default="results/conv_hybrid/darcy.json")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    d = prepare(args.n_train, args.n_test, args.resolution, args.target_norm)
    u_mean, u_scale = d["u_mean"], d["u_scale"]

    def decode(out: torch.Tensor) -> torch.Tensor:
        return out * u_scale + u_mean

    hw = HARDWARE[args.hardware]
    digital = args.hardware == "ideal"
    deq = DEQConfig(solver_options={"tol": 1e-4, "max_iter": 40},
                    backward_options={"tol": 1e-5, "max_iter": 40},
                    warn_unconverged=False)
    config = ConvHybridDEQConfig(
        in_channels=3, out_features=1, channels=args.channels, stem_hidden=32,
        spectral_modes=args.spectral_modes, head_hidden=args.head_hidden,
        injection_bits=None if digital else 8,
        contraction_margin=args.margin, contraction_grid=args.resolution,
        hardware=HARDWARE["ideal"] if args.init else hw, deq=deq, mode="physics_aware")
    model = ConvHybridDEQ(config, seed=args.seed)
    if args.init:
        # Load on the checkpoint's (ideal) hardware, then move the weights onto ``hw``:
        # the core's noise buffers are shaped by the tile geometry.
        model.load_state_dict(load_file(args.init))
        model.set_hardware(hw, seed=args.seed)
        model.project_contractive_()
    x, y = d["x_train"], d["y_train"]
    x, y = x[:args.train_subset], y[:args.train_subset]

    def loss_fn(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return relative_l2_per_sample(decode(out), target).mean()

    history, train_s = fit_epochs(
        model, x, y, loss_fn, epochs=args.epochs, batch=args.batch, lr=args.lr,
        warm_start=args.init is not None, time_limit_s=args.time_limit)
    t0 = time.perf_counter()
    test_err, iters = evaluate(model, d["x_test"], d["y_test"], decode)
    result = {
        "task": "darcy32", "hardware": args.hardware, "hardware_config": hw.to_dict(),
        "args": vars(args), "environment": environment(),
        "n_train": args.n_train, "n_train_used": len(x), "n_test": args.n_test,
        "channels": args.channels, "spectral_modes": args.spectral_modes,
        "head_hidden": args.head_hidden, "target_norm": args.target_norm,
        "epochs_run": len(history), "batch": args.batch, "lr": args.lr,
        "margin": args.margin, "init": args.init, "test_rel_l2": test_err,
        "mean_forward_iterations": iters, "train_wall_s": train_s,
        "eval_wall_s": time.perf_counter() - t0, "threads": args.threads,
        "norm_bound": model.operator_norm_bound(), "history": history,
    }
    if not digital:
        # The same weights read on ideal hardware, for comparison.
        model.set_hardware(HARDWARE["ideal"])
        result["test_rel_l2_same_weights_ideal"] = evaluate(
            model, d["x_test"], d["y_test"], decode)[0]
    print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=1))
    write_json_atomic(args.out, result)
    if args.save:
        if not digital:
            model.set_hardware(hw)
        state = model.state_dict()
        write_atomic(args.save, lambda tmp: save_file(state, tmp))


if __name__ == "__main__":
    main()
