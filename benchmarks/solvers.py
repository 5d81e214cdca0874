"""Benchmark of hadeq's Anderson DEQ against torchdeq's on the same maps (a script, not a test).

Two problems, each solved by ``hadeq.DEQ`` and by ``torchdeq`` (``DEQIndexing`` with
``ift=True``) from ``z0 = 0`` with Anderson acceleration (``m`` = 6) forward and backward:

* ``mlp``  — ``f(z) = tanh(W z + U x + b)``, d = 256, batch 128, ``‖W‖₂ = 0.9``;
* ``conv`` — ``f(z) = tanh(conv3x3(z) + conv3x3_in(x))``, 16 channels, 16×16, batch 32,
  kernel scaled so the convolution's operator norm (zero padding, by power iteration)
  is 0.9.

Both are 0.9-contractions (tanh is 1-Lipschitz). The inputs ``x`` of every sample are
scaled by a factor log-uniform in [0.1, 3]: large inputs saturate tanh (a small Jacobian,
few iterations), small ones leave ``f`` nearly linear (slow), so samples differ in
difficulty. The injection ``U x + b`` is computed once per call, outside the solver, and
both libraries get the very same ``cell(z, injection)``.

Equal tolerance. torchdeq's Anderson (``torchdeq/solver/anderson.py``) measures, for every
sample, ``abs = ‖f(x) − x‖₂`` and ``rel = abs / (‖f(x)‖₂ + 1e-9)`` over all non-batch
dimensions, and stops when the *largest* of them over the batch is ``< tol``; it then
returns ``f(x)`` of each sample's lowest-residual iterate ``x``. hadeq measures the same
per-sample ``‖f(z) − z‖₂`` (``abs``) and stops each sample once its own residual is
``≤ tol``, returning that ``z``. So with ``--stop-mode abs`` every returned sample of both
libraries satisfies the same inequality (hadeq's samples stop as soon as they meet it,
torchdeq's keep iterating until the worst one does). hadeq's ``rel`` divides by
``max(‖f(z)‖, ‖z‖)`` rather than ``‖f(z)‖``; this script then gives hadeq
``tol / (1 + tol)``, which implies torchdeq's ``rel`` criterion, so hadeq is at least as
strict. The backward (adjoint) solves use the same rule with ``--b-tol``. Other
differences, left as each library's own: torchdeq's ridge ``λ = 1e-4`` is absolute,
hadeq's is relative to the mean of ``diag(GGᵀ)``; torchdeq starts the adjoint at 0 and
hadeq at ``∂L/∂z*`` (one Picard step from 0); torchdeq's IFT backward evaluates ``f``
once more inside the backward pass.

Measured: solver iterations (evaluations of ``f`` in the forward solve, vector-Jacobian
products in the adjoint solve; per sample, mean and max), wall time per call (median of
``--repeats`` runs, the two libraries interleaved in every run, alternating which goes
first), the ratio hadeq / torchdeq (median of the per-run ratios), and the agreement of
``z*`` and of the parameter gradients between the libraries and with a float64 reference
solved to 1e-11.

    python benchmarks/solvers.py --out results/benchmarks/solvers.json

prints the tables the README shows (``hadeq.bench.perf.solvers_tables``); ``make
benchmarks`` runs it at torchdeq's default ridge and at ``--torchdeq-lam 1e-8``.
"""

from __future__ import annotations

import argparse
import copy
import functools
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import hadeq
from hadeq.bench.perf import command_line, solvers_tables
from hadeq.io import write_json_atomic

# ----------------------------------------------------------------------------- problems


class Counter(torch.autograd.Function):
    """Identity on ``z`` that counts how often ``f`` is evaluated and differentiated."""

    calls: ClassVar[dict[str, int]] = {"f": 0, "vjp": 0}

    @staticmethod
    def forward(ctx: Any, z: Tensor) -> Tensor:
        Counter.calls["f"] += 1
        return z.view_as(z)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        Counter.calls["vjp"] += 1
        return grad


class MLPCell(nn.Module):
    """``f(z) = tanh(W z + inj)`` with ``inj = U x + b`` and ``‖W‖₂ = norm``."""

    def __init__(self, d: int, d_in: int, norm: float, gen: torch.Generator):
        super().__init__()
        w = torch.randn(d, d, generator=gen)
        self.W = nn.Parameter(w * (norm / torch.linalg.matrix_norm(w, ord=2)))
        self.U = nn.Parameter(torch.randn(d, d_in, generator=gen) / math.sqrt(d_in))
        self.b = nn.Parameter(0.1 * torch.randn(d, generator=gen))
        self.count = False

    def inject(self, x: Tensor) -> Tensor:
        return x @ self.U.T + self.b

    def forward(self, z: Tensor, inj: Tensor) -> Tensor:
        if self.count:
            z = Counter.apply(z)
        return torch.tanh(z @ self.W.T + inj)


