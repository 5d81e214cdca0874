"""Simulate an analog DEQ core in ngspice and compare it with the software references."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hadeq import constants as C
from hadeq.analog.config import HardwareConfig
from hadeq.energy.config import EnergyConfig
from hadeq.energy.reference import (
    differential_conductances_s,
    euler_trajectory,
    ir_drop_first_order_error,
    ir_drop_parameter,
    ir_drop_weights_first_order,
    settling_time_ns,
    software_fixed_point,
)
from hadeq.energy.spice.netlist import build_core_netlist, default_stop_time_ns
from hadeq.energy.spice.runner import run_ngspice
from hadeq.errors import DataError
from hadeq.validation import check_range


@dataclass(frozen=True)
class SpiceCoreResult:
    """What one ngspice run of the core gives."""

    z_star: torch.Tensor
    """Equilibrium z* (dimensionless, V(zb)/V_read at the end of the run), shape (n,)."""
    settling_time_ns: float
    """Time after which max_i |z_i(t) − z*_i| ≤ tol, ns (``inf`` if never)."""
    tol: float
    """Settling tolerance on z (absolute, full scale 1)."""
    t_ns: np.ndarray
    """Time points of the run, ns."""
    z_trace: np.ndarray
    """z(t), shape (points, n)."""
    crossbar_energy_j: float
    """∫ power delivered by the row drivers to the crossbar over the whole run (ngspice
    ``meas ... INTEG``), J."""
    crossbar_energy_settle_j: float
    """The same integral over [0, settling time] (trapezoid on the raw power vector), J."""
    crossbar_power_final_w: float
    """Crossbar power at the end of the run (equilibrium), W."""
    t_stop_ns: float
    netlist: str
    runtime_s: float


def simulate_core_spice(
    W: torch.Tensor,
    u: torch.Tensor,
    b: torch.Tensor,
    *,
    hardware: HardwareConfig | None = None,
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
    ``HardwareConfig()``) to ngspice, run a transient from a = 0, and read z*, the settling
    time and the crossbar energy. ``t_stop_ns`` defaults to
    :func:`~hadeq.energy.spice.netlist.default_stop_time_ns`."""
    check_range("tol", tol, 0.0, 1.0, low_open=True)
    hardware = hardware or HardwareConfig()
    W = torch.as_tensor(W, dtype=torch.float64)
    if t_stop_ns is None:
        t_stop_ns = _stop_time_ns(W, u, b, hardware.tau_ns, tol)
    net = build_core_netlist(
        W, u, b, hardware=hardware, v_read_v=v_read_v, t_stop_ns=t_stop_ns,
        max_step_ns=max_step_ns, dac_bits=dac_bits, labels=labels, title=title,
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
    p = run.raw[net.power_vector]
    if net.energy_measure not in run.measures:
        raise DataError(f"ngspice printed no result for measure {net.energy_measure!r}")
    t_settle = settling_time_ns(torch.from_numpy(t_ns), torch.from_numpy(z), tol)
    mask = t_ns <= t_settle
    e_settle = float(np.trapezoid(p[mask], t_ns[mask] * 1e-9)) if mask.sum() > 1 else 0.0
    return SpiceCoreResult(
        z_star=torch.from_numpy(z[-1].copy()),
        settling_time_ns=t_settle,
        tol=tol,
        t_ns=t_ns,
        z_trace=z,
        crossbar_energy_j=run.measures[net.energy_measure],
        crossbar_energy_settle_j=e_settle,
        crossbar_power_final_w=float(p[-1]),
        t_stop_ns=t_stop_ns,
        netlist=net.text,
        runtime_s=runtime,
    )


def _stop_time_ns(W: torch.Tensor, u: Any, b: Any, tau_ns: float, tol: float) -> float:
    """Run length: three times the settling time a coarse Euler run (dt = τ/10) predicts,
    at least 20 τ, at most the worst-case bound of ``default_stop_time_ns`` — so the final
    sample sits far below ``tol`` from z* without simulating the worst case."""
    w_norm = float(torch.linalg.matrix_norm(W, ord=2)) if W.numel() else 0.0
    bound = default_stop_time_ns(tau_ns, w_norm, tol)
    t, z = euler_trajectory(W, u, b, tau_ns=tau_ns, t_stop_ns=bound, dt_ns=tau_ns / 10.0)
    estimate = settling_time_ns(t, z, tol)
    if not math.isfinite(estimate):
        return bound
    return min(bound, max(20.0 * tau_ns, 3.0 * estimate))


def crossbar_power_w(
    W: torch.Tensor, z: torch.Tensor, g_max_us: float, v_read_v: float
) -> torch.Tensor:
    """Analytic crossbar power Σ_jc G_jc·(V_read·z_j)² (rows driven, columns at virtual
    ground), W; ``z`` of shape (n,) or (points, n)."""
    G = differential_conductances_s(W, g_max_us)
    g_row = G.sum(dim=1)  # total conductance hanging on row j, S
    return (torch.as_tensor(z, dtype=torch.float64) * v_read_v) ** 2 @ g_row


def compare_core(
    W: torch.Tensor,
    u: torch.Tensor,
    b: torch.Tensor,
    *,
    hardware: HardwareConfig | None = None,
    energy_config: EnergyConfig | None = None,
    tol: float = 1e-3,
    executable: str | None = None,
    keep_netlist: bool = False,
    **spice_kwargs: Any,
) -> dict[str, Any]:
    """Run the core in ngspice and compare with the software references; a JSON-ready dict.

    The circuit is ``hardware``'s (τ, g_max, wire resistance; default ``HardwareConfig()``)
    driven at ``energy_config.v_read_v`` (default ``EnergyConfig()``).

    * ``z_rel_err_fixed_point``: ‖z*_spice − z*_sw‖₂ / ‖z*_sw‖₂, z*_sw the fixed point of the
      ideal W (1e-10); with wire resistance also ``z_rel_err_ir_model`` against the fixed
      point of the first-order IR-drop weights and its documented bound;
    * ``settling_rel_err``: SPICE settling time vs forward Euler (dt = τ/200) of the same ODE
      (same tolerance and definition), relative;
    * ``energy_rel_err_transient``: SPICE crossbar energy over the run vs the analytic
      ∫ Σ G·V(t)² dt along the Euler trajectory; ``energy_rel_err_hold``: SPICE power at the
      end vs Σ G·(V_read z*)² (the static V²·G model);
    * ``amplifier_energy_j``: model estimate n·amps_per_neuron·P_amp(τ)·t_settle from the
      :class:`EnergyConfig` (amplifiers are ideal sources in the netlist).
    """
    W = torch.as_tensor(W, dtype=torch.float64)
    u = torch.as_tensor(u, dtype=torch.float64)
    b = torch.as_tensor(b, dtype=torch.float64)
    n = W.shape[0]
    hardware = hardware or HardwareConfig()
    cfg = energy_config or EnergyConfig()
    tau_ns, g_max_us, v_read_v = hardware.tau_ns, hardware.g_max_us, cfg.v_read_v
    r_wire_ohm = hardware.wire_resistance_ohm
    res = simulate_core_spice(
        W, u, b, hardware=hardware, v_read_v=v_read_v, tol=tol, executable=executable,
        **spice_kwargs,
    )
    z_fp = software_fixed_point(W, u, b)
    rel = float(torch.linalg.vector_norm(res.z_star - z_fp) / torch.linalg.vector_norm(z_fp))
    out: dict[str, Any] = {
        "neurons": n,
        "w_norm2": float(torch.linalg.matrix_norm(W, ord=2)),
        "tau_ns": tau_ns,
        "g_max_us": g_max_us,
        "v_read_v": v_read_v,
        "r_wire_ohm": r_wire_ohm,
        "tol": tol,
        "t_stop_ns": res.t_stop_ns,
        "spice_points": int(res.t_ns.size),
        "spice_runtime_s": res.runtime_s,
        "z_star_spice": res.z_star.tolist(),
        "z_star_software": z_fp.tolist(),
        "z_rel_err_fixed_point": rel,
    }
    W_ref = W  # the weights the software references simulate
    if r_wire_ohm > 0:
        W_ir = ir_drop_weights_first_order(W, g_max_us, r_wire_ohm)
        W_ref = W_ir
        z_ir = software_fixed_point(W_ir, u, b)
        out["ir_drop_parameter"] = ir_drop_parameter(n, g_max_us, r_wire_ohm)
        out["ir_model_error_bound"] = ir_drop_first_order_error(n, g_max_us, r_wire_ohm)
        out["z_rel_err_ir_model"] = float(
            torch.linalg.vector_norm(res.z_star - z_ir) / torch.linalg.vector_norm(z_ir)
        )
    # Euler reference of the same ODE (with the first-order IR-drop weights when wires have
    # resistance), same window and settling definition.
    t_e, z_e = euler_trajectory(W_ref, u, b, tau_ns=tau_ns, t_stop_ns=res.t_stop_ns)
    ts_euler = settling_time_ns(t_e, z_e, tol)
    out["settling_time_ns_spice"] = res.settling_time_ns
    out["settling_time_ns_euler"] = ts_euler
    out["settling_rel_err"] = (
        abs(res.settling_time_ns - ts_euler) / ts_euler
        if math.isfinite(ts_euler) and ts_euler > 0
        else math.inf
    )
    # Energy: V²·G·t along the Euler trajectory, and the static model at equilibrium.
    p_e = crossbar_power_w(W, z_e, g_max_us, v_read_v)
    e_model = float(torch.trapezoid(p_e, t_e * 1e-9))
    p_hold = float(crossbar_power_w(W, z_fp, g_max_us, v_read_v))
    out["crossbar_energy_j_spice"] = res.crossbar_energy_j
    out["crossbar_energy_j_model"] = e_model
    out["energy_rel_err_transient"] = abs(res.crossbar_energy_j - e_model) / e_model
    out["crossbar_power_w_spice_final"] = res.crossbar_power_final_w
    out["crossbar_power_w_model"] = p_hold
    out["energy_rel_err_hold"] = abs(res.crossbar_power_final_w - p_hold) / p_hold
    out["crossbar_energy_settle_j_spice"] = res.crossbar_energy_settle_j
    p_amp = cfg.amp_power_per_amp_w(tau_ns)
    n_amps = n * cfg.amps_per_neuron
    out["amplifier_power_w_each"] = p_amp
    out["amplifier_energy_j"] = (
        n_amps * p_amp * res.settling_time_ns * 1e-9
        if math.isfinite(res.settling_time_ns)
        else math.inf
    )
    out["energy_settle_total_j"] = out["amplifier_energy_j"] + res.crossbar_energy_settle_j
    if keep_netlist:
        out["netlist"] = res.netlist
    return out
