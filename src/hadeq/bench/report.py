"""``report.md`` and PNG plots, drawn from ``results.json`` alone (never in-memory state)."""

from __future__ import annotations

import math
import os
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: files only
import matplotlib.pyplot as plt

from hadeq import constants as C
from hadeq.energy import BUCKETS
from hadeq.io import write_text_atomic

EXPECTED = {
    "energy_ratio": f"{C.PROPOSAL_ENERGY_RATIO[0]:g}–{C.PROPOSAL_ENERGY_RATIO[1]:g}×",
    "time_ratio": f"{C.PROPOSAL_TIME_RATIO[0]:g}–{C.PROPOSAL_TIME_RATIO[1]:g}×",
    "retention": f"> {C.PROPOSAL_RETENTION:.0%}",
}


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "∞"
        if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def headline_table(results: dict[str, Any]) -> str:
    """Per task: energy ratio, time ratio and retention beside the proposal's expectations."""
    rows = []
    for name, task in results["tasks"].items():
        h = task["headline"]
        rows.append([name, f"{_fmt(h['energy_ratio'])}×", f"{_fmt(h['time_ratio'])}×",
                     f"{h['retention']:.1%}" if math.isfinite(h["retention"]) else "n/a",
                     _fmt(h["snr_db"]), f"{_fmt(h['digital_quality'])} → "
                     f"{_fmt(h['hybrid_quality'])} ({h['metric']})"])
    rows.append(["*proposal expects*", EXPECTED["energy_ratio"], EXPECTED["time_ratio"],
                 EXPECTED["retention"], "≥ 20", ""])
    return _table(["task", "energy ratio (digital/hybrid)", "time-to-equilibrium ratio",
                   "retention", "core SNR dB", "quality digital → hybrid"], rows)


def _models_table(task: dict[str, Any]) -> str:
    rows = []
    for name, m in task["models"].items():
        rows.append([name, m.get("hardware_label", "–"),
                     f"{_fmt(m['quality_mean'])} ± {_fmt(m['quality_std'], 2)}",
                     m.get("energy_j"), m.get("latency_ns"), m.get("iterations_mean"),
                     m.get("settling_time_ns"), m.get("snr_db"), m.get("z_snr_db"),
                     m.get("feedback_share"), m.get("parameters")])
    return _table(["model", "hardware", task["metric"], "energy J", "latency ns",
                   "digital iterations", "settling ns", "MVM SNR dB", "z* SNR dB",
                   "feedback share", "parameters"], rows)


def _sweep_table(sweep: dict[str, Any], name: str) -> str:
    rows = []
    for i, v in enumerate(sweep["values"]):
        rows.append([v] + [f"{_fmt(sweep[k][i])} ± {_fmt(sweep[k + '_std'][i], 2)}"
                           for k in ("physics_aware", "standard")])
    return _table([name, "physics-aware", "standard"], rows)


