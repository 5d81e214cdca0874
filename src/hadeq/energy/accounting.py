"""Energy and latency of one inference, as pure functions of explicit counts.

Three machines are priced with the same :class:`~hadeq.energy.config.EnergyConfig`; the
analog ones also read the circuit (g_max, tile geometry, loop τ) from a
:class:`~hadeq.analog.config.HardwareConfig` (default: ``HardwareConfig()``):

* **digital DEQ** — ``E = E_stem + k̄·(E_f + E_solver) + E_W + E_head`` with k̄ the mean of
  the *measured* per-sample iterations and E_W the core's weight traffic (once per
  inference when the weights are on chip and weight-stationary; see the memory hierarchy
  below);
* **hybrid DEQ** — digital stem, n DAC conversions of u, the analog core settling for the
  *measured* time t_s (crossbar, amplifiers and column periphery draw power for t_s plus
  the ADC read), n ADC conversions of z*, digital head; latency = stem + DAC + t_s + ADC +
  head;
* **analog feed-forward** — every layer converts in (DAC) and out (ADC); partial sums of
  row tiles are added digitally.

**Memory hierarchy** (the same rule for the digital DEQ core and for the digital stem and
head on both sides). With B = ``onchip_buffer_bytes``, W_l a layer's weight bytes and
W_net the weight bytes of all digital layers of the machine
(:func:`weight_placement`):

* ``resident`` (W_net ≤ B): every weight lives in the on-chip buffer across inferences
  (loaded once at deployment, not charged per inference) and is read from SRAM into the
  MAC array R times per inference, R = 1 with ``weight_reuse='inference'``
  (weight-stationary) or R = uses with ``'use'``;
* ``loaded`` (W_l ≤ B < W_net): the layer is fetched from DRAM once per inference; if it is
  used R > 1 times it is written to SRAM once and read R times;
* ``streamed`` (W_l > B): re-fetched from DRAM at every use.

Latency counts MAC-array cycles only (memory stalls are not modelled, which favours the
digital side). Every report carries ``parts`` — energy and latency split into stem, core,
converters, memory and head (:func:`amdahl_breakdown`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hadeq import constants as C
from hadeq.analog.config import HardwareConfig
from hadeq.energy.breakdown import EnergyBreakdown, EnergyReport
from hadeq.energy.config import EnergyConfig, precision_bits
from hadeq.energy.solver_costs import DIGITAL_SOLVER, solver_cost
from hadeq.energy.workload import DEQWorkload, LayerSpec
from hadeq.errors import ConfigError
from hadeq.validation import check_choice, check_int, check_range

PARTS: tuple[str, ...] = ("stem", "core", "converters", "memory", "head")
"""The Amdahl parts of an inference, in table order."""

PLACEMENTS: tuple[str, ...] = ("resident", "loaded", "streamed")
"""Where a digital layer's weights come from (:func:`weight_placement`)."""


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
# Memory hierarchy
# --------------------------------------------------------------------------------------


def layer_weight_bits(layer: LayerSpec, config: EnergyConfig) -> int:
    """Stored weight bits of ``layer``: n_weights · bits(p), p its precision."""
    return layer.n_weights * precision_bits(layer.precision or config.digital_precision)


def weight_placement(layer_bytes: float, network_bytes: float, config: EnergyConfig) -> str:
    """Where a layer's weights come from: ``'resident'`` if all the machine's digital weights
    fit in the buffer (network_bytes ≤ B), ``'loaded'`` if this layer alone fits
    (layer_bytes ≤ B < network_bytes), else ``'streamed'``; B = ``onchip_buffer_bytes``."""
    check_range("layer_bytes", layer_bytes, 0.0)
    check_range("network_bytes", network_bytes, layer_bytes)
    buffer = config.onchip_buffer_bytes
    if network_bytes <= buffer:
        return "resident"
    return "loaded" if layer_bytes <= buffer else "streamed"


