"""The report and its plots, from a small synthetic ``results.json``: every plot is
written, energy stacks are percentages of their total, both convergence curves are on one
time axis in ns, and the report states its scopes and what every "±" is."""

from __future__ import annotations

import math
import os

import pytest
import torch

from hadeq.analog import HardwareConfig
from hadeq.bench import measure, report
from hadeq.bench.schema import DIGITAL, HYBRID, STANDARD
from hadeq.bench.stats import interval95
from hadeq.models import HybridDEQ, HybridDEQConfig

PNG = b"\x89PNG\r\n\x1a\n"
SEEDS = [0, 1, 2]


def _breakdown(scale: float) -> dict[str, float]:
    parts = {"adc": 1e-11, "dac": 5e-12, "array": 2e-11, "amplifier": 8e-12,
             "digital_compute": 3e-10, "memory": 6e-10, "accumulation": 0.0, "other": 1e-10}
    parts = {k: v * scale for k, v in parts.items()}
    return {**parts, "total": sum(parts.values())}


def _amdahl(energy: dict[str, float]) -> dict[str, object]:
    return {"energy_j": energy, "core_only": {}, "end_to_end": {}}


def _model(quality: list[float], scale: float, **extra: object) -> dict[str, object]:
    breakdown = _breakdown(scale)
    return {"hardware_label": "hermes_pcm_8bit", "quality_mean": sum(quality) / len(quality),
            "quality_std": 0.01, "quality_per_seed": quality,
            "quality_interval": interval95(quality).to_dict(),
            "energy_j": breakdown["total"], "energy_breakdown_j": breakdown,
            "latency_ns": 40.0, "iterations_mean": None, "settling_time_ns": None,
            "snr_db": 25.0, "parameters": 1000, **extra}


def _task(higher_is_better: bool, metric: str) -> dict[str, object]:
    q = [0.90, 0.92, 0.91] if higher_is_better else [0.10, 0.12, 0.11]
    grid = [{"solver": s, "precision": p, "quality_mean": q[0], "quality_per_seed": q,
             "iterations_mean": it, "energy_j": e, "core_time_ns": ns,
             "admissible": True, "chosen": (s, p) == ("anderson", "int8")}
            for s, p, it, e, ns in (("picard", "fp32", 30.0, 3e-9, 60.0),
                                    ("anderson", "fp32", 10.0, 2e-9, 30.0),
                                    ("anderson", "int8", 11.0, 1e-9, 22.0))]
    ratios = {"energy_ratio": 2.5, "time_ratio": 0.4, "area_ratio": 3.0}
    return {
        "kind": "classification", "metric": metric, "higher_is_better": higher_is_better,
        "models": {
            DIGITAL: _model(q, 1.0, iterations_mean=11.0, core_time_ns=22.0,
                            solver="anderson", precision="int8"),
            HYBRID: _model(q, 0.5, settling_time_ns=50.0),
            STANDARD: _model(q, 0.5, settling_time_ns=52.0),
        },
        "digital_design": {"solver": "anderson", "precision": "int8",
                           "reference": "anderson/fp32", "tolerance_relative": 0.005,
                           "grid": grid},
        "ablations": {
            "read_noise": {"values": [0.01, 0.03, 0.1], "physics_aware": [0.9, 0.88, 0.8],
                           "standard": [0.9, 0.85, 0.6], "physics_aware_std": [0.01] * 3,
                           "standard_std": [0.02] * 3},
            "weight_bits": {"values": [4, 6, 8], "physics_aware": [0.8, 0.88, 0.9],
                            "standard": [0.6, 0.85, 0.9], "physics_aware_std": [0.01] * 3,
                            "standard_std": [0.02] * 3},
        },
        "sensitivity": {"tau_ns": {"values": [5.0, 10.0], "energy_ratio": [2.6, 2.5],
                                   "time_ratio": [0.8, 0.4]}},
        "curves": {
            "digital_residual": [1.0, 0.1, 0.01, 1e-3, 5e-4],
            "digital_residual_median": [1.0, 0.1, 0.01, 8e-4, 8e-4],
            "digital_residual_p99": [1.0, 0.2, 0.02, 2e-3, 9e-4],
            "analog_residual": [1.0, 0.3, 0.1, 0.01, 5e-4],
            "analog_residual_median": [1.0, 0.3, 0.05, 9e-4, 9e-4],
            "analog_residual_p99": [1.0, 0.4, 0.1, 0.01, 9e-4],
            "analog_dt_ns": 12.5,
        },
        "headline": {
            "energy_ratio": 2.5, "time_ratio": 0.44, "retention": 0.99, "snr_db": 25.0,
            "digital_quality": q[0], "hybrid_quality": q[1], "metric": metric,
            "core_only": {"energy_ratio": 4.25, "time_ratio": 0.375, "area_ratio": 3.5},
            "end_to_end": ratios,
            "amdahl": {"digital": _amdahl({"stem": 1e-10, "core": 3e-10, "converters": 0.0,
                                           "memory": 6e-10, "head": 1e-11}),
                       "hybrid": _amdahl({"stem": 1e-10, "core": 1e-10, "converters": 5e-11,
                                          "memory": 1.5e-10, "head": 1e-11})},
            "matched_accelerators": {
                "equal_area": {"macs_per_cycle": 72, "core_time_ratio": 0.68},
                "equal_power": None,
                "analog_core_area_mm2": 0.01, "analog_core_power_w": 0.005},
            "intervals": {"seeds": SEEDS,
                          "energy_ratio": {"mean": 2.5, "ci95": 0.3, "n": 3},
                          "time_ratio": {"mean": 0.44, "ci95": 0.05, "n": 3},
                          "retention": {"mean": 0.99, "ci95": 0.01, "n": 3}},
        },
    }


