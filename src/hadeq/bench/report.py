"""``report.md`` and PNG plots, drawn from ``results.json`` alone (never in-memory state).

Every "±" in the report and every error bar in the plots is the half-width of a 95 %
interval over seeds (Student's t, :func:`hadeq.bench.stats.interval95`), with its ``n``
stated next to it; a single seed is shown without an interval, and says so.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: files only
import matplotlib.pyplot as plt
import matplotlib.ticker
from scipy import stats as sps

from hadeq import constants as C
from hadeq.bench.schema import DIGITAL, FEEDFORWARD, HYBRID, STANDARD
from hadeq.bench.stats import Interval, interval95
from hadeq.energy import BUCKETS
from hadeq.io import write_text_atomic

EXPECTED = {
    "energy_ratio": f"{C.PROPOSAL_ENERGY_RATIO[0]:g}–{C.PROPOSAL_ENERGY_RATIO[1]:g}×",
    "time_ratio": f"{C.PROPOSAL_TIME_RATIO[0]:g}–{C.PROPOSAL_TIME_RATIO[1]:g}×",
    "retention": f"> {C.PROPOSAL_RETENTION:.0%}",
}

PLOTS: tuple[str, ...] = ("quality_vs_noise.png", "quality_vs_bits.png",
                          "energy_breakdown.png", "convergence.png")
"""The plots :func:`write_report` draws (a sweep plot only when a task has the sweep)."""

PARTS: tuple[str, ...] = ("stem", "core", "converters", "memory", "head")
"""The parts of a DEQ's Amdahl breakdown (:func:`hadeq.energy.amdahl_breakdown`)."""

TRACE_DESIGN = "anderson/fp32"
"""The digital design whose residual the cells record (``measure.digital_iterations``:
Anderson on the ideal float weights) when ``curves`` does not name one."""

UNITS = {"accuracy": "fraction correct", "relative_l2": "relative L2 error",
         "mean_return": "episode return", "return": "episode return"}


# --------------------------------------------------------------------------------------
# Numbers the plots and tables share
# --------------------------------------------------------------------------------------


def direction(higher_is_better: bool) -> str:
    """``↑ higher is better`` or ``↓ lower is better``."""
    return "↑ higher is better" if higher_is_better else "↓ lower is better"


def metric_label(task: Mapping[str, Any]) -> str:
    """A quality axis label: the metric, its unit and its direction."""
    metric = task["metric"]
    unit = UNITS.get(metric)
    name = f"{metric} ({unit})" if unit and unit != metric else metric
    return f"{name}, {direction(task['higher_is_better'])}"


def interval_from_std(mean: float, std: float | None, n: int) -> Interval:
    """The 95 % interval of a mean of ``n`` values with sample standard deviation ``std``:
    half-width ``t_{0.975, n−1} · std / √n`` (NaN when ``n < 2`` or ``std`` is unknown)."""
    if n < 2 or std is None or not math.isfinite(std):
        return Interval(mean, math.nan, n)
    return Interval(mean, float(sps.t.ppf(0.975, n - 1)) * std / math.sqrt(n), n)


def _interval(data: Mapping[str, Any] | None, per_seed: Sequence[float] | None = None
              ) -> Interval:
    """An interval stored as ``{"mean", "ci95", "n"}`` (``ci95`` may be None), or else
    computed from ``per_seed``."""
    if data:
        hw = data.get("ci95")
        return Interval(data["mean"], math.nan if hw is None else float(hw), int(data["n"]))
    return interval95(per_seed or [])


def interval_text(iv: Interval, fmt: str = "{:.3g}", suffix: str = "") -> str:
    """``mean ± half-width (95 % interval, n = 3)``; one value: ``mean (n = 1, no
    interval)``."""
    if iv.n == 0 or not math.isfinite(iv.mean):
        return "n/a"
    mean = fmt.format(iv.mean) + suffix
    if iv.n < 2 or not math.isfinite(iv.half_width):
        return f"{mean} (n = {iv.n}, no interval)"
    return f"{mean} ± {fmt.format(iv.half_width)} (95 % interval, n = {iv.n})"


def legend_n(iv_n: int) -> str:
    """What an error bar is, for a legend: ``95 % interval, n = 3`` or ``n = 1, no
    interval``."""
    return f"95 % interval, n = {iv_n}" if iv_n >= 2 else f"n = {iv_n}, no interval"


def percent_shares(parts: Mapping[str, float]) -> dict[str, float]:
    """Each part's share of the total, in percent (summing to 100; ``total`` is not a
    part). All zeros when the total is zero."""
    values = {k: max(float(v), 0.0) for k, v in parts.items() if k != "total"}
    total = sum(values.values())
    return {k: (100.0 * v / total if total > 0 else 0.0) for k, v in values.items()}


def joules(value: float) -> str:
    """An energy with an SI prefix: ``953 pJ``, ``1.12 nJ``."""
    if value is None or not math.isfinite(value):
        return "n/a"
    for scale, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"),
                          (1e-15, "f")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}J"
    return f"{value:.3g} J"


def ns_per_iteration(task: Mapping[str, Any], design: str | None = None) -> float:
    """Time one iteration of a digital design takes on its accelerator, ns: its core time
    / its mean iterations. ``design`` (``solver/precision``) picks a point of the task's
    digital design grid; None is the charged design (the ``digital_deq`` row)."""
    row: Mapping[str, Any] = task["models"][DIGITAL]
    if design is not None:
        for point in task.get("digital_design", {}).get("grid", []):
            if f"{point['solver']}/{point['precision']}" == design:
                row = point
                break
        else:
            raise KeyError(design)
    return float(row["core_time_ns"]) / float(row["iterations_mean"])