def weight_traffic_j(weight_bits: float, uses: float, placement: str,
                     config: EnergyConfig) -> float:
    """Energy per inference of the weights of one layer evaluated ``uses`` times, J.

    With R = 1 (``weight_reuse='inference'``) or R = uses (``'use'``) SRAM reads:
    resident: R·E_sram(bits); loaded: E_dram(bits) [+ E_sram_write(bits) + R·E_sram(bits)
    when R > 1]; streamed: uses·E_dram(bits).
    """
    check_choice("placement", placement, PLACEMENTS)
    check_range("uses", uses, 0.0)
    if uses == 0 or weight_bits == 0:
        return 0.0
    reads = 1.0 if config.weight_reuse == "inference" else uses
    if placement == "resident":
        return reads * config.e_memory_bits_j(weight_bits, "sram")
    if placement == "loaded":
        energy = config.e_memory_bits_j(weight_bits, "dram")
        if reads > 1:
            energy += (config.e_memory_bits_j(weight_bits, "sram", write=True)
                       + reads * config.e_memory_bits_j(weight_bits, "sram"))
        return energy
    return uses * config.e_memory_bits_j(weight_bits, "dram")


# --------------------------------------------------------------------------------------
# Digital building blocks
# --------------------------------------------------------------------------------------


def digital_layer(
    layer: LayerSpec, config: EnergyConfig, *, placement: str | None = None
) -> tuple[EnergyBreakdown, float, float]:
    """One evaluation of a digital layer: (energy, latency_ns, MACs incl. activation ops).

    compute = MACs·E_mac(p) + [out·nonlinearity_ops·E_mac(p)];
    memory  = its weights (:func:`weight_traffic_j` with one use, placed by ``placement``;
    default: the layer alone against the buffer) + input read + output write (SRAM, bits
    of precision p).
    """
    p = layer.precision or config.digital_precision
    bits = precision_bits(p)
    act_ops = layer.out_features * config.nonlinearity_ops if layer.activation else 0
    macs = layer.n_macs + act_ops
    w_bits = layer_weight_bits(layer, config)
    if placement is None:
        placement = weight_placement(w_bits / 8, w_bits / 8, config)
    memory = (
        weight_traffic_j(w_bits, 1.0, placement, config)
        + config.e_memory_bits_j(layer.in_features * bits, "sram")
        + config.e_memory_bits_j(layer.out_features * bits, "sram", write=True)
    )
    energy = EnergyBreakdown(digital_compute_j=macs * config.e_mac_j(p), memory_j=memory)
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


def _core_layer(workload: DEQWorkload) -> LayerSpec:
    n = workload.neurons
    return LayerSpec(n, n, name="core", activation=True, macs=workload.n_core_macs,
                     weights=workload.core_weights)


def digital_core_iteration(
    workload: DEQWorkload, config: EnergyConfig, *, solver: str = DIGITAL_SOLVER,
    history: int = C.TORCHDEQ_ANDERSON_HISTORY,
) -> tuple[EnergyBreakdown, float, float]:
    """One solver iteration of a digital DEQ: f(z) = σ(W z + u + b) plus solver overhead.
    Returns (energy, latency_ns, MACs). The energy holds the MACs, activations, the state's
    SRAM round trip and the solver's arithmetic and history traffic at
    ``solver_precision``; it leaves out the core's *weight* traffic, which depends on how
    many iterations share one weight fetch (:func:`core_weight_energy_j`)."""
    check_int("history", history, 0, 1024)
    n = workload.neurons
    core = _core_layer(workload)
    p = core.precision or config.digital_precision
    bits = precision_bits(p)
    act_ops = n * config.nonlinearity_ops
    macs_core = core.n_macs + act_ops
    e_core = EnergyBreakdown(
        digital_compute_j=macs_core * config.e_mac_j(p),
        memory_j=config.e_memory_bits_j(n * bits, "sram")
        + config.e_memory_bits_j(n * bits, "sram", write=True),
    )
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


def network_weight_bytes(layers: Iterable[LayerSpec], config: EnergyConfig) -> float:
    """Weight bytes of ``layers`` at their precisions."""
    return sum(layer_weight_bits(layer, config) for layer in layers) / 8.0