@pytest.fixture()
def results() -> dict[str, object]:
    check = {"model_tops_per_w": 9.3, "reference_tops_per_w": 10.4, "ratio": 0.89,
             "window": [0.5, 2.0], "within": True, "node_nm": 14.0}
    return {
        "schema": "hadeq.bench/1", "suite": "synthetic", "created_utc": "2026-01-01T00:00",
        "wall_time_s": 1.0, "seeds": SEEDS,
        "config": {"settle_tol": 1e-3, "tasks": [{"task": "digits"}, {"task": "darcy32"}]},
        "environment": {"hadeq": "0", "libraries": {"torch": "2"}, "git_commit": "abc"},
        "calibration": {"digital": {"reference": "Hailo-8", **check},
                        "analog": {"reference": "IBM HERMES", **check}},
        "tasks": {"digits": _task(True, "accuracy"), "darcy32": _task(False, "relative_l2")},
    }


def test_every_plot_is_written_as_a_png(results, tmp_path):
    report.write_report(results, str(tmp_path))
    for name in report.PLOTS:
        with open(tmp_path / name, "rb") as fh:
            assert fh.read(8) == PNG, name


def test_energy_stacks_are_shares_of_their_total_summing_to_100():
    breakdown = _breakdown(1.0)
    shares = report.percent_shares(breakdown)
    assert "total" not in shares
    assert sum(shares.values()) == pytest.approx(100.0)
    assert shares["memory"] == pytest.approx(100 * 6e-10 / breakdown["total"])
    amdahl = report.percent_shares({"stem": 1.0, "core": 3.0, "memory": 0.0, "head": 0.0})
    assert amdahl == {"stem": 25.0, "core": 75.0, "memory": 0.0, "head": 0.0}
    assert sum(report.percent_shares({"core": 0.0}).values()) == 0.0  # nothing to share


