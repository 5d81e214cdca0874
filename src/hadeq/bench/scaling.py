"""The scaling suite: how the hybrid's advantage moves with the core size n.

``hadeq bench --suite scaling`` measures random feedback-dominated cores of n = 32 … 1024
neurons and prices them, without re-measuring, under every assumption of the energy
model that could move the answer; it reports the crossover n — the core size from which
the hybrid spends less energy, or reaches equilibrium sooner, than the digital DEQ.

**The cores.** For each size n and seed a symmetric Gaussian (Hopfield-type) feedback
matrix ``W = s·W₀``, ``W₀ = (A + Aᵀ)/2`` with ``A_ij ~ N(0, 1)``, normalised to
``‖W₀‖₂ = 1``, and a batch of injections ``u ~ N(0, u_rms²·I)`` (the bias is folded into
``u``). The map is ``f(z) = tanh(W z + u)``, the loop's ``τ·da/dt = −a + W·tanh(a) + u``.
A symmetric ``W`` has ``ρ(W) = ‖W‖₂``, so the feedback is as strong as a global
contraction allows (a non-symmetric Gaussian core with ``‖W‖₂ < 1`` has ``ρ(W) ≈ ‖W‖₂/2``
and is nearly feed-forward). The scale ``s`` is set so that the local Jacobian at the
equilibrium, ``J* = diag(σ′(a*))·W`` with ``σ′ = 1 − z*²``, has spectral radius
``ρ(J*) = target_radius`` (mean over probe inputs; ``ρ`` is the largest
``|λ(D^{1/2} W D^{1/2})|``, ``D = diag(σ′)``, the same spectrum), by a few fixed-point
steps ``s ← s·target/ρ(s)``; ``s`` is capped below 1 so that ``‖W‖₂ < 1``: the map is a
global contraction and the equilibrium is unique (when the cap binds, ``ρ(J*)`` falls
short of the target and the report shows it). The injection RMS keeps the units in
their linear region (mean σ′ near 1), so that the feedback, not the saturation, sets the
dynamics.

**What is measured, once per (n, seed)** (noise-free, ideal weights):

* the digital solvers' iterations per input to residual ``|f(z) − z|_i ≤ tol`` in every
  component, ``tol`` half an LSB of the chip's ADC
  (:func:`hadeq.bench.measure.digital_solver_options`, as the other suites);
* the analog loop from rest (:func:`hadeq.analog.loop.settle`): every input's settling
  time to ``tol`` on ``z``, and the sampling instant ``t_s``, the ``quantile`` (99 %) of
  them (:func:`hadeq.analog.loop.sampling_time_ns`); also, for comparison only, when the
  loop's *residual* falls to ``tol`` (the digital solvers' stopping rule);
* the core's ``‖W‖₂``, ``ρ(J*)``, mean σ′, feedback share ``‖W z*‖/‖u‖``, crossbar
  conductance ``mean|W|/max|W|`` (a pair per weight at ``g_max·|ŵ|``) and row activity
  mean ``z*²``, which the energy model charges;
* what the programmed chip does to the core (:func:`measure_chip`, not priced): ``W``
  programmed on the headline chip as a loop's crossbar (no converters, no read noise),
  without and with word-line IR drop at ``wire_resistance_ohm``: the crossbar's SNR at
  the float equilibria and the SNR of the chip's own equilibria. IR drop grows with the
  cells a word line drives, so this is where it shows against n.

**What is priced, per assumption point** (:func:`price`): one assumption changed from the
default point at a time (``τ``, amplifier power, outputs per ADC, digital precision,
digital solver, weight traffic, the digital accelerator's MACs/cycle or an accelerator of
the analog core's area), the energy, time and area ratios digital ÷ hybrid (> 1: the
hybrid wins), core-only and end-to-end, with a digital stem ``input_features → n`` and a
head ``n → output_features`` on both machines. Time scales with ``τ``: the loop's
equations in ``t/τ`` do not contain it, so ``t_s(τ) = t_s(τ₀)·τ/τ₀`` exactly.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from tqdm import tqdm

from hadeq import constants as C
from hadeq.analog import AnalogLinear, measure_snr_db, snr_db
from hadeq.analog.config import HardwareConfig
from hadeq.analog.loop import LoopDynamics, adc_half_lsb, crossing_times, sampling_time_ns, settle
from hadeq.bench.assemble import DigitalDesign, design_config
from hadeq.bench.environment import environment
from hadeq.bench.measure import GRID_SOLVERS, digital_solver_options
from hadeq.bench.pareto import crossover
from hadeq.bench.report import format_number
from hadeq.bench.stats import interval95
from hadeq.bench.suites import HEADLINE_HARDWARE
from hadeq.deq import solve
from hadeq.energy import (
    DEQWorkload,
    EnergyConfig,
    EnergyReport,
    calibrated_energy_config,
    compare_deq,
    digital_deq_energy,
    hybrid_deq_energy,
)
from hadeq.energy.accounting import network_weight_bytes, weight_placement
from hadeq.energy.area import (
    core_weight_bytes,
    deq_core_area_mm2,
    digital_accelerator_area_mm2,
    equal_area_macs_per_cycle,
)
from hadeq.energy.config import PRECISIONS, WEIGHT_REUSE
from hadeq.errors import ConfigError
from hadeq.io import check_output_dir, write_json_atomic, write_text_atomic
from hadeq.models.core import loop_hardware
from hadeq.validation import check_choice, check_int, check_range, from_mapping, to_dict

SUITE = "scaling"
"""The suite's name: ``hadeq bench --suite scaling`` writes ``OUT/scaling/``."""

SCHEMA = "hadeq.bench.scaling/1"
"""Version of the layout of ``results.json`` (:func:`run_scaling`)."""

BEST = "best"
"""Digital solver value: the cheapest (least energy) of the measured solvers, per core."""

EQUAL_AREA = "equal_area"
"""Accelerator value: the digital machine's MACs/cycle sized to the hybrid's silicon at
each scope (:func:`price`, :func:`hadeq.energy.area.equal_area_macs_per_cycle`)."""

FIT_NETWORK = "fit"
"""Buffer value: the digital accelerators' on-chip buffer is the smallest power-of-two
multiple of the edge NPU's (``constants.EDGE_NPU_SRAM_BYTES``) that holds the digital
DEQ's weights (stem, core and head at the priced precision), so that the best digital
design reads them from SRAM at every size; its area is charged. The default: a fixed
buffer makes the digital DEQ load its weights from DRAM once the core outgrows it, a
memory-hierarchy choice no designer of a core that size would make."""

AXES: tuple[str, ...] = ("tau_ns", "amp_power_w", "columns_per_adc", "digital_precision",
                         "digital_solver", "weight_reuse", "digital_macs_per_cycle",
                         "onchip_buffer_bytes")
"""The assumptions the suite varies, one at a time from the default point."""

