"""``hadeq bench``: the experiment suite — energy, time and quality of hybrid analog DEQs
against digital DEQs and baselines, with ablations and a report."""

from __future__ import annotations

import argparse
import json
import os

from hadeq.validation import check_int

DESCRIPTION = """\
Run a benchmark suite end to end: train the digital DEQ, the hybrid analog DEQ
(physics-aware and standard training) and the baselines on each task, measure quality on
the simulated hardware, digital solver iterations, analog settling time, energy per
inference and core SNR, sweep weight bits and read noise, ablate the physics-informed
regularizers, and vary the decisive energy assumptions. Writes
OUT/SUITE/results.json (schema hadeq.bench/1), OUT/SUITE/report.md and PNG plots.
Finished cells are cached by a hash of their configuration (OUT/SUITE/cells/KEY.json): a
rerun skips them. Each cell trains in OUT/SUITE/runs/TASK/ROLE/seedN, a folder that records
the cell's key: an interrupted cell resumes there, and a folder left by an earlier
configuration of the same cell is replaced (the run says so), never resumed. The progress
bar names the cells running and, per task, the time its remaining cells should take
(estimated from its finished ones).

suites:
  quick       Fashion-MNIST (6k/2k images), Darcy 32², pendulum; small models, 3 seeds (default)
  full        digits, all of Fashion-MNIST, Darcy with more data, Burgers, pendulum; 3 seeds
  imagenet32  ImageNet32 at scale: needs --data-path and a GPU (use --dry-run to check)
  scaling     random feedback-dominated cores of n = 32 … 1024 neurons, 3 seeds: energy,
              time and area ratios against n under each energy-model assumption, and the
              crossover n (OUT/scaling/; --tasks, --jobs, --executor and --data-path do
              not apply)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="run a benchmark suite and write its report",
                              description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="quick",
                   help="quick (default), full, imagenet32 or scaling")
    p.add_argument("--out", default="results", help="output root (default: results)")
    p.add_argument("--jobs", type=int, default=1,
                   help="cells run in parallel worker processes (default 1)")
    p.add_argument("--executor", default="local",
                   help="local (processes on this machine) or ray (RAY_ADDRESS or local Ray)")
    p.add_argument("--tasks", nargs="+", metavar="TASK",
                   help="run only these tasks of the suite")
    p.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                   help="override the suite's seeds")
    p.add_argument("--data-path", help="data directory for suites that need one (imagenet32)")
    p.add_argument("--dry-run", action="store_true",
                   help="validate everything and list the cells without running them")
    p.add_argument("--json", action="store_true", help="print the headline as JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from hadeq.bench.cells import validate_cell
    from hadeq.bench.report import headline_table
    from hadeq.bench.run import EXECUTORS, plan_cells, run_suite
    from hadeq.bench.scaling import SUITE as SCALING
    from hadeq.bench.suites import SUITES, get_suite
    from hadeq.errors import ConfigError
    from hadeq.validation import check_choice

    check_choice("suite", args.suite, [*SUITES, SCALING])
    if args.suite == SCALING:
        return run_scaling_suite(args)
    suite = get_suite(args.suite)
    check_int("jobs", args.jobs, 1, 1024)
    check_choice("executor", args.executor, list(EXECUTORS))
    if args.seeds:
        for seed in args.seeds:
            check_int("seeds", seed, 0, 2**31 - 1)
        suite = dataclasses.replace(suite, seeds=tuple(args.seeds), tasks=tuple(
            dataclasses.replace(t, seeds=None) for t in suite.tasks))
    if args.tasks:
        known = [t.task for t in suite.tasks]
        for name in args.tasks:
            check_choice("tasks", name, known)
        suite = dataclasses.replace(
            suite, tasks=tuple(t for t in suite.tasks if t.task in args.tasks))
    if suite.requires_data_path:
        if not args.data_path:
            raise ConfigError("data-path", None, f"suite {suite.name!r} needs --data-path DIR "
                              "holding its data set")
        if not os.path.isdir(args.data_path):
            raise ConfigError("data-path", args.data_path, "an existing directory")
        suite = dataclasses.replace(suite, tasks=tuple(
            dataclasses.replace(t, task_options={**t.task_options, "root": args.data_path})
            for t in suite.tasks))
    cells = plan_cells(suite)
    for cell in cells:
        validate_cell(cell)
    if args.dry_run:
        gpu = " (needs a GPU)" if suite.requires_gpu else ""
        print(f"suite {suite.name}{gpu}: {len(cells)} cells")
        for cell in cells:
            print(f"  {cell.label}  key={cell.key()}")
        return 0
    if suite.requires_gpu:
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("suite", suite.name, "a machine with a CUDA GPU (none found); "
                              "--dry-run checks the configuration without one")
    results = run_suite(suite, args.out, jobs=args.jobs, executor=args.executor,
                        progress=not args.no_progress)
    out_dir = os.path.join(args.out, suite.name)
    if args.json:
        print(json.dumps({k: t["headline"] for k, t in results["tasks"].items()}, indent=2))
    else:
        print(headline_table(results))
        print(f"\nwrote {out_dir}/results.json and {out_dir}/report.md")
    return 0


def run_scaling_suite(args: argparse.Namespace) -> int:
    """``--suite scaling``: validate its configuration, list the plan (``--dry-run``) or
    run it; options of the training suites are refused, one line naming each."""
    from hadeq.bench.scaling import ScalingConfig, crossover_lines, plan_lines, run_scaling
    from hadeq.errors import ConfigError

    allowed = "not set: the scaling suite runs in one process on random cores"
    if args.tasks:
        raise ConfigError("tasks", args.tasks, allowed)
    if args.data_path is not None:
        raise ConfigError("data-path", args.data_path, allowed)
    if args.jobs != 1:
        raise ConfigError("jobs", args.jobs, "1 for the scaling suite (it runs in one process)")
    if args.executor != "local":
        raise ConfigError("executor", args.executor, "local for the scaling suite")
    for seed in args.seeds or ():
        check_int("seeds", seed, 0, 2**31 - 1)
    config = ScalingConfig.parse({"seeds": args.seeds} if args.seeds else {})
    if args.dry_run:
        print("\n".join(plan_lines(config)))
        return 0
    results = run_scaling(config, args.out, progress=not args.no_progress)
    if args.json:
        print(json.dumps({p["label"]: p["crossover"] for p in results["points"]}, indent=2))
    else:
        print("\n".join(crossover_lines(results)))
        out_dir = os.path.join(args.out, "scaling")
        print(f"\nwrote {out_dir}/results.json and {out_dir}/report.md")
    return 0
