"""Silicon area of both machines (mm²), and the digital accelerator that area or power buys.

Pure functions of an :class:`~hadeq.energy.config.EnergyConfig`; every figure is in
:mod:`hadeq.constants` with its source and node.

**Digital accelerator** at ``node_nm`` (digital areas scale by Stillmaker & Baas's area
factors, :mod:`hadeq.energy.technology`):

* one processing element (PE) per MAC/cycle: a multiplier at precision p, an adder at the
  accumulator precision (Horowitz 45 nm areas) and its pipeline registers — weight and
  input at p bits, accumulator at acc(p) bits (Aladdin 40 nm register area):
  ``A_PE = s(45→N)·(A_mult[p] + A_add[acc p]) + s(40→N)·A_reg·(2·bits(p) + bits(acc p))``;
* the on-chip buffer: ``A_SRAM = 8·bytes · A_bitcell(N) / η`` with the 14 nm bit cell
  scaled by s(14→N) and array efficiency η.

**Analog core** at HERMES's 14 nm (analog figures stay at their node):

* crossbar: devices · A_device (derived from the HERMES core area, which includes its
  periphery);
* DACs: one per input row, a PWM comparator of dac_bits (Aladdin comparator area per bit);
* ADCs: ⌈outputs / columns_per_adc⌉ of the ADC design point, A = A_ref·2^(bits − ref)
  scaled from its node to 14 nm;
* amplifiers: their count times A_amp (*assumption*).

:func:`equal_area_macs_per_cycle` and :func:`equal_power_macs_per_cycle` size the digital
accelerator to the analog core's silicon or power; :func:`deq_area_mm2` gives both
machines' areas at the two scopes of a comparison (core-only, end-to-end).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hadeq import constants as K
from hadeq.energy.accounting import adc_count, amdahl_breakdown
from hadeq.energy.breakdown import EnergyReport
from hadeq.energy.config import EnergyConfig, accumulator_precision, horowitz_name, precision_bits
from hadeq.energy.technology import area_scale
from hadeq.energy.workload import DEQWorkload
from hadeq.errors import ConfigError
from hadeq.validation import check_int, check_range

UM2_PER_MM2: float = 1e6


# --------------------------------------------------------------------------------------
# Digital
# --------------------------------------------------------------------------------------


def mac_area_mm2(precision: str, config: EnergyConfig) -> float:
    """Area of one PE (multiplier, accumulator adder, weight/input/accumulator registers) at
    ``precision`` and ``config.node_nm``, mm² (bf16 priced as fp16)."""
    acc = accumulator_precision(precision)
    logic_45_um2 = (K.HOROWITZ_AREA_UM2[f"{horowitz_name(precision)}_mult"]
                    + K.HOROWITZ_AREA_UM2[f"{horowitz_name(acc)}_add"])
    reg_bits = 2 * precision_bits(precision) + precision_bits(acc)
    reg_40_um2 = K.ALADDIN_REGISTER_AREA_UM2_PER_BIT * reg_bits
    um2 = (logic_45_um2 * config.area_scale(K.HOROWITZ_NODE_NM)
           + reg_40_um2 * config.area_scale(K.ALADDIN_NODE_NM))
    return um2 / UM2_PER_MM2


def sram_area_mm2(n_bytes: float, config: EnergyConfig) -> float:
    """Area of an SRAM of ``n_bytes`` at ``config.node_nm``, mm²:
    8·bytes · A_bitcell(14 nm)·s(14→N) / η."""
    check_range("n_bytes", n_bytes, 0.0)
    bitcell_um2 = config.sram_bitcell_14nm_um2 * config.area_scale(K.HERMES_NODE_NM)
    return 8.0 * n_bytes * bitcell_um2 / config.sram_array_efficiency / UM2_PER_MM2


def digital_accelerator_area_mm2(config: EnergyConfig, *, macs_per_cycle: int | None = None,
                                 buffer_bytes: float | None = None,
                                 precision: str | None = None) -> float:
    """Area of the digital accelerator, mm²: MACs/cycle · A_PE(p) + A_SRAM(buffer), defaults
    ``config.digital_macs_per_cycle``, ``config.onchip_buffer_bytes`` and
    ``config.digital_precision``."""
    macs = config.digital_macs_per_cycle if macs_per_cycle is None else macs_per_cycle
    check_int("macs_per_cycle", macs, 0, 1 << 40)
    buffer = config.onchip_buffer_bytes if buffer_bytes is None else buffer_bytes
    p = precision or config.digital_precision
    return macs * mac_area_mm2(p, config) + sram_area_mm2(buffer, config)


# --------------------------------------------------------------------------------------
# Analog
# --------------------------------------------------------------------------------------


def adc_area_mm2(config: EnergyConfig) -> float:
    """Area of one ADC at 14 nm, mm²: A_ref·2^(bits − ref) scaled from the design's node."""
    um2 = (config.adc_area_ref_um2 * 2.0 ** (config.adc_bits - config.adc_ref_bits)
           * area_scale(config.adc_area_node_nm, K.HERMES_NODE_NM))
    return um2 / UM2_PER_MM2