AXIS_LABELS: dict[str, str] = {
    "tau_ns": "loop time constant τ (ns)",
    "amp_power_w": "amplifier bias power (W; 0: the design estimate P_amp(τ))",
    "columns_per_adc": "outputs per ADC",
    "digital_precision": "digital precision",
    "digital_solver": "digital solver",
    "weight_reuse": "digital weight reads (inference: weight-stationary; use: per iteration)",
    "digital_macs_per_cycle": "digital accelerator MACs/cycle",
    "onchip_buffer_bytes": "on-chip weight buffer",
}

SCOPES: tuple[str, ...] = ("core_only", "end_to_end")
RATIOS: tuple[str, ...] = ("energy_ratio", "time_ratio", "area_ratio")

MAX_FEEDBACK_NORM = 0.999
"""Cap on ``‖W‖₂``: below 1 the map is a global contraction (tanh is 1-Lipschitz), so the
equilibrium is unique and the loop and the solvers reach the same one."""

RADIUS_PROBES = 8
"""Inputs whose local Jacobian is diagonalised (calibration of ``s`` and the reported
``ρ(J*)``): a dense eigendecomposition of n × n per input is the suite's costliest step."""

CALIBRATION_ROUNDS = 6
"""Most steps ``s ← s·target/ρ(s)``; ρ is nearly proportional to s in the linear region,
so two or three reach the target to 0.1 %."""


def _check_sequence(field: str, values: Any, check: Callable[[str, Any], None]) -> None:
    if not isinstance(values, tuple) or not values:
        raise ConfigError(field, values, "a non-empty list")
    for value in values:
        check(field, value)


@dataclass(frozen=True)
class ScalingConfig:
    """What the scaling suite measures and the assumptions it prices. Every error names the
    field as ``scaling.<field>``."""

    sizes: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)
    """Core sizes n (neurons), strictly increasing, each in [2, 4096]."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Seeds: one random core (and its inputs) per size and seed; ≥ 2 give an interval."""
    inputs: int = 64
    """Injections per core (a batch), in [1, 4096]: iterations are their mean, ``t_s`` the
    ``quantile`` of their settling times."""
    target_radius: float = 0.9
    """Target local contraction: spectral radius of ``J* = diag(σ′(a*))·W`` at the
    equilibrium, in (0, 1)."""
    injection_rms: float = 0.1
    """RMS of the injection ``u`` per component, state units, in (0, 10]: small enough
    that the units work in their linear region."""
    input_features: int = 28 * 28
    """Input width of the digital stem ``input_features → n`` (a 28 × 28 image)."""
    output_features: int = 10
    """Output width of the digital head ``n → output_features`` (ten classes)."""
    solvers: tuple[str, ...] = ("picard", "anderson")
    """Digital solvers measured (of ``picard``, ``anderson``, ``broyden``)."""
    dt_ns: float | None = None
    """Integration step of the loop, ns (> 0); None: one time constant (ETDRK4, see
    :mod:`hadeq.analog.loop`)."""
    horizon_tau: float = 200.0
    """Longest simulated settling, in time constants (> 0)."""
    quantile: float = 0.99
    """Fraction of the inputs settled at the sampling instant ``t_s``, in (0, 1]."""
    tau_ns: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0)
    """Loop time constants τ priced, ns (> 0). The amplifiers' bias follows τ
    (``P_amp ∝ 1/τ``) unless ``amp_power_w`` fixes it."""
    amp_power_w: tuple[float, ...] = (0.0, 3e-6, 1e-5, 1e-4, 3e-4)
    """Bias power per amplifier priced, W, in [0, 1e-3]; 0: the first-order design estimate
    ``P_amp(τ)`` of :meth:`~hadeq.energy.EnergyConfig.amp_power_per_amp_w`."""
    columns_per_adc: tuple[int, ...] = (1, 8, 32, 128)
    """Outputs sharing one ADC (conversions serialised), ≥ 1."""
    digital_precision: tuple[str, ...] = ("int8", "fp16")
    """Precision of every digital layer (both machines' stem and head, the digital DEQ's
    core); the solvers' arithmetic follows :func:`hadeq.bench.assemble.design_config`.
    Iterations are measured in fp32 and charged at each precision."""
    digital_solver: tuple[str, ...] = (BEST, "picard", "anderson")
    """Digital solver charged: one of ``solvers``, or ``best`` (the least energy of them,
    per core)."""
    weight_reuse: tuple[str, ...] = ("inference", "use")
    """How often the digital DEQ reads its on-chip weights: once per inference
    (weight-stationary) or at every solver iteration."""
    digital_macs_per_cycle: tuple[int | str, ...] = (64, 256, 1024, 4096, EQUAL_AREA)
    """The digital accelerator: MACs per cycle (≥ 1; both machines' stem and head run on
    it), or ``equal_area`` (the digital machine gets the MACs/cycle that fit in the
    hybrid's silicon at each scope, see :func:`price`; the hybrid keeps the default
    accelerator for its stem and head)."""
    onchip_buffer_bytes: tuple[int | str, ...] = (
        FIT_NETWORK, C.EDGE_NPU_SRAM_BYTES, 4 * C.EDGE_NPU_SRAM_BYTES,
        16 * C.EDGE_NPU_SRAM_BYTES)
    """On-chip weight buffer of both machines' digital accelerators, bytes (≥ 0), or
    ``fit`` (:data:`FIT_NETWORK`, the default point): the digital weights that do not fit
    in it come from DRAM at every inference
    (:func:`hadeq.energy.accounting.weight_placement`)."""
    wire_resistance_ohm: float = C.WIRE_RESISTANCE_OHM_PER_CELL
    """Word-line resistance between adjacent cells, Ω, in [0, 1000], at which each core's
    IR drop is measured on the headline chip (:func:`measure_chip`; the ``rram_4bit``
    preset's value by default)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # lists from JSON/YAML/CLI become tuples
            if isinstance(getattr(self, f.name), list):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        p = "scaling."
        _check_sequence(p + "sizes", self.sizes, lambda k, v: check_int(k, v, 2, 4096))
        if list(self.sizes) != sorted(set(self.sizes)):
            raise ConfigError(p + "sizes", list(self.sizes), "strictly increasing sizes")
        _check_sequence(p + "seeds", self.seeds, lambda k, v: check_int(k, v, 0, 2**31 - 1))
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(p + "seeds", list(self.seeds), "distinct seeds")
        check_int(p + "inputs", self.inputs, 1, 4096)
        check_range(p + "target_radius", self.target_radius, 0.0, 1.0,
                    low_open=True, high_open=True)
        check_range(p + "injection_rms", self.injection_rms, 0.0, 10.0, low_open=True)
        check_int(p + "input_features", self.input_features, 1, 1 << 20)
        check_int(p + "output_features", self.output_features, 1, 1 << 20)
        _check_sequence(p + "solvers", self.solvers,
                        lambda k, v: check_choice(k, v, GRID_SOLVERS))
        if len(set(self.solvers)) != len(self.solvers):
            raise ConfigError(p + "solvers", list(self.solvers), "distinct solvers")
        if self.dt_ns is not None:
            check_range(p + "dt_ns", self.dt_ns, 0.0, None, low_open=True)
        check_range(p + "horizon_tau", self.horizon_tau, 0.0, 1e5, low_open=True)
        check_range(p + "quantile", self.quantile, 0.0, 1.0, low_open=True)
        _check_sequence(p + "tau_ns", self.tau_ns,
                        lambda k, v: check_range(k, v, 0.0, 1e6, low_open=True))
        _check_sequence(p + "amp_power_w", self.amp_power_w,
                        lambda k, v: check_range(k, v, 0.0, 1e-3))
        _check_sequence(p + "columns_per_adc", self.columns_per_adc,
                        lambda k, v: check_int(k, v, 1, 1 << 20))
        _check_sequence(p + "digital_precision", self.digital_precision,
                        lambda k, v: check_choice(k, v, PRECISIONS))
        _check_sequence(p + "digital_solver", self.digital_solver,
                        lambda k, v: check_choice(k, v, (BEST, *self.solvers)))
        _check_sequence(p + "weight_reuse", self.weight_reuse,
                        lambda k, v: check_choice(k, v, WEIGHT_REUSE))

        def accelerator(k: str, v: Any) -> None:
            if v != EQUAL_AREA:
                if isinstance(v, bool) or not isinstance(v, int):
                    raise ConfigError(k, v, f"an integer ≥ 1 or {EQUAL_AREA!r}")
                check_int(k, v, 1, 1 << 30)

        _check_sequence(p + "digital_macs_per_cycle", self.digital_macs_per_cycle, accelerator)
        def buffer(k: str, v: Any) -> None:
            if v != FIT_NETWORK:
                if isinstance(v, bool) or not isinstance(v, int):
                    raise ConfigError(k, v, f"an integer ≥ 0 or {FIT_NETWORK!r}")
                check_int(k, v, 0, 1 << 40)

        _check_sequence(p + "onchip_buffer_bytes", self.onchip_buffer_bytes, buffer)
        check_range(p + "wire_resistance_ohm", self.wire_resistance_ohm, 0.0, 1e3)

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None = None) -> ScalingConfig:
        """The one parser: a mapping of field names (lists for the tuples; unknown keys
        are refused) over the defaults."""
        return from_mapping(cls, dict(data or {}), owner="scaling")


@dataclass(frozen=True)
class Assumption:
    """One priced point: the default assumptions with ``axis`` set to ``value`` (None:
    the default point itself)."""

    axis: str | None
    value: Any = None

    @property
    def label(self) -> str:
        return "default" if self.axis is None else f"{self.axis}={_value_text(self.value)}"


def _value_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def assumption_points(config: ScalingConfig) -> list[Assumption]:
    """The default point, then every value of every axis (:data:`AXES`)."""
    return [Assumption(None)] + [Assumption(axis, v) for axis in AXES
                                 for v in getattr(config, axis)]


def default_values(energy: EnergyConfig, chip: HardwareConfig) -> dict[str, Any]:
    """The default point: the energy model's and the chip's own values, the best
    digital solver and a buffer that holds the digital network (:data:`FIT_NETWORK`)."""
    return {"tau_ns": chip.tau_ns, "amp_power_w": energy.amp_power_w,
            "columns_per_adc": energy.columns_per_adc,
            "digital_precision": energy.digital_precision, "digital_solver": BEST,
            "weight_reuse": energy.weight_reuse,
            "digital_macs_per_cycle": energy.digital_macs_per_cycle,
            "onchip_buffer_bytes": FIT_NETWORK}


def headline_chip() -> HardwareConfig:
    """The chip of the other suites' headline (its τ, ``g_max`` and ADC resolution)."""
    return HardwareConfig.parse(dict(HEADLINE_HARDWARE), "headline_hardware")


