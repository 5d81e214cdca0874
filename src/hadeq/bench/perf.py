"""The README's "Other benchmarks" tables, rendered from the JSON the scripts in
``benchmarks/`` write.

One renderer per script turns its ``--out`` JSON into Markdown (a settings line read from
the JSON, then the tables); the scripts print their results through these renderers, and
:func:`benchmarks_section` puts every benchmark of a folder into the README section that
``python -m hadeq.bench.publish snapshots/benchmarks`` maintains. Targets are fixed text
here; whether each row meets its target is decided from the numbers::

    make benchmarks                                             # snapshots/benchmarks/*.json
    python -m hadeq.bench.publish snapshots/benchmarks          # README section
    python -m hadeq.bench.publish --check snapshots/benchmarks  # README == snapshot?
"""

from __future__ import annotations

import math
import os
import shlex
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hadeq.bench.publish import BEGIN, END, read_json
from hadeq.bench.stats import median_interval
from hadeq.errors import DataError

# The targets (from the issues that asked for each optimisation): a ratio meets its target
# when it is at most this.
TARGET_NN_LINEAR = 2.0  # AnalogLinear forward+backward / nn.Linear's
TARGET_AIHWKIT = 1.0  # AnalogLinear forward+backward / aihwkit-lightning's
TARGET_DIGITAL_STEP = 1.5  # physics-aware training step / the digital step
TARGET_TORCHDEQ_BEST = 0.5  # hadeq / torchdeq, torchdeq at its best setting
TARGET_PROXY = 3.0  # physical evaluation / the training proxy's


_INTERVAL_TEXT = (" (after it: its distribution-free 95 % interval, from the order statistics of "
                  "the runs; a target is met when the whole interval is at most it)")


def target_text(bound: float, against: str) -> str:
    """``"target ≤ 2× nn.Linear"``."""
    return f"target ≤ {bound:g}× {against}"


def ratio_runs(times: Sequence[float], reference: Sequence[float]) -> list[float]:
    """The per-run ratios ``times[i] / reference[i]`` (the two timed in the same run), which
    the scripts record as ``<ratio key>_runs`` beside their median; the tables show the
    median with its :func:`median_interval`."""
    return [a / b for a, b in zip(times, reference, strict=True)]


def _interval(runs: Sequence[float] | None) -> tuple[float, float] | None:
    return None if not runs else median_interval(runs)


def verdict(ratio: float | None, bound: float,
            interval: Sequence[float] | None = None) -> str:
    """Whether a measured ratio meets ``ratio ≤ bound``: with its 95 % ``interval``,
    ``met`` when the whole interval is at most ``bound``, ``not met`` when it is all
    above, ``inconclusive`` when it contains ``bound``; without one (too few runs), from
    the ratio alone. ``n/a`` without a ratio."""
    if ratio is None or not math.isfinite(ratio):
        return "n/a"
    lo, hi = (ratio, ratio) if interval is None else interval
    if hi <= bound:
        return "met"
    return "not met" if lo > bound else "inconclusive"


def command_line(script: str, argv: Sequence[str]) -> str:
    """How a script in ``benchmarks/`` was run: ``python benchmarks/<name> <argv>``, for
    its JSON (the README shows it above the tables)."""
    return shlex.join(["python", f"benchmarks/{os.path.basename(script)}", *argv])


# ----------------------------------------------------------------------------- formatting


def _exp(value: float, digits: int) -> str:
    """``2.1e-4`` (not Python's ``2.1e-04``)."""
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _g(value: float | None, digits: int = 3) -> str:
    """A measured value: whole numbers from 100 up, ``digits`` significant digits below,
    exponent notation under 1e-3."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if value == 0:
        return "0"
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:.0f}"
    if abs(value) < 1e-3:
        return _exp(value, digits)
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{value:.{decimals}f}"


def _setting(value: Any) -> str:
    """A setting as typed on a command line (``1e-4``, ``0.04``, ``256``)."""
    if not isinstance(value, float):
        return "?" if value is None else str(value)
    if value != 0 and abs(value) < 1e-3:
        return _exp(value, 2).replace(".0e", "e")
    return f"{value:g}"


def _ratio(value: float | None, interval: Sequence[float] | None = None) -> str:
    """``**1.96** (1.91–2.03)``: the median ratio in bold, its 95 % interval after it."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"**{value:.2f}**" + ("" if interval is None
                                 else f" ({interval[0]:.2f}–{interval[1]:.2f})")