def digital_times_ns(steps: int, ns_per_it: float) -> list[float]:
    """Time at each row of a digital solver's residual trace: row ``k`` is the residual
    the ``k+1``-th iteration computes, charged ``(k+1) · ns_per_it``."""
    return [(k + 1) * ns_per_it for k in range(steps)]


def analog_times_ns(steps: int, dt_ns: float) -> list[float]:
    """Time at each row of the analog loop's residual trace: row ``k`` is at ``k · dt``
    (row 0 is the loop's initial state), as the settling time is measured."""
    return [k * dt_ns for k in range(steps)]


def charged_label(task: Mapping[str, Any]) -> str:
    d = task.get("digital_design") or task["models"][DIGITAL]
    return f"{d.get('solver', '?')}/{d.get('precision', '?')}"


def _seed_count(task: Mapping[str, Any], model: str, results: Mapping[str, Any]) -> int:
    m = task["models"].get(model, {})
    if m.get("quality_per_seed") is not None:
        return len(m["quality_per_seed"])
    return len(results.get("seeds", []))


# --------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------


def _save(fig: Any, path: str) -> None:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _plot_sweeps(results: dict[str, Any], key: str, xlabel: str, path: str,
                 log_x: bool = False) -> None:
    tasks = [(n, t) for n, t in results["tasks"].items() if key in t.get("ablations", {})]
    if not tasks:
        return
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.0 * len(tasks), 4.0), squeeze=False)
    for ax, (name, task) in zip(axes[0], tasks, strict=True):
        sweep = task["ablations"][key]
        for mode, model, style in (("physics_aware", HYBRID, "o-"),
                                   ("standard", STANDARD, "s--")):
            n = _seed_count(task, model, results)
            ivs = [interval_from_std(m, s, n)
                   for m, s in zip(sweep[mode], sweep.get(mode + "_std", [None] * len(
                       sweep[mode])), strict=True)]
            yerr = [iv.half_width if math.isfinite(iv.half_width) else 0.0 for iv in ivs]
            ax.errorbar(sweep["values"], sweep[mode], yerr=yerr, fmt=style, capsize=3,
                        label=f"hybrid, {mode.replace('_', '-')} training ({legend_n(n)})")
        digital = task["models"][DIGITAL]
        iv = _interval(digital.get("quality_interval"), digital.get("quality_per_seed"))
        ax.axhline(iv.mean, color="grey", lw=1,
                   label=f"digital DEQ, {charged_label(task)} ({legend_n(iv.n)})")
        if iv.n >= 2 and math.isfinite(iv.half_width):
            ax.axhspan(iv.mean - iv.half_width, iv.mean + iv.half_width, color="grey",
                       alpha=0.15, lw=0)
        if log_x:
            ax.set_xscale("log")
        ax.set_xticks(sweep["values"], [f"{v:g}" for v in sweep["values"]])
        ax.minorticks_off()
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric_label(task))
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.17))
    fig.tight_layout()
    _save(fig, path)


def _stack(ax: Any, labels: list[str], shares: list[dict[str, float]], totals: list[float],
           order: Sequence[str], colors: Mapping[str, str]) -> None:
    """Percentage stacks (each bar 100 %) with each bar's absolute total written above."""
    bottom = [0.0] * len(labels)
    for key in order:
        vals = [s.get(key, 0.0) for s in shares]
        if not any(vals):
            continue
        ax.bar(range(len(labels)), vals, bottom=bottom, label=key, color=colors[key],
               width=0.7, edgecolor="white", lw=0.5)
        for i, (b, v) in enumerate(zip(bottom, vals, strict=True)):
            if v >= 8.0:
                ax.text(i, b + v / 2, f"{v:.0f} %", ha="center", va="center", fontsize=6.5,
                        color="white")
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    for i, total in enumerate(totals):
        ax.text(i, 101.5, joules(total), ha="center", va="bottom", fontsize=7)
    ax.set_ylim(0, 112)
    ax.set_yticks(range(0, 101, 20))
    ax.set_xticks(range(len(labels)), labels, fontsize=7)
    ax.set_ylabel("share of energy per inference (%)")


