"""The results schema of ``hadeq bench`` and the headline numbers derived from it.

``results/<suite>/results.json`` (schema ``hadeq.bench/1``)::

    {
      "schema": "hadeq.bench/1",
      "suite": "quick", "created_utc": "...", "wall_time_s": 512.3,
      "config": {...the suite's full configuration...},
      "seeds": [0, 1],
      "environment": {"hadeq", "torch", "numpy", "python", "platform", "git_commit"},
      "energy_assumptions": {...EnergyConfig fields...},
      "tasks": {
        "<task>": {
          "kind": "classification" | "regression" | "control",
          "metric": "accuracy" | "relative_l2" | "return",
          "higher_is_better": bool,
          "models": {
            "<model>": {
              "description": str, "parameters": int, "hardware": {...} | null,
              "quality_mean": float, "quality_std": float, "quality_per_seed": [...],
              "energy_j": float, "energy_breakdown_j": {bucket: J}, "latency_ns": float,
              "iterations_mean": float | null, "settling_time_ns": float | null,
              "sample_time_ns": float | null (hybrids: the charged sampling instant t_s),
              "snr_db": float | null (crossbar SNR at the headline),
              "read_noise": float | null (the headline's read noise found for its SNR),
              "static_snr_db": float | null, "converged_fraction": float | null,
              "train_time_s": float
            }
          },
          "ablations": {
            "weight_bits": {"values": [...], "physics_aware": [...], "standard": [...],
                            "physics_aware_std": [...], "standard_std": [...]},
            "read_noise": {same shape},
            "regularizers": [{"term", "quality", "near_zero_fraction",
                              "iterations_mean", "settling_time_ns", "energy_j"}]
          },
          "sensitivity": {"<assumption>": {"values": [...], "energy_ratio": [...],
                                            "time_ratio": [...]}},
          "curves": {"digital_residual": [...], "analog_residual": [...],
                     "analog_dt_ns": float,
                     # optional: the distribution over samples, per step (each cell's
                     # "residual_trace_median" / "_p99", a stopped sample keeping its
                     # final residual), and the digital trace's design ("solver/precision",
                     # default "anderson/fp32")
                     "digital_residual_median": [...], "digital_residual_p99": [...],
                     "analog_residual_median": [...], "analog_residual_p99": [...],
                     "digital_design": str},
          "headline": {see :func:`headline`}
        }
      }
    }

Retention is defined so that higher is better and 1 means "as good as the digital DEQ":
``q_hybrid / q_digital`` for a positive higher-is-better metric (accuracy), and
``q_digital / q_hybrid`` for an error (relative L2, lower is better) and for a return
(negative, higher is better; e.g. −150 / −170 = 0.88).
"""

from __future__ import annotations

import math
from typing import Any

SCHEMA = "hadeq.bench/1"

DIGITAL = "digital_deq"
HYBRID = "hybrid_physics_aware"
STANDARD = "hybrid_standard"
FEEDFORWARD = "feedforward_control"
"""The same stem, injection and head with the loop's feedback held at zero, trained
digitally: what the task gets without the equilibrium."""

TRAINED_AT = "physics_aware@"
"""Role prefix of a hybrid trained physics-aware at a harsh corner's chip (the corner's
label follows) and scored there: what training for the chip it will run on recovers."""


def trained_at(corner: str) -> str:
    """The role of the hybrid trained at ``corner`` (a label of ``SuiteConfig.corners``)."""
    return TRAINED_AT + corner


def retention(hybrid: float, digital: float, higher_is_better: bool) -> float:
    """Quality kept by the hybrid relative to the digital DEQ (see the module docstring)."""
    if not (math.isfinite(hybrid) and math.isfinite(digital)):
        return math.nan
    if higher_is_better and digital > 0:
        return hybrid / digital
    if hybrid == 0:
        return math.inf if digital != 0 else 1.0
    return digital / hybrid


def headline(task: dict[str, Any]) -> dict[str, Any]:
    """The numbers a user asks first: energy, time and quality of hybrid vs digital DEQ."""
    digital, hybrid = task["models"][DIGITAL], task["models"][HYBRID]
    return {
        "energy_ratio": digital["energy_j"] / hybrid["energy_j"],
        # Time to equilibrium: digital solver iterations on the accelerator vs the loop's
        # sampling instant t_s (every input is sampled then, so t_s is what a chip waits).
        "time_ratio": digital["core_time_ns"] / hybrid["sample_time_ns"],
        "latency_ratio": digital["latency_ns"] / hybrid["latency_ns"],
        "retention": retention(hybrid["quality_mean"], digital["quality_mean"],
                               task["higher_is_better"]),
        "snr_db": hybrid["snr_db"],
        "read_noise": hybrid.get("read_noise"),
        "digital_quality": digital["quality_mean"],
        "hybrid_quality": hybrid["quality_mean"],
        "digital_energy_j": digital["energy_j"],
        "hybrid_energy_j": hybrid["energy_j"],
        "digital_core_time_ns": digital["core_time_ns"],
        "digital_latency_ns": digital["latency_ns"],
        "hybrid_latency_ns": hybrid["latency_ns"],
        "digital_iterations": digital["iterations_mean"],
        "hybrid_settling_time_ns": hybrid["settling_time_ns"],
        "hybrid_sample_time_ns": hybrid["sample_time_ns"],
        "hardware": hybrid["hardware_label"],
        "metric": task["metric"],
    }
