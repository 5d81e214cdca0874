"""Energy and latency of one inference, as pure functions of explicit counts.

Three machines are priced with the same :class:`~hadeq.energy.config.EnergyConfig`; the
analog ones also read the circuit (g_max, tile geometry, loop τ) from a
:class:`~hadeq.analog.config.HardwareConfig` (default: ``HardwareConfig()``):

* **digital DEQ** — ``E = E_inj + Σ_k (E_f + E_solver) + E_head`` summed over the *measured*
  iterations k of each sample (energy per inference is the mean over samples);
* **hybrid DEQ** — digital injection, n DAC conversions of u, the analog core settling for
  the *measured* time t_s (crossbar and amplifiers draw power for t_s plus the ADC read),
  n ADC conversions of z*, digital head; latency = injection + DAC + t_s + ADC + head;
* **analog feed-forward** — every layer converts in (DAC) and out (ADC); partial sums of
  row tiles are added digitally.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from hadeq import constants as C
from hadeq.analog.config import HardwareConfig
from hadeq.energy.breakdown import EnergyBreakdown, EnergyReport
from hadeq.energy.config import EnergyConfig, precision_bits
from hadeq.energy.solver_costs import DIGITAL_SOLVER, solver_cost
from hadeq.energy.workload import DEQWorkload, LayerSpec
from hadeq.errors import ConfigError
from hadeq.validation import check_int


def per_sample_mean(field: str, values: Any) -> tuple[float, float, int]:
    """(mean, max, count) of per-sample measurements given as a number, a sequence, a numpy
    array or a torch tensor; every value must be finite and ≥ 0."""
    if hasattr(values, "detach"):  # torch tensor, without importing torch here
        values = values.detach().cpu().reshape(-1).tolist()
    elif hasattr(values, "tolist"):
        values = values.tolist()
    if isinstance(values, int | float) and not isinstance(values, bool):
        seq = [float(values)]
    elif isinstance(values, Iterable) and not isinstance(values, str | bytes):
        seq = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ConfigError(field, v, "per-sample values must be numbers")
            seq.append(float(v))
    else:
        raise ConfigError(field, values, "a number or a sequence of per-sample numbers")
    if not seq:
        raise ConfigError(field, values, "at least one per-sample value is required")
    for v in seq:
        if not math.isfinite(v) or v < 0:
            raise ConfigError(field, v, "per-sample values must be finite and >= 0")
    return sum(seq) / len(seq), max(seq), len(seq)


# --------------------------------------------------------------------------------------
# Digital building blocks
# --------------------------------------------------------------------------------------


def digital_layer(layer: LayerSpec, config: EnergyConfig) -> tuple[EnergyBreakdown, float, float]:
    """One evaluation of a digital layer: (energy, latency_ns, MACs incl. activation ops).

    compute = MACs·E_mac(p) + [out·nonlinearity_ops·E_mac(p)];
    memory  = weights (in·out·bits from ``weight_memory``) + input read + output write
    (SRAM, bits of precision p).
    """
    p = layer.precision or config.digital_precision
    bits = precision_bits(p)
    act_ops = layer.out_features * config.nonlinearity_ops if layer.activation else 0
    macs = layer.n_macs + act_ops
    compute = macs * config.e_mac_j(p)
    memory = (
        config.e_memory_bits_j(layer.n_weights * bits, config.weight_memory)
        + config.e_memory_bits_j(layer.in_features * bits, "sram")
        + config.e_memory_bits_j(layer.out_features * bits, "sram", write=True)
    )
    energy = EnergyBreakdown(digital_compute_j=compute, memory_j=memory)
    return energy, config.digital_latency_ns(macs), float(macs)


def solver_overhead_macs(neurons: int, solver: str, history: int) -> float:
    """Solver arithmetic per iteration beyond evaluating f, in MACs:
    ``vector_ops(m)·n + system_ops(m)`` of the solver's entry in
    :data:`~hadeq.energy.solver_costs.SOLVER_COSTS` (n = ``neurons``, m = ``history``)."""
    cost = solver_cost(solver)
    return cost.vector_ops(history) * neurons + cost.system_ops(history)


def solver_overhead_values_moved(neurons: int, solver: str, history: int) -> tuple[float, float]:
    """(values read, values written) of solver history per iteration: the solver's
    history vectors of length n (:data:`~hadeq.energy.solver_costs.SOLVER_COSTS`)."""
    cost = solver_cost(solver)
    return cost.history_reads(history) * neurons, cost.history_writes(history) * neurons


def digital_core_iteration(
    workload: DEQWorkload, config: EnergyConfig, *, solver: str = DIGITAL_SOLVER,
    history: int = C.TORCHDEQ_ANDERSON_HISTORY,
) -> tuple[EnergyBreakdown, float, float]:
    """One solver iteration of a digital DEQ: f(z) = σ(W z + u + b) plus solver overhead.
    Returns (energy, latency_ns, MACs)."""
    check_int("history", history, 0, 1024)
    n = workload.neurons
    core = LayerSpec(n, n, name="core", activation=True, macs=workload.n_core_macs,
                     weights=workload.core_weights)
    e_core, _, macs_core = digital_layer(core, config)
    sp = config.solver_precision
    sbits = precision_bits(sp)
    macs_solver = solver_overhead_macs(n, solver, history)
    reads, writes = solver_overhead_values_moved(n, solver, history)
    e_solver = EnergyBreakdown(
        digital_compute_j=macs_solver * config.e_mac_j(sp),
        memory_j=config.e_memory_bits_j(reads * sbits, "sram")
        + config.e_memory_bits_j(writes * sbits, "sram", write=True),
    )
    macs = macs_core + macs_solver
    return e_core + e_solver, config.digital_latency_ns(macs), macs


def _digital_stack(
    layers: Sequence[LayerSpec], config: EnergyConfig
) -> tuple[EnergyBreakdown, float, float]:
    energy, latency, macs = EnergyBreakdown(), 0.0, 0.0
    for layer in layers:
        e, t, k = digital_layer(layer, config)
        energy, latency, macs = energy + e, latency + t, macs + k
    return energy, latency, macs


# --------------------------------------------------------------------------------------
# Machines
# --------------------------------------------------------------------------------------


def digital_deq_energy(
    workload: DEQWorkload,
    iterations: Any,
    config: EnergyConfig | None = None,
    *,
    solver: str = DIGITAL_SOLVER,
    history: int = C.TORCHDEQ_ANDERSON_HISTORY,
) -> EnergyReport:
    """Energy and latency of one inference of a fully digital DEQ.

    ``iterations``: the *measured* per-sample solver iterations (one f evaluation each), e.g.
    ``SolverStats.iterations``. E = E_inj + mean_k(k)·(E_f + E_solver) + E_head; latency
    likewise with the accelerator's MACs/cycle and clock. ``history`` is Anderson's m
    (torchdeq default ``C.TORCHDEQ_ANDERSON_HISTORY``) or Broyden's memory.
    """
    config = config or EnergyConfig()
    mean_it, max_it, n_samples = per_sample_mean("iterations", iterations)
    e_in, t_in, k_in = _digital_stack(workload.injection, config)
    e_it, t_it, k_it = digital_core_iteration(workload, config, solver=solver, history=history)
    e_out, t_out, k_out = _digital_stack(workload.head, config)
    energy = (e_in + e_it.scaled(mean_it) + e_out).with_other(config.other_fraction)
    latency = t_in + mean_it * t_it + t_out
    counts = {
        "iterations_mean": mean_it,
        "iterations_max": max_it,
        "samples": n_samples,
        "macs_per_iteration": k_it,
        "digital_macs": k_in + mean_it * k_it + k_out,
    }
    return EnergyReport(energy=energy, latency_ns=latency, kind="digital_deq", counts=counts)


def adc_read_time_ns(outputs: int, config: EnergyConfig) -> float:
    """Time to convert ``outputs`` values when ``columns_per_adc`` outputs share one ADC:
    min(outputs, columns_per_adc) serial conversions, ns."""
    return min(outputs, config.columns_per_adc) * config.adc_latency_ns


def hybrid_deq_energy(
    workload: DEQWorkload,
    settling_time_ns: Any,
    config: EnergyConfig | None = None,
    *,
    hardware: HardwareConfig | None = None,
) -> EnergyReport:
    """Energy and latency of one inference of a hybrid DEQ (analog equilibrium core).

    ``settling_time_ns``: the *measured* per-sample settling time of the analog core (from
    ``analog_relaxation`` or SPICE). With t_on = t_s + t_ADC (the loop stays biased until the
    ADCs have sampled z*):

    * dac = n · E_dac (u enters through n DACs; b is folded into u digitally);
    * array = P_xbar(d·c devices, g_max) · t_on + bitline C·V² of d·n columns of c/n cells,
      with c the core's cells (its MACs per evaluation: n² for a dense core);
    * amplifier = n · amps_per_neuron · P_amp(τ) · t_on;

    g_max and the loop time constant τ are ``hardware.g_max_us`` and ``hardware.tau_ns``
    (the hardware the settling times were measured on).
    * adc = n · E_adc; memory adds reading u for the DACs and writing z*;
    * accumulation = 0: row tiles of a large core share column wires, so partial sums add
      as currents inside the loop (no ADC may sit inside it).
    """
    config = config or EnergyConfig()
    hardware = hardware or HardwareConfig()
    mean_ts, max_ts, n_samples = per_sample_mean("settling_time_ns", settling_time_ns)
    n = workload.neurons
    e_in, t_in, k_in = _digital_stack(workload.injection, config)
    e_out, t_out, k_out = _digital_stack(workload.head, config)
    t_adc = adc_read_time_ns(n, config)
    t_on_s = (mean_ts + t_adc) * 1e-9
    cells = workload.n_core_macs  # n² for a dense core
    devices = config.devices_per_weight * cells
    n_amps = n * config.amps_per_neuron
    core = EnergyBreakdown(
        dac_j=n * config.e_dac_j(),
        array_j=config.crossbar_power_w(devices, hardware.g_max_us) * t_on_s
        + config.bitline_energy_j(config.devices_per_weight * n, max(cells // n, 1)),
        amplifier_j=n_amps * config.amp_power_per_amp_w(hardware.tau_ns) * t_on_s,
        adc_j=n * config.e_adc_j(),
        memory_j=config.e_memory_bits_j(n * config.dac_bits, "sram")
        + config.e_memory_bits_j(n * config.adc_bits, "sram", write=True),
    )
    energy = (e_in + core + e_out).with_other(config.other_fraction)
    latency = t_in + config.dac_latency_ns + mean_ts + t_adc + t_out
    counts = {
        "settling_time_ns_mean": mean_ts,
        "settling_time_ns_max": max_ts,
        "samples": n_samples,
        "dac_conversions": n,
        "adc_conversions": n,
        "analog_macs_equivalent": workload.n_core_macs,
        "amplifiers": n_amps,
        "devices": devices,
        "digital_macs": k_in + k_out,
    }
    return EnergyReport(energy=energy, latency_ns=latency, kind="hybrid_deq", counts=counts)


def analog_reads_energy(
    config: EnergyConfig,
    hardware: HardwareConfig,
    *,
    in_features: int,
    out_features: int,
    n_vectors: float,
    n_macs: float,
    n_dac: float,
    n_adc: float,
) -> tuple[EnergyBreakdown, float]:
    """Energy of ``n_vectors`` feed-forward MVMs of an ``in_features × out_features`` analog
    layer from their counts, and the partial-sum adds among them.

    dac = n_dac·E_dac; adc = n_adc·E_adc; array = d·n_macs devices at ḡ·V²·activity for
    ``read_ns`` plus the bitlines of the d·n_adc tile outputs read (min(in, tile_rows)
    cells each); amplifier = n_adc·amps_per_column sense amplifiers at P_amp(τ_read) for
    ``read_ns``, τ_read = read_ns / ln(2^(adc_bits+1)) (settle to half an LSB within the
    read); accumulation = the n_adc − n_vectors·out partial sums beyond the first, added
    digitally, and their SRAM round trip; memory = n_vectors·(in DAC codes read + out ADC
    codes written). No activation and no "other" share.
    """
    t_read_s = config.read_ns * 1e-9
    tau_read_ns = config.read_ns / math.log(2.0 ** (config.adc_bits + 1))
    acc_adds = max(n_adc - n_vectors * out_features, 0)
    acc_bits = precision_bits(config.accumulation_precision)
    accumulation = acc_adds * config.e_add_j(config.accumulation_precision)
    if acc_adds:
        accumulation += config.e_memory_bits_j(n_adc * acc_bits, "sram", write=True)
        accumulation += config.e_memory_bits_j(n_adc * acc_bits, "sram")
    d = config.devices_per_weight
    energy = EnergyBreakdown(
        dac_j=n_dac * config.e_dac_j(),
        adc_j=n_adc * config.e_adc_j(),
        array_j=config.crossbar_power_w(d * n_macs, hardware.g_max_us) * t_read_s
        + config.bitline_energy_j(d * n_adc, min(in_features, hardware.tile_rows)),
        amplifier_j=n_adc * config.amps_per_column * config.amp_power_per_amp_w(tau_read_ns)
        * t_read_s,
        accumulation_j=accumulation,
        memory_j=config.e_memory_bits_j(n_vectors * in_features * config.dac_bits, "sram")
        + config.e_memory_bits_j(n_vectors * out_features * config.adc_bits, "sram",
                                 write=True),
    )
    return energy, acc_adds


def analog_layer(
    layer: LayerSpec, config: EnergyConfig, hardware: HardwareConfig
) -> tuple[EnergyBreakdown, float, dict[str, float]]:
    """One MVM of a feed-forward analog layer on the hardware's tiles of
    ``tile_rows × tile_cols`` (devices at its g_max).

    With R = ⌈in/tile_rows⌉ row blocks and C = ⌈out/tile_cols⌉ column blocks: DAC
    conversions in·C, ADC conversions out·R, in·out cells, priced by
    :func:`analog_reads_energy` ((R−1)·out partial-sum adds); an activation (if any) is
    charged as digital compute.
    """
    rows, cols = layer.in_features, layer.out_features
    r_blocks = math.ceil(rows / hardware.tile_rows)
    c_blocks = math.ceil(cols / hardware.tile_cols)
    dac_conv = rows * c_blocks
    adc_conv = cols * r_blocks
    reads, acc_adds = analog_reads_energy(
        config, hardware, in_features=rows, out_features=cols, n_vectors=1,
        n_macs=rows * cols, n_dac=dac_conv, n_adc=adc_conv)
    act_ops = cols * config.nonlinearity_ops if layer.activation else 0
    p = layer.precision or config.digital_precision
    energy = reads + EnergyBreakdown(digital_compute_j=act_ops * config.e_mac_j(p))
    latency = (
        config.dac_latency_ns
        + config.read_ns
        + adc_read_time_ns(cols, config)
        + config.digital_latency_ns(acc_adds + act_ops)
    )
    counts = {
        "dac_conversions": dac_conv,
        "adc_conversions": adc_conv,
        "analog_macs": layer.n_macs,
        "tiles": r_blocks * c_blocks,
        "accumulation_adds": acc_adds,
        "amplifiers": adc_conv * config.amps_per_column,
    }
    return energy, latency, counts


def analog_feedforward_energy(
    layers: Sequence[LayerSpec],
    config: EnergyConfig | None = None,
    *,
    hardware: HardwareConfig | None = None,
) -> EnergyReport:
    """Energy and latency of one inference of a feed-forward analog network: every layer is
    an analog MVM with DACs in and ADCs out (activations pass through digital between),
    on ``hardware``'s tiles (default ``HardwareConfig()``)."""
    config = config or EnergyConfig()
    hardware = hardware or HardwareConfig()
    if not layers:
        raise ConfigError("layers", [], "at least one layer is required")
    energy, latency = EnergyBreakdown(), 0.0
    counts: dict[str, float] = {}
    for layer in layers:
        e, t, c = analog_layer(layer, config, hardware)
        energy, latency = energy + e, latency + t
        for key, value in c.items():
            counts[key] = counts.get(key, 0.0) + value
    return EnergyReport(
        energy=energy.with_other(config.other_fraction),
        latency_ns=latency,
        kind="analog_feedforward",
        counts=counts,
    )


def tops_per_w(macs: float, energy_j: float, ops_per_mac: int = 2) -> float:
    """Efficiency in TOPS/W (= tera-ops per joule) counting ``ops_per_mac`` ops per MAC."""
    if energy_j <= 0:
        raise ConfigError("energy_j", energy_j, "must be > 0")
    return macs * ops_per_mac / energy_j / 1e12