def _row_legend(fig: Any, axes: Sequence[Any], row_axis: Any, title: str) -> None:
    """One legend for a row of panels (every entry of any panel), right of the row."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    row_axis.legend(list(handles.values()), list(handles), fontsize=7, title=title,
                    title_fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                    borderaxespad=0)


def _plot_energy(results: dict[str, Any], path: str) -> None:
    tasks = list(results["tasks"].items())
    amdahl = any(t.get("headline", {}).get("amdahl") for _, t in tasks)
    rows = 2 if amdahl else 1
    fig, axes = plt.subplots(rows, len(tasks), figsize=(4.4 * len(tasks) + 1.6, 3.9 * rows),
                             squeeze=False)
    bucket_colors = {b: f"C{i % 10}" for i, b in enumerate(BUCKETS)}
    part_colors = {p: c for p, c in zip(PARTS, ("#bcbd22", "#17becf", "#e377c2",
                                                bucket_colors["memory"], "#7f7f7f"),
                                               strict=True)}
    for j, (name, task) in enumerate(tasks):
        models = [m for m, row in task["models"].items() if row.get("energy_breakdown_j")]
        breakdowns = [task["models"][m]["energy_breakdown_j"] for m in models]
        totals = [b.get("total", sum(v for k, v in b.items() if k != "total"))
                  for b in breakdowns]
        order = list(BUCKETS) + sorted({k for b in breakdowns for k in b} - set(BUCKETS)
                                       - {"total"})
        colors = {**{k: f"C{i % 10}" for i, k in enumerate(order)}, **bucket_colors}
        labels = [m.replace("hybrid_", "hybrid\n").replace("digital_deq", "digital DEQ\n"
                  + charged_label(task)).replace("_", " ") for m in models]
        _stack(axes[0][j], labels, [percent_shares(b) for b in breakdowns], totals, order,
               colors)
        axes[0][j].set_title(f"{name}: by component\n(total J per inference above each "
                             "bar, ↓ lower is better)", fontsize=9)
        if rows == 2:
            split = task.get("headline", {}).get("amdahl")
            ax = axes[1][j]
            if not split:
                ax.set_axis_off()
                continue
            machines = [k for k in ("digital", "hybrid") if k in split]
            _stack(ax, [f"digital DEQ\n{charged_label(task)}" if k == "digital"
                        else "hybrid DEQ\n(physics-aware)" for k in machines],
                   [percent_shares(split[k]["energy_j"]) for k in machines],
                   [sum(split[k]["energy_j"].values()) for k in machines], PARTS, part_colors)
            ax.set_title(f"{name}: by part (Amdahl)\n(total J per inference above each bar, "
                         "↓ lower is better)", fontsize=9)
    _row_legend(fig, axes[0], axes[0][-1], "component")
    if rows == 2:
        _row_legend(fig, axes[1], axes[1][-1], "part")
    fig.tight_layout()
    _save(fig, path)


def convergence_series(results: Mapping[str, Any], task: Mapping[str, Any]
                       ) -> dict[str, Any]:
    """What the convergence plot draws for ``task``, every x in ns: for ``digital`` and
    ``analog``, ``t_ns`` and the residual curves present (``median``, ``p99``; ``mean``,
    over the samples still running, when the distribution was not recorded), the
    tolerance, the tables' mean times, and the digital trace's design."""
    c = task["curves"]
    trace_design = c.get("digital_design", TRACE_DESIGN)
    try:
        t_it = ns_per_iteration(task, None if trace_design == charged_label(task)
                                else trace_design)
    except (KeyError, ZeroDivisionError, TypeError):
        t_it = ns_per_iteration(task)
    out: dict[str, Any] = {"tol": c.get("tol", results.get("config", {}).get("settle_tol")),
                           "digital_design": trace_design, "ns_per_iteration": t_it,
                           "charged_design": charged_label(task)}
    for side, key_prefix in (("digital", "digital_residual"), ("analog", "analog_residual")):
        curves = {stat: c[f"{key_prefix}_{stat}"] for stat in ("median", "p99")
                  if c.get(f"{key_prefix}_{stat}")}
        if not curves:
            curves = {"mean": c[key_prefix]}
        steps = len(next(iter(curves.values())))
        t = (digital_times_ns(steps, t_it) if side == "digital"
             else analog_times_ns(steps, c["analog_dt_ns"]))
        out[side] = {"t_ns": t, **curves}
    out["digital"]["table_mean_ns"] = task["models"][DIGITAL].get("core_time_ns")
    out["analog"]["table_mean_ns"] = task["models"][HYBRID].get("sample_time_ns")
    return out


def first_below(t_ns: Sequence[float], residual: Sequence[float], tol: float | None
                ) -> float | None:
    """The first time at which ``residual`` is at or below ``tol`` (None: never)."""
    if tol is None:
        return None
    for t, r in zip(t_ns, residual, strict=True):
        if r is not None and r <= tol:
            return t
    return None


def _plot_convergence(results: dict[str, Any], path: str) -> None:
    tasks = [(n, t) for n, t in results["tasks"].items() if t.get("curves")]
    if not tasks:
        return
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.6 * len(tasks), 5.2), squeeze=False)
    styles = {"median": "-", "p99": "--", "mean": ":"}
    words = {"median": "median over samples", "p99": "p99 over samples",
             "mean": "mean over the samples not yet stopped"}
    for ax, (name, task) in zip(axes[0], tasks, strict=True):
        s = convergence_series(results, task)
        n_seeds = len(task["models"][HYBRID].get("quality_per_seed") or results["seeds"])
        for side, color in (("digital", "C0"), ("analog", "C1")):
            series = s[side]
            what = (f"digital DEQ, {s['digital_design']} ({s['ns_per_iteration']:.3g} ns/it)"
                    if side == "digital" else "analog settling")
            for stat in ("median", "p99", "mean"):
                if stat in series:
                    ax.semilogy(series["t_ns"], series[stat], styles[stat], color=color,
                                label=f"{what}: {words[stat]}")
                    reached = first_below(series["t_ns"], series[stat], s["tol"])
                    if reached is not None:  # where the curve reaches the tolerance
                        ax.plot([reached], [s["tol"]], "o", color=color, ms=4)
            mean_t = series["table_mean_ns"]
            if mean_t is not None and math.isfinite(mean_t):
                which = (f"mean digital core time, {s['charged_design']}"
                         if side == "digital" else "sampling instant t_s (charged)")
                ax.axvline(mean_t, color=color, lw=1, ls="-.",
                           label=f"table: {which} {mean_t:.3g} ns (n = {n_seeds} seed"
                                 f"{'s' if n_seeds != 1 else ''})")
        if s["tol"] is not None:
            ax.axhline(s["tol"], color="k", lw=1, ls=":",
                       label=f"tolerance {s['tol']:.3g} (half an ADC LSB)")
        ax.set_xlabel("time (ns)")
        ax.set_ylabel("residual max_i |f(z) − z|_i (z full scale 1), ↓ lower is better",
                      fontsize=8)
        title = f"{name}: time to equilibrium (one seed's samples)"
        if s["digital_design"] != s["charged_design"]:
            title += (f"\ndigital trace is {s['digital_design']}; "
                      f"{s['charged_design']} is charged")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
    fig.tight_layout()
    _save(fig, path)


def _plot_fronts(results: dict[str, Any], path: str) -> None:
    """Every priced design in the (energy per inference, quality) plane (top row) and the
    (latency, quality) plane (bottom row), the Pareto front of each joined, per task."""
    tasks = [(n, t) for n, t in results["tasks"].items() if t.get("fronts")]
    if not tasks:
        return
    planes = (("energy", "energy_j", "energy per inference, end to end (J, log scale)"),
              ("latency", "latency_ns", "latency per inference, end to end (ns, log scale)"))
    fig, axes = plt.subplots(2, len(tasks), figsize=(5.2 * len(tasks), 9.0), squeeze=False)
    for row, (plane, cost, xlabel) in enumerate(planes):
        for ax, (name, task) in zip(axes[row], tasks, strict=True):
            fronts = task["fronts"]
            points = [p for p in fronts["points"] if p.get(cost) is not None]
            on = {p["design"] for p in fronts[plane]}
            for p in points:
                digital = p["design"].startswith("digital DEQ")
                hybrid = p["design"] in (HYBRID, STANDARD)
                color = "C0" if digital else ("C1" if hybrid else "C2")
                ax.plot(p[cost], p["quality"], "o" if p["design"] in on else "x",
                        color=color, ms=6)
                if not digital or p["design"] in on:
                    ax.annotate(p["design"].replace("digital DEQ ", ""),
                                (p[cost], p["quality"]), fontsize=6,
                                xytext=(3, 3), textcoords="offset points")
            front = fronts[plane]
            ax.plot([p[cost] for p in front], [p["quality"] for p in front], "k--", lw=0.8,
                    label="Pareto front (o: on it, x: dominated)")
            ax.plot([], [], "o", color="C0", label="digital DEQ (solver/precision)")
            ax.plot([], [], "o", color="C1", label="hybrid DEQs")
            ax.plot([], [], "o", color="C2", label="baselines and the digital FF network")
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # no crowding
            ax.set_xlabel(xlabel)
            ax.set_ylabel(f"{task['metric']} {direction(task['higher_is_better'])[0]}")
            ax.set_title(f"{name}: quality against {plane} (mean over seeds)", fontsize=9)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    fig.tight_layout()
    _save(fig, path)


def _plot_anytime(results: dict[str, Any], path: str) -> None:
    """Quality against time for every task with the curves: the hybrid sampled at
    fractions of its ``t_s`` and the digital DEQ stopped after k iterations of each
    solver (k × its time per iteration of the charged design's accelerator)."""
    tasks = [(n, t) for n, t in results["tasks"].items() if t.get("anytime", {}).get("hybrid")]
    if not tasks:
        return
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.6), squeeze=False)
    for ax, (name, task) in zip(axes[0], tasks, strict=True):
        anytime = task["anytime"]
        hybrid = anytime["hybrid"]
        ax.plot(hybrid["time_ns"], hybrid["quality"], "o-", color="C1",
                label="hybrid: the circuit sampled at t")
        t_s = task["models"][HYBRID].get("sample_time_ns")
        if t_s:
            ax.axvline(t_s, color="C1", ls="-.", lw=1, label=f"t_s = {t_s:.3g} ns (charged)")
        try:
            t_it = ns_per_iteration(task)
        except (KeyError, ZeroDivisionError, TypeError):
            t_it = None
        for key, color in (("digital_picard", "C0"), ("digital_anderson", "C2")):
            curve = anytime.get(key)
            if curve and t_it:
                ax.plot([k * t_it for k in curve["iterations"]], curve["quality"], "s--",
                        color=color, ms=3,
                        label=f"digital DEQ, {key.split('_')[1]} fp32 stopped after k "
                              f"iterations ({t_it:.3g} ns each)")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # no crowded labels
        ax.set_xlabel("time after the input (ns, log scale)")
        ax.set_ylabel(f"{task['metric']} {direction(task['higher_is_better'])[0]}")
        ax.set_title(f"{name}: quality against time (mean over seeds)", fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1)
    fig.tight_layout()
    _save(fig, path)


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------


