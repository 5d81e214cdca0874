"""Measurements on a trained model: its workload, digital iterations, analog settling."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from hadeq.analog import HardwareConfig, LoopSampling, measure_snr_db, snr_db
from hadeq.analog.loop import settle
from hadeq.deq import spectral_radius
from hadeq.models import DIGITAL_PRECISIONS, AnalogCoreDEQ, HadeqModel, at_precision


@dataclass(frozen=True)
class Settling:
    """How the analog loop's settling is measured: the chip, the tolerance and the
    integration step. The time constant is the chip's own, ``hardware.tau_ns``."""

    hardware: HardwareConfig
    """The chip that settles (its read noise is switched off for the measurement)."""
    tol: float
    """Largest residual ``max_i |f(z) − z|_i`` (``z`` on σ's range [−1, 1]) at which the
    digital solvers stop: the precision the ADC reads the analog loop's ``z`` to, half
    an LSB (:func:`digital_solver_options`)."""
    dt_ns: float
    """Integration step of the loop's ODE, ns."""
    horizon_tau: float = 200.0
    """Longest simulated time, in units of τ."""
    loop: LoopSampling = field(default_factory=LoopSampling)
    """How the physical loop is sampled and simulated (``t_s``: by default the 99th
    percentile of the calibration inputs' settling times)."""

    def solver_options(self) -> dict[str, Any]:
        """Loop options of the ``analog_relaxation`` solver for this measurement."""
        return {"tol": self.tol, "stop_mode": "rel", "dt_ns": self.dt_ns,
                "max_iter": int(self.horizon_tau * self.hardware.tau_ns / self.dt_ns),
                "stagnation_window": 0}


CHIP_SEED_STRIDE = 1000
"""Programming seeds of a cell's extra chips are this far apart (training seeds are
small integers, so no two cells share a chip)."""


def chip_seeds(seed: int, chips: int) -> list[int]:
    """The programming seeds of a cell's ``chips`` chips (the first is ``seed`` itself)."""
    return [seed + c * CHIP_SEED_STRIDE for c in range(chips)]


def digital_solver_options(tol: float) -> dict[str, Any]:
    """Options of a digital solve stopped at the analog loop's output precision: every
    component's residual ``|f(z) − z|_i ≤ tol`` (``mixed`` mode with no relative part; its
    residual is ``max_i |f(z) − z|_i / tol``)."""
    return {"tol": tol, "rtol": 0.0, "stop_mode": "mixed", "max_iter": 200}


def _solve_stats(model: HadeqModel, x: Tensor, residual_scale: float = 1.0
                 ) -> dict[str, Any]:
    """Iterations and residual traces of one solve on ``x``; traces are multiplied by
    ``residual_scale`` (a ``mixed``-mode residual by its ``tol``: absolute units)."""
    with torch.no_grad():
        info = model.forward_with_info(x)
    s = info.stats
    trace = s.trace.double() * residual_scale
    # Mean residual over the samples still running (stopped samples are NaN).
    mean_trace = [float(v) for v in trace.nanmean(dim=1)]
    # The distribution over samples: a stopped sample keeps its final residual.
    filled = _forward_fill(trace)
    out = {
        "iterations_mean": float(s.iterations.float().mean()),
        "converged_fraction": s.converged_fraction,
        "residual_trace": mean_trace,
        # "higher" quantiles: the median (p99) trace is at or below the tolerance from
        # exactly the median (p99) stopping step on, as settling_time_ns_p99 is computed.
        "residual_trace_median": [float(v) for v in
                                  filled.quantile(0.5, dim=1, interpolation="higher")],
        "residual_trace_p99": [float(v) for v in
                               filled.quantile(0.99, dim=1, interpolation="higher")],
    }
    if "settling_time_ns" in s.extras:
        t = s.extras["settling_time_ns"].double()
        out["settling_time_ns"] = float(t.nanmean()) if bool(t.isfinite().any()) else math.nan
        out["settling_time_ns_max"] = float(t.nan_to_num(nan=math.inf).max())
        # 99th percentile of the samples (an unsettled sample counts as infinitely slow)
        out["settling_time_ns_p99"] = float(t.nan_to_num(nan=math.inf)
                                            .quantile(0.99, interpolation="higher"))
    return out