def conv_operator_norm(weight: Tensor, shape: tuple[int, int, int], steps: int = 200) -> float:
    """‖conv2d(·, weight, padding=1)‖₂ on inputs of ``shape`` (C, H, W), by power iteration."""
    v = torch.randn(1, *shape, generator=torch.Generator().manual_seed(0), dtype=weight.dtype)
    sigma = 0.0
    with torch.no_grad():
        for _ in range(steps):
            v = v / v.norm()
            u = F.conv2d(v, weight, padding=1)
            sigma = float(u.norm())
            v = F.conv_transpose2d(u, weight, padding=1)
    return sigma


class ConvCell(nn.Module):
    """``f(z) = tanh(conv(z) + inj)``, ``inj = conv_in(x)``, ``‖conv‖₂ = norm``."""

    def __init__(self, channels: int, size: int, c_in: int, norm: float, gen: torch.Generator):
        super().__init__()
        k = torch.randn(channels, channels, 3, 3, generator=gen)
        k = k * (norm / conv_operator_norm(k, (channels, size, size)))
        self.weight = nn.Parameter(k)
        self.bias = nn.Parameter(0.1 * torch.randn(channels, generator=gen))
        self.weight_in = nn.Parameter(
            torch.randn(channels, c_in, 3, 3, generator=gen) / math.sqrt(9 * c_in)
        )
        self.count = False

    def inject(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight_in, self.bias, padding=1)

    def forward(self, z: Tensor, inj: Tensor) -> Tensor:
        if self.count:
            z = Counter.apply(z)
        return torch.tanh(F.conv2d(z, self.weight, padding=1) + inj)


@dataclass
class Problem:
    name: str
    cell: nn.Module
    x: Tensor
    z_shape: tuple[int, ...]
    target: Tensor  # the loss is (z* · target).sum() / batch

    def loss(self, z: Tensor) -> Tensor:
        return (z * self.target).sum() / z.shape[0]


def input_scales(batch: int, gen: torch.Generator) -> Tensor:
    """Per-sample scale, log-uniform in [0.1, 3]: samples of different difficulty."""
    lo, hi = math.log(0.1), math.log(3.0)
    return torch.exp(lo + (hi - lo) * torch.rand(batch, generator=gen))


def make_problems(seed: int, norm: float, mlp_batch: int, conv_batch: int) -> list[Problem]:
    gen = torch.Generator().manual_seed(seed)
    d, d_in = 256, 64
    mlp = MLPCell(d, d_in, norm, gen)
    x = torch.randn(mlp_batch, d_in, generator=gen) * input_scales(mlp_batch, gen)[:, None]
    problems = [Problem("mlp", mlp, x, (mlp_batch, d), torch.randn(mlp_batch, d, generator=gen))]
    c, size, c_in = 16, 16, 3
    conv = ConvCell(c, size, c_in, norm, gen)
    x = torch.randn(conv_batch, c_in, size, size, generator=gen)
    x = x * input_scales(conv_batch, gen)[:, None, None, None]
    target = torch.randn(conv_batch, c, size, size, generator=gen)
    problems.append(Problem("conv", conv, x, (conv_batch, c, size, size), target))
    return problems


# ------------------------------------------------------------------------------ runners


@dataclass(frozen=True)
class Settings:
    f_tol: float
    b_tol: float
    stop_mode: str
    f_max_iter: int
    b_max_iter: int
    history: int
    per_sample: bool
    torchdeq_lam: float

    def hadeq_tol(self, tol: float) -> float:
        # hadeq's rel divides by max(‖f(z)‖, ‖z‖) ≤ ‖f(z)‖ + ‖r‖: tol/(1 + tol) then implies
        # torchdeq's ‖r‖/‖f(z)‖ ≤ tol (see the module docstring).
        return tol / (1.0 + tol) if self.stop_mode == "rel" else tol