def format_number(value: Any, digits: int = 3) -> str:
    """A number for a report table: ``digits`` significant digits, scientific notation
    outside [1e-3, 1e4), ``–`` for None, ``n/a`` for NaN, yes/no for booleans."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
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
    lines += ["| " + " | ".join(format_number(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{format_number(value)}×"


def _headline_interval(h: Mapping[str, Any], key: str, fmt: str = "{:.3g}",
                       suffix: str = "") -> str:
    iv = h.get("intervals", {}).get(key)
    if iv is None:
        value = h.get(key)
        return "n/a" if value is None else fmt.format(value) + suffix
    return interval_text(_interval(iv), fmt, suffix)


def _snr_cell(model: Mapping[str, Any]) -> str:
    """The crossbar SNR at the headline, with the read noise found for it if any."""
    snr = format_number(model.get("snr_db"))
    noise = model.get("read_noise")
    return snr if noise is None else f"{snr} (read noise {noise:.2g})"


def headline_hardware_text(results: dict[str, Any]) -> str:
    """What the headline hardware is in ``results``: the chip every analog model is
    trained on and, where the suite scores the headline at a crossbar SNR, the read noise
    found for it per task and model (mean over seeds)."""
    cfg = results.get("config", {})
    chip = cfg.get("headline_hardware", {})
    preset = (f"the `{chip.get('preset', '?')}` preset with {chip.get('weight_bits', '?')}-bit "
              f"weights and read noise {chip.get('read_noise', '?')} of full scale")
    target = cfg.get("headline_snr_db")
    if target is None:
        return f"Headline hardware: {preset}."
    found = []
    for name, task in results["tasks"].items():
        models = []
        for model, m in task["models"].items():
            if m.get("read_noise") is None:
                continue
            static = format_number(m.get("static_snr_db"))
            models.append(f"{model} {m['read_noise']:.2g} ({static} dB without read noise"
                          + (", not reached by every seed)" if m.get("snr_reached") is False
                             else ")"))
        if models:
            found.append(f"{name}: " + ", ".join(models))
    return (f"Headline hardware: every analog model is trained on {preset} and scored "
            f"where its crossbars measure the proposal's {target:g} dB on that chip: the "
            "read noise is found per trained model, by measurement (a hybrid's core "
            "crossbar at its equilibria, a baseline's crossbars pooled); a model whose "
            "crossbars are below it without read noise is scored with none. The read "
            "noise found (fraction of full scale) and the crossbars' SNR without read "
            "noise, means over seeds: "
            + "; ".join(found) + ".")


def headline_table(results: dict[str, Any]) -> str:
    """Per task: the charged digital design, energy ratio, time-to-equilibrium ratio and
    retention (mean ± 95 % interval over seeds) beside the proposal's expectations; then
    the ratios at both scopes (core-only and end-to-end: energy, time, area)."""
    rows = []
    for name, task in results["tasks"].items():
        h = task["headline"]
        rows.append([name, charged_label(task), _headline_interval(h, "energy_ratio",
                                                                   suffix="×"),
                     _headline_interval(h, "time_ratio", suffix="×"),
                     _headline_interval(h, "retention", "{:.1%}"), _snr_cell(h),
                     f"{format_number(h['digital_quality'])} → "
                     f"{format_number(h['hybrid_quality'])} "
                     f"({h['metric']}, {direction(task['higher_is_better'])[0]})"])
    rows.append(["*proposal expects*", "", EXPECTED["energy_ratio"], EXPECTED["time_ratio"],
                 EXPECTED["retention"], "≥ 20", ""])
    main = _table(["task", "digital design charged", "energy ratio (digital/hybrid)",
                   "time-to-equilibrium ratio", "retention", "core SNR dB at the headline",
                   "quality digital → hybrid"], rows)
    scoped = scope_table(results)
    return main + ("\n\n" + scoped if scoped else "")


def scope_table(results: dict[str, Any]) -> str:
    """Digital ÷ hybrid energy, time and area ratios, core-only and end-to-end, per task
    (ratios of the seed-mean reports; > 1: the hybrid uses less). Empty when no task has
    them."""
    rows = []
    for name, task in results["tasks"].items():
        h = task["headline"]
        if "core_only" not in h:
            continue
        for scope, label in (("core_only", "core-only"), ("end_to_end", "end-to-end")):
            r = h[scope]
            rows.append([name, label, _ratio(r.get("energy_ratio")),
                         _ratio(r.get("time_ratio")), _ratio(r.get("area_ratio"))])
    if not rows:
        return ""
    return _table(["task", "scope", "energy ratio", "time ratio", "area ratio"], rows)


def matched_table(results: dict[str, Any]) -> str:
    """Core time ratio against digital accelerators of the analog core's area and power."""
    rows = []
    for name, task in results["tasks"].items():
        m = task["headline"].get("matched_accelerators")
        if not m:
            continue
        cells: list[Any] = [name, charged_label(task)]
        for key in ("equal_area", "equal_power"):
            point = m.get(key)
            cells += (["does not fit", "–"] if point is None
                      else [point["macs_per_cycle"], _ratio(point["core_time_ratio"])])
        cells += [m.get("analog_core_area_mm2"), m.get("analog_core_power_w")]
        rows.append(cells)
    if not rows:
        return ""
    return _table(["task", "digital design", "equal-area MACs/cycle", "core time ratio",
                   "equal-power MACs/cycle", "core time ratio", "analog core mm²",
                   "analog core W"], rows)