def settle_tol(chip: HardwareConfig) -> float:
    """The output precision both sides reach: half an LSB of the chip's ADC."""
    return adc_half_lsb(chip.output_bits)


# --------------------------------------------------------------------------------------
# Cores and their measurement
# --------------------------------------------------------------------------------------


def core_seed(n: int, seed: int) -> int:
    """The generator seed of core (n, seed): distinct for every pair of the valid ranges."""
    return seed * 100_003 + n


def jacobian_radius(w: Tensor, z: Tensor) -> Tensor:
    """``ρ(diag(1 − z²)·W)`` per row of ``z`` (the Jacobian of ``tanh(W z + u)`` at its
    fixed point ``z``): a symmetric ``W`` through the similar symmetric matrix
    ``D^{1/2} W D^{1/2}`` (real spectrum, ``eigvalsh``), any other by ``eigvals``."""
    w = w.double()
    slope = (1.0 - z.double() ** 2).clamp_min(0.0)
    if torch.equal(w, w.T):
        d = slope.sqrt()
        return torch.linalg.eigvalsh(d[:, :, None] * w * d[:, None, :]).abs().amax(dim=1)
    return torch.linalg.eigvals(slope[:, :, None] * w).abs().amax(dim=1)


def _equilibrium(w: Tensor, u: Tensor, tol: float) -> Tensor:
    z, _ = solve(lambda z: torch.tanh(z @ w.T + u), torch.zeros_like(u), "anderson",
                 tol=tol, rtol=0.0, stop_mode="mixed", max_iter=500)
    return z


def random_core(n: int, seed: int, config: ScalingConfig, tol: float
                ) -> tuple[Tensor, Tensor, float]:
    """``(W, u, s)``: the symmetric feedback ``W = s·W₀`` of core (n, seed) and its
    ``inputs × n`` injections (float32), with ``s = ‖W‖₂`` set so that the mean
    ``ρ(J*)`` over the first :data:`RADIUS_PROBES` inputs is ``target_radius`` (capped at
    :data:`MAX_FEEDBACK_NORM`; see the module docstring). ``tol``: the equilibria are
    solved to ``tol/100``."""
    gen = torch.Generator().manual_seed(core_seed(n, seed))
    a = torch.randn(n, n, generator=gen, dtype=torch.float64)
    w0 = (a + a.T) / 2.0
    w0 = w0 / torch.linalg.eigvalsh(w0).abs().max()
    u = torch.randn(config.inputs, n, generator=gen, dtype=torch.float64) * config.injection_rms
    probe = u[:RADIUS_PROBES]
    target = config.target_radius
    scale = target
    for _ in range(CALIBRATION_ROUNDS):
        radius = float(jacobian_radius(scale * w0, _equilibrium(scale * w0, probe, tol / 100))
                       .mean())
        if abs(radius - target) <= 1e-3 * target or radius <= 0.0:
            break
        new = min(scale * target / radius, MAX_FEEDBACK_NORM)
        if new == scale:  # the cap binds: as close as a global contraction allows
            break
        scale = new
    w = (scale * w0).float()
    # The symmetric form survives the cast (elementwise rounding), so ρ stays exact.
    return w, u.float(), scale