def _e(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else _exp(value, 2)


def _plural(n: Any, word: str) -> str:
    return f"{_setting(n)} {word}" + ("" if n == 1 else "es" if word.endswith("s") else "s")


def _get(data: dict[str, Any], key: str) -> str:
    return _setting(data.get(key))


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _threads(n: Any) -> str:
    return _plural(n, "thread")


# ------------------------------------------------------------------------------- solvers


def _problem_label(result: dict[str, Any]) -> str:
    shape = result.get("z_shape")
    name = result["problem"]
    if name == "mlp" and shape and len(shape) == 2:
        return f"MLP, d = {shape[1]}, batch {shape[0]}"
    if name == "conv" and shape and len(shape) == 4:
        return f"conv, {shape[1]} ch, {shape[2]}×{shape[3]}, batch {shape[0]}"
    return f"{name}, batch {result.get('batch', '?')}"


def _iterations(s: dict[str, Any], library: str) -> str:
    if library == "hadeq":
        text = f"{s['forward_iterations_mean']:.1f} / {s['forward_iterations_max']}"
        if s.get("backward_iterations_mean") is not None:
            text += (f" (+ {s['backward_iterations_mean']:.1f} / "
                     f"{s['backward_iterations_max']} adjoint)")
        return text
    text = f"{s['forward_iterations_max']}"
    if s.get("backward_iterations_max") is not None:
        text += f" (+ {s['backward_iterations_max']})"
    return text


def solvers_tables(data: dict[str, Any], *, best: bool = False) -> str:
    """``benchmarks/solvers.py``'s JSON as Markdown: settings, timing, agreement.

    ``best``: torchdeq ran at its best setting, so the ratios are held against
    :data:`TARGET_TORCHDEQ_BEST` (a column of met / not met)."""
    cfg, v = data.get("config", {}), data.get("versions", {})
    lam = _setting(cfg.get("torchdeq_lam"))
    settings = (
        f"torch {_get(v, 'torch')}, torchdeq {_get(v, 'torchdeq')}, hadeq {_get(v, 'hadeq')}, "
        f"{_threads(cfg.get('threads'))}; Anderson m = {_get(cfg, 'history')} in both, "
        f"tolerance ({_get(cfg, 'stop_mode')}) {_get(cfg, 'f_tol')} forward and "
        f"{_get(cfg, 'b_tol')} backward, at most {_get(cfg, 'max_iter')} forward and "
        f"{_get(cfg, 'b_max_iter')} backward iterations; both maps have ‖W‖₂ = "
        f"{_get(cfg, 'norm')}; torchdeq's ridge λ = {lam}; time per call: "
        f"median of {_plural(cfg.get('repeats_used'), 'run')} of "
        f"{_plural(cfg.get('inner_used'), 'call')}, the libraries interleaved; ratio: median "
        "of the per-run ratios" + _INTERVAL_TEXT
        + (f"; commit `{data['git_commit']}`" if data.get("git_commit") else "") + ".")
    target = target_text(TARGET_TORCHDEQ_BEST, "torchdeq at its best setting")
    header = ["problem", "mode", "hadeq iterations mean / max", "torchdeq λ",
              "torchdeq iterations", "hadeq ms", "torchdeq ms", "ratio hadeq / torchdeq"]
    if best:
        header.append(target)
    rows, agree = [], []
    for r in data["results"]:
        ratio = r.get("ratio_hadeq_over_torchdeq")
        interval = _interval(r.get("ratio_runs"))
        row = [_problem_label(r), r["mode"].replace("+", " + "), _iterations(r["hadeq"], "hadeq"),
               lam, _iterations(r["torchdeq"], "torchdeq"),
               _g(r["hadeq"]["time_ms_median"]), _g(r["torchdeq"]["time_ms_median"]),
               _ratio(ratio, interval)]
        if best:
            row.append(verdict(ratio, TARGET_TORCHDEQ_BEST, interval))
        rows.append(row)
        a = r.get("agreement", {})
        agree.append([_problem_label(r), r["mode"].replace("+", " + "),
                      _e(a.get("z_rel_diff_hadeq_vs_torchdeq")), _e(a.get("z_rel_err_hadeq")),
                      _e(a.get("z_rel_err_torchdeq")),
                      _e(a.get("grad_rel_diff_hadeq_vs_torchdeq")),
                      _e(a.get("grad_rel_err_hadeq")), _e(a.get("grad_rel_err_torchdeq"))])
    return "\n\n".join([
        settings,
        _table(header, rows),
        "Agreement (relative 2-norm differences; error: against a float64 reference solved "
        "far below the tolerance):",
        _table(["problem", "mode", "z*: hadeq vs torchdeq", "z* error hadeq",
                "z* error torchdeq", "gradients: hadeq vs torchdeq", "gradient error hadeq",
                "gradient error torchdeq"], agree),
    ])


# -------------------------------------------------------------------------------- analog


def _layer_label(name: str) -> str:
    return {"hadeq_reprogrammed": "hadeq, chip reprogrammed every pass",
            "hadeq_one_chip": "hadeq, one programmed chip",
            "aihwkit_lightning": "aihwkit-lightning"}.get(name, name)


def analog_tables(data: dict[str, Any]) -> str:
    """``benchmarks/analog.py``'s JSON as Markdown: the layer against nn.Linear and
    aihwkit-lightning, every preset, weight-noise training and output-noise statistics."""
    s, cfg = data.get("settings", {}), data.get("config", {})
    lightning = data.get("aihwkit_lightning") == "ok"
    timing = data.get("timing", [])
    batch = cfg.get("batch", timing[0]["batch"] if timing else None)
    parts = [
        f"torch {_get(data, 'torch')}, {_threads(data.get('threads'))}; "
        f"{_get(s, 'bits')}-bit DAC and ADC (bound {_get(s, 'out_bound')}), output noise "
        f"{_get(s, 'out_noise')}, {_get(s, 'tile_rows')}-row tiles, {_get(s, 'mode')} mode, "
        f"batch {_setting(batch)}; time per forward + backward pass: median of "
        f"{_plural(cfg.get('repeats'), 'run')} of {_plural(cfg.get('iters'), 'pass')}, the "
        "layers timed in turn; ratios: medians of the per-run ratios" + _INTERVAL_TEXT + "."
        + ("" if lightning else
           " aihwkit-lightning was not available in this run ("
           + str(data.get("aihwkit_lightning")).removeprefix("aihwkit-lightning unavailable: ")
           + "), so there is no column for it.")]
    nn_target = target_text(TARGET_NN_LINEAR, "nn.Linear")
    ai_target = target_text(TARGET_AIHWKIT, "aihwkit-lightning")
    header = ["in = out", "nn.Linear ms", "hadeq ms", "hadeq / nn.Linear", nn_target]
    if lightning:
        header += ["aihwkit-lightning ms", "hadeq / aihwkit-lightning", ai_target]
    rows = []
    for r in timing:
        ratio = r["hadeq_vs_nn_linear"]
        interval = _interval(r.get("hadeq_vs_nn_linear_runs"))
        row = [str(r["in=out"]), _g(r["nn_linear_ms"]), _g(r["hadeq_ms"]),
               _ratio(ratio, interval), verdict(ratio, TARGET_NN_LINEAR, interval)]
        if lightning:
            ratio = r.get("hadeq_vs_aihwkit_lightning")
            interval = _interval(r.get("hadeq_vs_aihwkit_lightning_runs"))
            row += [_g(r.get("aihwkit_lightning_ms")), _ratio(ratio, interval),
                    verdict(ratio, TARGET_AIHWKIT, interval)]
        rows.append(row)
    if rows:
        parts.append(_table(header, rows))
    for key, caption in (
            ("presets", "Every hardware preset (batch {batch}; the device model runs in every "
                        "training forward):"),
            ("presets_flushed", "The same with the caches flushed before every pass (a "
                                "{flush} MiB buffer written between passes, outside the "
                                "timing; as inside a network, whose other layers run between "
                                "a layer's passes):")):
        presets = data.get(key, [])
        if not presets:
            continue
        rows = []
        for r in presets:
            for name in (k.removesuffix("_vs_nn_linear") for k in r
                         if k.endswith("_vs_nn_linear")):
                ratio = r[f"{name}_vs_nn_linear"]
                interval = _interval(r.get(f"{name}_vs_nn_linear_runs"))
                rows.append([str(r["in=out"]), f"`{name}`", _g(r[f"{name}_ms"]),
                             _g(r["nn_linear_ms"]), _ratio(ratio, interval),
                             verdict(ratio, TARGET_NN_LINEAR, interval)])
        parts += [caption.format(batch=cfg.get("preset_batch", presets[0]["batch"]),
                                 flush=_get(cfg, "flush_mib")),
                  _table(["in = out", "preset", "ms", "nn.Linear ms", "× nn.Linear",
                          nn_target], rows)]
    weight_noise = data.get("weight_noise", [])
    if weight_noise:
        header = ["in = out", "layer", "ms", "nn.Linear ms", "× nn.Linear"]
        if lightning:
            header += ["× aihwkit-lightning", ai_target]
        rows = []
        for r in weight_noise:
            for name in (k.removesuffix("_vs_nn_linear") for k in r
                         if k.endswith("_vs_nn_linear")):
                runs = r.get(f"{name}_vs_nn_linear_runs")
                row = [str(r["in=out"]), _layer_label(name), _g(r[f"{name}_ms"]),
                       _g(r["nn_linear_ms"]), _ratio(r[f"{name}_vs_nn_linear"], _interval(runs))]
                if lightning:
                    ratio = r.get(f"{name}_vs_aihwkit_lightning")
                    interval = _interval(r.get(f"{name}_vs_aihwkit_lightning_runs"))
                    row += (["—", "—"] if name == "aihwkit_lightning"
                            else [_ratio(ratio, interval),
                                  verdict(ratio, TARGET_AIHWKIT, interval)])
                rows.append(row)
        parts += [f"Training with weight noise (std {_get(s, 'weight_noise')} of max|W|, "
                  f"{_setting(s.get('weight_bits', s.get('bits')))}-bit weights; batch "
                  f"{weight_noise[0]['batch']}):", _table(header, rows)]
    noise = data.get("noise")
    if noise:
        header, row = ["expected std", "hadeq std"], [_g(noise["expected_std"], 5),
                                                     _g(noise["hadeq_std"], 5)]
        if "aihwkit_lightning_std" in noise:
            header += ["aihwkit-lightning std", "relative difference", "within 2 %"]
            row += [_g(noise["aihwkit_lightning_std"], 5), _e(noise["relative_difference"]),
                    "yes" if noise.get("agree_within_2pct") else "no"]
        parts += ["Output-noise statistics under identical settings (one tile, no "
                  "quantization):", _table(header, [row])]
    return "\n\n".join(parts)


# ------------------------------------------------------------------------------ training

_GRADIENTS = (("vs_exact_same_equilibrium", "floor stop", "exact implicit gradient, same z*"),
              ("vs_noise_free_exact", "floor stop", "exact implicit gradient, noise-free z*"),
              ("stagnation_only_vs_noise_free_exact", "stagnation rule only",
               "exact implicit gradient, noise-free z*"))


def deq_training_tables(data: dict[str, Any]) -> str:
    """``benchmarks/deq_training.py``'s JSON as Markdown: the physics-aware training step
    against the digital one, and the quality of its gradient."""
    target = target_text(TARGET_DIGITAL_STEP, "the digital step")
    rows = []
    for name, r in data["timing"].items():
        digital = "ratio_vs_digital" not in r
        ratio = r.get("ratio_vs_digital")
        interval = _interval(r.get("ratio_vs_digital_runs"))
        rows.append([f"`{name}` (the digital step)" if digital else f"`{name}`, physics-aware",
                     f"{r['forward_iterations']:.1f} / {r['backward_iterations']:.1f}",
                     _g(r["step_ms"]), "1" if digital else _ratio(ratio, interval),
                     "—" if digital else verdict(ratio, TARGET_DIGITAL_STEP, interval)])
    parts = [
        f"torch {_get(data, 'torch')}, {_threads(data.get('threads'))}; HybridDEQ with "
        f"{_get(data, 'hidden')} neurons, batch {_get(data, 'batch')}; one step: forward, "
        "cross-entropy, implicit backward, Adam, projection; step time: median of "
        f"{_plural(data.get('repeats'), 'run')} of {_plural(data.get('inner'), 'step')}, the "
        "models interleaved; ratio: median of the per-run ratios" + _INTERVAL_TEXT + ".",
        _table(["hardware", "fwd / bwd iterations", "step ms", "× digital", target], rows)]
    quality = data.get("gradient_quality") or {}
    if quality:
        rows = []
        for name, q in quality.items():
            for key, gradient, against in _GRADIENTS:
                c = q[key]
                rows.append([f"`{name}`", gradient, against,
                             f"{c['cosine_all']:.6f} / {c['cosine_adjoint']:.6f}",
                             f"{_e(c['rel_err_all'])} / {_e(c['rel_err_adjoint'])}"])
        parts += ["Gradient quality of one step (same read-noise seed); cosine similarity "
                  "and relative error over all parameters / over those behind the adjoint "
                  "(stem and core):",
                  _table(["hardware", "gradient", "against", "cosine", "relative error"],
                         rows)]
    else:
        parts.append("Gradient quality was not measured in this run (`--skip-gradients`).")
    return "\n\n".join(parts)


# ----------------------------------------------------------------------------- stability


def stability_table(data: dict[str, Any]) -> str:
    """``benchmarks/stability.py``'s JSON as Markdown: RSS growth per phase."""
    cfg = data.get("config", {})
    hw = cfg.get("hardware", {})
    rows = []
    for key, label in (("solves", "noisy solves (eval)"),
                       ("training", "physics-aware training steps")):
        r = data.get(key)
        if not r:
            continue
        samples = r.get("samples", [])
        rows.append([label, str(r["iterations"]),
                     f"{samples[0]['rss_mb']:.1f}" if samples else "n/a",
                     f"{samples[-1]['rss_mb']:.1f}" if samples else "n/a",
                     f"{r['growth_mb']:+.1f}", f"{r['threshold_mb']:g}",
                     "pass" if r["passed"] else "fail", _g(r["wall_time_s"])])
    return "\n\n".join([
        f"torch {_get(cfg, 'torch')}, {_threads(cfg.get('threads'))}; HybridDEQ with "
        f"{_get(cfg, 'hidden')} neurons on scikit-learn digits, batch "
        f"{_get(cfg, 'batch_size')}, `{_get(hw, 'preset')}` hardware with read noise "
        f"{_get(hw, 'read_noise')}; RSS ({_get(cfg, 'rss_source')}) sampled every "
        f"{_plural(cfg.get('every'), 'iteration')}, growth from the first sample to the "
        "last.",
        _table(["phase", "iterations", "RSS first sample MB", "RSS last sample MB",
                "growth MB", "allowed MB", "verdict", "wall time s"], rows)])


# ------------------------------------------------------------------------- physical eval


def physical_eval_table(data: dict[str, Any]) -> str:
    """``benchmarks/physical_eval.py``'s JSON as Markdown: the physical loop's evaluation
    time against the training proxy's."""
    target = target_text(TARGET_PROXY, "the proxy")
    rows = []
    for key, label in (("digits", "digits, HybridDEQ"), ("field", "field, ConvHybridDEQ")):
        r = data.get(key)
        if not r:
            continue
        interval = _interval(r.get("ratio_runs"))
        rows.append([label, str(r["inputs"]), _g(1e3 * r["proxy_s"]),
                     f"{r['proxy_iterations_mean']:.1f}", _g(1e3 * r["physical_s"]),
                     _g(r["sample_time_ns"]), str(r["physical_evaluations"]),
                     _ratio(r["ratio"], interval), verdict(r["ratio"], TARGET_PROXY, interval),
                     _g(r["calibration_s"])])
    epochs = data.get("epochs")
    return "\n\n".join([
        f"torch {_get(data, 'torch')}, {_threads(data.get('threads'))}; "
        f"`{_get(data, 'hardware')}` chip"
        + ("" if epochs is None else
           f", the digits model trained for {_plural(epochs, 'epoch')}")
        + "; time of one evaluation of all inputs: median of "
        f"{_plural(data.get('repeats'), 'run')}, proxy and loop in turn; ratio: median of "
        "the per-run ratios" + _INTERVAL_TEXT + ".",
        _table(["model", "inputs", "proxy ms", "proxy iterations", "physical ms", "t_s ns",
                "loop evaluations", "physical / proxy", target, "calibration s"], rows)])


# ------------------------------------------------------------------------------- section


@dataclass(frozen=True)
class Benchmark:
    """One JSON file of the section: its heading, how to produce it, how to render it."""

    heading: str
    command: str
    render: Callable[[dict[str, Any]], str]


def _out(name: str) -> str:
    return f"--out snapshots/benchmarks/{name}.json"


BENCHMARKS: dict[str, Benchmark] = {
    "solvers_default": Benchmark(
        "Solvers: hadeq vs torchdeq at torchdeq's default ridge",
        f"python benchmarks/solvers.py --threads 1 {_out('solvers_default')}",
        solvers_tables),
    "solvers_best": Benchmark(
        "Solvers: hadeq vs torchdeq at torchdeq's best setting",
        f"python benchmarks/solvers.py --threads 1 --torchdeq-lam 1e-8 {_out('solvers_best')}",
        lambda data: solvers_tables(data, best=True)),
    "analog": Benchmark(
        "Analog layer cost",
        f"python benchmarks/analog.py --threads 1 {_out('analog')}",
        analog_tables),
    "deq_training": Benchmark(
        "Physics-aware training step",
        f"python benchmarks/deq_training.py --threads 1 {_out('deq_training')}",
        deq_training_tables),
    "stability": Benchmark(
        "Long-run stability",
        f"python benchmarks/stability.py --threads 1 {_out('stability')}",
        stability_table),
    "physical_eval": Benchmark(
        "Physical evaluation",
        f"python benchmarks/physical_eval.py {_out('physical_eval')}",
        physical_eval_table),
}


def benchmark_files(folder: str) -> list[str]:
    """The names (``analog.json``, ...) of the benchmark JSON files present in ``folder``."""
    return [f"{name}.json" for name in BENCHMARKS
            if os.path.isfile(os.path.join(folder, f"{name}.json"))]


def load_benchmark(folder: str, name: str) -> dict[str, Any] | None:
    """``folder/<name>.json``, or None when it is missing."""
    path = os.path.join(folder, f"{name}.json")
    return read_json(path) if os.path.isfile(path) else None


def benchmarks_section(folder: str, source: str) -> str:
    """The README's generated section for the benchmark JSON in ``folder`` (published as
    ``source``): each file under a bold heading with the command that produced it; a
    missing file is one line naming the command that would."""
    parts = [BEGIN.format(source=source)]
    for name, bench in BENCHMARKS.items():
        data = load_benchmark(folder, name)
        if data is None:
            parts.append(f"**{bench.heading}** — not measured yet: `{bench.command}`.")
            continue
        try:
            body = bench.render(data)
        except (KeyError, TypeError, IndexError) as exc:
            raise DataError(f"{os.path.join(folder, name)}.json is not a {name} result: "
                            f"missing or malformed {exc}") from None
        parts += [f"**{bench.heading}** — `{data.get('command') or bench.command}`:", body]
    parts.append(END)
    return "\n\n".join(parts)


def snapshot_benchmarks(folder: str, snapshot_dir: str) -> None:
    """Copy the benchmark JSON of ``folder`` into ``snapshot_dir`` (nothing when they are
    the same folder)."""
    if os.path.realpath(folder) == os.path.realpath(snapshot_dir):
        return
    os.makedirs(snapshot_dir, exist_ok=True)
    for name in benchmark_files(folder):
        shutil.copyfile(os.path.join(folder, name), os.path.join(snapshot_dir, name))
