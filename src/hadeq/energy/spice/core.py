"""Simulate an analog DEQ core in ngspice and compare it with hadeq's own account of it:
its loop (:mod:`hadeq.analog.loop`) and its energy model
(:func:`~hadeq.energy.accounting.analog_core_energy`)."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hadeq import constants as C
from hadeq.analog.config import HardwareConfig
from hadeq.analog.loop import LoopDynamics
from hadeq.energy.accounting import analog_core_energy
from hadeq.energy.config import EnergyConfig
from hadeq.energy.reference import (
    differential_conductances_s,
    ir_drop_first_order_error,
    ir_drop_parameter,
    ir_drop_weights_first_order,
    loop_dynamics,
    loop_settling_times_ns,
    loop_trajectory,
    settling_time_ns,
    software_fixed_point,
)
from hadeq.energy.spice.netlist import (
    OpAmpModel,
    amplifier_dc_gains,
    build_core_netlist,
    default_stop_time_ns,
)
from hadeq.energy.spice.runner import run_ngspice
from hadeq.errors import ConfigError, DataError
from hadeq.validation import check_range

PARTS: tuple[str, ...] = ("crossbar", "amplifiers", "dac")
"""The parts of the circuit's energy, as :class:`~hadeq.energy.spice.CoreNetlist` splits
the sources: row drivers' outputs, amplifier supply plus sensing outputs, DACs."""


@dataclass(frozen=True)
class SpiceCoreResult:
    """What one ngspice run of the core gives."""

    z_star: torch.Tensor
    """Equilibrium z* (dimensionless, V(dp)/V_read at the end of the run), shape (n,)."""
    settling_time_ns: float
    """Time after which max_i |z_i(t) − z*_i| ≤ tol, ns (``inf`` if never), by
    :func:`~hadeq.energy.reference.settling_time_ns`."""
    tol: float
    """Settling tolerance on z (absolute, full scale 1)."""
    t_ns: np.ndarray
    """Time points of the run, ns."""
    z_trace: np.ndarray
    """z(t), shape (points, n)."""
    energy_j: dict[str, float]
    """∫ power delivered dt over the whole run, J, by part (:data:`PARTS`; ngspice
    ``meas ... INTEG``)."""
    energy_settle_j: dict[str, float]
    """The same integrals over [0, settling time] (trapezoid on the raw power vectors,
    interpolated at the settling time; the whole run if it never settles), J."""
    crossbar_power_final_w: float
    """Crossbar power at the end of the run (equilibrium), W."""
    amplifier: OpAmpModel
    """The op-amp model of every amplifier."""
    amplifiers: int
    """Amplifiers in the circuit."""
    state_scale: float
    """k: the state a is k·V_read·a volts in the circuit."""
    t_stop_ns: float
    netlist: str
    runtime_s: float
    """Wall time of the ngspice run, s."""