def make_hadeq(s: Settings) -> hadeq.DEQ:
    common = {"stop_mode": s.stop_mode, "history": s.history, "per_sample": s.per_sample}
    return hadeq.DEQ(
        solver="anderson",
        solver_options={"tol": s.hadeq_tol(s.f_tol), "max_iter": s.f_max_iter, **common},
        backward="implicit",
        backward_solver="anderson",
        backward_options={"tol": s.hadeq_tol(s.b_tol), "max_iter": s.b_max_iter, **common},
        warn_unconverged=False,
    )


def make_torchdeq(s: Settings) -> nn.Module:
    import torchdeq
    from torchdeq.solver import anderson_solver, register_solver

    # torchdeq passes only max_iter, tol and stop_mode to its backward solver, so m and
    # lam reach both solves through a solver registered with them bound.
    name = f"anderson_m{s.history}_lam{s.torchdeq_lam:g}"
    register_solver(name, functools.partial(anderson_solver, m=s.history, lam=s.torchdeq_lam))
    return torchdeq.get_deq(
        core="indexing",
        ift=True,
        f_solver=name,
        b_solver=name,
        f_max_iter=s.f_max_iter,
        b_max_iter=s.b_max_iter,
        f_tol=s.f_tol,
        b_tol=s.b_tol,
        f_stop_mode=s.stop_mode,
        b_stop_mode=s.stop_mode,
    )


Run = Callable[[], dict[str, Any]]


def hadeq_runner(deq: hadeq.DEQ, p: Problem, backward: bool) -> Run:
    z0 = torch.zeros(p.z_shape, dtype=p.x.dtype)

    def run() -> dict[str, Any]:
        p.cell.zero_grad(set_to_none=True)
        deq.train(backward)
        with torch.set_grad_enabled(backward):
            inj = p.cell.inject(p.x)
            adjoint: list[hadeq.SolverStats] = []
            z, stats = deq(hadeq.batched(p.cell, inj), z0, on_backward=adjoint.append)
        out: dict[str, Any] = {"z": z.detach(), "stats": stats}
        if backward:
            p.loss(z).backward()
            out["backward_stats"] = adjoint[0] if adjoint else None
        return out

    return run


def torchdeq_runner(deq: nn.Module, p: Problem, backward: bool) -> Run:
    z0 = torch.zeros(p.z_shape, dtype=p.x.dtype)

    def run() -> dict[str, Any]:
        p.cell.zero_grad(set_to_none=True)
        deq.train(backward)
        with torch.set_grad_enabled(backward):
            inj = p.cell.inject(p.x)
            z_out, info = deq(lambda z: p.cell(z, inj), z0)
        z = z_out[-1]
        if backward:
            p.loss(z).backward()
        return {"z": z.detach(), "info": info}

    return run


def gradients(p: Problem) -> dict[str, Tensor]:
    return {n: q.grad.detach().clone() for n, q in p.cell.named_parameters()}


def rel_diff(a: Tensor, b: Tensor) -> float:
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b).clamp_min(1e-30))


def grads_rel_diff(a: dict[str, Tensor], b: dict[str, Tensor]) -> float:
    flat_a = torch.cat([a[k].flatten().double() for k in sorted(b)])
    flat_b = torch.cat([b[k].flatten().double() for k in sorted(b)])
    return rel_diff(flat_a, flat_b)


def counted(p: Problem, run: Run) -> dict[str, Any]:
    """One run with ``f`` instrumented: evaluations and VJPs in forward and backward.

    Both libraries evaluate ``f`` once more with a graph after the forward solve, and
    backpropagate once more through it after the adjoint solve; those are subtracted, so
    the numbers are solver iterations (torchdeq's extra ``f`` in its backward is counted
    separately in ``backward_f``).
    """
    p.cell.count = True
    Counter.calls.update(f=0, vjp=0)
    try:
        out = run()  # forward and (if training) backward
    finally:
        p.cell.count = False
    return {**out, "calls": dict(Counter.calls)}


# ----------------------------------------------------------------------------- measuring


def time_pair(runs: dict[str, Run], repeats: int, inner: int) -> dict[str, list[float]]:
    """Seconds per call of each runner: ``repeats`` runs of ``inner`` calls, interleaved."""
    for run in runs.values():  # warm-up
        run()
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            for _ in range(inner):
                runs[name]()
            times[name].append((time.perf_counter() - start) / inner)
    return times