def _plot_sweeps(results: dict[str, Any], key: str, xlabel: str, path: str) -> None:
    tasks = [(n, t) for n, t in results["tasks"].items() if key in t.get("ablations", {})]
    if not tasks:
        return
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.4), squeeze=False)
    for ax, (name, task) in zip(axes[0], tasks, strict=True):
        sweep = task["ablations"][key]
        for mode, style in (("physics_aware", "o-"), ("standard", "s--")):
            ax.errorbar(sweep["values"], sweep[mode], yerr=sweep[mode + "_std"], fmt=style,
                        capsize=3, label=mode.replace("_", "-"))
        digital = task["models"]["digital_deq"]["quality_mean"]
        ax.axhline(digital, color="grey", lw=1, label="digital DEQ")
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(task["metric"])
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_energy(results: dict[str, Any], path: str) -> None:
    tasks = list(results["tasks"].items())
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks), 3.8), squeeze=False)
    for ax, (name, task) in zip(axes[0], tasks, strict=True):
        models = list(task["models"])
        buckets = sorted({b for m in task["models"].values() for b in m["energy_breakdown_j"]
                          if b != "total"})
        bottom = [0.0] * len(models)
        for bucket in buckets:
            vals = [task["models"][m]["energy_breakdown_j"].get(bucket, 0.0) for m in models]
            if not any(vals):
                continue
            color = f"C{BUCKETS.index(bucket) % 10}" if bucket in BUCKETS else None
            ax.bar(range(len(models)), vals, bottom=bottom, label=bucket, color=color)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        ax.set_yscale("log")
        ax.set_ylim(bottom=max(min(b for b in bottom if b > 0) / 100, 1e-15))
        ax.set_xticks(range(len(models)), [m.replace("_", "\n") for m in models], fontsize=7)
        ax.set_ylabel("energy per inference (J)")
        ax.set_title(name)
    # One legend for every bucket that appears in any panel.
    handles: dict[str, Any] = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), fontsize=7, loc="upper right")
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_convergence(results: dict[str, Any], path: str) -> None:
    tasks = [(n, t) for n, t in results["tasks"].items() if t.get("curves")]
    if not tasks:
        return
    fig, axes = plt.subplots(2, len(tasks), figsize=(4.2 * len(tasks), 6), squeeze=False)
    for j, (name, task) in enumerate(tasks):
        c = task["curves"]
        axes[0][j].semilogy(range(1, len(c["digital_residual"]) + 1), c["digital_residual"])
        axes[0][j].set_xlabel("digital solver iteration")
        axes[0][j].set_ylabel("mean residual")
        axes[0][j].set_title(f"{name}: digital DEQ")
        t = [c["analog_dt_ns"] * k for k in range(len(c["analog_residual"]))]
        axes[1][j].semilogy(t, c["analog_residual"], color="C1")
        axes[1][j].set_xlabel("time (ns)")
        axes[1][j].set_ylabel("mean residual")
        axes[1][j].set_title(f"{name}: analog settling")
        for ax in (axes[0][j], axes[1][j]):
            ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(results: dict[str, Any], out_dir: str) -> str:
    """Write ``report.md`` and its plots into ``out_dir``; return the report's path."""
    os.makedirs(out_dir, exist_ok=True)
    _plot_sweeps(results, "read_noise", "read noise (fraction of full scale)",
                 os.path.join(out_dir, "quality_vs_noise.png"))
    _plot_sweeps(results, "weight_bits", "weight bits",
                 os.path.join(out_dir, "quality_vs_bits.png"))
    _plot_energy(results, os.path.join(out_dir, "energy_breakdown.png"))
    _plot_convergence(results, os.path.join(out_dir, "convergence.png"))

    env = results["environment"]
    parts = [
        f"# hadeq bench — suite `{results['suite']}`",
        f"Run {results['created_utc']} in {results['wall_time_s']:.0f} s; seeds "
        f"{results['seeds']}; hadeq {env['hadeq']}, torch {env['libraries']['torch']}, commit "
        f"`{env.get('git_commit') or 'unknown'}`. Every number below is read from "
        "`results.json` in this folder.",
        "## Headline",
        headline_table(results),
        "Energy ratio: digital DEQ joules per inference / hybrid joules per inference. "
        "Time-to-equilibrium ratio: digital solver iterations × time per iteration on the "
        "assumed accelerator / measured analog settling time. Retention: hybrid quality "
        "relative to the digital DEQ at the headline hardware (higher is better; see "
        "README for errors and returns).",
    ]
    for name, task in results["tasks"].items():
        parts += [f"## {name}", _models_table(task)]
        abl = task.get("ablations", {})
        if "weight_bits" in abl:
            parts += ["### Quality vs weight bits", _sweep_table(abl["weight_bits"], "bits")]
        if "read_noise" in abl:
            parts += ["### Quality vs read noise", _sweep_table(abl["read_noise"], "read noise")]
        if abl.get("regularizers"):
            rows = [[r["term"], r["quality"], r["near_zero_fraction"], r["iterations_mean"],
                     r["settling_time_ns"], r["energy_j"]] for r in abl["regularizers"]]
            parts += ["### Physics-informed regularizers (each on alone)",
                      _table(["term", task["metric"], "near-zero cells", "digital iterations",
                              "settling ns", "hybrid energy J"], rows)]
        for key, sens in task.get("sensitivity", {}).items():
            rows = [[v, e, t] for v, e, t in zip(sens["values"], sens["energy_ratio"],
                                                 sens["time_ratio"], strict=True)]
            parts += [f"### Sensitivity to `{key}`",
                      _table([key, "energy ratio", "time ratio"], rows)]
    parts += ["## Plots", "![quality vs noise](quality_vs_noise.png)",
              "![quality vs bits](quality_vs_bits.png)",
              "![energy breakdown](energy_breakdown.png)", "![convergence](convergence.png)"]
    path = os.path.join(out_dir, "report.md")
    write_text_atomic(path, "\n\n".join(parts) + "\n")
    return path