def core_weight_energy_j(workload: DEQWorkload, iterations: float, config: EnergyConfig,
                         *, network_bytes: float | None = None) -> float:
    """Weight traffic of a digital DEQ core evaluated ``iterations`` times in one inference,
    J: :func:`weight_traffic_j` with the placement of its weights among ``network_bytes``
    (default: all the workload's digital layers, stem + core + head)."""
    core = _core_layer(workload)
    bits = layer_weight_bits(core, config)
    if network_bytes is None:
        network_bytes = network_weight_bytes((*workload.injection, core, *workload.head),
                                             config)
    placement = weight_placement(bits / 8, network_bytes, config)
    return weight_traffic_j(bits, iterations, placement, config)


def _digital_stack(
    layers: Sequence[LayerSpec], config: EnergyConfig, network_bytes: float
) -> tuple[EnergyBreakdown, float, float]:
    energy, latency, macs = EnergyBreakdown(), 0.0, 0.0
    for layer in layers:
        bits = layer_weight_bits(layer, config)
        placement = weight_placement(bits / 8, network_bytes, config)
        e, t, k = digital_layer(layer, config, placement=placement)
        energy, latency, macs = energy + e, latency + t, macs + k
    return energy, latency, macs


def _parts(stages: Mapping[str, EnergyBreakdown], latency_ns: Mapping[str, float]
           ) -> dict[str, Any]:
    """Energy and latency by Amdahl part from per-stage breakdowns (stem, core, head):
    memory = every stage's memory traffic; converters = DAC + ADC; stem, core and head =
    the rest of their stage. ``core_memory_j`` keeps the core's own memory traffic."""
    energy = {part: 0.0 for part in PARTS}
    for stage, e in stages.items():
        conv = e.dac_j + e.adc_j
        energy["converters"] += conv
        energy["memory"] += e.memory_j
        energy[stage] += e.total_j - conv - e.memory_j
    latency = {part: float(latency_ns.get(part, 0.0)) for part in PARTS}
    return {"energy_j": energy, "latency_ns": latency,
            "core_memory_j": float(stages["core"].memory_j)}


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
    ``SolverStats.iterations``. With k̄ their mean,
    E = E_stem + k̄·(E_f + E_solver) + E_W(k̄) + E_head, where E_W is the core's weight
    traffic (:func:`core_weight_energy_j`: once per inference when on chip and
    weight-stationary); latency likewise with the accelerator's MACs/cycle and clock.
    ``history`` is Anderson's m (torchdeq default ``C.TORCHDEQ_ANDERSON_HISTORY``) or
    Broyden's memory.
    """
    config = config or EnergyConfig()
    mean_it, max_it, n_samples = per_sample_mean("iterations", iterations)
    net = network_weight_bytes((*workload.injection, _core_layer(workload), *workload.head),
                               config)
    e_in, t_in, k_in = _digital_stack(workload.injection, config, net)
    e_it, t_it, k_it = digital_core_iteration(workload, config, solver=solver, history=history)
    e_w = core_weight_energy_j(workload, mean_it, config, network_bytes=net)
    e_out, t_out, k_out = _digital_stack(workload.head, config, net)
    f = config.other_fraction
    stages = {
        "stem": e_in.with_other(f),
        "core": (e_it.scaled(mean_it) + EnergyBreakdown(memory_j=e_w)).with_other(f),
        "head": e_out.with_other(f),
    }
    energy = stages["stem"] + stages["core"] + stages["head"]
    t_core = mean_it * t_it
    counts = {
        "iterations_mean": mean_it,
        "iterations_max": max_it,
        "samples": n_samples,
        "macs_per_iteration": k_it,
        "digital_macs": k_in + mean_it * k_it + k_out,
        "weight_bytes": net,
        "core_weights_resident": float(net <= config.onchip_buffer_bytes),
    }
    parts = _parts(stages, {"stem": t_in, "core": t_core, "head": t_out})
    return EnergyReport(energy=energy, latency_ns=t_in + t_core + t_out, kind="digital_deq",
                        counts=counts, parts=parts)


def adc_read_time_ns(outputs: int, config: EnergyConfig) -> float:
    """Time to convert ``outputs`` values when ``columns_per_adc`` outputs share one ADC:
    min(outputs, columns_per_adc) serial conversions of ``config.adc_conversion_ns()``, ns."""
    return min(outputs, config.columns_per_adc) * config.adc_conversion_ns()


def adc_count(outputs: int, config: EnergyConfig) -> int:
    """ADCs needed for ``outputs`` values: ⌈outputs / columns_per_adc⌉."""
    return math.ceil(outputs / config.columns_per_adc)


def analog_core_energy(config: EnergyConfig, hardware: HardwareConfig, *, neurons: int,
                       cells: int, time_ns: float, path_amplifiers: int = 0,
                       cell_g_fraction: float | None = None, activity: float | None = None
                       ) -> EnergyBreakdown:
    """Energy of an analog DEQ core of ``neurons`` outputs and ``cells`` crossbar cells
    (n² for a dense core) kept biased for ``time_ns``, J, without its converters:

    * array = P_xbar(d·cells devices, g_max)·t + the bitline C·V² of d·n columns of
      cells/n cells (:meth:`EnergyConfig.crossbar_power_w`, d = ``devices_per_weight``).
      With the measured ``cell_g_fraction`` (mean (G⁺ + G⁻)/g_max of a cell, see
      :attr:`DEQWorkload.core_g_fraction`) the d devices of a cell share it, ḡ =
      cell_g_fraction·g_max/d, so P_xbar = cells·cell_g_fraction·g_max·V_read²·a = V²·ΣG;
      without it ḡ = ``g_mean_fraction``·g_max. The row activity a is ``activity``
      (measured mean z*²) or ``input_activity``;
    * amplifier = (n·amps_per_neuron + path_amplifiers)·P_amp(τ)·t
      (:meth:`EnergyConfig.amp_power_per_amp_w`; ``path_amplifiers``: those on the
      intermediate nodes of loop layers other than the core, e.g. a spectral path);
    * other = n·periphery_power_per_column·t.

    g_max and τ are ``hardware.g_max_us`` and ``hardware.tau_ns``.
    """
    check_int("neurons", neurons, 1, 1 << 30)
    check_int("cells", cells, 0, 1 << 62)
    check_int("path_amplifiers", path_amplifiers, 0, 1 << 40)
    check_range("time_ns", time_ns, 0.0)
    if cell_g_fraction is not None:
        check_range("cell_g_fraction", cell_g_fraction, 0.0, None)
    if activity is not None:
        check_range("activity", activity, 0.0, 1.0)
    t_s = time_ns * 1e-9
    d = config.devices_per_weight
    g_device = None if cell_g_fraction is None else cell_g_fraction / d
    return EnergyBreakdown(
        array_j=config.crossbar_power_w(d * cells, hardware.g_max_us,
                                        g_mean_fraction=g_device, activity=activity) * t_s
        + config.bitline_energy_j(d * neurons, max(cells // neurons, 1)),
        amplifier_j=(neurons * config.amps_per_neuron + path_amplifiers)
        * config.amp_power_per_amp_w(hardware.tau_ns) * t_s,
        other_j=neurons * config.periphery_power_per_column_w * t_s,
    )


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
    ADCs have sampled z*; t_ADC = min(n, k)·t_conv with k = ``columns_per_adc``):

    * dac = n · E_dac (u enters through n DACs; b is folded into u digitally);
    * array, amplifier and other: :func:`analog_core_energy` for t_on — P_xbar(d·c
      devices, g_max) · t_on + bitline C·V² of d·n columns of c/n cells, with c the core's
      cells (its MACs per evaluation: n² for a dense core) at the workload's measured
      conductance and row activity (``core_g_fraction``, ``core_activity``; the config's
      ``g_mean_fraction`` and ``input_activity`` where it carries none, e.g. a workload
      built by hand); (n · amps_per_neuron + the
      workload's path amplifiers) · P_amp(τ) · t_on; n · periphery_power_per_column ·
      t_on (column periphery: the HERMES fit of
      :func:`hadeq.energy.calibration.calibrated_energy_config`, 0 by default);
    * adc = n · E_adc; memory adds reading u for the DACs and writing z*;
    * accumulation = 0: row tiles of a large core share column wires, so partial sums add
      as currents inside the loop (no ADC may sit inside it).

    g_max and the loop time constant τ are ``hardware.g_max_us`` and ``hardware.tau_ns``
    (the hardware the settling times were measured on). The digital stem and head follow
    the memory hierarchy of the module docstring among themselves.
    """
    config = config or EnergyConfig()
    hardware = hardware or HardwareConfig()
    mean_ts, max_ts, n_samples = per_sample_mean("settling_time_ns", settling_time_ns)
    n = workload.neurons
    net = network_weight_bytes((*workload.injection, *workload.head), config)
    e_in, t_in, k_in = _digital_stack(workload.injection, config, net)
    e_out, t_out, k_out = _digital_stack(workload.head, config, net)
    t_adc = adc_read_time_ns(n, config)
    cells = workload.n_core_macs  # n² for a dense core
    devices = config.devices_per_weight * cells
    n_amps = n * config.amps_per_neuron + workload.path_amplifiers
    core = analog_core_energy(config, hardware, neurons=n, cells=cells,
                              time_ns=mean_ts + t_adc,
                              path_amplifiers=workload.path_amplifiers,
                              cell_g_fraction=workload.core_g_fraction,
                              activity=workload.core_activity) + EnergyBreakdown(
        dac_j=n * config.e_dac_j(),
        adc_j=n * config.e_adc_j(),
        memory_j=config.e_memory_bits_j(n * config.dac_bits, "sram")
        + config.e_memory_bits_j(n * config.adc_bits, "sram", write=True),
    )
    f = config.other_fraction
    stages = {"stem": e_in.with_other(f), "core": core.with_other(f),
              "head": e_out.with_other(f)}
    energy = stages["stem"] + stages["core"] + stages["head"]
    latency = t_in + config.dac_latency_ns + mean_ts + t_adc + t_out
    counts = {
        "settling_time_ns_mean": mean_ts,
        "settling_time_ns_max": max_ts,
        "samples": n_samples,
        "dac_conversions": n,
        "adc_conversions": n,
        "adcs": adc_count(n, config),
        "analog_macs_equivalent": workload.n_core_macs,
        "amplifiers": n_amps,
        "devices": devices,
        # what the crossbar was priced at: per device over g_max, and mean (V_row/V_read)²
        "crossbar_g_fraction": (config.g_mean_fraction if workload.core_g_fraction is None
                                else workload.core_g_fraction / config.devices_per_weight),
        "crossbar_activity": (config.input_activity if workload.core_activity is None
                              else workload.core_activity),
        "digital_macs": k_in + k_out,
        "weight_bytes": net,
    }
    parts = _parts(stages, {"stem": t_in, "core": mean_ts,
                            "converters": config.dac_latency_ns + t_adc, "head": t_out})
    return EnergyReport(energy=energy, latency_ns=latency, kind="hybrid_deq", counts=counts,
                        parts=parts)