def amdahl_table(task: Mapping[str, Any]) -> str:
    split = task["headline"].get("amdahl")
    if not split:
        return ""
    rows = []
    shares = {k: percent_shares(split[k]["energy_j"]) for k in ("digital", "hybrid")}
    for part in PARTS:
        rows.append([part] + [f"{joules(split[k]['energy_j'].get(part, 0.0))} "
                              f"({shares[k].get(part, 0.0):.1f} %)"
                              for k in ("digital", "hybrid")])
    rows.append(["total"] + [joules(sum(split[k]["energy_j"].values()))
                             for k in ("digital", "hybrid")])
    return _table(["part", f"digital DEQ ({charged_label(task)})", "hybrid DEQ"], rows)


def design_table(task: Mapping[str, Any]) -> str:
    """The digital design grid: every solver × precision measured, the one charged."""
    design = task.get("digital_design")
    if not design:
        return ""
    rows = [[g["solver"], g["precision"],
             interval_text(interval95(g.get("quality_per_seed") or [g["quality_mean"]])),
             g["iterations_mean"], g.get("core_time_ns"), g["energy_j"], g["admissible"],
             "**charged**" if g["chosen"] else ""] for g in design["grid"]]
    return _table(["solver", "precision",
                   f"{task['metric']} {direction(task['higher_is_better'])[0]}",
                   "iterations", "core time ns", "energy J", "admissible", "chosen"], rows)