def measure_core(w: Tensor, u: Tensor, config: ScalingConfig, tol: float, tau_ns: float
                 ) -> dict[str, Any]:
    """What the energy model needs from one core, measured once: each solver's iterations
    per input, the loop's settling (``t_s``) at time constant ``tau_ns``, and the core's
    contraction, slope, feedback share, conductance and activity (module docstring)."""
    def f_map(z: Tensor) -> Tensor:  # the map both sides solve
        return torch.tanh(z @ w.T + u)

    iterations: dict[str, Any] = {}
    for solver in config.solvers:
        _, stats = solve(f_map, torch.zeros_like(u), solver, **digital_solver_options(tol))
        k = stats.iterations.double()
        iterations[solver] = {
            "mean": float(k.mean()), "max": float(k.max()),
            "p99": float(k.quantile(0.99, interpolation="higher")),
            "converged_fraction": float(stats.converged.double().mean()),
        }
    dt_ns = tau_ns if config.dt_ns is None else config.dt_ns
    result = settle(lambda z: z @ w.T, torch.tanh, u, LoopDynamics(tau_ns, dt_ns), tol,
                    horizon_tau=config.horizon_tau, record_residual=True)
    assert result.residual is not None
    t = result.time_ns
    # When the loop's residual max_i |σ(g(a)) − z|_i stays below tol: the digital solvers'
    # stopping rule applied to the loop (reported beside t_s, not charged).
    t_residual = crossing_times(result.t_ns, result.residual, tol)
    z = result.z_star.double()
    finite = t[t.isfinite()]
    slope = 1.0 - z**2
    w64 = w.double()
    feedback = (z @ w64.T).norm(dim=1) / u.double().norm(dim=1).clamp_min(1e-30)
    return {
        "iterations": iterations,
        "settling": {
            "sample_time_ns": sampling_time_ns(t, config.quantile),
            "settling_time_ns_mean": float(finite.mean()) if finite.numel() else math.inf,
            "settling_time_ns_max": float(t.max()),
            "settled_fraction": float(t.isfinite().double().mean()),
            "residual_time_ns_quantile": sampling_time_ns(t_residual, config.quantile),
            "tau_ns": tau_ns, "dt_ns": dt_ns, "tol": tol,
        },
        "core": {
            "feedback_norm": float(torch.linalg.matrix_norm(w64, ord=2)),
            "jacobian_radius": float(jacobian_radius(w, z[:RADIUS_PROBES]).mean()),
            "mean_slope": float(slope.mean()),
            "feedback_share": float(feedback.mean()),
            "z_rms": float(z.pow(2).mean().sqrt()),
            # The pair of one weight draws g_max·|ŵ|, ŵ = W / max|W| (the layer's full scale).
            "g_fraction": float(w64.abs().mean() / w64.abs().max().clamp_min(1e-30)),
            "activity": float(z.pow(2).mean()),
        },
    }


def measure_chip(w: Tensor, u: Tensor, config: ScalingConfig, chip: HardwareConfig,
                 seed: int, tol: float) -> dict[str, Any]:
    """How the programmed chip perturbs core ``W`` (static errors only: no read noise),
    ``W`` programmed with ``seed`` on ``chip`` as a loop's crossbar (no converters,
    :func:`hadeq.models.core.loop_hardware`), without IR drop (``no_ir_drop``) and with
    word-line IR drop at ``config.wire_resistance_ohm`` (``ir_drop``): per variant the
    crossbar's SNR ``crossbar_snr_db`` (its output ``W z*`` at the float equilibria
    against the float product) and ``z_snr_db``, the SNR of the chip's own equilibria
    (of ``tanh(W_s z + u)``, ``W_s`` the chip's static operator) against the float ones;
    equilibria solved to ``tol/100``."""
    n = w.shape[0]
    z = _equilibrium(w, u, tol / 100)
    out: dict[str, Any] = {"wire_resistance_ohm": config.wire_resistance_ohm}
    for label, ohm in (("no_ir_drop", 0.0), ("ir_drop", config.wire_resistance_ohm)):
        hw = loop_hardware(chip).replace(read_noise=0.0, wire_resistance_ohm=ohm)
        layer = AnalogLinear(n, n, bias=False, hardware=hw)
        with torch.no_grad():
            layer.weight.copy_(w)
        layer.program(seed)
        layer.eval()
        w_s, offset = layer.static_operands()
        u_s = u if offset is None else u + offset
        out[label] = {"crossbar_snr_db": measure_snr_db(layer, z),
                      "z_snr_db": snr_db(z, _equilibrium(w_s, u_s, tol / 100))}
    return out


# --------------------------------------------------------------------------------------
# Pricing
# --------------------------------------------------------------------------------------


def workload(n: int, core: Mapping[str, Any], config: ScalingConfig) -> DEQWorkload:
    """The inference priced: a linear stem ``input_features → n``, the dense n-neuron core
    with its measured conductance and activity, a linear head ``n → output_features``."""
    dense = DEQWorkload.dense(n, config.input_features, config.output_features)
    return dataclasses.replace(dense, core_g_fraction=core["g_fraction"],
                               core_activity=core["activity"])


def _buffer_bytes(values: Mapping[str, Any], work: DEQWorkload, energy: EnergyConfig) -> int:
    """The buffer of ``values`` in bytes, :data:`FIT_NETWORK` resolved for ``work`` at
    the priced digital precision."""
    value = values["onchip_buffer_bytes"]
    if value != FIT_NETWORK:
        return int(value)
    cfg = dataclasses.replace(energy, digital_precision=values["digital_precision"])
    needed = (network_weight_bytes((*work.injection, *work.head), cfg)
              + core_weight_bytes(work, cfg))
    buffer = C.EDGE_NPU_SRAM_BYTES
    while buffer < needed:
        buffer *= 2
    return buffer