def simulate_core_spice(
    W: torch.Tensor,
    u: torch.Tensor,
    b: torch.Tensor,
    *,
    hardware: HardwareConfig | None = None,
    amplifier: OpAmpModel | None = None,
    v_read_v: float = C.CROSSBAR_READ_V,
    tol: float = 1e-3,
    t_stop_ns: float | None = None,
    max_step_ns: float | None = None,
    dac_bits: int | None = None,
    labels: Sequence[str] | None = None,
    title: str = "hadeq analog DEQ core",
    executable: str | None = None,
    timeout_s: float = 300.0,
) -> SpiceCoreResult:
    """Export the core on ``hardware`` (τ, g_max, wire resistance; default
    ``HardwareConfig()``) with ``amplifier`` (default: the energy model's, see
    :meth:`OpAmpModel.from_energy_config`) to ngspice, run a transient from a = 0, and
    read z*, the settling time and the energy by part. ``t_stop_ns`` defaults to twice
    hadeq's settling time (:func:`stop_time_ns`)."""
    check_range("tol", tol, 0.0, 1.0, low_open=True)
    hardware = hardware or HardwareConfig()
    W = torch.as_tensor(W, dtype=torch.float64)
    if t_stop_ns is None:
        dynamics = loop_dynamics(hardware.tau_ns)
        t_hadeq = float(loop_settling_times_ns(W, u, b, dynamics=dynamics, tol=tol)[0])
        t_stop_ns = stop_time_ns(W, hardware.tau_ns, tol, t_hadeq)
    net = build_core_netlist(
        W, u, b, hardware=hardware, amplifier=amplifier, v_read_v=v_read_v,
        t_stop_ns=t_stop_ns, max_step_ns=max_step_ns, dac_bits=dac_bits, labels=labels,
        title=title,
    )
    start = time.perf_counter()
    run = run_ngspice(net.text, net.raw_name, executable=executable, timeout_s=timeout_s)
    runtime = time.perf_counter() - start
    t_ns = run.raw["time"] * 1e9
    if t_ns.size < 2 or t_ns[-1] < 0.99 * t_stop_ns:
        raise DataError(
            f"ngspice stopped at t={t_ns[-1] if t_ns.size else 0:g} ns "
            f"before t_stop={t_stop_ns:g} ns"
        )
    z = np.stack([run.raw[name] for name in net.z_vectors], axis=1) / v_read_v
    for meas in net.energy_measures.values():
        if meas not in run.measures:
            raise DataError(f"ngspice printed no result for measure {meas!r}")
    t_settle = settling_time_ns(torch.from_numpy(t_ns), torch.from_numpy(z), tol)
    powers = {part: run.raw[net.power_vectors[part]] for part in PARTS}
    return SpiceCoreResult(
        z_star=torch.from_numpy(z[-1].copy()),
        settling_time_ns=t_settle,
        tol=tol,
        t_ns=t_ns,
        z_trace=z,
        energy_j={part: run.measures[net.energy_measures[part]] for part in PARTS},
        energy_settle_j={part: _energy_until_j(t_ns, p, t_settle) for part, p in powers.items()},
        crossbar_power_final_w=float(powers["crossbar"][-1]),
        amplifier=net.amplifier,
        amplifiers=net.amplifiers,
        state_scale=net.state_scale,
        t_stop_ns=t_stop_ns,
        netlist=net.text,
        runtime_s=runtime,
    )


def _energy_until_j(t_ns: np.ndarray, power_w: np.ndarray, t_end_ns: float) -> float:
    """∫₀^t_end power dt, J: cumulative trapezoid, interpolated linearly at ``t_end_ns``
    (the whole trace when ``t_end_ns`` lies beyond it)."""
    steps = np.diff(t_ns) * 1e-9 * (power_w[1:] + power_w[:-1]) / 2.0
    cumulative = np.concatenate(([0.0], np.cumsum(steps)))
    return float(np.interp(min(t_end_ns, float(t_ns[-1])), t_ns, cumulative))


def stop_time_ns(W: torch.Tensor, tau_ns: float, tol: float, settling_ns: float) -> float:
    """Run length: twice the settling time ``settling_ns`` hadeq predicts, at least 20 τ,
    at most the worst-case bound of ``default_stop_time_ns`` (that bound when the
    prediction is ``inf``) — so the final sample sits about ``tol²`` from z* (the error
    falls by ``tol`` per settling time) without simulating the worst case."""
    w_norm = float(torch.linalg.matrix_norm(W, ord=2)) if W.numel() else 0.0
    bound = default_stop_time_ns(tau_ns, w_norm, tol)
    if not math.isfinite(settling_ns):
        return bound
    return min(bound, max(20.0 * tau_ns, 2.0 * settling_ns))


def crossbar_power_w(
    W: torch.Tensor, z: torch.Tensor, g_max_us: float, v_read_v: float
) -> torch.Tensor:
    """Analytic crossbar power Σ_rc G_rc·(V_read·z_j(r))² (rows 2j, 2j+1 at ±V_read·z_j,
    columns at virtual ground), W; ``z`` of shape (n,) or (points, n)."""
    G = differential_conductances_s(W, g_max_us)
    g_row = G[0::2].sum(dim=1) + G[1::2].sum(dim=1)  # total conductance on input j's rows, S
    return (torch.as_tensor(z, dtype=torch.float64) * v_read_v) ** 2 @ g_row


