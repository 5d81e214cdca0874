"""Energy from the operation counters of analog layers (``hadeq.analog.AnalogMVM``).

``AnalogLinear`` / ``AnalogConv2d`` count, since their last ``reset_counters()``:
``n_vectors``, ``n_mvms`` (tile reads), ``n_macs``, ``n_dac_conversions`` and
``n_adc_conversions``. :func:`analog_counts_energy` prices such counts (pure function);
:func:`analog_layer_energy` reads them from a layer (duck-typed: any object with
``counters()``, ``mvm_in`` and ``mvm_out``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hadeq.analog.config import HardwareConfig
from hadeq.energy.breakdown import EnergyBreakdown, EnergyReport
from hadeq.energy.config import EnergyConfig, precision_bits
from hadeq.errors import ConfigError

COUNTER_NAMES: tuple[str, ...] = (
    "n_vectors", "n_mvms", "n_macs", "n_dac_conversions", "n_adc_conversions",
)


def analog_counts_energy(
    counters: Mapping[str, int],
    in_features: int,
    out_features: int,
    config: EnergyConfig | None = None,
    *,
    hardware: HardwareConfig | None = None,
) -> EnergyReport:
    """Energy of the analog work described by ``counters`` (one layer, any number of vectors)
    on ``hardware`` (its g_max and tile rows; default ``HardwareConfig()``).

    dac = n_dac·E_dac; adc = n_adc·E_adc; array = n_macs·d devices at ḡ·V²·activity for
    ``read_ns`` (+ bitline C·V² per tile-output read); amplifier = n_adc sense amplifiers ×
    amps_per_column × P_amp(τ_read) × read_ns; accumulation = (n_adc − n_vectors·out) adds
    (partial sums beyond the first) and their SRAM round trip; memory = n_vectors·(in·DAC
    bits read + out·ADC bits written). Equals :func:`hadeq.energy.analog_layer` (without
    activation) times n_vectors for a dense layer.
    """
    config = config or EnergyConfig()
    hardware = hardware or HardwareConfig()
    missing = [k for k in COUNTER_NAMES if k not in counters]
    if missing:
        raise ConfigError("counters", sorted(counters), "needs " + ", ".join(missing))
    nv, n_macs = counters["n_vectors"], counters["n_macs"]
    n_dac, n_adc = counters["n_dac_conversions"], counters["n_adc_conversions"]
    t_read_s = config.read_ns * 1e-9
    tau_read_ns = config.read_ns / math.log(2.0 ** (config.adc_bits + 1))
    acc_adds = max(n_adc - nv * out_features, 0)
    acc_bits = precision_bits(config.accumulation_precision)
    accumulation = acc_adds * config.e_add_j(config.accumulation_precision)
    if acc_adds:
        accumulation += config.e_memory_bits_j(n_adc * acc_bits, "sram", write=True)
        accumulation += config.e_memory_bits_j(n_adc * acc_bits, "sram")
    cells_per_col = min(in_features, hardware.tile_rows)
    energy = EnergyBreakdown(
        dac_j=n_dac * config.e_dac_j(),
        adc_j=n_adc * config.e_adc_j(),
        array_j=config.crossbar_power_w(config.devices_per_weight * n_macs, hardware.g_max_us)
        * t_read_s
        + config.bitline_energy_j(config.devices_per_weight * n_adc, cells_per_col),
        amplifier_j=n_adc * config.amps_per_column * config.amp_power_per_amp_w(tau_read_ns)
        * t_read_s,
        accumulation_j=accumulation,
        memory_j=config.e_memory_bits_j(nv * in_features * config.dac_bits, "sram")
        + config.e_memory_bits_j(nv * out_features * config.adc_bits, "sram", write=True),
    ).with_other(config.other_fraction)
    counts = {k: float(counters[k]) for k in COUNTER_NAMES}
    counts["accumulation_adds"] = float(acc_adds)
    return EnergyReport(energy=energy, latency_ns=0.0, kind="analog_counters", counts=counts)


def analog_layer_energy(layer: Any, config: EnergyConfig | None = None) -> EnergyReport:
    """Energy of the work an analog layer (``hadeq.analog.AnalogLinear``/``AnalogConv2d``)
    has counted since its last ``reset_counters()``, on the layer's own ``hardware``.
    Latency is not derived from counters (it depends on how reads overlap) and is
    reported as 0."""
    if not (hasattr(layer, "counters") and hasattr(layer, "mvm_in") and hasattr(layer, "mvm_out")):
        raise ConfigError("layer", type(layer).__name__,
                          "an analog layer with counters(), mvm_in and mvm_out")
    return analog_counts_energy(layer.counters(), layer.mvm_in, layer.mvm_out, config,
                                hardware=getattr(layer, "hardware", None))