def price(measured: Mapping[str, Any], values: Mapping[str, Any], config: ScalingConfig,
          energy: EnergyConfig, chip: HardwareConfig) -> dict[str, Any]:
    """Digital ÷ hybrid energy, time and area ratios of one measured core (``n``,
    ``iterations``, ``settling``, ``core``) under the assumptions ``values`` (one per
    :data:`AXES`), at both scopes (:func:`hadeq.energy.compare_deq`).

    With ``digital_macs_per_cycle = equal_area`` the digital machine is sized at each scope
    to the hybrid's silicon there (:func:`hadeq.energy.area.equal_area_macs_per_cycle`):
    core-only, PEs plus an SRAM holding exactly the core's weights in the analog core's
    area; end-to-end, one accelerator with the on-chip buffer, running stem, core and head,
    in the area of the analog core plus the hybrid's own accelerator. MACs/cycle change
    time only, so the energy ratios are those of the default accelerator; a scope where
    even the SRAM is larger than the hybrid's area gets None ratios."""
    n = int(measured["n"])
    work = workload(n, measured["core"], config)
    hw = chip.replace(tau_ns=float(values["tau_ns"]))
    macs = values["digital_macs_per_cycle"]
    hybrid_cfg = dataclasses.replace(
        energy, amp_power_w=float(values["amp_power_w"]),
        columns_per_adc=int(values["columns_per_adc"]),
        digital_precision=values["digital_precision"], weight_reuse=values["weight_reuse"],
        digital_macs_per_cycle=energy.digital_macs_per_cycle if macs == EQUAL_AREA
        else int(macs), onchip_buffer_bytes=_buffer_bytes(values, work, energy))
    settling = measured["settling"]
    t_s = settling["sample_time_ns"] * hw.tau_ns / settling["tau_ns"]
    hybrid = hybrid_deq_energy(work, t_s, hybrid_cfg, hardware=hw)
    core_area = deq_core_area_mm2(work, hybrid_cfg)["total"]
    areas = {"hybrid": {"core_only": core_area,
                        "end_to_end": core_area + digital_accelerator_area_mm2(hybrid_cfg)}}
    solvers = config.solvers if values["digital_solver"] == BEST else (values["digital_solver"],)

    def digital(solver: str, macs_per_cycle: int | None = None
                ) -> tuple[EnergyReport, EnergyConfig]:
        cfg = design_config(hybrid_cfg, DigitalDesign(solver, values["digital_precision"]))
        if macs_per_cycle is not None:
            cfg = dataclasses.replace(cfg, digital_macs_per_cycle=macs_per_cycle)
        return digital_deq_energy(work, measured["iterations"][solver]["mean"], cfg,
                                  solver=solver), cfg

    # The digital design charged: the least energy per inference among the solvers.
    solver = min(solvers, key=lambda s: digital(s)[0].total_j)
    report, cfg = digital(solver)
    weight_bytes = core_weight_bytes(work, cfg)
    out: dict[str, Any] = {
        "solver": solver,
        # resident (on chip), loaded (from DRAM once per inference) or streamed (per use)
        "digital_core_weights": weight_placement(weight_bytes, report.counts["weight_bytes"],
                                                 cfg),
        "digital_energy_j": report.total_j, "hybrid_energy_j": hybrid.total_j,
    }
    macs_per_cycle: dict[str, int | None] = {}
    for scope in SCOPES:
        scoped, scoped_cfg = report, cfg
        if macs == EQUAL_AREA:
            buffer = weight_bytes if scope == "core_only" else cfg.onchip_buffer_bytes
            try:
                fitted = equal_area_macs_per_cycle(areas["hybrid"][scope], None, cfg,
                                                   buffer_bytes=buffer)
            except ConfigError:  # even the buffer is larger than the hybrid's silicon
                macs_per_cycle[scope] = None
                out[scope] = dict.fromkeys(RATIOS)
                continue
            scoped, scoped_cfg = digital(solver, fitted)
        macs_per_cycle[scope] = scoped_cfg.digital_macs_per_cycle
        digital_area = {"core_only": digital_accelerator_area_mm2(
            scoped_cfg, buffer_bytes=weight_bytes),
            "end_to_end": digital_accelerator_area_mm2(scoped_cfg)}
        compared = compare_deq(scoped, hybrid,
                               area_mm2={"digital": digital_area, "hybrid": areas["hybrid"]})
        out[scope] = compared[scope]
        if scope == "core_only":
            out["digital_core_ns"] = compared["digital"]["core_only"]["latency_ns"]
            out["hybrid_core_ns"] = compared["hybrid"]["core_only"]["latency_ns"]
    out["macs_per_cycle"] = macs_per_cycle
    return out


def crossing(sizes: Sequence[int], ratios: Sequence[float | None]) -> dict[str, Any]:
    """Where a ratio (digital ÷ hybrid; > 1: the hybrid wins) crosses 1 as n grows:
    ``n`` from :func:`hadeq.bench.pareto.crossover` (interpolated in log–log) over the
    sizes with a finite ratio, and ``state``: ``from`` (the hybrid wins from n on),
    ``until`` (it wins up to n), ``always`` (at every size measured), ``never`` (at none:
    no crossover in range) or ``n/a`` (no ratio); ``crossings``: how often it crosses."""
    points = [(n, r) for n, r in zip(sizes, ratios, strict=True)
              if r is not None and math.isfinite(r) and r > 0]
    if not points:
        return {"n": None, "state": "n/a", "crossings": 0}
    xs, rs = [p[0] for p in points], [p[1] for p in points]
    n = crossover(xs, rs)
    signs = [r >= 1.0 for r in rs]
    changes = sum(a != b for a, b in itertools.pairwise(signs))
    if n is None:
        return {"n": None, "state": "always" if rs[0] > 1.0 else "never", "crossings": 0}
    return {"n": n, "state": "until" if rs[0] > 1.0 else "from", "crossings": changes}


def summarise(config: ScalingConfig, measurements: Sequence[Mapping[str, Any]],
              energy: EnergyConfig, chip: HardwareConfig) -> list[dict[str, Any]]:
    """Every assumption point priced on every core: per size the per-seed ratios and their
    mean ± 95 % interval, and the crossover of each mean ratio (energy and time, both
    scopes)."""
    defaults = default_values(energy, chip)
    out = []
    for point in assumption_points(config):
        values = dict(defaults)
        if point.axis is not None:
            values[point.axis] = point.value
        per_size = []
        for n in config.sizes:
            runs = [m for m in measurements if m["n"] == n]
            priced = [{"seed": m["seed"], **price(m, values, config, energy, chip)}
                      for m in runs]
            stats = {scope: {ratio: interval95(p[scope][ratio] for p in priced).to_dict()
                             for ratio in RATIOS} for scope in SCOPES}
            per_size.append({"n": n, **stats, "per_seed": priced})
        crossovers = {
            scope: {ratio: crossing(config.sizes, [s[scope][ratio]["mean"] for s in per_size])
                    for ratio in ("energy_ratio", "time_ratio")} for scope in SCOPES}
        out.append({"label": point.label, "axis": point.axis, "value": point.value,
                    "values": values, "sizes": per_size, "crossover": crossovers})
    return out


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------


def plan_lines(config: ScalingConfig) -> list[str]:
    """What :func:`run_scaling` would do, one line each: the cores, then the assumption
    points priced on every one of them."""
    points = assumption_points(config)
    lines = [f"suite {SUITE}: {len(config.sizes) * len(config.seeds)} cores "
             f"(sizes {', '.join(map(str, config.sizes))} × seeds "
             f"{', '.join(map(str, config.seeds))}; {config.inputs} inputs each, target "
             f"ρ(J*) = {config.target_radius:g}), {len(points)} assumption points"]
    lines += [f"  core n={n} seed={seed}" for n in config.sizes for seed in config.seeds]
    lines += [f"  assumption {p.label}" for p in points]
    return lines