def dac_area_mm2(config: EnergyConfig) -> float:
    """Area of one PWM input DAC at 14 nm (a dac_bits comparator), mm²."""
    um2 = (K.ALADDIN_COMPARATOR_AREA_UM2_PER_BIT * config.dac_bits
           * area_scale(K.ALADDIN_NODE_NM, K.HERMES_NODE_NM))
    return um2 / UM2_PER_MM2


def analog_core_area_mm2(*, devices: int, inputs: int, outputs: int, amplifiers: int,
                         config: EnergyConfig) -> dict[str, float]:
    """Area of an analog core by component, mm²: ``{"array", "dac", "adc", "amplifier",
    "total"}`` for ``devices`` crossbar devices, ``inputs`` DACs, ``outputs`` read through
    ⌈outputs / columns_per_adc⌉ ADCs, and ``amplifiers`` amplifiers."""
    for name, value in (("devices", devices), ("inputs", inputs), ("outputs", outputs),
                        ("amplifiers", amplifiers)):
        check_int(name, value, 0, 1 << 50)
    parts = {
        "array": devices * config.cell_area_per_device_um2 / UM2_PER_MM2,
        "dac": inputs * dac_area_mm2(config),
        "adc": (adc_count(outputs, config) if outputs else 0) * adc_area_mm2(config),
        "amplifier": amplifiers * config.amp_area_14nm_um2 / UM2_PER_MM2,
    }
    parts["total"] = sum(parts.values())
    return parts


def deq_core_area_mm2(workload: DEQWorkload, config: EnergyConfig) -> dict[str, float]:
    """Area of the analog equilibrium core of ``workload`` (as priced by
    :func:`hadeq.energy.accounting.hybrid_deq_energy`): d·c devices, n DACs, n outputs,
    n·amps_per_neuron amplifiers, mm² by component."""
    n = workload.neurons
    return analog_core_area_mm2(devices=config.devices_per_weight * workload.n_core_macs,
                                inputs=n, outputs=n, amplifiers=n * config.amps_per_neuron,
                                config=config)


def core_weight_bytes(workload: DEQWorkload, config: EnergyConfig) -> float:
    """Bytes of the DEQ core's weights at ``config.digital_precision``."""
    weights = (workload.core_weights if workload.core_weights is not None
               else workload.n_core_macs)
    return weights * precision_bits(config.digital_precision) / 8.0


def deq_area_mm2(workload: DEQWorkload, config: EnergyConfig) -> dict[str, dict[str, float]]:
    """Areas of the two machines at both scopes, mm²:

    * digital — ``core_only`` = its PEs plus an SRAM holding exactly the core's weights
      (the storage the crossbar provides); ``end_to_end`` = the whole accelerator, PEs plus
      the ``onchip_buffer_bytes`` buffer (it runs stem, core and head);
    * hybrid — ``core_only`` = the analog core; ``end_to_end`` = analog core + the same
      digital accelerator for the stem and head.
    """
    acc = digital_accelerator_area_mm2(config)
    core_digital = digital_accelerator_area_mm2(
        config, buffer_bytes=core_weight_bytes(workload, config))
    core = deq_core_area_mm2(workload, config)["total"]
    return {"digital": {"core_only": core_digital, "end_to_end": acc},
            "hybrid": {"core_only": core, "end_to_end": core + acc}}


# --------------------------------------------------------------------------------------
# Equal silicon, equal power
# --------------------------------------------------------------------------------------