def read_window_ns(config: EnergyConfig) -> float:
    """Time the columns of a feed-forward read stay biased, ns: ``read_ns``, or the
    conversion time if longer for an integrating ADC (it converts during the window)."""
    if config.adc_architecture == "integrating":
        return max(config.read_ns, config.adc_conversion_ns())
    return config.read_ns


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

    With the read window t_w (:func:`read_window_ns`): dac = n_dac·E_dac; adc = n_adc·E_adc;
    array = d·n_macs devices at ḡ·V²·activity for t_w plus the bitlines of the d·n_adc tile
    outputs read (min(in, tile_rows) cells each); amplifier = n_adc·amps_per_column sense
    amplifiers at P_amp(τ_read) for t_w, τ_read = t_w / ln(2^(adc_bits+1)) (settle to half
    an LSB within the read); other = n_adc·periphery_power_per_column·t_w; accumulation =
    the n_adc − n_vectors·out partial sums beyond the first, added digitally, and their
    SRAM round trip; memory = n_vectors·(in DAC codes read + out ADC codes written). No
    activation and no "other" share.
    """
    t_w_ns = read_window_ns(config)
    t_read_s = t_w_ns * 1e-9
    tau_read_ns = t_w_ns / math.log(2.0 ** (config.adc_bits + 1))
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
        other_j=n_adc * config.periphery_power_per_column_w * t_read_s,
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
    charged as digital compute. Latency: DAC + read window + the conversions after it
    (SAR: min(out, k); integrating: min(out, k) − 1, the first converts during the window)
    + the digital adds.
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
    serial = min(cols, config.columns_per_adc)
    if config.adc_architecture == "integrating":
        serial -= 1
    latency = (
        config.dac_latency_ns
        + read_window_ns(config)
        + serial * config.adc_conversion_ns()
        + config.digital_latency_ns(acc_adds + act_ops)
    )
    counts = {
        "dac_conversions": dac_conv,
        "adc_conversions": adc_conv,
        "adcs": adc_count(cols, config) * r_blocks,
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


# --------------------------------------------------------------------------------------
# Core-only and end-to-end
# --------------------------------------------------------------------------------------


def amdahl_breakdown(report: EnergyReport) -> dict[str, Any]:
    """Energy and latency of a DEQ report by part (stem, core, converters, memory, head),
    their fractions, and the two scopes a comparison is made at:

    * ``core_only`` — the equilibrium solve: energy = core + converters + the core's own
      memory traffic (weights, state, solver history), latency = core + converters (the
      digital core includes its solver overhead; the analog core its DAC/ADC);
    * ``end_to_end`` — the whole inference (the report's totals).

    JSON-ready. Raises :class:`ConfigError` for a report without parts (feed-forward).
    """
    if not report.parts:
        raise ConfigError("report", report.kind, "a digital_deq or hybrid_deq report")
    energy = dict(report.parts["energy_j"])
    latency = dict(report.parts["latency_ns"])
    total_e, total_t = sum(energy.values()), sum(latency.values())
    core_e = energy["core"] + energy["converters"] + report.parts["core_memory_j"]
    core_t = latency["core"] + latency["converters"]
    return {
        "kind": report.kind,
        "energy_j": energy,
        "energy_fraction": {k: (v / total_e if total_e else 0.0) for k, v in energy.items()},
        "latency_ns": latency,
        "latency_fraction": {k: (v / total_t if total_t else 0.0) for k, v in latency.items()},
        "core_only": {"energy_j": core_e, "latency_ns": core_t},
        "end_to_end": {"energy_j": report.total_j, "latency_ns": float(report.latency_ns)},
    }


def compare_deq(
    digital: EnergyReport,
    hybrid: EnergyReport,
    *,
    area_mm2: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """Digital ÷ hybrid ratios of energy and time (and area, given ``area_mm2`` as returned
    by :func:`hadeq.energy.area.deq_area_mm2`) at both scopes: ``{"core_only": {...},
    "end_to_end": {...}}`` with keys ``energy_ratio``, ``time_ratio``, ``area_ratio``
    (None without areas), plus both Amdahl breakdowns. A ratio > 1 means the hybrid uses
    less."""
    d, h = amdahl_breakdown(digital), amdahl_breakdown(hybrid)
    out: dict[str, Any] = {"digital": d, "hybrid": h}
    for scope in ("core_only", "end_to_end"):
        ratios: dict[str, float | None] = {
            "energy_ratio": _ratio(d[scope]["energy_j"], h[scope]["energy_j"]),
            "time_ratio": _ratio(d[scope]["latency_ns"], h[scope]["latency_ns"]),
            "area_ratio": None,
        }
        if area_mm2 is not None:
            ratios["area_ratio"] = _ratio(area_mm2["digital"][scope], area_mm2["hybrid"][scope])
        out[scope] = ratios
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.inf
