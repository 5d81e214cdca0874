"""Scoring a hybrid DEQ as the circuit runs against scoring it with the training proxy
(a script, not a test).

Two models, each on the ``hermes_pcm_8bit`` chip (programming seed 0):

* ``digits`` — ``HybridDEQ`` (64 → 128 → 64-neuron core → 10), trained for ``--epochs``
  physics-aware on scikit-learn's digits; the test set (360 inputs);
* ``field`` — ``ConvHybridDEQ`` with 16 channels, a 3 × 3 kernel and 8 spectral modes on
  32 × 32 fields (the quick suite's Darcy core), untrained (its contraction projection
  only), on 64 random fields.

For each: the wall time of one evaluation of the inputs by the training proxy (Anderson
on the noisy hardware map, the model's default evaluation solver) and by the physical
loop (the calibrated chip simulated from rest and sampled at ``t_s``), on one torch
thread, timed in turn within every run; the ratio is the median over runs of the
per-run ratios. The calibration (once per chip) is timed apart. Target (issue: the
physical evaluation as the default): physical ≤ 3 × proxy.

    python benchmarks/physical_eval.py --out results/benchmarks/physical_eval.json

prints the table the README shows (``hadeq.bench.perf.physical_eval_table``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from hadeq.analog import HardwareConfig, LoopSampling
from hadeq.bench.perf import command_line, physical_eval_table
from hadeq.io import write_json_atomic
from hadeq.models import (
    AnalogCoreDEQ,
    ConvHybridDEQ,
    ConvHybridDEQConfig,
    HybridDEQ,
    HybridDEQConfig,
)
from hadeq.tasks import get_task

HARDWARE = HardwareConfig.preset("hermes_pcm_8bit")


def digits_model(epochs: int) -> tuple[AnalogCoreDEQ, Tensor, Tensor]:
    data = get_task("digits").load(seed=0)
    torch.manual_seed(0)
    model = HybridDEQ(HybridDEQConfig(in_features=64, hidden=64, out_features=10,
                                      hardware=HARDWARE), seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        for start in range(0, data.x_train.shape[0], 128):
            opt.zero_grad()
            out = model(data.x_train[start:start + 128])
            F.cross_entropy(out, data.y_train[start:start + 128]).backward()
            opt.step()
            model.project_contractive_()
    return model.eval(), data.x_test, data.x_train[-256:]


def field_model() -> tuple[AnalogCoreDEQ, Tensor, Tensor]:
    torch.manual_seed(0)
    model = ConvHybridDEQ(ConvHybridDEQConfig(in_channels=1, out_features=1, channels=16,
                                              spectral_modes=8, hardware=HARDWARE), seed=0)
    return model.eval(), torch.randn(64, 1, 32, 32), torch.randn(64, 1, 32, 32)


def _seconds(fn: Any) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        fn()
    return time.perf_counter() - start


def measure(model: AnalogCoreDEQ, x: Tensor, x_cal: Tensor, repeats: int) -> dict[str, Any]:
    proxy = model.clone().eval()
    proxy.program(0)
    chip = model.clone().eval()
    chip.program(0)
    calibration_s = _seconds(lambda: chip.calibrate_loop(x_cal, LoopSampling()))
    calib = chip.loop_calibration
    assert calib is not None
    ratios, t_proxy, t_physical = [], [], []
    for _ in range(repeats):
        a = _seconds(lambda: proxy(x))
        b = _seconds(lambda: chip(x))
        t_proxy.append(a)
        t_physical.append(b)
        ratios.append(b / a)
    with torch.no_grad():
        iterations = float(proxy.forward_with_info(x).stats.iterations.float().mean())
    return {
        "inputs": int(x.shape[0]),
        "proxy_s": statistics.median(t_proxy),
        "physical_s": statistics.median(t_physical),
        "ratio": statistics.median(ratios),
        "ratio_runs": ratios,
        "calibration_s": calibration_s,
        "sample_time_ns": calib.sample_time_ns,
        "dt_ns": calib.dt_ns,
        "physical_evaluations": 4 * round(calib.sample_time_ns / calib.dt_ns),
        "proxy_iterations_mean": iterations,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default=None,
                        help="write the results as JSON here (atomically)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="DEQ (forward|implicit backward)")
    result = {
        "command": command_line(__file__, argv),
        "torch": torch.__version__,
        "threads": 1,
        "repeats": args.repeats,
        "epochs": args.epochs,
        "hardware": "hermes_pcm_8bit",
        "target": "physical <= 3 x proxy",
        "digits": measure(*digits_model(args.epochs), args.repeats),
        "field": measure(*field_model(), args.repeats),
    }
    print(physical_eval_table(result))
    if args.out:
        write_json_atomic(args.out, result)
        print(f"\nwrote {args.out}")
    else:
        print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
