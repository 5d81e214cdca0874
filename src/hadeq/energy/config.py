"""Component energy model: :class:`EnergyConfig`, every constant of the model in one place.

Circuit parameters the analog layers share with the energy model — the largest device
conductance ``g_max_us``, the tile geometry ``tile_rows × tile_cols`` and the loop time
constant ``tau_ns`` — are fields of :class:`~hadeq.analog.config.HardwareConfig` only; the
accounting functions take the hardware next to this config (:data:`HARDWARE_FIELDS`).

Each field is one component figure with its unit in the name (``_j`` joules, ``_f`` farads,
``_v`` volts, ``_w`` watts, ``_us`` microsiemens, ``_ns`` nanoseconds, ``_ghz`` gigahertz,
``_nm`` nanometres, ``_um2`` square micrometres). Defaults come from :mod:`hadeq.constants`
(sources cited there); fields marked *assumption* have no published source and are meant to
be swept.

**One technology node.** Digital figures are stored at the node of their source (Horowitz:
45 nm, 0.9 V) and scaled to ``node_nm`` at supply ``digital_vdd_v`` by Stillmaker & Baas's
published equations (:mod:`hadeq.energy.technology`): arithmetic and SRAM energies by the
energy factor, digital areas by the area factor. DRAM energy is an off-chip interface cost
and is not scaled. Analog figures (crossbar, amplifiers, converters, HERMES calibration)
stay at the node they were measured or designed at (HERMES: 14 nm; the SAR ADC: 32 nm).

Derived quantities (all pure functions of the config) are methods:

* digital MAC at precision p: ``E_mac = s·(E_mult[p] + E_add[acc(p)])`` where s is the node
  scale factor, the accumulator of an int8 multiply is int32, and fp16/bf16/fp32/int32
  accumulate at their own precision (bf16 is priced as fp16: Horowitz gives no bf16 figure);
* ADC (one design point for energy, latency and area): ``E_adc = E_ref · 2^(bits − bits_ref)``
  (constant Walden figure of merit); conversion time ``bits · t_cycle`` for a SAR ADC, or
  ``2^bits · t_LSB`` for an integrating (CCO, ramp) ADC; DAC ``E_dac = FoM_dac · 2^bits``;
* crossbar static power: ``P = N_devices · ḡ · V_read² · a`` with mean device conductance
  ``ḡ = g_mean_fraction · g_max`` (g_max from the hardware) and input activity ``a`` =
  mean (V_row/V_read)² — both assumptions, replaced by a trained model's measured values
  when its workload carries them (:class:`~hadeq.energy.workload.DEQWorkload`);
* amplifier bias power (first-order *design estimate*, not a measurement):
  ``P_amp = V_DD · 2π·GBW·C_L / (g_m/I_D)`` with ``GBW = amp_gbw_tau_product / τ`` (τ from
  the hardware).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from hadeq import constants as K
from hadeq.analog.config import HardwareConfig
from hadeq.energy import technology
from hadeq.errors import ConfigError
from hadeq.validation import (
    check_choice,
    check_int,
    check_range,
    from_mapping,
    to_dict,
    unknown_key_error,
)

PRECISIONS: tuple[str, ...] = ("int8", "int32", "fp16", "bf16", "fp32")
"""Digital precisions the Horowitz table covers (bf16 priced as fp16)."""

MEMORIES: tuple[str, ...] = ("sram", "dram")

WEIGHT_REUSE: tuple[str, ...] = ("inference", "use")
"""How often an on-chip (resident) weight is read from SRAM into the MAC array: once per
inference (weight-stationary) or at every use (every solver iteration)."""

ADC_ARCHITECTURES: tuple[str, ...] = ("sar", "integrating")

HARDWARE_FIELDS: tuple[str, ...] = ("g_max_us", "tile_rows", "tile_cols", "tau_ns")
"""The :class:`~hadeq.analog.config.HardwareConfig` fields the energy model reads."""

_BITS = {"int8": 8, "int32": 32, "fp16": 16, "bf16": 16, "fp32": 32}
_ACCUMULATOR = {"int8": "int32", "int32": "int32", "fp16": "fp16", "bf16": "bf16",
                "fp32": "fp32"}
_HOROWITZ_NAME = {"int8": "int8", "int32": "int32", "fp16": "fp16", "bf16": "fp16",
                  "fp32": "fp32"}


def precision_bits(precision: str) -> int:
    """Storage width in bits of one value at ``precision``."""
    check_choice("precision", precision, PRECISIONS)
    return _BITS[precision]


def accumulator_precision(precision: str) -> str:
    """The precision a MAC at ``precision`` accumulates in (int8 → int32)."""
    check_choice("precision", precision, PRECISIONS)
    return _ACCUMULATOR[precision]


def horowitz_name(precision: str) -> str:
    """The Horowitz table row a precision is priced with (bf16 → fp16)."""
    check_choice("precision", precision, PRECISIONS)
    return _HOROWITZ_NAME[precision]


@dataclass(frozen=True)
class EnergyConfig:
    """Energy, latency and area constants of digital logic, memories, converters and the
    array, and the technology node the digital side is evaluated at."""

    # --- digital arithmetic (Horowitz ISSCC 2014, 45 nm, 0.9 V; scaled to node_nm) ------
    e_add_int8_j: float = K.HOROWITZ_INT8_ADD_J
    """Energy of one 8-bit integer add at 45 nm, J."""
    e_mult_int8_j: float = K.HOROWITZ_INT8_MULT_J
    """Energy of one 8-bit integer multiply at 45 nm, J."""
    e_add_int32_j: float = K.HOROWITZ_INT32_ADD_J
    """Energy of one 32-bit integer add at 45 nm, J."""
    e_mult_int32_j: float = K.HOROWITZ_INT32_MULT_J
    """Energy of one 32-bit integer multiply at 45 nm, J."""
    e_add_fp16_j: float = K.HOROWITZ_FP16_ADD_J
    """Energy of one fp16 (and bf16) add at 45 nm, J."""
    e_mult_fp16_j: float = K.HOROWITZ_FP16_MULT_J
    """Energy of one fp16 (and bf16) multiply at 45 nm, J."""
    e_add_fp32_j: float = K.HOROWITZ_FP32_ADD_J
    """Energy of one fp32 add at 45 nm, J."""
    e_mult_fp32_j: float = K.HOROWITZ_FP32_MULT_J
    """Energy of one fp32 multiply at 45 nm, J."""
    nonlinearity_ops: int = 2
    """Multiply-adds (at the layer precision) charged per element for an activation
    function such as tanh (a piecewise-linear / LUT evaluation; *assumption*)."""

    # --- technology node ---------------------------------------------------------------
    node_nm: float = K.DEFAULT_NODE_NM
    """CMOS node the digital side (accelerator, stem, head, SRAM) is evaluated at, nm
    (7–180). Default: HERMES's 14 nm, so both sides sit on one node."""
    digital_vdd_v: float = 0.0
    """Supply of the digital logic at ``node_nm``, V; 0 takes the node's nominal supply
    (:data:`hadeq.constants.NODE_NOMINAL_VDD_V`, *unverified*)."""

    # --- memories (Horowitz, 45 nm; SRAM scaled to node_nm, DRAM not) --------------------
    e_sram_read_64b_j: float = K.HOROWITZ_SRAM_READ_64B_J
    """Energy of reading 64 bits from on-chip SRAM at 45 nm, J (Horowitz's 8 KB array: a
    banked buffer is priced per bank access, which is optimistic for a large buffer)."""
    e_sram_write_64b_j: float = K.HOROWITZ_SRAM_READ_64B_J
    """Energy of writing 64 bits to on-chip SRAM at 45 nm, J (*assumption*: as a read)."""
    e_dram_64b_j: float = K.HOROWITZ_DRAM_ACCESS_64B_J
    """Energy of one 64-bit DRAM access, J (off-chip: not scaled with the node)."""
    onchip_buffer_bytes: int = K.EDGE_NPU_SRAM_BYTES
    """On-chip weight buffer of the digital accelerator, bytes (default: 1 MB, one core of
    Samsung's 4 nm edge NPU). Weights that fit stay on chip; larger layers stream from
    DRAM at every use (:func:`hadeq.energy.accounting.weight_placement`)."""
    weight_reuse: str = "inference"
    """How often an on-chip weight is read from SRAM into the MAC array: ``'inference'``
    (weight-stationary: once per inference, reused across solver iterations — the usual
    edge-NPU dataflow and the choice most favourable to the digital DEQ) or ``'use'``
    (every evaluation)."""

    # --- digital accelerator (latency of digital layers and solvers) ---------------------
    digital_precision: str = "int8"
    """Precision of digital layer MACs (injection, head, digital DEQ core):
    int8, int32, fp16, bf16 or fp32."""
    solver_precision: str = "fp32"
    """Precision of fixed-point solver arithmetic (Anderson mixing, least squares)."""
    digital_macs_per_cycle: int = 256
    """MACs the digital accelerator completes per clock cycle (*assumption*: a 16×16
    systolic array; see :func:`hadeq.energy.area.equal_area_macs_per_cycle`)."""
    digital_clock_ghz: float = 1.0
    """Clock of the digital accelerator, GHz."""

    # --- converters (analog figures: at the node of their design) ------------------------
    adc_bits: int = K.HERMES_IO_BITS
    """ADC resolution (taken as its ENOB), bits."""
    adc_architecture: str = "sar"
    """``'sar'``: one bit per cycle, conversion = bits · adc_cycle_ns; ``'integrating'``
    (CCO or ramp): one LSB per cycle, conversion = 2^bits · adc_cycle_ns, integrating during
    the read window."""
    adc_energy_ref_j: float = K.SAR_ADC_POWER_W / K.SAR_ADC_RATE_HZ
    """Energy of one conversion of the ADC design point at ``adc_ref_bits``, J (default:
    Kull et al. ISSCC 2013, 3.1 mW at 1.2 GS/s → 2.6 pJ)."""
    adc_ref_bits: int = K.SAR_ADC_BITS
    """Resolution of the ADC design point, bits; other resolutions scale as 2^(bits − ref)."""
    adc_cycle_ns: float = 1e9 / (K.SAR_ADC_RATE_HZ * K.SAR_ADC_BITS)
    """Time of one SAR bit-cycle (or one LSB of an integrating ADC), ns (default: the same
    design point, 1/(1.2 GHz · 8) ≈ 0.104 ns)."""
    columns_per_adc: int = 1
    """Outputs that share one ADC (conversions are then serialised), count."""
    dac_bits: int = K.HERMES_IO_BITS
    """DAC resolution, bits."""
    dac_fom_j: float = K.DAC_FOM_DEFAULT_J
    """DAC energy per conversion step, J: E_dac = FoM · 2^dac_bits (*assumption*)."""
    dac_latency_ns: float = K.NEUROSIM_FLASH_ADC_LATENCY_NS
    """Time for the DACs to settle on a new input, ns (*assumption*: 1 ns, the NeuroSim
    converter latency)."""

    # --- crossbar array ------------------------------------------------------------------
    v_read_v: float = K.CROSSBAR_READ_V
    """Full-scale row (read) voltage, V."""
    g_mean_fraction: float = 0.25
    """Mean device conductance as a fraction of g_max, over both devices of each
    differential pair (*assumption*: one device of a pair is near zero, the other at
    |w|/w_max with |w| spread over [0, w_max] → 0.25). A DEQ core whose workload carries
    its measured conductance (``DEQWorkload.core_g_fraction``) is priced with that
    instead."""
    input_activity: float = 0.5
    """Mean (V_row / V_read)² over rows and time (*assumption*; 1 = every row at full
    scale all the time). A DEQ core whose workload carries its measured activity
    (``DEQWorkload.core_activity``) is priced with that instead."""
    devices_per_weight: int = 2
    """Devices per weight (2 = differential pair G+/G−)."""
    c_bitline_per_cell_f: float = K.BITLINE_C_PER_CELL_F
    """Bitline capacitance per attached cell, F; each column is charged once per read
    (C_BL · V_read²)."""
    read_ns: float = K.CROSSBAR_READ_NS_EXAMPLE
    """Duration of one feed-forward MVM read (the integration window before the ADC), ns."""

    # --- amplifiers / neurons (design estimate, not a measurement) -----------------------
    amp_gbw_tau_product: float = K.AMP_GBW_TAU_PRODUCT
    """GBW·τ: the amplifier unity-gain bandwidth needed to support time constant τ is
    GBW = amp_gbw_tau_product / τ (FACTS: 1 GHz for τ = 10 ns)."""
    amp_load_c_f: float = K.AMP_LOAD_C_F
    """Amplifier load capacitance C_L, F."""
    amp_vdd_v: float = K.AMP_VDD_V
    """Amplifier supply voltage V_DD, V."""
    amp_gm_over_id_per_v: float = K.AMP_GM_OVER_ID_PER_V
    """Transconductance efficiency g_m/I_D, 1/V."""
    amp_power_w: float = 0.0
    """If > 0, the bias power of one amplifier in W, replacing the first-order estimate."""
    amps_per_neuron: int = 2
    """Amplifiers per analog DEQ neuron (*assumption*: one transimpedance stage sensing the
    G+/G− column pair and one saturating stage driving the row)."""
    amps_per_column: int = 1
    """Sense amplifiers / integrators per output of a feed-forward analog layer."""
    periphery_power_per_column_w: float = 0.0
    """Power of the analog periphery not covered by the components above, per output column
    while it is biased, W (charged to the ``other`` bucket). 0 = component model only;
    :func:`hadeq.energy.calibration.calibrated_energy_config` sets the HERMES fit
    (:data:`hadeq.constants.HERMES_COLUMN_PERIPHERY_POWER_W_CALIBRATED`)."""

    # --- areas ---------------------------------------------------------------------------
    sram_bitcell_14nm_um2: float = K.SRAM_BITCELL_14NM_UM2
    """SRAM bit cell at 14 nm, µm² (scaled to node_nm by the Stillmaker area factor)."""
    sram_array_efficiency: float = K.SRAM_ARRAY_EFFICIENCY
    """Bit-cell area / SRAM macro area (*assumption*)."""
    cell_area_per_device_um2: float = K.HERMES_CELL_AREA_PER_DEVICE_UM2
    """Crossbar area per device at 14 nm, µm² (derived from the HERMES core area)."""
    adc_area_ref_um2: float = K.SAR_ADC_AREA_UM2
    """Area of one ADC of the design point at ``adc_ref_bits``, µm² (scales as
    2^(bits − ref))."""
    adc_area_node_nm: float = K.SAR_ADC_NODE_NM
    """Node of the ADC design point, nm (its area is scaled to HERMES's 14 nm)."""
    amp_area_14nm_um2: float = K.AMP_AREA_14NM_UM2
    """Area of one amplifier at 14 nm, µm² (*assumption*)."""

    # --- everything else -----------------------------------------------------------------
    accumulation_precision: str = "int32"
    """Precision of the digital adds that combine partial sums across row tiles."""
    other_fraction: float = 0.0
    """Drivers, buffers, control and interconnect as a fraction of all other buckets
    (NeuroSim's "other"; *assumption*: 0 counts only the modelled components)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith(("_j", "_f")) or f.name in ("amp_power_w",):
                check_range(f.name, value, 0.0, 1e-3)
            elif f.name == "periphery_power_per_column_w":
                check_range(f.name, value, 0.0, 1.0)
            elif f.name == "weight_reuse":
                check_choice(f.name, value, WEIGHT_REUSE)
            elif f.name == "adc_architecture":
                check_choice(f.name, value, ADC_ARCHITECTURES)
            elif f.name in ("digital_precision", "solver_precision", "accumulation_precision"):
                check_choice(f.name, value, PRECISIONS)
            elif f.name in ("adc_bits", "dac_bits", "adc_ref_bits"):
                check_int(f.name, value, 1, 16)
            elif f.name in ("digital_macs_per_cycle", "columns_per_adc", "devices_per_weight"):
                check_int(f.name, value, 1, 1 << 30)
            elif f.name == "onchip_buffer_bytes":
                check_int(f.name, value, 0, 1 << 50)
            elif f.name in ("amps_per_neuron", "amps_per_column", "nonlinearity_ops"):
                check_int(f.name, value, 0, 64)
            elif f.name in ("g_mean_fraction", "input_activity"):
                check_range(f.name, value, 0.0, 1.0)
            elif f.name == "sram_array_efficiency":
                check_range(f.name, value, 0.0, 1.0, low_open=True)
            elif f.name == "other_fraction":
                check_range(f.name, value, 0.0, 100.0)
            elif f.name in ("node_nm", "adc_area_node_nm"):
                check_range(f.name, value, technology.MIN_NODE_NM, technology.MAX_NODE_NM)
            elif f.name == "digital_vdd_v":
                if value != 0:
                    check_range(f.name, value, 0.3, 2.0)
            elif f.name in ("digital_clock_ghz", "read_ns", "v_read_v", "amp_vdd_v",
                            "amp_gm_over_id_per_v", "amp_gbw_tau_product", "adc_cycle_ns",
                            "sram_bitcell_14nm_um2", "cell_area_per_device_um2",
                            "adc_area_ref_um2", "amp_area_14nm_um2"):
                check_range(f.name, value, 0.0, 1e6, low_open=True)
            elif f.name == "dac_latency_ns":
                check_range(f.name, value, 0.0, 1e6)
            else:  # pragma: no cover - a new field must be given a check above
                raise AssertionError(f"EnergyConfig.{f.name} has no validation rule")
        self.energy_scale()  # the supply must lie in the range fitted at node_nm

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> EnergyConfig:
        """Build from a mapping of field names (unknown keys are a :class:`ConfigError`)."""
        return from_mapping(cls, data)

    def with_overrides(self, pairs: list[str] | tuple[str, ...]) -> EnergyConfig:
        """A copy with ``key=value`` strings applied (CLI ``--set``); values are parsed to
        the field's type (int, float or str)."""
        config, _ = with_overrides(pairs, self, None)
        return config

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of all fields."""
        return to_dict(self)

    # --- technology ------------------------------------------------------------------------
    def vdd_v(self) -> float:
        """Digital supply at ``node_nm``: ``digital_vdd_v`` or the node's nominal supply, V."""
        return self.digital_vdd_v or technology.nominal_vdd_v(self.node_nm)

    def energy_scale(self) -> float:
        """Factor from Horowitz's 45 nm, 0.9 V to (node_nm, vdd): P_node(V)/P_45(0.9)
        (Stillmaker & Baas 2017); 1 at 45 nm with the default supply."""
        return technology.energy_scale(K.HOROWITZ_NODE_NM, K.HOROWITZ_VDD_V, self.node_nm,
                                       self.vdd_v())

    def area_scale(self, from_node_nm: float) -> float:
        """Factor moving a digital area from ``from_node_nm`` to ``node_nm``."""
        return technology.area_scale(from_node_nm, self.node_nm)

    # --- derived component figures -----------------------------------------------------------
    def e_add_j(self, precision: str) -> float:
        """Energy of one add at ``precision`` at ``node_nm``, J."""
        name = horowitz_name(precision)
        return float(getattr(self, f"e_add_{name}_j")) * self.energy_scale()

    def e_mult_j(self, precision: str) -> float:
        """Energy of one multiply at ``precision`` at ``node_nm``, J."""
        name = horowitz_name(precision)
        return float(getattr(self, f"e_mult_{name}_j")) * self.energy_scale()

    def e_mac_j(self, precision: str) -> float:
        """Energy of one multiply-accumulate at ``precision``, J: multiply at ``precision``
        plus an add at the accumulator precision (int8 accumulates in int32)."""
        return self.e_mult_j(precision) + self.e_add_j(accumulator_precision(precision))

    def e_memory_bits_j(self, bits: float, memory: str = "sram", *, write: bool = False) -> float:
        """Energy of moving ``bits`` bits to or from ``memory``, J (charged per 64-bit word,
        fractional words pro rata; SRAM at ``node_nm``, DRAM unscaled)."""
        check_choice("memory", memory, MEMORIES)
        if memory == "dram":
            per_word = self.e_dram_64b_j
        else:
            per_word = self.e_sram_write_64b_j if write else self.e_sram_read_64b_j
            per_word *= self.energy_scale()
        return bits / 64.0 * per_word

    def e_adc_j(self) -> float:
        """Energy of one ADC conversion, J: E_ref · 2^(adc_bits − adc_ref_bits) (the design
        point's Walden figure of merit held constant)."""
        return self.adc_energy_ref_j * 2.0 ** (self.adc_bits - self.adc_ref_bits)

    def adc_conversion_ns(self) -> float:
        """Time of one ADC conversion, ns: adc_bits · cycle (SAR) or 2^adc_bits · cycle
        (integrating)."""
        if self.adc_architecture == "sar":
            return self.adc_bits * self.adc_cycle_ns
        return 2.0**self.adc_bits * self.adc_cycle_ns

    def e_dac_j(self) -> float:
        """Energy of one DAC conversion, J: FoM_dac · 2^bits."""
        return self.dac_fom_j * 2.0**self.dac_bits

    def g_mean_s(self, g_max_us: float) -> float:
        """Mean device conductance ḡ = g_mean_fraction · g_max, S."""
        return self.g_mean_fraction * g_max_us * 1e-6

    def crossbar_power_w(self, n_devices: int, g_max_us: float, *,
                         g_mean_fraction: float | None = None,
                         activity: float | None = None) -> float:
        """Static read power of ``n_devices`` devices: N · ḡ · V_read² · a, W, with
        ḡ = g_mean_fraction · g_max and a the row activity — measured values when given,
        else this config's ``g_mean_fraction`` and ``input_activity``."""
        g_fraction = self.g_mean_fraction if g_mean_fraction is None else g_mean_fraction
        a = self.input_activity if activity is None else activity
        return n_devices * g_fraction * g_max_us * 1e-6 * self.v_read_v**2 * a

    def bitline_energy_j(self, n_columns: int, cells_per_column: int) -> float:
        """Charging ``n_columns`` bitlines once: N_col · (cells · C_cell) · V_read², J."""
        return n_columns * cells_per_column * self.c_bitline_per_cell_f * self.v_read_v**2

    def amp_gbw_hz(self, tau_ns: float) -> float:
        """Unity-gain bandwidth needed for time constant τ: GBW = (GBW·τ) / τ, Hz."""
        check_range("tau_ns", tau_ns, 0.0, None, low_open=True)
        return self.amp_gbw_tau_product / (tau_ns * 1e-9)

    def amp_power_per_amp_w(self, tau_ns: float) -> float:
        """Bias power of one amplifier settling with time constant ``tau_ns``, W.

        First-order *design estimate, not a measurement* (FACTS.md): to reach unity-gain
        bandwidth GBW into load C_L an amplifier needs g_m = 2π·GBW·C_L; at transconductance
        efficiency g_m/I_D its bias current is I_D = g_m/(g_m/I_D), so
        P = V_DD · 2π·GBW·C_L / (g_m/I_D), with GBW = amp_gbw_tau_product / τ. With the
        defaults (τ = 10 ns → 1 GHz, 100 fF, 0.8 V, 15 V⁻¹) P ≈ 33.5 µW. ``amp_power_w > 0``
        replaces the estimate.
        """
        if self.amp_power_w > 0:
            return self.amp_power_w
        g_m = 2.0 * math.pi * self.amp_gbw_hz(tau_ns) * self.amp_load_c_f
        return self.amp_vdd_v * g_m / self.amp_gm_over_id_per_v

    def digital_latency_ns(self, macs: float) -> float:
        """Time for the digital accelerator to do ``macs`` MACs: ⌈MACs / per-cycle⌉ / f, ns."""
        if macs <= 0:
            return 0.0
        return math.ceil(macs / self.digital_macs_per_cycle) / self.digital_clock_ghz