def calibration_table(results: dict[str, Any]) -> str:
    cal = results.get("calibration")
    if not cal:
        return ""
    rows = []
    for side in ("digital", "analog"):
        if side not in cal:
            continue
        for check in [cal[side], *cal[side].get("also", [])]:
            window = check.get("window") or [math.nan, math.nan]
            rows.append([side, check["reference"], check.get("node_nm"),
                         check["model_tops_per_w"], check["reference_tops_per_w"],
                         check["ratio"], f"{window[0]:g}–{window[1]:g}",
                         "yes" if check["within"] else "**no**"])
    return _table(["machine", "reference", "node nm", "model TOPS/W", "reference TOPS/W",
                   "model / reference", "window", "within"], rows)


def _models_table(task: dict[str, Any]) -> str:
    rows = []
    for name, m in task["models"].items():
        iv = _interval(m.get("quality_interval"), m.get("quality_per_seed"))
        if iv.n == 0 and m.get("quality_mean") is not None:
            iv = Interval(m["quality_mean"], math.nan, 1)
        rows.append([name, m.get("hardware_label", "–"), interval_text(iv),
                     m.get("energy_j"), m.get("latency_ns"), m.get("iterations_mean"),
                     m.get("settling_time_ns"), m.get("sample_time_ns"),
                     m.get("proxy_quality_mean"), _snr_cell(m), m.get("z_snr_db"),
                     m.get("feedback_share"), m.get("parameters")])
    return _table(["model", "hardware",
                   f"{task['metric']} {direction(task['higher_is_better'])[0]}",
                   "energy J", "latency ns", "digital iterations", "settling ns (mean)",
                   "t_s ns (charged)", "proxy quality", "crossbar SNR dB", "z* SNR dB",
                   "feedback share", "parameters"], rows)


def _sweep_table(task: dict[str, Any], sweep: dict[str, Any], name: str,
                 results: dict[str, Any]) -> str:
    n = {mode: _seed_count(task, model, results)
         for mode, model in (("physics_aware", HYBRID), ("standard", STANDARD))}
    rows = []
    for i, v in enumerate(sweep["values"]):
        rows.append([v] + [interval_text(interval_from_std(
            sweep[k][i], (sweep.get(k + "_std") or [None] * len(sweep[k]))[i], n[k]))
            for k in ("physics_aware", "standard")])
    return _table([name, f"physics-aware {direction(task['higher_is_better'])[0]}",
                   f"standard {direction(task['higher_is_better'])[0]}"], rows)


def _sweep_note(results: dict[str, Any], name: str) -> str:
    """Control tasks: the episodes behind each sweep point against the headline's."""
    if results["tasks"][name].get("kind") != "control":
        return ""
    for plan in results.get("config", {}).get("tasks", []):
        if plan.get("task") == name and plan.get("sweep_episodes"):
            headline = (plan.get("task_options") or {}).get("n_episodes")
            return (f"Each sweep point: {plan['sweep_episodes']} episodes per seed (fewer than "
                    "the headline's, so the sweeps are noisier); the "
                    f"headline: {headline if headline is not None else 'the default number'}"
                    " per seed.")
    return ""


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------


def _as_good(a: float, b: float, higher_is_better: bool, tolerance: float) -> bool:
    """Whether quality ``a`` is at least ``b``, up to ``tolerance`` relative to ``|b|``."""
    slack = tolerance * abs(b)
    return a >= b - slack if higher_is_better else a <= b + slack


def _design_name(design: str) -> str:
    return "the digital feed-forward network" if design == FEEDFORWARD else design