def run_scaling(config: ScalingConfig, out_root: str = "results", *, progress: bool = True,
                energy: EnergyConfig | None = None) -> dict[str, Any]:
    """Measure every core, price every assumption point, and write
    ``<out_root>/scaling/results.json``, ``report.md`` and the plots."""
    energy = energy or calibrated_energy_config()
    chip = headline_chip()
    tol = settle_tol(chip)
    out_dir = os.path.join(out_root, SUITE)
    check_output_dir("out", out_dir)  # one line, before any work, when a file is in the way
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    measurements: list[dict[str, Any]] = []
    cores = [(n, seed) for n in config.sizes for seed in config.seeds]
    bar = tqdm(total=len(cores), desc=SUITE, unit="core", disable=not progress,
               dynamic_ncols=True)
    try:
        for n, seed in cores:
            bar.set_postfix_str(f"n={n} seed={seed}", refresh=True)
            t0 = time.perf_counter()
            with torch.no_grad():
                w, u, _ = random_core(n, seed, config, tol)
                measured = measure_core(w, u, config, tol, chip.tau_ns)
                measured["chip"] = measure_chip(w, u, config, chip, core_seed(n, seed), tol)
            measurements.append({"n": n, "seed": seed, **measured,
                                 "wall_time_s": time.perf_counter() - t0})
            bar.update()
    finally:
        bar.close()
    points = summarise(config, measurements, energy, chip)
    results = {
        "schema": SCHEMA,
        "suite": SUITE,
        "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "wall_time_s": time.perf_counter() - start,
        "config": to_dict(config),
        "seeds": list(config.seeds),
        "environment": environment(),
        "energy_assumptions": to_dict(energy),
        "hardware": to_dict(chip),
        "settle_tol": tol,
        "defaults": default_values(energy, chip),
        "measurements": measurements,
        "points": points,
    }
    path = os.path.join(out_dir, "results.json")
    write_json_atomic(path, results)
    # The report is drawn from the file, as a later rerun of it would be.
    with open(path, encoding="utf-8") as fh:
        write_report(json.load(fh), out_dir)
    return results


# --------------------------------------------------------------------------------------
# The report (drawn from results.json alone)
# --------------------------------------------------------------------------------------

PLOT_DEFAULT = "scaling_default.png"
PLOT_MEASURED = "scaling_measured.png"


def plot_name(axis: str) -> str:
    """The file of the plot of the ratios against n, one line per value of ``axis``."""
    return f"scaling_{axis}.png"