def equal_area_macs_per_cycle(analog_area_mm2: float, node_nm: float | None = None,
                              config: EnergyConfig | None = None, *,
                              buffer_bytes: float | None = None,
                              precision: str | None = None) -> int:
    """MACs/cycle of a digital accelerator at ``node_nm`` (default ``config.node_nm``) whose
    area — PEs plus a buffer of ``buffer_bytes`` (default ``onchip_buffer_bytes``; pass the
    core's weight bytes to give it exactly the storage the crossbar holds) — equals
    ``analog_area_mm2``: round((A − A_SRAM) / A_PE). Raises :class:`ConfigError` when the
    buffer alone is larger than the analog area."""
    config = config or EnergyConfig()
    if node_nm is not None:
        config = _at_node(config, node_nm)
    check_range("analog_area_mm2", analog_area_mm2, 0.0, low_open=True)
    buffer = config.onchip_buffer_bytes if buffer_bytes is None else buffer_bytes
    p = precision or config.digital_precision
    free = analog_area_mm2 - sram_area_mm2(buffer, config)
    macs = round(free / mac_area_mm2(p, config))
    if macs < 1:
        raise ConfigError("analog_area_mm2", analog_area_mm2,
                          f"smaller than a {buffer:g}-byte buffer plus one MAC at "
                          f"{config.node_nm:g} nm; pass a smaller buffer_bytes")
    return macs


def equal_power_macs_per_cycle(analog_power_w: float, config: EnergyConfig | None = None, *,
                               energy_per_mac_j: float | None = None,
                               precision: str | None = None) -> int:
    """MACs/cycle of a digital accelerator that, busy every cycle, draws ``analog_power_w``:
    round(P / (E_MAC · f_clk)), E_MAC = ``energy_per_mac_j`` or E_mac(p) at ``node_nm``
    (weight-stationary: its weights are not re-read per MAC). At least 1."""
    config = config or EnergyConfig()
    check_range("analog_power_w", analog_power_w, 0.0, low_open=True)
    e_mac = energy_per_mac_j or config.e_mac_j(precision or config.digital_precision)
    return max(1, round(analog_power_w / (e_mac * config.digital_clock_ghz * 1e9)))


def matched_accelerators(workload: DEQWorkload, hybrid: EnergyReport,
                         config: EnergyConfig) -> dict[str, Any]:
    """MACs/cycle of the digital accelerators matched to the hybrid's analog core:

    * ``equal_area`` — :func:`equal_area_macs_per_cycle` of the core's area, the digital
      side holding exactly the core's weights in SRAM (None if even that SRAM is larger);
    * ``equal_power`` — :func:`equal_power_macs_per_cycle` of the core's mean power over
      its core-only time (core + converters energy and latency of ``hybrid``).

    Re-price the digital DEQ with ``replace(config, digital_macs_per_cycle=...)`` to get
    the time ratio at equal area or equal power."""
    core_area = deq_core_area_mm2(workload, config)["total"]
    try:
        equal_area: int | None = equal_area_macs_per_cycle(
            core_area, None, config, buffer_bytes=core_weight_bytes(workload, config))
    except ConfigError:
        equal_area = None
    core = amdahl_breakdown(hybrid)["core_only"]
    power = average_power_w(core["energy_j"], core["latency_ns"])
    return {"equal_area": equal_area, "equal_power": equal_power_macs_per_cycle(power, config),
            "analog_core_area_mm2": core_area, "analog_core_power_w": power}


def average_power_w(energy_j: float, latency_ns: float) -> float:
    """Mean power of spending ``energy_j`` over ``latency_ns``, W."""
    check_range("latency_ns", latency_ns, 0.0, low_open=True)
    return energy_j / (latency_ns * 1e-9)


def _at_node(config: EnergyConfig, node_nm: float) -> EnergyConfig:
    if node_nm == config.node_nm:
        return config
    return replace(config, node_nm=node_nm, digital_vdd_v=0.0)


def area_summary(workload: DEQWorkload, config: EnergyConfig) -> dict[str, Any]:
    """JSON-ready areas (mm²; analog at 14 nm, digital at ``node_nm``): both machines at both
    scopes, the analog core by component, the accelerator's PE and buffer, and the
    equal-area MACs/cycle with a buffer holding exactly the core's weights (None when even
    that buffer is larger than the core)."""
    core = deq_core_area_mm2(workload, config)
    core_bytes = core_weight_bytes(workload, config)
    try:
        equal = equal_area_macs_per_cycle(core["total"], None, config, buffer_bytes=core_bytes)
    except ConfigError:
        equal = None
    return {
        "node_nm": config.node_nm,
        "scopes": deq_area_mm2(workload, config),
        "analog_core": core,
        "digital_pe_mm2": mac_area_mm2(config.digital_precision, config),
        "digital_buffer_mm2": sram_area_mm2(config.onchip_buffer_bytes, config),
        "equal_area_macs_per_cycle": equal,
        "equal_area_buffer_bytes": core_bytes,
    }