def reference(p: Problem, backward: bool) -> dict[str, Any]:
    """z* and gradients of a float64 copy, solved to 1e-11 (abs) forward and backward."""
    cell = _float64_copy(p.cell)
    q = Problem(p.name, cell, p.x.double(), p.z_shape, p.target.double())
    deq = hadeq.DEQ(
        solver="anderson",
        solver_options={"tol": 1e-11, "stop_mode": "abs", "max_iter": 400},
        backward_solver="anderson",
        backward_options={"tol": 1e-11, "stop_mode": "abs", "max_iter": 400},
        warn_unconverged=False,
    )
    out = hadeq_runner(deq, q, backward)()
    res = {"z": out["z"].float(), "residual_max": float(out["stats"].residual.max())}
    if backward:
        res["grads"] = {k: v.float() for k, v in gradients(q).items()}
        res["backward_residual_max"] = float(out["backward_stats"].residual.max())
    return res


def _float64_copy(cell: nn.Module) -> nn.Module:
    return copy.deepcopy(cell).double()


def iteration_summary(name: str, s: Settings, out: dict[str, Any], backward: bool) -> dict:
    calls = out["calls"]
    if name == "hadeq":
        st = out["stats"]
        res: dict[str, Any] = {
            "forward_iterations_mean": float(st.iterations.float().mean()),
            "forward_iterations_max": int(st.iterations.max()),
            "forward_converged_fraction": st.converged_fraction,
            "forward_residual_max": float(st.residual.max()),
        }
        # Cross-check: the loop calls f once per iteration of its longest sample.
        assert calls["f"] - backward == res["forward_iterations_max"], calls
        if backward:
            bs = out["backward_stats"]
            res.update(
                backward_iterations_mean=float(bs.iterations.float().mean()),
                backward_iterations_max=int(bs.iterations.max()),
                backward_converged_fraction=bs.converged_fraction,
                backward_residual_max=float(bs.residual.max()),
                backward_f=0,
            )
            assert calls["vjp"] - 1 == res["backward_iterations_max"], calls
        return res
    # torchdeq solves the whole batch together: every sample gets the same iterations.
    info = out["info"]
    # In training it also evaluates f once after the solve and once in its backward.
    fwd = calls["f"] - (2 if backward else 0)
    lowest = info[f"{s.stop_mode}_lowest"]
    res = {
        "forward_iterations_mean": float(fwd),
        "forward_iterations_max": fwd,
        "forward_converged_fraction": float((lowest < s.f_tol).float().mean()),
        "forward_residual_max": float(lowest.max()),
    }
    if backward:
        bwd = calls["vjp"] - 1
        res.update(backward_iterations_mean=float(bwd), backward_iterations_max=bwd,
                   backward_f=1)
    return res


def bench_problem(p: Problem, s: Settings, backward: bool, repeats: int, inner: int) -> dict:
    mode = "forward+backward" if backward else "forward"
    runs = {
        "hadeq": hadeq_runner(make_hadeq(s), p, backward),
        "torchdeq": torchdeq_runner(make_torchdeq(s), p, backward),
    }

    result: dict[str, Any] = {"problem": p.name, "mode": mode, "batch": p.z_shape[0],
                              "z_shape": list(p.z_shape)}
    outs = {}
    for name, run in runs.items():
        out = counted(p, run)
        outs[name] = {"z": out["z"], "grads": gradients(p) if backward else None}
        result[name] = iteration_summary(name, s, out, backward)
    ref = reference(p, backward)
    agree: dict[str, Any] = {
        "z_rel_diff_hadeq_vs_torchdeq": rel_diff(outs["hadeq"]["z"], outs["torchdeq"]["z"]),
        "z_rel_err_hadeq": rel_diff(outs["hadeq"]["z"], ref["z"]),
        "z_rel_err_torchdeq": rel_diff(outs["torchdeq"]["z"], ref["z"]),
        "reference_residual_max": ref["residual_max"],
    }
    if backward:
        agree.update(
            grad_rel_diff_hadeq_vs_torchdeq=grads_rel_diff(
                outs["hadeq"]["grads"], outs["torchdeq"]["grads"]
            ),
            grad_rel_err_hadeq=grads_rel_diff(outs["hadeq"]["grads"], ref["grads"]),
            grad_rel_err_torchdeq=grads_rel_diff(outs["torchdeq"]["grads"], ref["grads"]),
            reference_backward_residual_max=ref["backward_residual_max"],
        )
    result["agreement"] = agree

    times = time_pair(runs, repeats, inner)
    ratios = [a / b for a, b in zip(times["hadeq"], times["torchdeq"], strict=True)]
    for name in runs:
        result[name]["time_ms_median"] = 1e3 * statistics.median(times[name])
        result[name]["time_ms_runs"] = [1e3 * t for t in times[name]]
    result["ratio_hadeq_over_torchdeq"] = statistics.median(ratios)
    result["ratio_runs"] = ratios
    return result


