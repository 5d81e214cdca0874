"""From cell results to the per-task results of ``results.json`` (see :mod:`.schema`)."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hadeq.analog.config import HardwareConfig
from hadeq.bench.pareto import pareto_front
from hadeq.bench.schema import (
    DIGITAL,
    FEEDFORWARD,
    HYBRID,
    STANDARD,
    headline,
    retention,
    trained_at,
)
from hadeq.bench.stats import disjoint, interval95
from hadeq.bench.suites import SuiteConfig, TaskPlan
from hadeq.energy import (
    DEQWorkload,
    EnergyConfig,
    EnergyReport,
    LayerSpec,
    amdahl_breakdown,
    average_reports,
    compare_deq,
    deq_area_mm2,
    digital_deq_energy,
    hybrid_deq_energy,
)
from hadeq.energy.accounting import digital_core_iteration
from hadeq.energy.area import matched_accelerators
from hadeq.tasks import get_task


def _mean_std(values: list[float]) -> tuple[float, float]:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return math.nan, math.nan
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def workload_from(data: Mapping[str, Any]) -> DEQWorkload:
    """A cell's workload from its JSON; fields that older cells lack take the value that
    prices them as before (the core's measured conductance and activity: None, i.e. the
    energy model's assumptions)."""
    return DEQWorkload(
        neurons=data["neurons"], core_macs=data["core_macs"],
        core_weights=data.get("core_weights"),
        path_amplifiers=data.get("path_amplifiers", 0),
        core_g_fraction=data.get("core_g_fraction"),
        core_activity=data.get("core_activity"),
        injection=tuple(LayerSpec(**spec) for spec in data["injection"]),
        head=tuple(LayerSpec(**spec) for spec in data["head"]),
    )


@dataclass(frozen=True)
class DigitalDesign:
    """A point of the digital design space: the solver and the arithmetic precision."""

    solver: str
    precision: str

    @property
    def label(self) -> str:
        return f"{self.solver}/{self.precision}"


REFERENCE_DESIGN = DigitalDesign("anderson", "fp32")
"""The design whose quality the others must keep (torchdeq's solver in float)."""


def solver_precision_for(design: DigitalDesign) -> str:
    """Precision of the solver's own arithmetic: Picard has none; Anderson's least squares
    and Broyden's rank-one updates need floating point, so an int8 design runs them in
    fp16 (and its quality is measured with them in fp32, a slight advantage)."""
    return "fp16" if design.precision == "int8" else design.precision


def design_config(config: EnergyConfig, design: DigitalDesign) -> EnergyConfig:
    """The energy model of a digital accelerator built for ``design``."""
    return dataclasses.replace(config, digital_precision=design.precision,
                               solver_precision=solver_precision_for(design))


def _grid_point(cell: Mapping[str, Any], design: DigitalDesign) -> Mapping[str, Any]:
    for point in cell["digital_grid"]:
        if point["solver"] == design.solver and point["precision"] == design.precision:
            return point
    raise KeyError(design.label)


def digital_report(cells: list[dict[str, Any]], config: EnergyConfig,
                   design: DigitalDesign) -> tuple[EnergyReport, float]:
    """The digital DEQ built for ``design``, averaged over seeds: its energy report (with
    each seed's measured iterations at that design) and its core time, ns."""
    reports, core = [], []
    priced = design_config(config, design)
    for cell in cells:
        work = workload_from(cell["workload"])
        iterations = _grid_point(cell, design)["iterations_mean"]
        reports.append(digital_deq_energy(work, iterations, priced, solver=design.solver))
        _, t_it, _ = digital_core_iteration(work, priced, solver=design.solver)
        core.append(iterations * t_it)
    return average_reports(reports), statistics.fmean(core)


def control_report(cells: list[dict[str, Any]], config: EnergyConfig,
                   design: DigitalDesign) -> EnergyReport:
    """The feed-forward control priced as a digital feed-forward network, averaged over
    the digital cells' workloads: the DEQ's stem, one pass of ``σ(u + b)`` (a core with no
    weights, evaluated once) and its head, on the accelerator and at the precision of the
    charged digital design ``design``."""
    priced = design_config(config, design)
    reports = [digital_deq_energy(
        dataclasses.replace(workload_from(c["workload"]), core_macs=0, core_weights=0), 1.0,
        priced, solver="picard") for c in cells]
    return average_reports(reports)


def best_digital(cells: list[dict[str, Any]], config: EnergyConfig, higher_is_better: bool,
                 tolerance: float) -> tuple[DigitalDesign, list[dict[str, Any]]]:
    """The cheapest digital design whose mean quality over seeds stays within
    ``tolerance`` (relative) of :data:`REFERENCE_DESIGN`'s, and the whole grid.

    Quality of every design is measured at that design's precision (the cells'
    ``digital_grid``); energy is the design's energy model with its measured iterations.
    """
    designs = [DigitalDesign(p["solver"], p["precision"]) for p in cells[0]["digital_grid"]]

    def quality(design: DigitalDesign) -> float:
        return statistics.fmean(_grid_point(c, design)["quality"] for c in cells)

    ref = quality(REFERENCE_DESIGN)
    slack = tolerance * abs(ref)
    grid = []
    for design in designs:
        q = quality(design)
        report, core_ns = digital_report(cells, config, design)
        grid.append({
            "solver": design.solver, "precision": design.precision, "quality_mean": q,
            "quality_per_seed": [_grid_point(c, design)["quality"] for c in cells],
            "iterations_mean": statistics.fmean(
                _grid_point(c, design)["iterations_mean"] for c in cells),
            "energy_j": report.total_j, "core_time_ns": core_ns,
            "latency_ns": report.latency_ns,
            "admissible": q >= ref - slack if higher_is_better else q <= ref + slack,
        })
    chosen = min((g for g in grid if g["admissible"]), key=lambda g: g["energy_j"])
    for g in grid:
        g["chosen"] = g is chosen
    return DigitalDesign(chosen["solver"], chosen["precision"]), grid


def hybrid_report(cells: list[dict[str, Any]], config: EnergyConfig,
                  hardware: HardwareConfig) -> EnergyReport:
    """The hybrid DEQ's energy report averaged over seeds, each charged for its own
    sampling instant ``t_s`` rescaled to ``hardware``'s loop time constant."""
    return average_reports([
        hybrid_deq_energy(workload_from(cell["workload"]),
                          _settling_ns(cell["settling"], hardware), config, hardware=hardware)
        for cell in cells])


def _settling_ns(settle: Mapping[str, Any], hardware: HardwareConfig) -> float:
    """The charged loop time, the sampling instant ``t_s`` (every input is sampled then),
    rescaled to ``hardware``'s loop time constant: the loop's dynamics are
    τ·da/dt = −a + I(σ(a)) + u, so time scales with τ."""
    return settle["sample_time_ns"] * hardware.tau_ns / settle["tau_ns"]


def _timing(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """The hybrid's loop timing over seeds: mean noise-free settling of the test inputs,
    its 99th percentile, the charged sampling instant ``t_s`` and the physical quality
    beside the training proxy's (headline hardware)."""
    settle = [c["settling"] for c in cells]
    headline = [c["evaluations"]["headline"] for c in cells]
    proxies = [e["proxy_quality"] for e in headline if e.get("proxy_quality") is not None]
    return {
        "settling_time_ns": statistics.fmean(s["settling_time_ns"] for s in settle),
        "settling_time_ns_p99": statistics.fmean(s["settling_time_ns_p99"] for s in settle),
        "sample_time_ns": statistics.fmean(s["sample_time_ns"] for s in settle),
        "covered_fraction": statistics.fmean(s["covered_fraction"] for s in settle),
        "proxy_quality_mean": statistics.fmean(proxies) if proxies else None,
    }


def _fronts(models: Mapping[str, Any], grid: list[dict[str, Any]],
            higher_is_better: bool) -> dict[str, Any]:
    """Every priced design of the task as a point of (energy per inference, quality) and
    of (latency, quality) — the digital DEQ at each solver × precision, the hybrids at the
    headline hardware, the baselines — and the Pareto front of each plane
    (:func:`hadeq.bench.pareto.pareto_front`)."""
    points = [{"design": f"digital DEQ {g['solver']}/{g['precision']}",
               "energy_j": g["energy_j"], "latency_ns": g["latency_ns"],
               "quality": g["quality_mean"]} for g in grid]
    for name, m in models.items():
        if name == DIGITAL or m.get("energy_j") is None:
            continue  # the digital DEQ is in the grid; unpriced models are not designs
        points.append({"design": name, "energy_j": m["energy_j"],
                       "latency_ns": m.get("latency_ns"), "quality": m["quality_mean"]})
    return {"points": points,
            "energy": pareto_front(points, "energy_j", "quality", higher_is_better),
            "latency": pareto_front(points, "latency_ns", "quality", higher_is_better)}


def _anytime(digital_cells: list[dict[str, Any]],
             physics_cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Quality against time: the physics-aware hybrid sampled at fractions of its ``t_s``
    and the digital DEQ stopped after a number of iterations, averaged over seeds, with
    the first time (iteration count) within 0.5 % of the final quality per seed."""
    out: dict[str, Any] = {}
    curves = [c["evaluations"]["headline"].get("sampling_curve") for c in physics_cells]
    curves = [c for c in curves if c]
    if curves:
        out["hybrid"] = {
            "time_ns": [statistics.fmean(v) for v in zip(*(c["time_ns"] for c in curves),
                                                          strict=True)],
            "quality": [statistics.fmean(v) for v in zip(*(c["quality"] for c in curves),
                                                          strict=True)],
            "time_to_final_ns": [c["time_to_final_ns"] for c in curves],
        }
    digital = [c["iteration_curves"] for c in digital_cells if c.get("iteration_curves")]
    for solver in digital[0] if digital else ():
        runs = [d[solver] for d in digital]
        out[f"digital_{solver}"] = {
            "iterations": runs[0]["iterations"],
            "quality": [statistics.fmean(v) for v in zip(*(r["quality"] for r in runs),
                                                          strict=True)],
            "iterations_to_final": [r["iterations_to_final"] for r in runs],
        }
    return out


def _quality(cells: list[dict[str, Any]], label: str) -> tuple[float, float, list[float]]:
    per_seed = [c["evaluations"][label]["quality"] for c in cells]
    mean, std = _mean_std(per_seed)
    return mean, std, per_seed


def _hw_label(hw: Mapping[str, Any]) -> str:
    parts = [str(hw.get("preset", "custom"))]
    parts += [f"{k}={v}" for k, v in hw.items() if k != "preset"]
    return ", ".join(parts)


def assemble_task(plan: TaskPlan, suite: SuiteConfig, cells: list[dict[str, Any]],
                  energy: EnergyConfig) -> dict[str, Any]:
    task = get_task(plan.task)
    by_role: dict[str, list[dict[str, Any]]] = {}
    for c in cells:
        by_role.setdefault(c["cell"]["role"], []).append(c)
    digital_cells, physics_cells = by_role["digital"], by_role["physics_aware"]
    # The digital DEQ's iterations come from its own (float-trained) weights; the hybrid
    # rows' settling times from the weights each training produced.
    headline_hw = dict(suite.headline_hardware)
    hardware = HardwareConfig.parse(headline_hw)
    design, grid = best_digital(digital_cells, energy, task.higher_is_better,
                                suite.digital_quality_tolerance)
    e_digital, core_time = digital_report(digital_cells, energy, design)
    e_standard = hybrid_report(digital_cells, energy, hardware)
    e_hybrid = hybrid_report(physics_cells, energy, hardware)

    def row(cells_: list[dict[str, Any]], label: str, report: EnergyReport | None,
            hardware: Mapping[str, Any] | None, description: str, **extra: Any) -> dict:
        if label == "design":  # the digital DEQ, scored at the precision it is charged
            per_seed = [_grid_point(c, design)["quality"] for c in cells_]
            (mean, std), label = _mean_std(per_seed), "ideal"
        else:
            mean, std, per_seed = _quality(cells_, label)
        ev = [c["evaluations"][label] for c in cells_]
        # The read noise found where the headline is at a given crossbar SNR, per seed.
        found = [e["snr_calibration"] for e in ev if "snr_calibration" in e]
        snrs = [e["mvm_snr_db"] for e in ev if e.get("mvm_snr_db") is not None] or [
            f["snr_db"] for f in found]
        z_snrs = [e["z_snr_db"] for e in ev if e.get("z_snr_db") is not None]
        shares = [e["feedback_share"] for e in ev if e.get("feedback_share") is not None]
        radii = [e["jacobian_radius"] for e in ev if e.get("jacobian_radius") is not None]
        slopes = [e["mean_slope"] for e in ev if e.get("mean_slope") is not None]
        out = {
            "description": description,
            "parameters": cells_[0]["parameters"],
            "hardware": dict(hardware) if hardware else None,
            "hardware_label": _hw_label(hardware) if hardware else "ideal (float)",
            "quality_mean": mean, "quality_std": std, "quality_per_seed": per_seed,
            "quality_interval": interval95(per_seed).to_dict(),
            "snr_db": statistics.fmean(snrs) if snrs else None,
            "z_snr_db": statistics.fmean(z_snrs) if z_snrs else None,
            "read_noise": statistics.fmean(f["read_noise"] for f in found) if found else None,
            "static_snr_db": (statistics.fmean(f["static_snr_db"] for f in found)
                              if found else None),
            "snr_reached": all(f["reachable"] for f in found) if found else None,
            "feedback_share": statistics.fmean(shares) if shares else None,
            "jacobian_radius": statistics.fmean(radii) if radii else None,
            "mean_slope": statistics.fmean(slopes) if slopes else None,
            "converged_fraction": statistics.fmean(
                e["solver"].get("converged_fraction", math.nan) for e in ev)
            if ev[0]["solver"] else None,
            "train_time_s": statistics.fmean(c["train_time_s"] for c in cells_),
            "iterations_mean": None, "settling_time_ns": None, "sample_time_ns": None,
        }
        if report is not None:
            out["energy_j"] = report.total_j
            out["energy_breakdown_j"] = report.energy.to_dict()
            out["latency_ns"] = report.latency_ns
        out.update(extra)
        return out

    digital_it = statistics.fmean(_grid_point(c, design)["iterations_mean"]
                                  for c in digital_cells)
    models: dict[str, Any] = {
        DIGITAL: row(digital_cells, "design", e_digital, None,
                     f"DEQ trained in float, run as the best digital design "
                     f"({design.solver} at {design.precision})",
                     iterations_mean=digital_it, core_time_ns=core_time,
                     solver=design.solver, precision=design.precision),
        HYBRID: row(physics_cells, "headline", e_hybrid, headline_hw,
                    "hybrid DEQ, physics-aware training on the headline hardware",
                    **_timing(physics_cells)),
        STANDARD: row(digital_cells, "headline", e_standard, headline_hw,
                      "hybrid DEQ, standard training (ideal forward), run on the hardware",
                      **_timing(digital_cells)),
    }
    for name in plan.baselines:
        cells_ = by_role.get(name, [])
        if not cells_:
            continue
        energies = [c["energy"] for c in cells_ if c.get("energy")]
        r = row(cells_, "headline", None, headline_hw,
                f"baseline {name}, hardware-aware trained on the headline hardware")
        if energies:
            r["energy_j"] = statistics.fmean(e["energy_j"]["total"] for e in energies)
            r["energy_breakdown_j"] = energies[0]["energy_j"]
            r["latency_ns"] = statistics.fmean(e["latency_ns"] for e in energies)
        models[name] = r

    control = by_role.get(FEEDFORWARD, [])
    if control:
        models[FEEDFORWARD] = row(control, "ideal", control_report(digital_cells, energy, design),
                                  None,
                                  "feed-forward control: the DEQ's stem, injection and head "
                                  "with the loop's feedback held at zero, trained digitally; "
                                  "priced as a digital feed-forward network on the charged "
                                  "design's accelerator and precision (quality in float)")

    result: dict[str, Any] = {
        "kind": task.kind, "metric": task.primary_metric,
        "higher_is_better": task.higher_is_better, "models": models,
        "digital_design": {"solver": design.solver, "precision": design.precision,
                           "reference": REFERENCE_DESIGN.label,
                           "tolerance_relative": suite.digital_quality_tolerance,
                           "grid": grid},
        "ablations": _ablations(plan, suite, digital_cells, physics_cells, by_role, energy,
                                hardware, task.higher_is_better),
        "sensitivity": _sensitivity(suite, digital_cells, physics_cells, energy, hardware,
                                    design),
        "curves": {
            "digital_residual": digital_cells[0]["digital"]["residual_trace"],
            "analog_residual": physics_cells[0]["settling"]["residual_trace"],
            "analog_dt_ns": physics_cells[0]["settling"]["dt_ns"],
            # both sides' residual max_i |f(z) − z|_i, and the output precision they reach
            "tol": physics_cells[0]["settling"]["settle_tol"],
        },
    }
    # The digital curve of the design that is charged; the analog one of the first seed.
    point = _grid_point(digital_cells[0], design)
    result["curves"].update(digital_residual=point["residual_trace"],
                            digital_residual_median=point["residual_trace_median"],
                            digital_residual_p99=point["residual_trace_p99"],
                            digital_design=design.label)
    settling = physics_cells[0]["settling"]
    for stat in ("median", "p99"):
        result["curves"][f"analog_residual_{stat}"] = settling[f"residual_trace_{stat}"]
    result["anytime"] = _anytime(digital_cells, physics_cells)
    result["fronts"] = _fronts(models, grid, task.higher_is_better)
    result["headline"] = headline(result)
    result["headline"].update(_fair_comparison(digital_cells, e_digital, e_hybrid, energy,
                                               design))
    result["headline"]["intervals"] = _seed_intervals(digital_cells, physics_cells, energy,
                                                      hardware, design, task.higher_is_better)
    if control:
        result["headline"]["equilibrium_gain"] = _equilibrium_gain(
            digital_cells, control, task.higher_is_better)
    return result


def _fair_comparison(digital_cells: list[dict[str, Any]], e_digital: EnergyReport,
                     e_hybrid: EnergyReport, energy: EnergyConfig,
                     design: DigitalDesign) -> dict[str, Any]:
    """The digital design against the hybrid at both scopes (core-only and end-to-end:
    energy, time and area, with the Amdahl breakdown of each machine), and the time ratio
    against digital accelerators matched to the analog core's area and power."""
    work = workload_from(digital_cells[0]["workload"])
    priced = design_config(energy, design)
    comparison = compare_deq(e_digital, e_hybrid, area_mm2=deq_area_mm2(work, priced))
    matched = matched_accelerators(work, e_hybrid, priced)
    hybrid_core_ns = comparison["hybrid"]["core_only"]["latency_ns"]
    for key in ("equal_area", "equal_power"):
        macs = matched[key]
        if macs is None:
            matched[key] = None
            continue
        report, _ = digital_report(digital_cells, dataclasses.replace(
            energy, digital_macs_per_cycle=macs), design)
        core_ns = amdahl_breakdown(report)["core_only"]["latency_ns"]
        matched[key] = {"macs_per_cycle": macs, "core_time_ratio": core_ns / hybrid_core_ns}
    return {"design": {"solver": design.solver, "precision": design.precision},
            "core_only": comparison["core_only"], "end_to_end": comparison["end_to_end"],
            "amdahl": {"digital": comparison["digital"], "hybrid": comparison["hybrid"]},
            "matched_accelerators": matched}


def _seed_intervals(digital_cells: list[dict[str, Any]], physics_cells: list[dict[str, Any]],
                    energy: EnergyConfig, hardware: HardwareConfig, design: DigitalDesign,
                    higher_is_better: bool) -> dict[str, Any]:
    """Mean ± 95 % interval over seeds of the headline ratios, pairing the digital DEQ and
    the hybrid trained with the same seed (seeds present in both)."""
    digital = {c["cell"]["seed"]: c for c in digital_cells}
    hybrid = {c["cell"]["seed"]: c for c in physics_cells}
    seeds = sorted(set(digital) & set(hybrid))
    energy_ratio, time_ratio, retained = [], [], []
    for seed in seeds:
        d, h = digital[seed], hybrid[seed]
        e_d, core = digital_report([d], energy, design)
        e_h = hybrid_report([h], energy, hardware)
        energy_ratio.append(e_d.total_j / e_h.total_j)
        time_ratio.append(core / _settling_ns(h["settling"], hardware))
        retained.append(retention(h["evaluations"]["headline"]["quality"],
                                  _grid_point(d, design)["quality"], higher_is_better))
    return {"seeds": seeds,
            "energy_ratio": interval95(energy_ratio).to_dict(),
            "time_ratio": interval95(time_ratio).to_dict(),
            "retention": interval95(retained).to_dict()}


def _corners(suite: SuiteConfig, digital_cells: list[dict[str, Any]],
             physics_cells: list[dict[str, Any]], higher_is_better: bool,
             by_role: dict[str, list[dict[str, Any]]] | None = None
             ) -> list[dict[str, Any]]:
    """Per harsh corner: both hybrids' quality (mean ± 95 % interval over seeds, each
    seed's score the mean over ``suite.corner_chips`` programmed chips), what standard
    training loses against the digital DEQ (its float quality, paired by seed; > 0: a
    loss), the fraction of that loss physics-aware training recovers, and whether the
    two hybrids' intervals are disjoint; where ``by_role`` holds hybrids trained at the
    corner (:func:`~hadeq.bench.schema.trained_at`), the same for them
    (``trained_at_corner``)."""
    sign = 1.0 if higher_is_better else -1.0
    rows: list[dict[str, Any]] = []
    if not (digital_cells and physics_cells):
        return rows
    for label in suite.corners:
        key = f"corner:{label}"
        if not all(key in c["evaluations"] for c in digital_cells + physics_cells):
            continue
        ideal = {c["cell"]["seed"]: c["evaluations"]["ideal"]["quality"] for c in digital_cells}
        std = {c["cell"]["seed"]: c["evaluations"][key]["quality"] for c in digital_cells}
        pa = {c["cell"]["seed"]: c["evaluations"][key]["quality"] for c in physics_cells}
        seeds = sorted(set(ideal) & set(std) & set(pa))
        loss = [sign * (ideal[s] - std[s]) for s in seeds]
        gain = [sign * (pa[s] - std[s]) for s in seeds]
        mean_loss = statistics.fmean(loss) if loss else math.nan
        pa_i, std_i = interval95([pa[s] for s in seeds]), interval95([std[s] for s in seeds])
        row = {
            "corner": label, "seeds": seeds, "chips": suite.corner_chips,
            "physics_aware": pa_i.to_dict(),
            "standard": std_i.to_dict(),
            "separated": disjoint(pa_i, std_i),
            "standard_loss": interval95(loss).to_dict(),
            "physics_aware_gain": interval95(gain).to_dict(),
            "recovered": (statistics.fmean(gain) / mean_loss
                          if loss and mean_loss > 0 else None),
        }
        found = {side: [c["evaluations"][key]["snr_calibration"] for c in cells
                        if "snr_calibration" in c["evaluations"][key]]
                 for side, cells in (("standard", digital_cells),
                                     ("physics_aware", physics_cells))}
        if all(found.values()):
            # A corner of given SNR: the read noise found per model (mean over seeds).
            row["read_noise"] = {side: statistics.fmean(f["read_noise"] for f in cals)
                                 for side, cals in found.items()}
            row["snr_reached"] = all(f["reachable"] for cals in found.values() for f in cals)
        at_corner = {c["cell"]["seed"]: c["evaluations"][key]["quality"]
                     for c in (by_role or {}).get(trained_at(label), [])}
        paired = [s for s in seeds if s in at_corner]
        if paired:
            at_i = interval95([at_corner[s] for s in paired])
            at_gain = [sign * (at_corner[s] - std[s]) for s in paired]
            at_loss = statistics.fmean(sign * (ideal[s] - std[s]) for s in paired)
            row["trained_at_corner"] = {
                "seeds": paired, "quality": at_i.to_dict(),
                "gain": interval95(at_gain).to_dict(),
                "recovered": statistics.fmean(at_gain) / at_loss if at_loss > 0 else None,
                "separated": disjoint(at_i, interval95([std[s] for s in paired])),
            }
        rows.append(row)
    return rows


def _equilibrium_gain(digital_cells: list[dict[str, Any]], control: list[dict[str, Any]],
                      higher_is_better: bool) -> dict[str, Any]:
    """What the equilibrium adds: the digital DEQ's float quality minus the feed-forward
    control's (trained with the same seed), signed so that > 0 means the DEQ is better;
    mean ± 95 % interval over the paired seeds."""
    deq = {c["cell"]["seed"]: c["evaluations"]["ideal"]["quality"] for c in digital_cells}
    ff = {c["cell"]["seed"]: c["evaluations"]["ideal"]["quality"] for c in control}
    seeds = sorted(set(deq) & set(ff))
    sign = 1.0 if higher_is_better else -1.0
    return {"seeds": seeds,
            "gain": interval95([sign * (deq[s] - ff[s]) for s in seeds]).to_dict(),
            "deq_quality": statistics.fmean(deq[s] for s in seeds) if seeds else None,
            "control_quality": statistics.fmean(ff[s] for s in seeds) if seeds else None}


def _ablations(plan: TaskPlan, suite: SuiteConfig, digital_cells: list[dict[str, Any]],
               physics_cells: list[dict[str, Any]], by_role: dict[str, list[dict[str, Any]]],
               energy: EnergyConfig, hardware: HardwareConfig,
               higher_is_better: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, values, fmt in (("weight_bits", suite.weight_bits, "bits={}"),
                             ("read_noise", suite.read_noise, "noise={}")):
        sweep: dict[str, Any] = {"values": list(values)}
        for mode, cells_ in (("physics_aware", physics_cells), ("standard", digital_cells)):
            stats = [_quality(cells_, fmt.format(v))[:2] for v in values]
            sweep[mode] = [s[0] for s in stats]
            sweep[mode + "_std"] = [s[1] for s in stats]
        out[key] = sweep
    corners = _corners(suite, digital_cells, physics_cells, higher_is_better, by_role)
    if corners:
        out["corners"] = corners
    regs = []
    for role, cells_ in sorted(by_role.items()):
        if not (role.startswith("reg:") or role == "physics_aware"):
            continue
        cell = cells_[0]
        e_h = hybrid_report([cell], energy, hardware)
        work = workload_from(cell["workload"])
        regs.append({
            "term": role.removeprefix("reg:") if role != "physics_aware" else "none",
            "quality": cell["evaluations"]["headline"]["quality"],
            "near_zero_fraction": cell.get("near_zero_fraction"),
            "iterations_mean": cell["digital"]["iterations_mean"],
            "settling_time_ns": cell["settling"]["settling_time_ns"],
            "sample_time_ns": cell["settling"]["sample_time_ns"],
            "energy_j": e_h.total_j,
            # What moves the crossbar's share: the trained cells' conductance (mean
            # (G⁺ + G⁻)/g_max per cell) and the rows' activity (mean z*²), both measured.
            "core_g_fraction": work.core_g_fraction,
            "core_activity": work.core_activity,
            "array_energy_j": e_h.energy.array_j,
        })
    if len(regs) > 1:
        out["regularizers"] = regs
    return out


def _sensitivity(suite: SuiteConfig, digital_cells: list[dict[str, Any]],
                 physics_cells: list[dict[str, Any]], energy: EnergyConfig,
                 hardware: HardwareConfig, design: DigitalDesign) -> dict[str, Any]:
    """Energy and time ratios with one assumption swept: an :class:`EnergyConfig` field or
    a circuit field of the hardware (e.g. ``tau_ns``)."""
    out: dict[str, Any] = {}
    hardware_fields = {f.name for f in dataclasses.fields(HardwareConfig)}
    for name, values in suite.sensitivity.items():
        energy_ratio, time_ratio = [], []
        for v in values:
            config, hw = energy, hardware
            if name in hardware_fields:
                hw = hardware.replace(**{name: v})
            else:
                config = dataclasses.replace(energy, **{name: v})
            e_d, core = digital_report(digital_cells, config, design)
            e_h = hybrid_report(physics_cells, config, hw)
            settle = statistics.fmean(_settling_ns(c["settling"], hw) for c in physics_cells)
            energy_ratio.append(e_d.total_j / e_h.total_j)
            time_ratio.append(core / settle)
        out[name] = {"values": list(values), "energy_ratio": energy_ratio,
                     "time_ratio": time_ratio}
    return out
