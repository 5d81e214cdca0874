"""Long-run stability: memory of many consecutive noisy solves and training steps.

Runs ``--solves`` inference passes of a HybridDEQ on a noisy hardware config (eval mode,
fresh read noise every pass) and then ``--steps`` physics-aware training steps (forward
through the hardware model, implicit backward, Adam, contraction projection, chip
re-programmed every step) on scikit-learn digits, sampling the process's resident set
size (RSS) every ``--every`` iterations. A leak — solver statistics, traces or autograd
graphs kept alive across calls — shows up as RSS growing with the iteration count.

Growth is measured from the first sample (after ``--every`` warm-up iterations, so
allocator pools and lazily built kernels are in) to the last, and compared with
``--threshold-mb``. Writes the samples and the verdict as JSON to ``--out``
(atomically); exit status 1 when a phase fails the threshold.

    python benchmarks/stability.py --out results/benchmarks/stability.json

prints the table the README shows (``hadeq.bench.perf.stability_table``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from hadeq.bench.perf import command_line, stability_table
from hadeq.io import write_json_atomic
from hadeq.models import HybridDEQ, HybridDEQConfig
from hadeq.tasks import get_task

HARDWARE = {"preset": "hermes_pcm_8bit", "weight_bits": 8, "read_noise": 0.05}


def rss_mb() -> float:
    """Current resident set size of this process in MB (psutil, else /proc/self/statm)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/statm", encoding="ascii") as fh:
            resident_pages = int(fh.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_source() -> str:
    try:
        import psutil  # noqa: F401

        return "psutil"
    except ImportError:
        return "/proc/self/statm"


def run_phase(name: str, n: int, every: int, step: Callable[[int], None],
              threshold_mb: float) -> dict[str, Any]:
    """Call ``step(i)`` for i < n, sampling RSS after every ``every`` calls."""
    samples: list[dict[str, float]] = []
    start = time.perf_counter()
    for i in range(n):
        step(i)
        if (i + 1) % every == 0:
            samples.append({"iteration": i + 1, "rss_mb": rss_mb(),
                            "elapsed_s": time.perf_counter() - start})
            print(f"{name}: {i + 1}/{n}  rss {samples[-1]['rss_mb']:.1f} MB", file=sys.stderr)
    growth = samples[-1]["rss_mb"] - samples[0]["rss_mb"] if len(samples) > 1 else 0.0
    return {"iterations": n, "samples": samples, "growth_mb": growth,
            "threshold_mb": threshold_mb, "passed": growth <= threshold_mb,
            "wall_time_s": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="RSS growth is measured from the first sample "
                                     "(after warm-up) to the last.")
    parser.add_argument("--solves", type=int, default=1000, help="noisy solves (default 1000)")
    parser.add_argument("--steps", type=int, default=1000,
                        help="training steps (default 1000)")
    parser.add_argument("--every", type=int, default=100,
                        help="sample RSS every this many iterations (default 100)")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per call (32)")
    parser.add_argument("--hidden", type=int, default=32, help="core neurons (default 32)")
    parser.add_argument("--threshold-mb", type=float, default=20.0,
                        help="largest allowed RSS growth per phase, MB (default 20)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--out", default=None, metavar="PATH",
                        help="write the JSON report here (atomically)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    for name in ("solves", "steps", "every", "batch_size", "hidden", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = get_task("digits").load(seed=args.seed)
    x, y = data.x_train, data.y_train
    model = HybridDEQ(HybridDEQConfig(in_features=x.shape[1], out_features=10,
                                      hidden=args.hidden, stem_hidden=None, hardware=HARDWARE),
                      seed=args.seed)
    n = x.shape[0]

    def batch(i: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = (i * args.batch_size) % (n - args.batch_size)
        return x[start:start + args.batch_size], y[start:start + args.batch_size]

    model.eval()

    def solve(i: int) -> None:
        with torch.no_grad():
            out = model.forward_with_info(batch(i)[0])
        if not torch.isfinite(out.output).all():
            raise RuntimeError(f"non-finite output at solve {i}")

    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def train_step(i: int) -> None:
        model.program(args.seed * 100_003 + i)
        xb, yb = batch(i)
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        model.project_contractive_()
        if not torch.isfinite(loss):
            raise RuntimeError(f"non-finite loss at step {i}")

    rss_start = rss_mb()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # non-convergence at the noise floor
        solves = run_phase("solves", args.solves, args.every, solve, args.threshold_mb)
        model.train()
        training = run_phase("training", args.steps, args.every, train_step,
                             args.threshold_mb)
    report = {
        "schema": "hadeq.stability/1",
        "command": command_line(__file__, argv),
        "config": {**vars(args), "hardware": HARDWARE, "rss_source": rss_source(),
                   "torch": torch.__version__, "python": platform.python_version()},
        "rss_start_mb": rss_start,
        "solves": solves,
        "training": training,
        "passed": solves["passed"] and training["passed"],
    }
    if args.out:
        write_json_atomic(args.out, report)
    print(stability_table(report))
    print(f"\n{'PASS' if report['passed'] else 'FAIL'}"
          + (f"; wrote {args.out}" if args.out else ""))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