def model_core_energy_j(W: torch.Tensor, t_ns: torch.Tensor, z: torch.Tensor,
                        settling_ns: float, config: EnergyConfig,
                        hardware: HardwareConfig) -> dict[str, dict[str, float]]:
    """hadeq's energy model of the core for a settle of ``settling_ns``
    (:func:`~hadeq.energy.accounting.analog_core_energy`: crossbar V²·G·t plus bitlines,
    amplifiers n·amps_per_neuron·P_amp·t; the column periphery, absent from the circuit,
    is left out), J, by part, twice:

    * ``core``: with the model's two crossbar assumptions evaluated for this core — the
      mean device conductance ``g_mean_fraction`` = Σ|W_ij| / (max|W|·d·n²) and the
      activity ``input_activity`` = the mean of z_j(t)² over inputs and [0, t_s] along
      hadeq's trajectory (``t_ns``, ``z``);
    * ``default``: with ``config``'s own assumptions (what hadeq charges a core it knows
      nothing about).
    """
    W = torch.as_tensor(W, dtype=torch.float64)
    n = W.shape[0]
    w_max = float(W.abs().max())
    g_fraction = float(W.abs().sum()) / (w_max * config.devices_per_weight * n * n) \
        if w_max > 0 else 0.0
    mask = t_ns <= settling_ns
    mean_sq = (z[mask] ** 2).mean(dim=1)
    t_in = t_ns[mask]
    activity = float(torch.trapezoid(mean_sq, t_in) / (t_in[-1] - t_in[0])) \
        if t_in.numel() > 1 else float(mean_sq[0])
    core_config = dataclasses.replace(config, g_mean_fraction=min(g_fraction, 1.0),
                                      input_activity=min(activity, 1.0))
    out: dict[str, dict[str, float]] = {}
    for name, cfg in (("core", core_config), ("default", config)):
        e = analog_core_energy(cfg, hardware, neurons=n, cells=n * n, time_ns=settling_ns)
        out[name] = {"crossbar": e.array_j, "amplifiers": e.amplifier_j,
                     "total": e.array_j + e.amplifier_j}
    out["core"]["g_mean_fraction"] = core_config.g_mean_fraction
    out["core"]["input_activity"] = core_config.input_activity
    return out


def trajectory_max_abs_error(t_ref_ns: torch.Tensor, z_ref: torch.Tensor,
                             t_ns: np.ndarray, z: np.ndarray) -> float:
    """max over neurons and the reference's times of |z(t) − z_ref(t)|, with ``z`` (a SPICE
    trace) interpolated linearly at the reference's times within its span."""
    t_ref = t_ref_ns.numpy()
    keep = t_ref <= t_ns[-1]
    zr = z_ref.numpy()[keep]
    z_at = np.stack([np.interp(t_ref[keep], t_ns, z[:, k]) for k in range(z.shape[1])], axis=1)
    return float(np.abs(z_at - zr).max())


