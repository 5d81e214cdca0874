"""Calibration of the component model against a published chip (IBM HERMES).

HERMES (Le Gallo et al., Nature Electronics 2023): 64 cores of 256×256 PCM, 14 nm, 8-bit
I/O, 9.76 TOPS/W in one-phase mode, ≈ 133 ns per MVM. :func:`hermes_like_config` sets the
component model to a HERMES-like operating point using only values that describe that
chip or our documented defaults — nothing is fitted to the target number. The circuit is
the ``hermes_pcm_8bit`` hardware preset (:data:`HERMES_HARDWARE`: 256×256 PCM tiles at
g_max 25 µS):

* tile 256×256 (the preset), 8-bit DAC and ADC, one ADC per column (HERMES has one per
  column);
* read window = the 133 ns MVM time less one ADC conversion (the rest of the MVM);
* ADC FoM 20 fJ/step and DAC 2 fJ/step (the defaults; HERMES's own converters are not
  characterised in FACTS.md);
* four PCM devices per weight (HERMES's 8T4R unit cell: two devices per sign —
  remembered from the paper, *unverified*, see ``HERMES_DEVICES_PER_WEIGHT``);
* PCM g_max 25 µS (the preset), mean device conductance 0.25·g_max, mean input activity
  0.5, 0.2 V read (the defaults);
* fp16 per-column affine correction charged as the layer's "activation" (HERMES corrects
  each column's scale and offset digitally);
* no "other" overhead (``other_fraction = 0``).

The check is that the model lands within 2× of 9.76 TOPS/W; the result is the model's own
estimate, so the remaining gap says how much of the chip (control, local digital units,
interconnect) the component model leaves out.
"""

from __future__ import annotations

from dataclasses import replace

from hadeq import constants as K
from hadeq.analog.config import HardwareConfig
from hadeq.energy.accounting import analog_feedforward_energy, tops_per_w
from hadeq.energy.breakdown import EnergyReport
from hadeq.energy.config import EnergyConfig
from hadeq.energy.workload import LayerSpec

HERMES_HARDWARE: str = "hermes_pcm_8bit"
"""The hardware preset whose circuit (tiles, g_max) the HERMES calibration runs on."""


def hermes_like_config(base: EnergyConfig | None = None) -> EnergyConfig:
    """The component model at a HERMES-like one-phase, 8-bit operating point."""
    base = base or EnergyConfig()
    adc_ns = base.adc_latency_ns
    return replace(
        base,
        adc_bits=K.HERMES_IO_BITS,
        dac_bits=K.HERMES_IO_BITS,
        columns_per_adc=1,
        devices_per_weight=K.HERMES_DEVICES_PER_WEIGHT,
        read_ns=K.HERMES_MVM_NS - adc_ns - base.dac_latency_ns,
        digital_precision="fp16",
        other_fraction=0.0,
    )


def hermes_mvm_layer() -> LayerSpec:
    """One full 256×256 MVM with a digital per-column affine correction."""
    return LayerSpec(K.HERMES_TILE_ROWS, K.HERMES_TILE_COLS, name="hermes_mvm", activation=True)


def hermes_mvm_report(config: EnergyConfig | None = None,
                      hardware: HardwareConfig | None = None) -> EnergyReport:
    """Energy report of one HERMES-like MVM (default hardware: :data:`HERMES_HARDWARE`)."""
    return analog_feedforward_energy([hermes_mvm_layer()], config or hermes_like_config(),
                                     hardware=hardware or HardwareConfig.preset(HERMES_HARDWARE))


def hermes_tops_per_w(config: EnergyConfig | None = None,
                      hardware: HardwareConfig | None = None) -> float:
    """Modelled efficiency of one HERMES-like MVM, TOPS/W (1 MAC = 2 ops)."""
    report = hermes_mvm_report(config, hardware)
    return tops_per_w(hermes_mvm_layer().n_macs, report.total_j, ops_per_mac=2)
