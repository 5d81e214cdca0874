"""Energy from the operation counters of analog layers (``hadeq.analog.AnalogMVM``).

``AnalogLinear`` / ``AnalogConv2d`` count, since their last ``reset_counters()``:
``n_vectors``, ``n_mvms`` (tile reads), ``n_macs``, ``n_dac_conversions`` and
``n_adc_conversions``. :func:`analog_counts_energy` prices such counts (pure function);
:func:`analog_layer_energy` reads them from a layer (duck-typed: any object with
``counters()``, ``mvm_in`` and ``mvm_out``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hadeq.analog.config import HardwareConfig
from hadeq.energy.accounting import analog_reads_energy
from hadeq.energy.breakdown import EnergyReport
from hadeq.energy.config import EnergyConfig
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
    on ``hardware`` (its g_max and tile rows; default ``HardwareConfig()``), priced by
    :func:`hadeq.energy.accounting.analog_reads_energy`: for a dense layer, n_vectors times
    :func:`hadeq.energy.analog_layer` without activation.
    """
    config = config or EnergyConfig()
    hardware = hardware or HardwareConfig()
    missing = [k for k in COUNTER_NAMES if k not in counters]
    if missing:
        raise ConfigError("counters", sorted(counters), "needs " + ", ".join(missing))
    nv = counters["n_vectors"]
    energy, acc_adds = analog_reads_energy(
        config, hardware, in_features=in_features, out_features=out_features, n_vectors=nv,
        n_macs=counters["n_macs"], n_dac=counters["n_dac_conversions"],
        n_adc=counters["n_adc_conversions"])
    energy = energy.with_other(config.other_fraction)
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
