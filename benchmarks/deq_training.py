"""Physics-aware HybridDEQ training step against the digital one, and the quality of its
gradient (a script, not a test).

Model: ``HybridDEQ`` with 64 inputs, a 128-wide stem, a ``--hidden``-neuron analog core
(256) and 10 classes; random inputs and labels, batch ``--batch`` (128).

Timing. One training step — forward (the equilibrium solve), cross-entropy, backward
(the implicit adjoint), Adam and the contraction projection — physics-aware on every
noisy preset (the solve through the hardware model, read noise included) against the
same step of the digital model (the ``ideal`` preset). One torch thread; the models are
timed in turn within every run and the ratio is the median of the per-run ratios.

Gradient quality, per noisy preset, from one step at a fixed read-noise seed: the
parameter gradient hadeq computes (the solve stopped at its noise floor, the adjoint
solved by Anderson to its default tolerance) against

* the exact implicit gradient at the same equilibrium — the same forward solve, the
  adjoint solved to 1e-12 (this isolates the adjoint solve);
* the exact implicit gradient at the noise-free equilibrium of the programmed chip (the
  frozen map, no read noise, solved to 1e-12): what a noiseless read would give.

The second comparison is also made for the solve without noise-floor stopping (the
stagnation rule only, as before), to show what stopping at the floor costs. Reported as
cosine similarity and relative error ``‖g − g_ref‖/‖g_ref‖`` over all parameters and over
those whose gradient goes through the adjoint (stem and core).

    python benchmarks/deq_training.py --out results/benchmarks/deq_training.json

prints the tables the README shows (``hadeq.bench.perf.deq_training_tables``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from hadeq import DEQ
from hadeq.bench.perf import command_line, deq_training_tables, ratio_runs
from hadeq.io import write_json_atomic
from hadeq.models import HybridDEQ, HybridDEQConfig
from hadeq.models.core import deq_config
from hadeq.solvers import batched

NOISY = ("hermes_pcm_8bit", "rram_4bit")
# Solved to float32 rounding: the stagnation rule stops the solves there.
EXACT = {"tol": 1e-12, "stop_mode": "abs", "max_iter": 300, "stagnation_window": 10}


def make_model(hardware: str, hidden: int, seed: int = 0) -> HybridDEQ:
    cfg = HybridDEQConfig(in_features=64, out_features=10, hidden=hidden, hardware=hardware,
                          mode="physics_aware")
    return HybridDEQ(cfg, seed=seed).train()


def training_step(model: HybridDEQ, opt: torch.optim.Optimizer, x: Tensor, y: Tensor
                  ) -> dict[str, float]:
    opt.zero_grad(set_to_none=True)
    info = model.forward_with_info(x)
    F.cross_entropy(info.output, y).backward()
    opt.step()
    model.project_contractive_()
    fwd, bwd = info.solves[0], info.backward[0]
    return {"forward_iterations": float(fwd.iterations.float().mean()),
            "backward_iterations": float(bwd.iterations.float().mean()),
            "at_noise_floor": float(fwd.stagnated.float().mean())}


def time_steps(hidden: int, batch: int, repeats: int, inner: int) -> dict[str, Any]:
    torch.manual_seed(0)
    x, y = torch.randn(batch, 64), torch.randint(0, 10, (batch,))
    names = ("ideal", *NOISY)
    models = {name: make_model(name, hidden) for name in names}
    opts = {name: torch.optim.Adam(m.parameters(), lr=1e-3) for name, m in models.items()}
    iters: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for name in names:  # warm-up
        for _ in range(2):
            training_step(models[name], opts[name], x, y)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            for _ in range(inner):
                iters[name].append(training_step(models[name], opts[name], x, y))
            times[name].append((time.perf_counter() - start) / inner)
    out: dict[str, Any] = {}
    for name in names:
        row = {"step_ms": 1e3 * statistics.median(times[name])}
        for key in iters[name][0]:
            row[key] = statistics.mean(it[key] for it in iters[name])
        if name != "ideal":
            runs = ratio_runs(times[name], times["ideal"])
            row["ratio_vs_digital"], row["ratio_vs_digital_runs"] = statistics.median(runs), runs
        out[name] = row
    return out


def gradients(model: HybridDEQ) -> dict[str, Tensor]:
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()
            if p.grad is not None}


def step_gradient(model: HybridDEQ, x: Tensor, y: Tensor, seed: int) -> dict[str, Tensor]:
    """The gradient of one physics-aware step with the read noise seeded."""
    model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    F.cross_entropy(model(x), y).backward()
    return gradients(model)


def noise_free_gradient(model: HybridDEQ, x: Tensor, y: Tensor) -> dict[str, Tensor]:
    """The exact implicit gradient at the fixed point of the programmed chip without read
    noise (frozen map), differentiating the same proxy as training does."""
    model.zero_grad(set_to_none=True)
    u = model.injection(x)
    deq = DEQ(solver="anderson", solver_options=EXACT, backward_options=EXACT,
              warn_unconverged=False)
    proxy = model._frozen_map if model.config.proxy == "frozen" else model._clean_map
    z_star, _ = deq(batched(model._frozen_map, u), torch.zeros_like(u),
                    proxy=batched(proxy, u))
    F.cross_entropy(model.head(model.adc_read(z_star)), y).backward()
    return gradients(model)


def compare(g: dict[str, Tensor], ref: dict[str, Tensor]) -> dict[str, float]:
    out = {}
    for scope, names in (("all", sorted(ref)),
                         ("adjoint", sorted(n for n in ref if not n.startswith("head")))):
        a = torch.cat([g[n].flatten().double() for n in names])
        b = torch.cat([ref[n].flatten().double() for n in names])
        out[f"cosine_{scope}"] = float(F.cosine_similarity(a, b, dim=0))
        out[f"rel_err_{scope}"] = float((a - b).norm() / b.norm())
    return out


def gradient_quality(hidden: int, batch: int, seed: int) -> dict[str, Any]:
    torch.manual_seed(1)
    x, y = torch.randn(batch, 64), torch.randint(0, 10, (batch,))
    out: dict[str, Any] = {}
    for name in NOISY:
        model = make_model(name, hidden)
        hadeq_g = step_gradient(model, x, y, seed)
        default_deq = model.deq
        model.deq = DEQ(dataclasses.replace(deq_config(model.config), backward_options=EXACT,
                                            adjoint_floor_fraction=0.0,
                                            warn_unconverged=False)).train()
        exact_same = step_gradient(model, x, y, seed)
        model.deq = default_deq
        model._noise_floor = lambda: None  # the solve as before: stagnation rule only
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            stagnation_g = step_gradient(model, x, y, seed)
        del model._noise_floor
        noise_free = noise_free_gradient(model, x, y)
        out[name] = {
            "vs_exact_same_equilibrium": compare(hadeq_g, exact_same),
            "vs_noise_free_exact": compare(hadeq_g, noise_free),
            "stagnation_only_vs_noise_free_exact": compare(stagnation_g, noise_free),
        }
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the results as JSON to this path (atomically)")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--inner", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0, help="read-noise seed of the gradients")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-gradients", action="store_true",
                    help="time the steps only (e.g. on a version without noise-floor stops)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = {
        "command": command_line(__file__, argv),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "hidden": args.hidden,
        "batch": args.batch,
        "repeats": args.repeats,
        "inner": args.inner,
        "timing": time_steps(args.hidden, args.batch, args.repeats, args.inner),
        "gradient_quality": ({} if args.skip_gradients
                             else gradient_quality(args.hidden, args.batch, args.seed)),
    }
    print(deq_training_tables(result))
    print("\nat noise floor (mean fraction of samples per forward solve): " + ", ".join(
        f"{name} {r['at_noise_floor']:.0%}" for name, r in result["timing"].items()))
    if args.out:
        write_json_atomic(args.out, json.loads(json.dumps(result)))
        print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