def _num(value: Any) -> float:
    """A number from results.json (where ``inf`` is written as a string, NaN as null)."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        return float(value)
    return float(value)


def _fmt(value: Any) -> str:
    return format_number(_num(value))


def _interval_text(iv: Mapping[str, Any], suffix: str = "") -> str:
    """``mean ± half-width`` (the half-width of the 95 % interval; none for one seed)."""
    if not iv or iv.get("n", 0) == 0:
        return "–"
    text = _fmt(iv["mean"]) + suffix
    if iv["n"] >= 2 and math.isfinite(_num(iv["ci95"])) and _num(iv["ci95"]) > 0:
        text += f" ± {_fmt(iv['ci95'])}"
    return text


def _crossing_text(c: Mapping[str, Any], sizes: Sequence[int]) -> str:
    state = c["state"]
    if state == "always":
        return f"ahead at every n ({sizes[0]}–{sizes[-1]})"
    if state == "never":
        return "never in range"
    if state == "n/a":
        return "n/a"
    n = f"{_num(c['n']):.0f}"
    text = f"from n ≈ {n}" if state == "from" else f"up to n ≈ {n}"
    if c.get("crossings", 1) > 1:
        text += f" ({c['crossings']} crossings; the first)"
    return text


def _measured_stats(results: Mapping[str, Any], get: Callable[[Mapping[str, Any]], Any]
                    ) -> list[dict[str, Any]]:
    """Per size, mean ± 95 % interval over seeds of ``get(measurement)``."""
    sizes = results["config"]["sizes"]
    return [interval95(_num(get(m)) for m in results["measurements"] if m["n"] == n)
            .to_dict() for n in sizes]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _default_point(results: Mapping[str, Any]) -> Mapping[str, Any]:
    return next(p for p in results["points"] if p["axis"] is None)


def _axis_values(axis: str, value: Any) -> str:
    if axis == "amp_power_w" and _num(value) == 0.0:
        return "P_amp(τ) estimate"
    if axis == "amp_power_w":
        return f"{_num(value) * 1e6:g} µW"
    if axis == "tau_ns":
        return f"{_num(value):g} ns"
    if axis == "onchip_buffer_bytes" and value == FIT_NETWORK:
        return "fits the digital network"
    if axis == "onchip_buffer_bytes":
        return f"{_num(value) / (1 << 20):g} MiB"
    return str(value)


def measured_table(results: Mapping[str, Any]) -> str:
    """Per size: the cores (‖W‖₂, ρ(J*), mean σ′, feedback share) and what was measured
    (iterations, t_s, the time the loop's residual reaches tol, the programmed chip's
    crossbar and equilibrium SNR without and with IR drop), mean ± 95 % interval."""
    solvers = results["config"]["solvers"]
    cols: list[tuple[str, Callable[[Mapping[str, Any]], Any]]] = [
        ("‖W‖₂", lambda m: m["core"]["feedback_norm"]),
        ("ρ(J*)", lambda m: m["core"]["jacobian_radius"]),
        ("mean σ′", lambda m: m["core"]["mean_slope"]),
        ("‖Wz*‖/‖u‖", lambda m: m["core"]["feedback_share"]),
    ]
    cols += [(f"{s} iterations", lambda m, s=s: m["iterations"][s]["mean"]) for s in solvers]
    cols += [
        ("t_s (ns)", lambda m: m["settling"]["sample_time_ns"]),
        ("t_s / τ", lambda m: _num(m["settling"]["sample_time_ns"]) / m["settling"]["tau_ns"]),
        ("residual ≤ tol (ns)", lambda m: m["settling"]["residual_time_ns_quantile"]),
    ]
    if all("chip" in m for m in results["measurements"]):  # runs from before lack it
        cols += [(f"{name}, {label}", lambda m, v=variant, k=key: m["chip"][v][k])
                 for key, name in (("crossbar_snr_db", "crossbar SNR dB"),
                                   ("z_snr_db", "z* SNR dB"))
                 for variant, label in (("no_ir_drop", "no IR drop"),
                                        ("ir_drop", "IR drop"))]
    cols.append(("wall (s)", lambda m: m["wall_time_s"]))
    stats = [_measured_stats(results, get) for _, get in cols]
    rows = [[str(n)] + [_interval_text(col[i]) for col in stats]
            for i, n in enumerate(results["config"]["sizes"])]
    return _table(["n", *(c[0] for c in cols)], rows)


def default_table(results: Mapping[str, Any]) -> str:
    """Per size: the six ratios (energy, time, area × core-only, end-to-end) under the
    default assumptions, mean ± 95 % interval over seeds, and the solver charged."""
    point = _default_point(results)
    rows = []
    for s in point["sizes"]:
        solvers = sorted({p["solver"] for p in s["per_seed"]})
        placement = sorted({p.get("digital_core_weights") or "–" for p in s["per_seed"]})
        rows.append([str(s["n"])]
                    + [_interval_text(s[scope][ratio]) for ratio in RATIOS
                       for scope in SCOPES] + ["/".join(solvers), "/".join(placement)])
    header = ["n"] + [f"{r.split('_')[0]} {scope.replace('_', '-')}" for r in RATIOS
                      for scope in SCOPES] + ["digital solver", "digital core weights"]
    return _table(header, rows)


def crossover_table(results: Mapping[str, Any]) -> str:
    """Per assumption point: the crossover n of the mean energy and time ratios."""
    sizes = results["config"]["sizes"]
    rows = []
    for p in results["points"]:
        label = "**default**" if p["axis"] is None else \
            f"{p['axis']} = {_axis_values(p['axis'], p['value'])}"
        rows.append([label] + [_crossing_text(p["crossover"][scope][ratio], sizes)
                               for ratio in ("energy_ratio", "time_ratio") for scope in SCOPES])
    return _table(["assumption", "energy core-only", "energy end-to-end", "time core-only",
                   "time end-to-end"], rows)


def crossover_lines(results: Mapping[str, Any]) -> list[str]:
    """What the command prints after a run: the crossover n under every assumption."""
    return [f"crossover n, digital ÷ hybrid crossing 1 (defaults: {_defaults_text(results)})",
            "", crossover_table(results)]


def _defaults_text(results: Mapping[str, Any]) -> str:
    d = results["defaults"]
    cfg = results["config"]
    amp = _axis_values("amp_power_w", d["amp_power_w"])
    return (f"τ = {_num(d['tau_ns']):g} ns; amplifier bias {amp}; "
            f"{d['columns_per_adc']} output(s) per ADC; digital precision "
            f"{d['digital_precision']}; digital solver {d['digital_solver']} (the cheaper in "
            f"energy of {', '.join(cfg['solvers'])}); weight reads per {d['weight_reuse']}; "
            f"{d['digital_macs_per_cycle']} MACs/cycle; on-chip weight buffer: "
            f"{_axis_values('onchip_buffer_bytes', d['onchip_buffer_bytes'])}; "
            f"stem {cfg['input_features']} → n, "
            f"head n → {cfg['output_features']} on both machines")


def _save(fig: Any, path: str) -> None:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)


def _log_axes(ax: Any, sizes: Sequence[int]) -> None:
    import matplotlib.ticker

    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(list(sizes))
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.axhline(1.0, color="black", lw=1.0, ls="--", zorder=1)
    ax.grid(True, which="major", alpha=0.3)
    low, high = ax.get_ylim()
    if high / low < 30:  # under a decade and a half: label 1-2-5 steps, not one decade
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _series(point: Mapping[str, Any], scope: str, ratio: str
            ) -> tuple[list[int], list[float], list[float]]:
    xs, ys, err = [], [], []
    for s in point["sizes"]:
        iv = s[scope][ratio]
        mean = _num(iv["mean"])
        if iv["n"] and math.isfinite(mean) and mean > 0:
            xs.append(s["n"])
            ys.append(mean)
            hw = _num(iv["ci95"])
            err.append(hw if math.isfinite(hw) else 0.0)
    return xs, ys, err


LINE_STYLES: tuple[str, ...] = ("-", "--", "-.", ":")
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P")


def _errorbar(ax: Any, xs: Sequence[int], ys: Sequence[float], err: Sequence[float],
              **kw: Any) -> None:
    # A log axis cannot show a bar below 0: clip the lower half-width above it.
    lower = [min(e, 0.95 * y) for e, y in zip(err, ys, strict=True)]
    kw.setdefault("lw", 1.4)
    kw.setdefault("marker", "o")
    ax.errorbar(xs, ys, yerr=[lower, list(err)], ms=4.5, capsize=2, **kw)


def _plot_default(results: Mapping[str, Any], path: str) -> None:
    import matplotlib.pyplot as plt

    point = _default_point(results)
    sizes = results["config"]["sizes"]
    fig, axes = plt.subplots(1, 3, figsize=(14.5, 4.4))
    for ax, ratio, title in zip(axes, RATIOS, ("energy", "time to output", "area"),
                                strict=True):
        for scope, color in zip(SCOPES, ("tab:blue", "tab:orange"), strict=True):
            xs, ys, err = _series(point, scope, ratio)
            _errorbar(ax, xs, ys, err, color=color, label=scope.replace("_", "-"))
        _log_axes(ax, sizes)
        ax.set_title(f"{title}: digital ÷ hybrid")
        ax.set_xlabel("core size n (neurons)")
    axes[0].set_ylabel("ratio (> 1: the hybrid wins)")
    axes[0].legend(loc="best", fontsize=9)
    fig.suptitle("Default assumptions: mean ± 95 % interval over seeds", y=1.02)
    _save(fig, path)


def _plot_axis(results: Mapping[str, Any], axis: str, path: str) -> None:
    import matplotlib.pyplot as plt

    points = [p for p in results["points"] if p["axis"] == axis]
    sizes = results["config"]["sizes"]
    fig, axes = plt.subplots(2, 2, figsize=(12.0, 8.6), sharex=True)
    numeric = all(isinstance(p["value"], int | float) for p in points)
    cmap = plt.get_cmap("viridis")
    for i, p in enumerate(points):
        color = (cmap(0.9 * i / max(len(points) - 1, 1)) if numeric
                 else plt.get_cmap("tab10")(i))
        default = p["value"] == results["defaults"][axis]
        for row, ratio in enumerate(("energy_ratio", "time_ratio")):
            for col, scope in enumerate(SCOPES):
                xs, ys, err = _series(p, scope, ratio)
                if xs:
                    # Styles differ too, so that lines that coincide stay visible.
                    _errorbar(axes[row][col], xs, ys, err, color=color,
                              lw=2.6 if default else 1.4, ls=LINE_STYLES[i % len(LINE_STYLES)],
                              marker=MARKERS[i % len(MARKERS)], zorder=3 if default else 2,
                              label=_axis_values(axis, p["value"])
                              + (" (default)" if default else ""))
    for row, ratio in enumerate(("energy", "time to output")):
        for col, scope in enumerate(SCOPES):
            ax = axes[row][col]
            _log_axes(ax, sizes)
            ax.set_title(f"{ratio}, {scope.replace('_', '-')}")
            if col == 0:
                ax.set_ylabel("digital ÷ hybrid (> 1: the hybrid wins)")
            if row == 1:
                ax.set_xlabel("core size n (neurons)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, title=AXIS_LABELS[axis], loc="lower center",
               ncol=min(len(labels), 5), bbox_to_anchor=(0.5, -0.06), fontsize=9)
    fig.suptitle(f"Ratios against n for each {AXIS_LABELS[axis].split(' (')[0]}"
                 " (other assumptions at their defaults)", y=1.0)
    fig.tight_layout()
    _save(fig, path)


def _plot_measured(results: Mapping[str, Any], path: str) -> None:
    import matplotlib.pyplot as plt

    sizes = results["config"]["sizes"]
    fig, axes = plt.subplots(1, 3, figsize=(14.5, 4.2))

    def line(ax: Any, get: Callable[[Mapping[str, Any]], Any], label: str, **kw: Any) -> None:
        stats = _measured_stats(results, get)
        xs = [n for n, s in zip(sizes, stats, strict=True) if math.isfinite(_num(s["mean"]))]
        ys = [_num(s["mean"]) for s in stats if math.isfinite(_num(s["mean"]))]
        err = [_num(s["ci95"]) if math.isfinite(_num(s["ci95"])) else 0.0
               for s in stats if math.isfinite(_num(s["mean"]))]
        ax.errorbar(xs, ys, yerr=err, marker="o", ms=4, capsize=2, label=label, **kw)

    for solver in results["config"]["solvers"]:
        line(axes[0], lambda m, s=solver: m["iterations"][s]["mean"], solver)
    axes[0].set_ylabel("iterations (mean over inputs)")
    axes[0].set_title("digital solver iterations to half an ADC LSB")
    line(axes[1], lambda m: _num(m["settling"]["sample_time_ns"]) / m["settling"]["tau_ns"],
         "t_s: |z − z*| ≤ tol (charged)")
    line(axes[1], lambda m: _num(m["settling"]["residual_time_ns_quantile"])
         / m["settling"]["tau_ns"], "loop residual |f(z) − z| ≤ tol")
    axes[1].set_ylabel("time / τ (99th percentile of inputs)")
    axes[1].set_title("analog loop from rest")
    line(axes[2], lambda m: m["core"]["jacobian_radius"], "ρ(J*)")
    line(axes[2], lambda m: m["core"]["mean_slope"], "mean σ′")
    line(axes[2], lambda m: m["core"]["feedback_norm"], "‖W‖₂")
    axes[2].set_title("the random cores")
    axes[2].set_ylim(0.0, 1.05)
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(sizes))
        import matplotlib.ticker

        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("core size n (neurons)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=9, loc="best")
    _save(fig, path)


def write_report(results: Mapping[str, Any], out_dir: str) -> str:
    """Write ``report.md`` and the plots of a scaling run into ``out_dir`` from its
    ``results`` (as read from ``results.json``); return the report's path."""
    import matplotlib

    matplotlib.use("Agg")  # headless: files only
    os.makedirs(out_dir, exist_ok=True)
    _plot_default(results, os.path.join(out_dir, PLOT_DEFAULT))
    _plot_measured(results, os.path.join(out_dir, PLOT_MEASURED))
    axes = [a for a in AXES if any(p["axis"] == a for p in results["points"])]
    for axis in axes:
        _plot_axis(results, axis, os.path.join(out_dir, plot_name(axis)))
    env = results["environment"]
    cfg = results["config"]
    default = _default_point(results)
    seeds = len(results["seeds"])
    parts = [
        f"# hadeq bench — suite `{SUITE}`",
        f"Run {results['created_utc']} in {results['wall_time_s']:.0f} s; seeds "
        f"{results['seeds']}; hadeq {env['hadeq']}, torch {env['libraries'].get('torch')}, "
        f"commit `{env.get('git_commit') or 'unknown'}`. Every number below is read from "
        "`results.json` in this folder. Every “±” is the half-width of the 95 % interval "
        f"over the {seeds} seeds (Student's t; one random core per size and seed).",
        "Random feedback-dominated cores: a symmetric Gaussian W scaled so that the local "
        f"Jacobian at the equilibrium has spectral radius ρ(J*) = {cfg['target_radius']:g} "
        f"(‖W‖₂ < 1, so the equilibrium is unique), tanh units, {cfg['inputs']} injections "
        f"u ~ N(0, {cfg['injection_rms']:g}²) per core. Measured once per core, noise-free: "
        "each digital solver's iterations to residual |f(z) − z|_i ≤ tol in every "
        f"component and the analog loop's sampling instant t_s (the "
        f"{cfg['quantile']:.0%} quantile over the inputs of the time after which "
        f"|z(t) − z*|_i ≤ tol), tol = {results['settle_tol']:.3g}, half an LSB of the "
        "chip's ADC. Every ratio is digital ÷ hybrid (> 1: the hybrid uses less); core-only: "
        "the equilibrium solve with its converters and memory traffic; end-to-end: the "
        "whole inference.",
        "## The cores and what was measured",
        measured_table(results),
        f"t_s at τ = {_num(results['measurements'][0]['settling']['tau_ns']):g} ns (it scales "
        "with τ). “residual ≤ tol”: when the loop's own residual max_i |f(z) − z|_i stays "
        "below tol (the digital solvers' stopping rule), for comparison; the hybrid is "
        "charged for t_s. Iterations: mean over the inputs (each input stops on its own).",
        f"![measured]({PLOT_MEASURED})",
        "## Ratios under the default assumptions",
        f"Defaults: {_defaults_text(results)}.",
        default_table(results),
        "Crossover under the defaults: energy core-only "
        + _crossing_text(default["crossover"]["core_only"]["energy_ratio"], cfg["sizes"])
        + "; energy end-to-end "
        + _crossing_text(default["crossover"]["end_to_end"]["energy_ratio"], cfg["sizes"])
        + "; time core-only "
        + _crossing_text(default["crossover"]["core_only"]["time_ratio"], cfg["sizes"])
        + "; time end-to-end "
        + _crossing_text(default["crossover"]["end_to_end"]["time_ratio"], cfg["sizes"]) + ".",
        "Digital core weights: where the digital DEQ's core weights come from at each "
        "inference — `resident`: all its digital weights fit the on-chip buffer (read from "
        "SRAM); `loaded`: they do not, and the core's weights are fetched from DRAM once "
        "per inference (`hadeq.energy.accounting.weight_placement`) — the step in the "
        "energy ratio where the weights outgrow the buffer.",
        f"![default]({PLOT_DEFAULT})",
        "## Crossover n under each assumption",
        "One assumption changed from the defaults at a time. The crossover is where the "
        "mean ratio over seeds crosses 1, interpolated in log n and log ratio between the "
        "two sizes that bracket it (`hadeq.bench.pareto.crossover`): “from n ≈ X” — the "
        "hybrid wins above X; “up to n ≈ X” — below; “never in range” — the digital DEQ "
        "wins at every size measured.",
        crossover_table(results),
        "Equal area: the digital machine is sized to the hybrid's silicon at each scope — "
        "core-only, PEs plus an SRAM holding exactly the core's weights in the analog "
        "core's area; end-to-end, one accelerator (PEs and the on-chip buffer, running "
        "stem, core and head) in the area of the analog core plus the hybrid's own "
        "accelerator — so its area ratios are 1 up to one PE, and its energy ratios are "
        "the default accelerator's (MACs/cycle change time only).",
        "## Plots",
    ]
    parts += [f"### {AXIS_LABELS[a]}\n\n![{a}]({plot_name(a)})" for a in axes]
    path = os.path.join(out_dir, "report.md")
    write_text_atomic(path, "\n\n".join(parts) + "\n")
    return path