def compare_core(
    W: torch.Tensor,
    u: torch.Tensor,
    b: torch.Tensor,
    *,
    hardware: HardwareConfig | None = None,
    energy_config: EnergyConfig | None = None,
    dynamics: LoopDynamics | None = None,
    tol: float = 1e-3,
    executable: str | None = None,
    keep_netlist: bool = False,
    **spice_kwargs: Any,
) -> dict[str, Any]:
    """Run the core in ngspice and compare with hadeq; a JSON-ready dict.

    The circuit is ``hardware``'s (τ, g_max, wire resistance; default
    ``HardwareConfig()``) driven at ``energy_config.v_read_v`` with the amplifiers of
    ``energy_config`` (default ``EnergyConfig()``; :meth:`OpAmpModel.from_energy_config`).
    hadeq's side is its loop integrated with ``dynamics`` (default
    :func:`~hadeq.energy.reference.loop_dynamics`: the models' step, one τ) and its energy
    model.

    * ``z_rel_err_fixed_point``: ‖z*_spice − z*_sw‖₂ / ‖z*_sw‖₂, z*_sw the fixed point of the
      ideal W (1e-10); with wire resistance also ``z_rel_err_ir_model`` against the
      equilibrium z = g_drv·tanh(g_sense ⊙ (W_ir z + u + b)) of the first-order IR-drop
      weights W_ir with the amplifiers' closed-loop DC gains
      (:func:`~hadeq.energy.spice.netlist.amplifier_dc_gains`), and the IR model's
      documented bound;
    * ``trajectory_max_abs_err``: max over neurons and hadeq's step times of
      |z_spice(t) − z_hadeq(t)| (full scale 1; SPICE interpolated linearly);
    * ``settling_rel_err``: SPICE settling time vs hadeq's
      (:func:`~hadeq.analog.loop.settle`), same tolerance and definition, relative;
    * ``energy_rel_err_transient``: SPICE crossbar energy over the run vs the analytic
      ∫ Σ G·V(t)² dt along hadeq's trajectory; ``energy_rel_err_hold``: SPICE crossbar
      power at the end vs Σ G·(V_read z*)²;
    * ``core_energy_rel_err``: the whole core's energy in SPICE (every source: row
      drivers, amplifier supply and outputs, DACs) until its settling time vs hadeq's
      energy model for hadeq's settling time with the crossbar assumptions evaluated for
      this core (:func:`model_core_energy_j`); ``core_energy_rel_err_default`` the same
      against the model's default assumptions. ``energy_settle_j`` holds the split.
    """
    W = torch.as_tensor(W, dtype=torch.float64)
    u = torch.as_tensor(u, dtype=torch.float64).reshape(-1)
    b = torch.as_tensor(b, dtype=torch.float64).reshape(-1)
    n = W.shape[0]
    hardware = hardware or HardwareConfig()
    cfg = energy_config or EnergyConfig()
    tau_ns, g_max_us, v_read_v = hardware.tau_ns, hardware.g_max_us, cfg.v_read_v
    dynamics = dynamics or loop_dynamics(tau_ns)
    if dynamics.tau_ns != tau_ns:
        raise ConfigError("dynamics.tau_ns", dynamics.tau_ns,
                          f"the hardware's time constant tau_ns={tau_ns:g}")
    r_wire_ohm = hardware.wire_resistance_ohm
    # hadeq's loop runs on the weights the circuit realises: with wire resistance, the
    # first-order IR-drop weights.
    W_ref = ir_drop_weights_first_order(W, g_max_us, r_wire_ohm) if r_wire_ohm > 0 else W
    t_hadeq = float(loop_settling_times_ns(W_ref, u, b, dynamics=dynamics, tol=tol)[0])
    if "t_stop_ns" not in spice_kwargs:
        spice_kwargs["t_stop_ns"] = stop_time_ns(W, tau_ns, tol, t_hadeq)
    res = simulate_core_spice(
        W, u, b, hardware=hardware, amplifier=OpAmpModel.from_energy_config(cfg, tau_ns),
        v_read_v=v_read_v, tol=tol, executable=executable, **spice_kwargs,
    )
    z_fp = software_fixed_point(W, u, b)
    rel = float(torch.linalg.vector_norm(res.z_star - z_fp) / torch.linalg.vector_norm(z_fp))
    amp = res.amplifier
    out: dict[str, Any] = {
        "neurons": n,
        "w_norm2": float(torch.linalg.matrix_norm(W, ord=2)),
        "tau_ns": tau_ns,
        "dt_ns": dynamics.dt_ns,
        "g_max_us": g_max_us,
        "v_read_v": v_read_v,
        "r_wire_ohm": r_wire_ohm,
        "tol": tol,
        "amplifier": {"count": res.amplifiers, "gbw_hz": amp.gbw_hz, "dc_gain": amp.dc_gain,
                      "pole_hz": amp.pole_hz, "supply_v": amp.supply_v,
                      "rail_v": amp.rail_v, "quiescent_a": amp.quiescent_a,
                      "power_w": amp.power_w},
        "t_stop_ns": res.t_stop_ns,
        "spice_points": int(res.t_ns.size),
        "spice_runtime_s": res.runtime_s,
        "z_star_spice": res.z_star.tolist(),
        "z_star_software": z_fp.tolist(),
        "z_rel_err_fixed_point": rel,
    }
    if r_wire_ohm > 0:
        # The wires' model is checked on the circuit's DC equations: the IR-drop weights
        # with the amplifiers' finite closed-loop gains (their ~0.2 % would otherwise
        # swamp the IR model's error bound on a small drop).
        g_sense, g_drv = amplifier_dc_gains(W, amp, res.state_scale)
        z_ir = g_drv * software_fixed_point(g_drv * g_sense[:, None] * W_ref, g_sense * u,
                                            g_sense * b)
        out["ir_drop_parameter"] = ir_drop_parameter(n, g_max_us, r_wire_ohm)
        out["ir_model_error_bound"] = ir_drop_first_order_error(n, g_max_us, r_wire_ohm)
        out["z_rel_err_ir_model"] = float(
            torch.linalg.vector_norm(res.z_star - z_ir) / torch.linalg.vector_norm(z_ir)
        )
    t_h, z_h = loop_trajectory(W_ref, u, b, dynamics=dynamics, t_stop_ns=res.t_stop_ns)
    out["trajectory_max_abs_err"] = trajectory_max_abs_error(t_h, z_h, res.t_ns, res.z_trace)
    out["settling_time_ns_spice"] = res.settling_time_ns
    out["settling_time_ns_hadeq"] = t_hadeq
    out["settling_rel_err"] = _rel(res.settling_time_ns, t_hadeq)
    # Crossbar energy: V²·G·t along hadeq's trajectory, and the static model at equilibrium.
    e_xbar = float(torch.trapezoid(crossbar_power_w(W, z_h, g_max_us, v_read_v), t_h * 1e-9))
    p_hold = float(crossbar_power_w(W, z_fp, g_max_us, v_read_v))
    out["crossbar_energy_j_spice"] = res.energy_j["crossbar"]
    out["crossbar_energy_j_model"] = e_xbar
    out["energy_rel_err_transient"] = _rel(res.energy_j["crossbar"], e_xbar)
    out["crossbar_power_w_spice_final"] = res.crossbar_power_final_w
    out["crossbar_power_w_model"] = p_hold
    out["energy_rel_err_hold"] = _rel(res.crossbar_power_final_w, p_hold)
    # The whole core until settled: SPICE's sources against hadeq's energy model.
    spice_split = dict(res.energy_settle_j)
    spice_split["total"] = sum(res.energy_settle_j.values())
    if math.isfinite(t_hadeq):
        model = model_core_energy_j(W, t_h, z_h, t_hadeq, cfg, hardware)
    else:
        model = {name: {"crossbar": math.inf, "amplifiers": math.inf, "total": math.inf}
                 for name in ("core", "default")}
    out["energy_settle_j"] = {"spice": spice_split, "model": model["core"],
                              "model_default": model["default"]}
    out["core_energy_rel_err"] = _rel(spice_split["total"], model["core"]["total"])
    out["core_energy_rel_err_default"] = _rel(spice_split["total"], model["default"]["total"])
    if keep_netlist:
        out["netlist"] = res.netlist
    return out


def _rel(value: float, reference: float) -> float:
    """|value − reference| / |reference|; ``inf`` unless both are finite and the reference
    is not 0."""
    if not (math.isfinite(value) and math.isfinite(reference)) or reference == 0:
        return math.inf
    return abs(value - reference) / abs(reference)