def _forward_fill(trace: Tensor) -> Tensor:
    """``trace`` (shape ``(T, B)``, NaN once a sample stopped) with each NaN replaced by
    the last value above it in its column (a column that starts with NaN keeps it)."""
    steps = torch.arange(trace.shape[0], device=trace.device).unsqueeze(1)
    last = torch.where(trace.isnan(), torch.zeros_like(steps), steps).cummax(dim=0).values
    return trace.gather(0, last)


def digital_iterations(model: AnalogCoreDEQ, x: Tensor, tol: float) -> dict[str, Any]:
    """Anderson iterations per sample to residual ``tol`` in every component
    (:func:`digital_solver_options`) on ideal float weights."""
    digital = model.clone()
    digital.set_hardware(HardwareConfig.preset("ideal"))
    digital.set_eval_solver("anderson", digital_solver_options(tol))
    return _solve_stats(digital.eval(), x, tol)


GRID_SOLVERS: tuple[str, ...] = ("picard", "anderson", "broyden")
"""Solvers a digital DEQ may run with; the bench measures each at every precision."""


def digital_grid(model: AnalogCoreDEQ, score: Callable[[HadeqModel], float], x: Tensor,
                 tol: float) -> list[dict[str, Any]]:
    """The digital DEQ at every solver × precision (:data:`GRID_SOLVERS` ×
    :data:`~hadeq.models.DIGITAL_PRECISIONS`): task quality (``score`` of the model run at
    that precision, see :func:`hadeq.models.at_precision`) and iterations per sample to
    residual ``tol`` in every component (:func:`digital_solver_options`) on ``x``. The best
    digital design is chosen from this grid (:func:`hadeq.bench.assemble.best_digital`)."""
    digital = model.clone()
    digital.set_hardware(HardwareConfig.preset("ideal"))
    points = []
    for precision in DIGITAL_PRECISIONS:
        run = at_precision(digital, precision)
        for solver in GRID_SOLVERS:
            run.set_eval_solver(solver, digital_solver_options(tol))
            stats = _solve_stats(run.eval(), x, tol)
            points.append({"solver": solver, "precision": precision, "quality": score(run),
                           "iterations_mean": stats["iterations_mean"],
                           "converged_fraction": stats["converged_fraction"],
                           **{k: stats[k] for k in ("residual_trace", "residual_trace_median",
                                                    "residual_trace_p99")}})
    return points


def calibrated_chip(model: AnalogCoreDEQ, hardware: HardwareConfig, seed: int,
                    calibration_x: Tensor, loop: LoopSampling) -> AnalogCoreDEQ:
    """A copy of ``model`` on ``hardware`` programmed with ``seed``, in eval mode, its
    loop calibrated on ``calibration_x`` (fixed ranges, sampling instant ``t_s``)."""
    chip = model.clone()
    chip.set_hardware(hardware, seed=seed)
    chip.eval().calibrate_loop(calibration_x, loop)  # type: ignore[operator]
    return chip  # type: ignore[return-value]


