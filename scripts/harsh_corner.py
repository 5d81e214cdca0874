"""Physics-aware vs standard training at a harsh hardware corner, on the same chips.

The corner: PCM devices (programming noise and 1/f noise of Nandakumar et al.) drifted to
one day with global drift compensation, 4-bit weights, read noise 0.1 of full scale and a
6-bit ADC. For each seed, a standard model (trained on the ideal map) and a physics-aware
model (trained through the corner hardware, re-programmed every batch) are scored on the
same programmed chips. Writes JSON (config, versions, commit, per-seed numbers).

    python scripts/harsh_corner.py --task digits --seeds 0 1 2 --out results/harsh_digits.json
    python scripts/harsh_corner.py --task fashion_mnist --task-option limit_train=10000 \\
        --epochs 4 --hidden 128 --stem-hidden 256 --out results/harsh_fashion.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time

import torch

from hadeq.analog import HardwareConfig
from hadeq.bench.environment import environment
from hadeq.io import write_json_atomic
from hadeq.tasks import get_task
from hadeq.training import Trainer, evaluate_model, parse_train_config

CORNER = {"preset": "hermes_pcm_8bit", "weight_bits": 4, "read_noise": 0.1,
          "output_bits": 6, "t_inference_s": 86400.0}
DEQ = {"solver_options": {"tol": 1e-3, "max_iter": 40, "stagnation_window": 8},
       "backward_options": {"tol": 1e-4, "max_iter": 40}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="digits")
    p.add_argument("--task-option", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--chips", type=int, default=3, help="programmed chips per model")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--stem-hidden", type=int, default=128)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    options = {k: int(v) if v.isdigit() else v
               for k, v in (o.split("=", 1) for o in args.task_option)}
    task = get_task(args.task)
    corner = HardwareConfig.parse(CORNER)
    rows = []
    start = time.perf_counter()
    for seed in args.seeds:
        data = task.load(seed=seed, **options)
        scores = {}
        for mode, hardware in (("standard", "ideal"), ("physics_aware", CORNER)):
            with tempfile.TemporaryDirectory() as run_dir:
                config = parse_train_config({
                    "task": args.task, "task_options": options,
                    "model": {"kind": "hybrid_deq", "hidden": args.hidden,
                              "stem_hidden": args.stem_hidden, "hardware": hardware,
                              "deq": DEQ},
                    "epochs": args.epochs, "batch_size": 64, "seed": seed,
                    "out_dir": run_dir})
                model = Trainer(config, progress=False).fit().model
            chips = [evaluate_model(model, task, data.x_test, data.y_test, hardware=corner,
                                    seed=1000 + chip)["metrics"][task.primary_metric]
                     for chip in range(args.chips)]
            ideal = evaluate_model(model, task, data.x_test, data.y_test,
                                   hardware=HardwareConfig.preset("ideal"),
                                   seed=0)["metrics"][task.primary_metric]
            scores[mode] = {"corner_chips": chips, "corner_mean": statistics.fmean(chips),
                            "ideal": ideal}
            print(f"seed {seed} {mode:>13}: corner {statistics.fmean(chips):.4f} "
                  f"(chips {', '.join(f'{c:.4f}' for c in chips)}), ideal {ideal:.4f}",
                  flush=True)
        rows.append({"seed": seed, **scores})
    summary = {}
    for mode in ("standard", "physics_aware"):
        vals = [r[mode]["corner_mean"] for r in rows]
        summary[mode] = {"mean": statistics.fmean(vals),
                         "std": statistics.stdev(vals) if len(vals) > 1 else 0.0}
    for mode, s in summary.items():
        print(f"{mode:>13}: {task.primary_metric} on the corner {s['mean']:.4f} ± {s['std']:.4f}")
    write_json_atomic(args.out, {
        "corner": CORNER, "task": args.task, "task_options": options, "seeds": args.seeds,
        "epochs": args.epochs, "hidden": args.hidden, "stem_hidden": args.stem_hidden,
        "chips": args.chips, "rows": rows, "summary": summary,
        "wall_time_s": time.perf_counter() - start, "environment": environment(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