def where_it_wins(results: Mapping[str, Any]) -> list[str]:
    """One generated sentence per task: whether the physics-aware hybrid is on the
    quality–energy and quality–latency fronts, its energy and latency against the cheapest
    and the fastest digital design (a digital DEQ at any solver × precision, or the digital
    feed-forward network) of at least its quality (within the suite's digital quality
    tolerance), and where its energy and time go."""
    lines = []
    for name, task in results["tasks"].items():
        fronts, hib = task.get("fronts"), task["higher_is_better"]
        hybrid = task["models"].get(HYBRID, {})
        if not fronts or hybrid.get("energy_j") is None:
            continue
        q, e, t = hybrid["quality_mean"], hybrid["energy_j"], hybrid.get("latency_ns")
        on = [plane for plane in ("energy", "latency")
              if any(p["design"] == HYBRID for p in fronts[plane])]
        digital = [p for p in fronts["points"]
                   if p["design"].startswith("digital DEQ") or p["design"] == FEEDFORWARD]
        tolerance = task.get("digital_design", {}).get("tolerance_relative", 0.0)
        good = [p for p in digital if p["quality"] is not None
                and _as_good(p["quality"], q, hib, tolerance)]
        front = ("on both fronts" if len(on) == 2 else f"on the {on[0]} front only" if on
                 else "on neither front")
        text = (f"**{name}**: the physics-aware hybrid ({task['metric']} "
                f"{format_number(q, 4)}) is {front}")
        if good:
            best = min(good, key=lambda p: p["energy_j"])
            fastest = min(good, key=lambda p: p["latency_ns"])
            text += (f"; against the cheapest digital design of its quality or better "
                     f"({_design_name(best['design'])}, {format_number(best['quality'], 4)}) "
                     f"it uses {format_number(e / best['energy_j'])}× the energy, and "
                     f"{format_number(t / fastest['latency_ns'])}× the latency of the fastest "
                     f"({_design_name(fastest['design'])})")
        else:
            closest = max(digital, key=lambda p: p["quality"] if hib else -p["quality"])
            text += (f"; no digital design comes within {tolerance:.1%} of its quality (the "
                     f"best, {_design_name(closest['design'])}, has "
                     f"{format_number(closest['quality'], 4)} and takes "
                     f"{format_number(closest['energy_j'] / e)}× the hybrid's energy)")
        split = task["headline"].get("amdahl", {}).get("hybrid")
        if split:
            shares = split["energy_fraction"]
            top = sorted(shares, key=shares.get, reverse=True)[:2]
            slow = max(split["latency_fraction"], key=split["latency_fraction"].get)
            text += (f". Its energy goes to the {top[0]} ({shares[top[0]]:.0%}) and the "
                     f"{top[1]} ({shares[top[1]]:.0%}); its time to the {slow} "
                     f"({split['latency_fraction'][slow]:.0%})")
        lines.append(text + ".")
    return lines