def analog_settling(model: AnalogCoreDEQ, x: Tensor, settling: Settling, seed: int,
                    calibration_x: Tensor, calibration: Any = None) -> dict[str, Any]:
    """The analog loop's timing on ``settling.hardware`` programmed with ``seed``: the
    sampling instant ``t_s`` calibrated on ``calibration_x`` (held-out training inputs)
    and the noise-free settling times of ``x`` (to half an ADC LSB on ``z``, the
    physical loop of :mod:`hadeq.analog.loop`), with the fraction of ``x`` that ``t_s``
    covers (``calibration``: one made on this chip already). Energy and time are charged
    for ``t_s``."""
    if calibration is None:
        chip = calibrated_chip(model, settling.hardware, seed, calibration_x, settling.loop)
    else:
        chip = model.clone()
        chip.set_hardware(settling.hardware, seed=seed)
        chip.eval().adopt_loop_calibration(calibration)
    calib = chip.loop_calibration
    assert calib is not None
    with torch.no_grad():
        u = chip.injection(x)
        result = settle(chip.loop_operator(), chip.sigma, u, chip.loop_dynamics(calib.dt_ns),
                        calib.tol, horizon_tau=settling.loop.horizon_tau,
                        record_residual=True)
    t = result.time_ns
    assert result.residual is not None
    res = result.residual
    finite = t[t.isfinite()]
    cal = calib.settling_ns
    return {
        "sample_time_ns": calib.sample_time_ns,
        "settling_time_ns": float(finite.mean()) if finite.numel() else math.inf,
        "settling_time_ns_p99": float(t.quantile(0.99, interpolation="higher")),
        "settling_time_ns_max": float(t.max()),
        "covered_fraction": float((t <= calib.sample_time_ns).double().mean()),
        "settled_fraction": float(t.isfinite().double().mean()),
        "calibration_settling_ns_mean": float(cal[cal.isfinite()].mean()),
        "calibration_settling_ns_p99": float(cal.quantile(0.99, interpolation="higher")),
        "settle_tol": calib.tol, "dt_ns": calib.dt_ns, "tau_ns": settling.hardware.tau_ns,
        # The loop's residual max_i |f(z) − z|_i along the trajectory (the digital solvers'
        # measure).
        "residual_trace": [float(v) for v in res.mean(dim=1)],
        "residual_trace_median": [float(v) for v in
                                  res.quantile(0.5, dim=1, interpolation="higher")],
        "residual_trace_p99": [float(v) for v in
                               res.quantile(0.99, dim=1, interpolation="higher")],
    }


def sampling_curve(chip: AnalogCoreDEQ, x: Tensor, score: Callable[[Tensor], float],
                   fractions: tuple[float, ...] = (0.125, 0.25, 0.375, 0.5, 0.625, 0.75,
                                                   0.875, 1.0, 1.5, 2.0),
                   seed: int = 0) -> dict[str, Any]:
    """Quality of the calibrated ``chip`` when the ADC samples at ``fractions`` of its
    ``t_s`` (the loop is an anytime computer): ``score(outputs)`` of the head's outputs
    on ``x`` at each instant, with read noise from a stream seeded by ``seed``; and the
    first instant whose quality is within 0.5 % of the quality at the last one."""
    calib = chip.loop_calibration
    assert calib is not None
    times = tuple(f * calib.sample_time_ns for f in fractions)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        u = chip.injection(x)
        states = chip.physical_trajectory(u, times)
        quality = [score(chip.head(chip.adc_read(chip.sigma(a)))) for a in states]
    return {"time_ns": list(times), "quality": quality,
            "time_to_final_ns": first_near_final(times, quality)}


def sampling_curve_of_runs(chip: AnalogCoreDEQ, score: Callable[[HadeqModel], float],
                           fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
                           ) -> dict[str, Any]:
    """:func:`sampling_curve` for tasks scored by running the model (control episodes):
    ``score`` of the calibrated ``chip`` read at each fraction of its ``t_s``."""
    calib = chip.loop_calibration
    assert calib is not None
    times, quality = [], []
    try:
        for f in fractions:
            chip.adopt_loop_calibration(dataclasses.replace(
                calib, sample_time_ns=f * calib.sample_time_ns))
            times.append(f * calib.sample_time_ns)
            quality.append(score(chip))
    finally:
        chip.adopt_loop_calibration(calib)
    return {"time_ns": times, "quality": quality,
            "time_to_final_ns": first_near_final(times, quality)}


def first_near_final(xs: Sequence[float], quality: Sequence[float],
                     relative: float = 0.005) -> float | None:
    """The first ``x`` whose quality is within ``relative`` of the last one's."""
    final = quality[-1]
    near = [x for x, q in zip(xs, quality, strict=True)
            if abs(q - final) <= relative * abs(final)]
    return near[0] if near else None