def with_overrides(
    pairs: list[str] | tuple[str, ...],
    config: EnergyConfig,
    hardware: HardwareConfig | None,
) -> tuple[EnergyConfig, HardwareConfig | None]:
    """Apply CLI ``--set KEY=VALUE`` strings: KEY an :class:`EnergyConfig` field or, when
    ``hardware`` is given, one of :data:`HARDWARE_FIELDS`; values are parsed to the
    field's type. Returns the updated copies (``hardware`` stays None when None)."""
    energy_keys = {f.name for f in fields(config)}
    hardware_keys = set(HARDWARE_FIELDS) if hardware is not None else set()
    changes: dict[str, Any] = {}
    hw_changes: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError("--set", pair, "KEY=VALUE with KEY an EnergyConfig field")
        key, text = (s.strip() for s in pair.split("=", 1))
        if key in energy_keys:
            changes[key] = _parse_like(key, text, getattr(config, key))
        elif key in hardware_keys:
            hw_changes[key] = _parse_like(key, text, getattr(hardware, key))
        else:
            raise unknown_key_error("EnergyConfig", key, energy_keys | hardware_keys)
    config = replace(config, **changes)
    if hardware is not None and hw_changes:
        hardware = hardware.replace(**hw_changes)
    return config, hardware


def _parse_like(key: str, text: str, current: object) -> object:
    if isinstance(current, bool):  # pragma: no cover - no bool fields today
        raise ConfigError(key, text, "true or false")
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError:
            raise ConfigError(key, text, "an integer is required") from None
    if isinstance(current, float):
        try:
            return float(text)
        except ValueError:
            raise ConfigError(key, text, "a number is required") from None
    return text