def write_report(results: dict[str, Any], out_dir: str) -> str:
    """Write ``report.md`` and its plots into ``out_dir``; return the report's path."""
    os.makedirs(out_dir, exist_ok=True)
    _plot_sweeps(results, "read_noise", "read noise σ (fraction of full scale, log scale)",
                 os.path.join(out_dir, "quality_vs_noise.png"), log_x=True)
    _plot_sweeps(results, "weight_bits", "weight bits",
                 os.path.join(out_dir, "quality_vs_bits.png"))
    _plot_energy(results, os.path.join(out_dir, "energy_breakdown.png"))
    _plot_convergence(results, os.path.join(out_dir, "convergence.png"))
    _plot_anytime(results, os.path.join(out_dir, "anytime.png"))
    _plot_fronts(results, os.path.join(out_dir, "fronts.png"))

    env = results["environment"]
    libs = env.get("libraries", {})
    parts = [
        f"# hadeq bench — suite `{results['suite']}`",
        f"Run {results['created_utc']} in {results['wall_time_s']:.0f} s; seeds "
        f"{results['seeds']}; hadeq {env['hadeq']}, torch {libs.get('torch', env.get('torch'))}"
        f", commit `{env.get('git_commit') or 'unknown'}`. Every number below is read from "
        "`results.json` in this folder. Every “±” is the half-width of the 95 % interval "
        "over seeds (Student's t), with n, the number of seeds, stated beside it; a single "
        "seed is shown without an interval.",
        "## Where it wins",
        "\n".join(f"* {line}" for line in where_it_wins(results)) or "No priced hybrid.",
        "Fronts and savings are at the headline hardware, end to end (stem and head "
        "included), each design at its measured quality; a ratio below 1 means the hybrid "
        "uses less.",
        "## Headline",
        headline_table(results),
        headline_hardware_text(results),
        "Energy ratio: digital DEQ joules per inference / hybrid joules per inference, "
        "end-to-end. Time-to-equilibrium ratio: the charged digital design's solver "
        "iterations × time per iteration on its accelerator / the analog loop's sampling "
        "instant t_s (the 99th percentile of the calibration inputs' settling times; the "
        "hybrid is scored by simulating the circuit sampled then). "
        "Retention: hybrid quality relative to the digital DEQ at the headline "
        "hardware (higher is better; see README for errors and returns). In the first "
        "table these are means over seeds of the ratios of digital and hybrid trained with "
        "the same seed, ± 95 % interval; the scope table gives the ratios of the "
        "seed-mean reports (digital ÷ hybrid, > 1: the hybrid uses less). Core-only: the "
        "equilibrium solve (core, converters and the core's own memory traffic); "
        "end-to-end: the whole inference, stem and head included.",
    ]
    matched = matched_table(results)
    if matched:
        parts += ["### Against digital accelerators of equal area and equal power",
                  matched,
                  "Core time ratio: the digital design's core-only time on an accelerator "
                  "with the MACs per cycle that fit in the analog core's area (or that its "
                  "mean power buys) / the hybrid's core-only time."]
    calibration = calibration_table(results)
    if calibration:
        parts += ["### Calibration of the energy model", calibration,
                  "TOPS/W of the model's energy figures against published chips (2 ops per "
                  "MAC); a check passes when model / reference is inside its window."]
    for name, task in results["tasks"].items():
        parts += [f"## {name}", _models_table(task)]
        design = design_table(task)
        if design:
            d = task["digital_design"]
            parts += ["### Digital design space",
                      f"Charged: **{charged_label(task)}**, the cheapest design whose "
                      f"quality is within {d['tolerance_relative']:.1%} of "
                      f"{d['reference']}'s.", design]
        fronts = task.get("fronts")
        if fronts:
            on = {p["design"] for p in fronts["energy"]}
            rows = [[p["design"], p["energy_j"], p.get("latency_ns"), p["quality"],
                     "yes" if p["design"] in on else "no"]
                    for p in sorted(fronts["points"], key=lambda p: p["energy_j"])]
            parts += ["### Quality against energy: the Pareto front",
                      _table(["design", "energy J", "latency ns", task["metric"],
                              "on the energy front"], rows)]
        amdahl = amdahl_table(task)
        if amdahl:
            parts += ["### Energy by part (Amdahl)", amdahl]
        abl = task.get("ablations", {})
        note = _sweep_note(results, name)
        if "weight_bits" in abl:
            parts += ["### Quality vs weight bits",
                      _sweep_table(task, abl["weight_bits"], "bits", results)]
            if note:
                parts.append(note)
        if "read_noise" in abl:
            parts += ["### Quality vs read noise",
                      _sweep_table(task, abl["read_noise"], "read noise", results)]
            if note:
                parts.append(note)
        if abl.get("corners"):
            def at_corner(c: dict[str, Any], field: str) -> Any:
                at = c.get("trained_at_corner")
                if at is None:
                    return "—"
                if field == "quality":
                    return interval_text(_interval(at["quality"], None))
                return at[field] if field == "recovered" else (
                    "yes" if at["separated"] else "no")

            rows = [[c["corner"], interval_text(_interval(c["physics_aware"], None)),
                     interval_text(_interval(c["standard"], None)),
                     interval_text(_interval(c["standard_loss"], None)),
                     c.get("recovered"), "yes" if c.get("separated") else "no",
                     at_corner(c, "quality"), at_corner(c, "recovered"),
                     at_corner(c, "separated")]
                    for c in abl["corners"]]
            chips = abl["corners"][0].get("chips", 1)
            parts += ["### Harsh corners",
                      f"Each seed's score is the mean over {chips} programmed chip(s); the "
                      "intervals are over seeds. Trained at the corner: a hybrid trained "
                      "physics-aware on the corner's chip (where the suite trains one), "
                      "against the standard hybrid.",
                      _table(["corner", "physics-aware", "standard", "standard's loss",
                              "recovered fraction", "intervals disjoint",
                              "trained at the corner", "its recovered fraction",
                              "its interval disjoint from standard's"], rows)]
            for c in abl["corners"]:
                if "read_noise" in c:
                    noise = c["read_noise"]
                    parts.append(
                        f"`{c['corner']}`: the read noise at which each trained model's core "
                        "crossbar has that SNR on its chip, found by measurement: "
                        f"{format_number(noise['standard'])} of full scale for the standard "
                        f"hybrid, {format_number(noise['physics_aware'])} for the "
                        "physics-aware one (mean over seeds)"
                        + ("." if c.get("snr_reached") else "; not reached for every model "
                           "(static errors alone are below it)."))
        if abl.get("regularizers"):
            rows = [[r["term"], r["quality"], r["near_zero_fraction"], r["iterations_mean"],
                     r["settling_time_ns"], r["energy_j"]] for r in abl["regularizers"]]
            parts += ["### Physics-informed regularizers (each on alone, one seed)",
                      _table(["term", task["metric"], "near-zero cells", "digital iterations",
                              "settling ns", "hybrid energy J"], rows)]
        for key, sens in task.get("sensitivity", {}).items():
            rows = [[v, _ratio(e), _ratio(t)] for v, e, t in zip(
                sens["values"], sens["energy_ratio"], sens["time_ratio"], strict=True)]
            parts += [f"### Sensitivity to `{key}`",
                      _table([key, "energy ratio", "time ratio"], rows)]
    parts += [
        "## Plots",
        "Error bars and shaded bands: 95 % interval over seeds, n in each legend.",
        "![quality vs noise](quality_vs_noise.png)",
        "![quality vs bits](quality_vs_bits.png)",
        "Energy: each bar is 100 % of one machine's energy per inference, its total written "
        "above it; top row by component, bottom row by part of the DEQ.",
        "![energy breakdown](energy_breakdown.png)",
        "Convergence: digital iterations × time per iteration of their design and analog "
        "settling on one time axis; median and 99th percentile of the residual over the "
        "samples (a stopped sample keeps its final residual), the tolerance, and the "
        "tables' mean times (mean over samples, then over seeds).",
        "![convergence](convergence.png)",
        "Quality against time: the hybrid's circuit sampled at fractions of t_s, and the "
        "digital DEQ stopped after k iterations (an anytime view of both).",
        "![quality against time](anytime.png)",
        "Quality against energy: every priced design, the Pareto front joined.",
        "![quality against energy](fronts.png)",
    ]
    path = os.path.join(out_dir, "report.md")
    write_text_atomic(path, "\n\n".join(parts) + "\n")
    return path