def iteration_curve(model: AnalogCoreDEQ, score: Callable[[HadeqModel], float],
                    solver: str, precision: str,
                    iterations: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
                    ) -> dict[str, Any]:
    """Quality of the digital DEQ (ideal hardware, ``solver`` at ``precision``) stopped
    after each number of ``iterations``, and the first count within 0.5 % of the last."""
    digital = model.clone()
    digital.set_hardware(HardwareConfig.preset("ideal"))
    run = at_precision(digital, precision)
    quality = []
    for k in iterations:
        run.set_eval_solver(solver, {"tol": 1e-30, "max_iter": k, "stagnation_window": 0})
        quality.append(score(run.eval()))
    return {"iterations": list(iterations), "quality": quality,
            "iterations_to_final": first_near_final(iterations, quality)}


def core_snr(model: AnalogCoreDEQ, x: Tensor, hardware: HardwareConfig,
             seed: int) -> dict[str, float]:
    """How much the hardware perturbs the analog core, on inputs ``x``.

    * ``mvm_snr_db`` — SNR of the core crossbar's output ``W z*`` on the chip against the
      float product (the quantity FACTS.md's "SNR ≥ 20 dB" refers to; for a conv core with
      a spectral path, of the convolution);
    * ``z_snr_db`` — SNR of the chip's equilibrium ``z*`` against the ideal weights' one;
    * ``feedback_share`` — mean ``‖W z*‖ / ‖u‖`` (``W``: all the loop's layers): how much
      the equilibrium depends on the feedback rather than on the digital injection (near
      0, the core acts as a feed-forward layer and analog noise has little to act on);
    * ``jacobian_radius`` — mean over samples of the spectral radius ``ρ(J*)`` of the
      float map's Jacobian at its ``z*`` (``J* = diag(σ′)·W``): the loop's local
      contraction (near 0: the equilibrium is reached in a step or two; near 1: the
      feedback carries the computation and the loop settles slowly);
    * ``mean_slope`` — mean σ′ over units and samples at ``z*`` (1: units work in their
      linear region; near 0: saturated, the feedback is switched off).
    """
    chips: list[AnalogCoreDEQ] = []
    for hw in (HardwareConfig.preset("ideal"), hardware):
        chip = model.clone()
        chip.set_hardware(hw, seed=seed)
        chips.append(chip.eval())  # type: ignore[arg-type]
    # Read noise from a seeded stream: the same cell measures the same SNR anywhere.
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        ideal, real = (c.forward_with_info(x) for c in chips)
        assert ideal.z_star is not None and ideal.u is not None and real.z_star is not None
        feedback = chips[0].feedback(ideal.z_star)
        share = (feedback.flatten(1).norm(dim=1) / ideal.u.flatten(1).norm(dim=1)
                 .clamp_min(1e-12)).mean()
        mvm_snr = measure_snr_db(chips[1].core, real.z_star)
        _, float_map = chips[0].maps(ideal.u)
        radius = spectral_radius(float_map, ideal.z_star, iterations=40)
        slope = chips[0].activation_slope(ideal.z_star)
    return {
        "mvm_snr_db": mvm_snr,
        "z_snr_db": snr_db(ideal.z_star, real.z_star),
        "feedback_share": float(share),
        "jacobian_radius": float(radius.mean()),
        "mean_slope": float(slope.mean()),
    }


def baseline_energy(model: HadeqModel, x: Tensor, settling: Settling,
                    seed: int) -> dict[str, Any]:
    """A baseline's own energy report at default assumptions. Models whose energy depends
    on settling (the ff-EBM's analog energy blocks) first run ``x`` through the
    ``analog_relaxation`` solver on the noise-free chip, as for the hybrid DEQ."""
    if model.has_equilibrium:
        model = model.clone()
        model.set_hardware(model.hardware.replace(read_noise=0.0), seed=seed)
        model.set_eval_solver("analog_relaxation", settling.solver_options())
        with torch.no_grad():
            model.eval()(x)
    return model.energy_report().to_dict()