# ------------------------------------------------------------------------------- output


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, cwd=os.path.dirname(os.path.abspath(__file__)))
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def versions() -> dict[str, str | None]:
    try:
        import torchdeq

        td = getattr(torchdeq, "__version__", None)
        if td is None:
            from importlib.metadata import version

            td = version("torchdeq")
    except Exception:  # reported as missing, the caller fails with a clear message
        td = None
    return {"python": sys.version.split()[0], "torch": torch.__version__, "torchdeq": td,
            "hadeq": hadeq.__version__}


# --------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="hadeq vs torchdeq: Anderson DEQ forward and forward+backward (implicit) "
        "on the same MLP and conv maps, at equal tolerance.",
    )
    ap.add_argument("--out", help="write the results as JSON to this path (atomically)")
    ap.add_argument("--repeats", type=int, default=15, help="timed runs per case (default 15)")
    ap.add_argument("--inner", type=int, default=3, help="calls per timed run (default 3)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 2 repeats of 1 call, smaller batches")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--stop-mode", choices=("abs", "rel"), default="abs",
                    help="residual measure of both libraries (default abs, torchdeq's)")
    ap.add_argument("--f-tol", type=float, default=1e-4, help="forward tolerance (1e-4)")
    ap.add_argument("--b-tol", type=float, default=1e-6,
                    help="backward tolerance (1e-6, torchdeq's default)")
    ap.add_argument("--max-iter", type=int, default=50, help="forward max iterations (50)")
    ap.add_argument("--b-max-iter", type=int, default=50, help="backward max iterations (50)")
    ap.add_argument("--history", type=int, default=6, help="Anderson m (6, torchdeq's)")
    ap.add_argument("--torchdeq-lam", type=float, default=1e-4,
                    help="torchdeq's Anderson ridge λ (absolute), forward and backward "
                    "(1e-4, its default)")
    ap.add_argument("--norm", type=float, default=0.9, help="‖W‖₂ of both maps (0.9)")
    ap.add_argument("--batch-stop", action="store_true",
                    help="hadeq stops when all samples are done (per_sample=False)")
    ap.add_argument("--problems", default="mlp,conv", help="comma list of mlp, conv")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for name in ("repeats", "inner", "threads", "max_iter", "b_max_iter", "history"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be ≥ 1")
    if not (0.0 < args.norm < 1.0):
        ap.error("--norm must be in (0, 1) so that both maps are contractions")
    if args.f_tol <= 0 or args.b_tol <= 0:
        ap.error("--f-tol and --b-tol must be > 0")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    try:
        import torchdeq  # noqa: F401
    except ImportError:
        sys.exit("torchdeq is not installed: pip install torchdeq (without changing torch)")
    torch.set_num_threads(args.threads)
    repeats, inner = (2, 1) if args.quick else (args.repeats, args.inner)
    mlp_batch, conv_batch = (32, 8) if args.quick else (128, 32)
    s = Settings(args.f_tol, args.b_tol, args.stop_mode, args.max_iter, args.b_max_iter,
                 args.history, not args.batch_stop, args.torchdeq_lam)
    wanted = [w.strip() for w in args.problems.split(",") if w.strip()]
    problems = [p for p in make_problems(args.seed, args.norm, mlp_batch, conv_batch)
                if p.name in wanted]
    results = []
    for p in problems:
        for backward in (False, True):
            results.append(bench_problem(p, s, backward, repeats, inner))
    data = {
        "benchmark": "solvers",
        "command": command_line(__file__, argv),
        "config": {**vars(args), "repeats_used": repeats, "inner_used": inner,
                   "mlp_batch": mlp_batch, "conv_batch": conv_batch,
                   "hadeq_tol_forward": s.hadeq_tol(s.f_tol),
                   "hadeq_tol_backward": s.hadeq_tol(s.b_tol)},
        "versions": versions(),
        "git_commit": git_commit(),
        "results": results,
    }
    print(solvers_tables(data))
    if args.out:
        write_json_atomic(args.out, data)
        print(f"\nwrote {args.out}")
    return data


if __name__ == "__main__":
    main()