def test_convergence_puts_both_curves_on_one_time_axis_in_ns(results):
    task = results["tasks"]["digits"]
    # the charged design: core time / its mean iterations
    assert report.ns_per_iteration(task) == pytest.approx(22.0 / 11.0)
    assert report.ns_per_iteration(task, "anderson/fp32") == pytest.approx(3.0)
    assert report.digital_times_ns(3, 2.0) == [2.0, 4.0, 6.0]  # iteration k+1 at (k+1)·t
    assert report.analog_times_ns(3, 0.5) == [0.0, 0.5, 1.0]  # row k at k·dt

    series = report.convergence_series(results, task)
    assert series["tol"] == 1e-3
    # The cells record Anderson in float unless the curves name the design.
    assert series["digital_design"] == "anderson/fp32"
    assert series["digital"]["t_ns"] == pytest.approx([3.0, 6.0, 9.0, 12.0, 15.0])
    assert series["analog"]["t_ns"] == [0.0, 12.5, 25.0, 37.5, 50.0]
    assert set(series["digital"]) >= {"median", "p99"} and "mean" not in series["digital"]
    assert report.first_below(series["analog"]["t_ns"], series["analog"]["median"],
                              1e-3) == 37.5
    assert report.first_below([0.0, 1.0], [1.0, 0.1], 1e-3) is None

    task["curves"]["digital_design"] = "anderson/int8"  # a trace of the charged design
    charged = report.convergence_series(results, task)
    assert charged["digital"]["t_ns"][-1] == pytest.approx(5 * 2.0)
    for key in ("digital_residual_median", "digital_residual_p99"):
        del task["curves"][key]  # results without the distribution: the mean is drawn
    assert "mean" in report.convergence_series(results, task)["digital"]


def test_intervals_from_a_std_use_students_t():
    iv = report.interval_from_std(1.0, 0.1, 3)
    assert iv.half_width == pytest.approx(4.302652729911275 * 0.1 / math.sqrt(3))
    assert math.isnan(report.interval_from_std(1.0, 0.0, 1).half_width)
    assert report.interval_text(iv) == "1 ± 0.248 (95 % interval, n = 3)"
    assert report.interval_text(report.interval_from_std(1.0, 0.0, 1)) == \
        "1 (n = 1, no interval)"


def test_report_states_scopes_design_calibration_and_what_each_interval_is(results,
                                                                           tmp_path):
    with open(report.write_report(results, str(tmp_path)), encoding="utf-8") as fh:
        text = fh.read()
    assert "core-only" in text and "end-to-end" in text
    assert "4.25×" in text and "0.375×" in text and "3.5×" in text  # core-only ratios
    assert "95 %" in text and "n = 3" in text
    assert "2.5× ± 0.3 (95 % interval, n = 3)" in text
    # every "±" says what it is: in a table cell, or in the sentence around it
    for line in text.splitlines():
        for part in line.split("|") if line.startswith("|") else [line]:
            if "±" in part:
                assert "95 % interval" in part, part
    assert "**charged**" in text and "anderson" in text and "int8" in text
    assert "equal-area" in text and "0.68×" in text
    assert "Hailo-8" in text and "HERMES" in text
    assert "↑" in text and "↓" in text
    head = report.headline_table(results)
    assert "core-only" in head and "end-to-end" in head and "anderson/int8" in head


def test_report_reads_results_without_the_newer_fields(results, tmp_path):
    """A results file from before scopes, intervals and the sample distribution."""
    del results["calibration"]
    for task in results["tasks"].values():
        for key in ("core_only", "end_to_end", "amdahl", "matched_accelerators",
                    "intervals"):
            del task["headline"][key]
        for model in task["models"].values():
            del model["quality_interval"]
        for key in [k for k in task["curves"] if k.endswith(("_median", "_p99"))]:
            del task["curves"][key]
    report.write_report(results, str(tmp_path))
    assert "core-only" not in report.headline_table(results)
    for name in report.PLOTS:
        assert os.path.getsize(tmp_path / name) > 0


