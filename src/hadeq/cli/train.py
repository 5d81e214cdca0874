"""``hadeq train``: train a model from a YAML/JSON config, with checkpoints and resume."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from hadeq.training import Trainer, load_train_config
from hadeq.training.checkpoint import jsonable

DESCRIPTION = """\
Train the model described by CONFIG (YAML or JSON) on its task and write, to the output
directory (config key out_dir, or --out):

  metrics.jsonl            one JSON line per epoch: train loss, test metric on the
                           evaluation hardware, solver iterations, non-converged and
                           stagnated counts, physics terms, wall time
  checkpoint.json          the last completed epoch's checkpoint record (config, optimizer
  weights-eNNNNN.safetensors   scalars, RNG states, SHA-256 of the tensor files); written
  state-eNNNNN.safetensors     atomically after every epoch
  config.json              the validated config

Config sections: task, task_options, model (kind + the model's options, e.g. hidden,
hardware, mode), physics, optimizer (name, lr, weight_decay, grad_clip_norm), epochs,
batch_size, eval_batch_size, max_train_samples, max_test_samples, seed,
programming_resample (never|epoch|batch), eval_hardware, eval_seed, out_dir,
deterministic. Unknown keys are errors naming the key path.

--set KEY.PATH=VALUE overrides one entry (repeatable); VALUE is read as a YAML scalar:
  --set optimizer.lr=1e-3 --set model.hardware.read_noise=0.05 --set epochs=3

--resume continues from the checkpoint in the output directory and ends with bitwise the
same weights as an uninterrupted run. Data parallel: run under
  torchrun --nproc_per_node=2 -m hadeq.cli.main train CONFIG
(gloo; each process takes its shard of every global batch; rank 0 writes the files).
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model from a YAML/JSON config (checkpoints, resume, torchrun)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", metavar="CONFIG", help="YAML or JSON training config")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY.PATH=VALUE", help="override a config entry (repeatable)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint in the output directory")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output directory (overrides the config's out_dir)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON summary (final epoch's metrics) instead of a table")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar and no per-epoch lines on stderr")
    p.set_defaults(handler=run)


def _summary_rows(final: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in final.items():
        if isinstance(value, float):
            rows.append((key, f"{value:.6g}"))
        else:
            rows.append((key, str(value)))
    return rows


def run(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if args.out is not None:
        overrides.append(f"out_dir={json.dumps(os.fspath(args.out))}")
    config = load_train_config(args.config, overrides)
    is_main = int(os.environ.get("RANK", "0")) == 0

    def log(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr)

    result = Trainer(config, progress=not args.quiet, log=log).fit(resume=args.resume)
    if not is_main:
        return 0
    summary = {
        "schema": "hadeq.train/1",
        "out_dir": result.out_dir,
        "epochs": config.epochs,
        "epochs_run": result.epochs_run,
        "wall_time_s": result.wall_time_s,
        "final": result.final,
    }
    if args.json:
        print(json.dumps(jsonable(summary), indent=2))
        return 0
    print(f"trained {config.model_kind} on {config.task}: {result.epochs_run} epoch(s) in "
          f"{result.wall_time_s:.1f} s -> {result.out_dir}")
    rows = _summary_rows(result.final)
    width = max((len(k) for k, _ in rows), default=0)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    return 0