def test_measured_residual_quantiles_are_ordered_and_fall_to_the_tolerance():
    """The per-sample distribution of the residual along the simulated loop (and of the
    digital solve, a stopped sample keeping its final value): p99 above the median at
    every step, no step NaN, and both at or below the tolerance once every sample has
    settled to half an ADC LSB."""
    torch.manual_seed(0)
    model = HybridDEQ(HybridDEQConfig(in_features=8, out_features=3, hidden=16,
                                      stem_hidden=None)).eval()
    x = torch.randn(64, 8)
    settling = measure.Settling(HardwareConfig.preset("hermes_pcm_8bit"), tol=1e-3,
                                dt_ns=0.5)
    out = measure.analog_settling(model, x, settling, seed=0, calibration_x=x)
    for key in ("residual_trace_median", "residual_trace_p99"):
        assert len(out[key]) == len(out["residual_trace"])
        assert all(math.isfinite(v) for v in out[key])
    assert all(p >= m for p, m in zip(out["residual_trace_p99"],
                                      out["residual_trace_median"], strict=True))
    assert out["residual_trace_p99"][-1] <= 1e-3
    assert out["settling_time_ns"] <= out["settling_time_ns_p99"] <= out["settling_time_ns_max"]
    # Calibrated on the same inputs, t_s is their own 99th percentile.
    assert out["sample_time_ns"] == pytest.approx(out["settling_time_ns_p99"])
    assert out["covered_fraction"] >= 0.99
    digital = measure.digital_iterations(model, x, 1e-3)
    assert all(p >= m for p, m in zip(digital["residual_trace_p99"],
                                      digital["residual_trace_median"], strict=True))
    assert digital["residual_trace_median"][-1] <= 1e-3


def test_forward_fill_keeps_a_stopped_sample_at_its_final_residual():
    nan = math.nan
    trace = torch.tensor([[1.0, 2.0], [0.5, nan], [nan, nan]], dtype=torch.float64)
    filled = measure._forward_fill(trace)
    assert filled.tolist() == [[1.0, 2.0], [0.5, 2.0], [0.5, 2.0]]


def test_where_it_wins_compares_at_equal_quality_and_names_the_fronts():
    """A task whose answer is known by construction: the hybrid is the cheapest design,
    a digital DEQ is faster and better; the digital feed-forward network matches the
    hybrid's quality within the tolerance and is the cheapest digital design that does."""
    from hadeq.bench.pareto import pareto_front
    from hadeq.bench.schema import FEEDFORWARD

    points = [
        {"design": "digital DEQ picard/int8", "quality": 0.90, "energy_j": 2.0, "latency_ns": 10.0},
        {"design": "digital DEQ anderson/fp16", "quality": 0.95, "energy_j": 4.0,
         "latency_ns": 5.0},
        {"design": FEEDFORWARD, "quality": 0.938, "energy_j": 3.0, "latency_ns": 20.0},
        {"design": HYBRID, "quality": 0.94, "energy_j": 1.0, "latency_ns": 8.0},
    ]
    fronts = {"points": points,
              "energy": pareto_front(points, "energy_j", "quality", True),
              "latency": pareto_front(points, "latency_ns", "quality", True)}
    split = {"energy_fraction": {"stem": 0.3, "core": 0.6, "converters": 0.1, "memory": 0.0,
                                 "head": 0.0},
             "latency_fraction": {"stem": 0.9, "core": 0.1, "converters": 0.0, "memory": 0.0,
                                  "head": 0.0}}
    task = {"metric": "accuracy", "higher_is_better": True, "fronts": fronts,
            "digital_design": {"tolerance_relative": 0.005},
            "models": {HYBRID: {"quality_mean": 0.94, "energy_j": 1.0, "latency_ns": 8.0}},
            "headline": {"amdahl": {"hybrid": split}}}
    (line,) = report.where_it_wins({"tasks": {"toy": task}})
    assert "on the energy front only" in line
    # cheapest of at least its quality: the feed-forward network (0.938 ≥ 0.94 − 0.0047)
    assert "the digital feed-forward network, 0.938) it uses 0.333× the energy" in line
    assert "1.6× the latency of the fastest (digital DEQ anderson/fp16)" in line
    assert "core (60%) and the stem (30%); its time to the stem (90%)" in line
    task["digital_design"]["tolerance_relative"] = 0.0  # now only the better DEQ qualifies
    (line,) = report.where_it_wins({"tasks": {"toy": task}})
    assert "(digital DEQ anderson/fp16, 0.95) it uses 0.25× the energy" in line
