"""Numbers taken from the literature, each with its source.

Code elsewhere in hadeq refers to these names instead of repeating bare literals, so that a
value and its provenance are changed in one place. Values marked *unverified* are
remembered figures: use them only as configurable defaults.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------
# Analog device and converter constants (hadeq.analog)
# ---------------------------------------------------------------------------------------

# --- PCM statistical model: Nandakumar et al., ICECS 2019 (as used by IBM aihwkit) -----
# Normalised conductance ĝ = g / PCM_G_MAX_US.

PCM_G_MAX_US: float = 25.0
"""Maximum PCM conductance g_max in µS (Nandakumar et al. ICECS 2019)."""

PCM_PROG_NOISE_COEFFS_US: tuple[float, float, float] = (-1.1731, 1.9650, 0.2635)
"""Programming-noise polynomial (c2, c1, c0) in µS:
σ_prog = max(c2·ĝ² + c1·ĝ + c0, 0) (Nandakumar et al. ICECS 2019)."""

PCM_DRIFT_T0_S: float = 20.0
"""Reference time t0 in s of the drift law g(t) = g_prog·(t/t0)^(−ν)
(Nandakumar et al. ICECS 2019)."""

PCM_DRIFT_MU_COEFFS: tuple[float, float] = (-0.0155, 0.0244)
"""Mean drift exponent μ_ν = a·ln ĝ + b, coefficients (a, b) (Nandakumar et al. 2019)."""

PCM_DRIFT_MU_CLIP: tuple[float, float] = (0.049, 0.1)
"""Clip range of μ_ν (Nandakumar et al. ICECS 2019)."""

PCM_DRIFT_SIGMA_COEFFS: tuple[float, float] = (-0.0125, -0.0059)
"""Drift-exponent spread σ_ν = a·ln ĝ + b, coefficients (a, b) (Nandakumar et al. 2019)."""

PCM_DRIFT_SIGMA_CLIP: tuple[float, float] = (0.008, 0.045)
"""Clip range of σ_ν (Nandakumar et al. ICECS 2019)."""

PCM_READ_NOISE_T_READ_S: float = 250e-9
"""Read duration t_read in s of the 1/f read-noise law
σ = g·Q_s·sqrt(ln((t + t_read)/(2·t_read))) (Nandakumar et al. ICECS 2019)."""

PCM_READ_NOISE_QS_COEFFS: tuple[float, float] = (0.0088, 0.65)
"""1/f read-noise amplitude Q_s = min(a / ĝ^p, Q_max), coefficients (a, p)
(Nandakumar et al. ICECS 2019)."""

PCM_READ_NOISE_QS_MAX: float = 0.2
"""Upper bound Q_max of Q_s (Nandakumar et al. ICECS 2019)."""

# --- IBM HERMES chip: Le Gallo et al., Nature Electronics 2023 --------------------------

HERMES_TILE_ROWS: int = 256
"""Rows of one HERMES PCM core (256×256 crossbar; Le Gallo et al. Nat. Electron. 2023)."""

HERMES_TILE_COLS: int = 256
"""Columns of one HERMES PCM core (Le Gallo et al. Nat. Electron. 2023)."""

HERMES_IO_BITS: int = 8
"""Input/output resolution of HERMES (8-bit I/O; Le Gallo et al. Nat. Electron. 2023)."""

# --- IBM aihwkit conventions (defaults and the HWA-training preset) ---------------------

AIHWKIT_DEFAULT_DAC_BITS: int = 7
"""aihwkit default DAC resolution (inp_res = 1/126, i.e. 7 bits)."""

AIHWKIT_DEFAULT_ADC_BITS: int = 9
"""aihwkit default ADC resolution (9 bits)."""

AIHWKIT_DEFAULT_OUT_NOISE: float = 0.06
"""aihwkit default output noise, fraction of the normalised full-scale output."""

AIHWKIT_HWA_OUT_NOISE: float = 0.04
"""Output noise of aihwkit's hardware-aware-training preset (Rasch et al., Nat. Commun.
2023), fraction of the normalised full scale."""

AIHWKIT_HWA_WEIGHT_NOISE: float = 0.0175
"""Weight noise of aihwkit's hardware-aware-training preset (Rasch et al., Nat. Commun.
2023), fraction of max |W|."""

AIHWKIT_DEFAULT_OUT_BOUND: float = 10.0
"""aihwkit default ADC output bound, in units of the normalised full scale (*unverified*:
remembered default ``out_bound = 10``)."""

# --- RRAM (generic multi-level cell) ----------------------------------------------------

RRAM_G_MAX_US: float = 100.0
"""Typical maximum conductance of a multi-level RRAM cell in µS (*unverified*, a common
order of magnitude; configurable default only)."""

RRAM_PROG_NOISE: float = 0.03
"""Typical RRAM programming-noise std as a fraction of g_max (*unverified*; a common
order of magnitude for write-verify programming; configurable default only)."""

WIRE_RESISTANCE_OHM_PER_CELL: float = 1.0
"""Metal wire resistance between adjacent crossbar cells in Ω (*unverified* order of
magnitude for advanced nodes; configurable default only)."""

# --- Analog feedback loop ----------------------------------------------------------------

SECONDS_PER_YEAR: float = 365.25 * 24 * 3600
"""One Julian year in s (the drift horizon of the harsh corners)."""

LOOP_TAU_NS: float = 10.0
"""Default time constant τ = R·C of the analog feedback loop in ns: the example of
FACTS.md (an amplifier of GBW = 1 GHz leaves margin for τ = 10 ns); a design choice,
configurable."""

# ---------------------------------------------------------------------------------------
# Digital / converter energy constants (hadeq.energy) — added by the energy model.
# ---------------------------------------------------------------------------------------

# --- energy ---
# Digital energy per operation: M. Horowitz, "Computing's energy problem (and what we can
# do about it)", ISSCC 2014, 45 nm. All values in joules.

HOROWITZ_INT8_ADD_J: float = 0.03e-12
"""8-bit integer add, J (Horowitz ISSCC 2014, 45 nm)."""

HOROWITZ_INT8_MULT_J: float = 0.2e-12
"""8-bit integer multiply, J (Horowitz ISSCC 2014, 45 nm)."""

HOROWITZ_INT32_ADD_J: float = 0.1e-12
"""32-bit integer add, J (Horowitz ISSCC 2014, 45 nm)."""

HOROWITZ_INT32_MULT_J: float = 3.1e-12
"""32-bit integer multiply, J (Horowitz ISSCC 2014, 45 nm)."""

HOROWITZ_FP16_ADD_J: float = 0.4e-12
"""16-bit floating-point add, J (Horowitz ISSCC 2014, 45 nm)."""

HOROWITZ_FP16_MULT_J: float = 1.1e-12
"""16-bit floating-point multiply, J (Horowitz ISSCC 2014, 45 nm)."""

HOROWITZ_FP32_ADD_J: float = 0.9e-12
"""32-bit floating-point add, J (Horowitz ISSCC 2014, 45 nm)."""

HOROWITZ_FP32_MULT_J: float = 3.7e-12
"""32-bit floating-point multiply, J (Horowitz ISSCC 2014, 45 nm)."""

HOROWITZ_SRAM_READ_64B_J: float = 10e-12
"""64-bit read from an 8 KB SRAM cache, J (Horowitz ISSCC 2014, ~10 pJ)."""

HOROWITZ_DRAM_ACCESS_64B_J: float = 1.3e-9
"""64-bit DRAM access, J (Horowitz ISSCC 2014 gives 1.3–2.6 nJ; the low end is used)."""

# Converters.

WALDEN_FOM_SAR_RECORD_J: float = 2.2e-15
"""Record SAR-ADC Walden figure of merit, J per conversion step (Harpe ISSCC 2013 and
survey records: 2.2–4.4 fJ/step). E_conv = FoM·2^ENOB."""

ADC_FOM_CIM_DEFAULT_J: float = 20e-15
"""Default Walden FoM of an in-memory-compute ADC, J per conversion step. *Assumption*
inside the 10–50 fJ/step range FACTS.md gives for realistic CIM ADCs (records are
2.2–4.4 fJ/step); sweep it."""

DAC_FOM_DEFAULT_J: float = 2e-15
"""Default DAC energy per conversion step (E = FoM·2^bits), J. *Assumption, unverified*:
no sourced figure; a tenth of ADC_FOM_CIM_DEFAULT_J because a DAC makes no comparator
decisions. Sweep it."""

NEUROSIM_READ_PULSE_NS: float = 10.0
"""Default read-pulse duration in ns (DNN+NeuroSim V1.4 manual)."""

NEUROSIM_FLASH_ADC_LATENCY_NS: float = 1.0
"""Flash-ADC conversion latency in ns (DNN+NeuroSim V1.4 manual, ~1 ns)."""

# Crossbar read (FACTS.md example: 0.2 V, 25 µS, 128 ns → 128 fJ per cell at G_max).

CROSSBAR_READ_V: float = 0.2
"""Crossbar read voltage in V (FACTS.md example of the V²·G·t read energy)."""

CROSSBAR_READ_NS_EXAMPLE: float = 128.0
"""Read duration in ns of the FACTS.md V²·G·t example (0.2 V, 25 µS → 128 fJ)."""

BITLINE_C_PER_CELL_F: float = 0.1e-15
"""Bitline capacitance per attached cell in F (*assumption, unverified* order of
magnitude; only enters the small C_BL·V² term)."""

# Amplifier power: first-order design estimate (not a measurement), FACTS.md:
# g_m = 2π·GBW·C_L and P ≈ V_DD·g_m/(g_m/I_D). Example: GBW = 1 GHz for τ = 10 ns,
# C_L = 100 fF, V_DD = 0.8 V, g_m/I_D = 15 V⁻¹ → ≈ 34 µW.

AMP_GM_OVER_ID_PER_V: float = 15.0
"""Transconductance efficiency g_m/I_D in 1/V (moderate inversion; design estimate)."""

AMP_LOAD_C_F: float = 100e-15
"""Amplifier load capacitance C_L in F (FACTS.md design example)."""

AMP_VDD_V: float = 0.8
"""Amplifier supply voltage V_DD in V (FACTS.md design example)."""

AMP_GBW_TAU_PRODUCT: float = 10.0
"""GBW·τ (dimensionless): unity-gain bandwidth needed to support a neuron time constant τ
with margin; FACTS.md example GBW = 1 GHz for τ = 10 ns."""

# Amplifier noise: first-order design estimate from channel thermal noise (see
# hadeq.analog.loop.amplifier_noise_density_v_per_rthz).

BOLTZMANN_J_PER_K: float = 1.380649e-23
"""Boltzmann constant k, J/K (exact, SI 2019)."""

AMP_TEMPERATURE_K: float = 300.0
"""Operating temperature of the amplifiers, K (room temperature; a design choice)."""

MOS_THERMAL_NOISE_GAMMA: float = 2.0 / 3.0
"""Channel thermal-noise coefficient γ of a MOSFET in saturation, long-channel value 2/3
(Razavi, *Design of Analog CMOS Integrated Circuits*, 2nd ed., ch. 7; short channels
reach 1–2, so this is the optimistic end)."""

# The loop's amplifiers as the SPICE netlist builds them (design choices).

AMP_DC_GAIN: float = 1e3
"""Open-loop DC gain A0 of the netlist's op-amps (60 dB), dimensionless: a design choice,
typical of a two-stage CMOS op-amp at a deep-submicron node (one stage gives 20–40 dB,
two stages 40–80 dB; Razavi, *Design of Analog CMOS Integrated Circuits*, 2nd ed.,
ch. 10). It leaves a closed-loop gain error of about (1 + R_f·G_column)/A0 ≲ 0.3 %."""

LOOP_STATE_FULL_SCALE: float = 6.0
"""|a| at which the sensing amplifier's output reaches its rail (dimensionless), a design
choice: tanh(6) is within 1.2e-5 of 1, so clamping a there changes z by far less than a
settling tolerance of 1e-3, and the tanh stage's input scale (V_DD/2)/6 = 67 mV at
V_DD = 0.8 V is a weak-inversion differential pair's 2·n·U_T (see
:mod:`hadeq.energy.spice.netlist`). One state unit is (V_DD/2)/6 volts at the neuron node."""

# HERMES throughput and efficiency (Le Gallo et al., Nature Electronics 2023).

HERMES_TOPS_PER_W_ONE_PHASE: float = 9.76
"""HERMES energy efficiency, 8-bit I/O, one-phase mode, TOPS/W (1 MAC = 2 ops)."""

HERMES_TOPS_ONE_PHASE: float = 63.1
"""HERMES peak throughput, 8-bit I/O, one-phase mode, TOPS (64 cores)."""

HERMES_CORES: int = 64
"""Number of 256×256 PCM cores on HERMES."""

HERMES_MVM_NS: float = 133.0
"""Latency of one 8-bit MVM per core in one-phase mode, ns (derived from throughput:
64 cores · 2·256² ops / 63.1 TOPS ≈ 133 ns)."""

# --- one technology node (fair digital baseline) -----------------------------------------
# Node of every figure: Horowitz energies are 45 nm at 0.9 V; HERMES figures are 14 nm; the
# SAR ADC design point is 32 nm SOI; Aladdin's register area is 40 nm.

HOROWITZ_NODE_NM: float = 45.0
"""Node of the Horowitz ISSCC 2014 energy table, nm."""

HOROWITZ_VDD_V: float = 0.9
"""Supply of the Horowitz ISSCC 2014 table ("45 nm, 0.9 V"), V."""

HERMES_NODE_NM: float = 14.0
"""Node of IBM HERMES (14 nm CMOS with back-end PCM; Le Gallo et al. Nat. Electron. 2023)."""

DEFAULT_NODE_NM: float = HERMES_NODE_NM
"""The node both sides are compared at by default: HERMES's 14 nm (a design choice: the
analog figures are measured there, so the digital side is scaled to it)."""

STILLMAKER_ENERGY_COEFFS: dict[float, tuple[float, float, float]] = {
    180.0: (0.0, 24.64, -17.98),
    130.0: (7.171, -6.709, 2.904),
    90.0: (4.762, -4.781, 2.092),
    65.0: (3.755, -4.398, 1.975),
    45.0: (1.018, -0.3107, 0.1539),
    32.0: (0.8367, -0.4341, 0.1701),
    20.0: (0.373, -0.1582, 0.04104),
    16.0: (0.2958, -0.1241, 0.03024),
    14.0: (0.2363, -0.09675, 0.02239),
    10.0: (0.2068, -0.09311, 0.02375),
    7.0: (0.1776, -0.09097, 0.02447),
}
"""Energy scaling polynomials (a, b, c) of A. Stillmaker and B. Baas, "Scaling equations for
the accurate prediction of CMOS device performance from 180 nm to 7 nm", Integration 58,
2017: the energy of a circuit at node N and supply V is proportional to
a_N·V² + b_N·V + c_N, so E(N₂, V₂) = E(N₁, V₁)·P_N₂(V₂)/P_N₁(V₁). High-performance (HP)
rows for 45 nm and below (180–65 nm have one row each). Coefficients as tabulated by the
UCLA NanoCAD nodeScale tool (github.com/wromaszkan/nodeScale), which reproduces the
paper's table; dimensionless."""

STILLMAKER_AREA_REL_45NM: dict[float, float] = {
    180.0: 19.0, 130.0: 6.4, 90.0: 2.8, 65.0: 1.5, 45.0: 1.0, 32.0: 0.46,
    20.0: 0.21, 16.0: 0.19, 14.0: 0.17, 10.0: 0.1, 7.0: 0.059,
}
"""Area of a circuit at node N relative to the same circuit at 45 nm (Stillmaker & Baas,
Integration 2017, area scaling table, 45 nm row; as tabulated by nodeScale)."""

NODE_NOMINAL_VDD_V: dict[float, float] = {
    180.0: 1.8, 130.0: 1.3, 90.0: 1.2, 65.0: 1.1, 45.0: HOROWITZ_VDD_V, 32.0: 0.9,
    20.0: 0.9, 16.0: 0.85, 14.0: 0.8, 10.0: 0.75, 7.0: 0.7,
}
"""Supply at which digital logic is evaluated at each node, V. *Unverified*: remembered
nominal supplies of the PTM models Stillmaker & Baas fit (PTM-MG 0.9/0.85/0.8/0.75/0.7 V at
20/16/14/10/7 nm); 45 nm is Horowitz's 0.9 V so that node 45 reproduces his table. A
configurable default (``EnergyConfig.digital_vdd_v``)."""

# --- memory hierarchy ------------------------------------------------------------------

EDGE_NPU_SRAM_BYTES: int = 1 << 20
"""On-chip buffer of one core of an edge NPU, bytes: 1 MB tightly-coupled memory (TCM) per
core of 4096 int8 MACs in Samsung's 4 nm mobile NPU (J.-S. Park et al., "A multi-mode 8K-MAC
HW-utilization-aware neural processing unit with a unified multi-precision datapath in 4nm
flagship mobile SoC", ISSCC 2022 / IEEE JSSC 58(1) 2023). Taken as 2^20 bytes."""

EDGE_NPU_MACS_PER_CORE: int = 4096
"""int8 MAC units per core of the same NPU (Park et al. ISSCC 2022)."""

# --- silicon references for the calibration -------------------------------------------

HAILO8_TOPS_PER_W: float = 26.0 / 2.5
"""Hailo-8 int8 efficiency, TOPS/W: 26 TOPS at ~2.5 W (vendor figures, FACTS.md)."""

AXELERA_METIS_TOPS_PER_W: float = 15.0
"""Axelera Metis int8 efficiency, TOPS/W (ISSCC 2024, 12 nm digital in-memory compute)."""

AXELERA_METIS_NODE_NM: float = 12.0
"""Node of Axelera Metis, nm (ISSCC 2024)."""

HERMES_CORE_TOPS_PER_MM2: float = 1.59
"""Area efficiency of one HERMES core, TOPS/mm² at 1 GHz (R. Khaddam-Aljameh et al.,
"HERMES-Core — a 1.59-TOPS/mm² PCM on 14-nm CMOS in-memory compute core using 300-ps/LSB
linearized CCO-based ADCs", IEEE JSSC 2022)."""

HERMES_CORE_AREA_MM2: float = 2.0 * 256 * 256 / (HERMES_MVM_NS * 1e-9) / 1e12 / 1.59
"""Area of one HERMES core (256×256 PCM, 256 ADCs, PWM input drivers, local digital unit),
mm², derived: its one-phase throughput 2·256²/133 ns ≈ 0.99 TOPS divided by
HERMES_CORE_TOPS_PER_MM2 → ≈ 0.62 mm²."""

HERMES_ADC_NS_PER_LSB: float = 0.3
"""Conversion time per LSB of HERMES's current-controlled-oscillator (CCO) ADCs, ns
(Khaddam-Aljameh et al. JSSC 2022: 300 ps/LSB); an 8-bit conversion counts 2^8 LSBs."""

HERMES_CHIP_POWER_W: float = HERMES_TOPS_ONE_PHASE / HERMES_TOPS_PER_W_ONE_PHASE
"""HERMES chip power during one-phase MVMs, W (derived: 63.1 TOPS / 9.76 TOPS/W ≈ 6.5 W;
the four-phase figures, 16.1 TOPS at 2.48 TOPS/W, give the same 6.5 W: the chip's energy
per MVM is power drawn for the MVM's duration, not per-conversion energy)."""

HERMES_COLUMN_PERIPHERY_POWER_W_CALIBRATED: float = 244e-6
"""Power of the periphery of one output column not covered by the component model (HERMES's
CCO ADC running for the read window, column regulation, clocking, control, local digital
unit and network share), drawn while the column is biased, W. **A fit, not a
measurement**: the value that makes the component model of one HERMES one-phase MVM
(:func:`hadeq.energy.calibration.fit_column_periphery_power_w`) reproduce the measured
9.76 TOPS/W; the modelled components account for ~39 % of HERMES's measured energy and this
term for the rest. Applied to every analog output column for as long as it is biased
(conservative for an analog DEQ core, whose ADCs need not run while it settles)."""

# --- ADC design point (energy, latency and area from one design) ----------------------

SAR_ADC_BITS: int = 8
"""Resolution of the reference SAR ADC (L. Kull et al., "A 3.1 mW 8b 1.2 GS/s single-channel
asynchronous SAR ADC with alternate comparators for enhanced speed in 32 nm digital SOI
CMOS", ISSCC 2013), bits."""

SAR_ADC_RATE_HZ: float = 1.2e9
"""Sample rate of the reference SAR ADC (Kull et al. ISSCC 2013), samples/s: one conversion
of 8 bit-cycles in 1/1.2 GHz ≈ 0.83 ns (≈ 104 ps per bit-cycle)."""

SAR_ADC_POWER_W: float = 3.1e-3
"""Power of the reference SAR ADC at SAR_ADC_RATE_HZ (Kull et al. ISSCC 2013), W: 2.6 pJ per
conversion."""

SAR_ADC_AREA_UM2: float = 1200.0
"""Area of one 8-bit 1.2 GS/s SAR ADC at 32 nm, µm² (ISAAC, A. Shafiee et al., ISCA 2016:
8 ADCs of Kull et al.'s design in 9600 µm²; as tabulated by the Accelergy hwcomponents
library)."""

SAR_ADC_NODE_NM: float = 32.0
"""Node of the reference SAR ADC design, nm (32 nm SOI)."""

MURMANN_8B_1GS_ENERGY_J: float = 1.5e-12
"""Alternative ADC design point: 8 b at 1–1.25 GS/s, ≈ 1.5 pJ per conversion (20 fJ/step,
ISSCC 2023; B. Murmann, ADC Performance Survey 1997–2025, FACTS.md). Its area and
architecture are not in FACTS.md, so the default ADC is the SAR design above."""

# --- areas -----------------------------------------------------------------------------

HOROWITZ_AREA_UM2: dict[str, float] = {
    "int8_add": 36.0, "int8_mult": 282.0, "int32_add": 137.0, "int32_mult": 3495.0,
    "fp16_add": 1360.0, "fp16_mult": 1640.0, "fp32_add": 4184.0, "fp32_mult": 7700.0,
}
"""Area of arithmetic units at 45 nm, µm² (Horowitz ISSCC 2014, the area column of the same
table as the energies). *Unverified*: remembered figures. Cross-check: the Aladdin 40 nm
library (Shao et al. ISCA 2014) gives a 32×32 multiplier of 6350 µm² (≈ 400 µm² for 8×8)
and a 32-bit adder of 278 µm², so these are on the small side, which favours the digital
side in an equal-area comparison."""

ALADDIN_REGISTER_AREA_UM2_PER_BIT: float = 5.98
"""Area of a one-bit register at 40 nm, µm² (Aladdin, Y. S. Shao et al., ISCA 2014; as
tabulated by the Accelergy hwcomponents library)."""

ALADDIN_COMPARATOR_AREA_UM2_PER_BIT: float = 71.0 / 32
"""Area of a digital comparator per bit at 40 nm, µm² (Aladdin, ISCA 2014: 71 µm² for 32
bits). Used for a PWM input DAC: a per-row comparator against a shared counter (HERMES
drives its rows with pulse-width-modulated inputs)."""

ALADDIN_NODE_NM: float = 40.0
"""Node of the Aladdin component library, nm."""

SRAM_BITCELL_14NM_UM2: float = 0.064
"""High-density 6T SRAM bit cell of the Samsung/GlobalFoundries 14 nm FinFET process
(14LPP), µm² (WikiChip, "14 nm lithography process"; Intel's 14 nm cell is 0.0588 µm²).
Other nodes scale by STILLMAKER_AREA_REL_45NM."""

SRAM_ARRAY_EFFICIENCY: float = 0.7
"""Bit-cell area / SRAM macro area (decoders, sense amplifiers, I/O). *Assumption*: a
typical 60–75 % array efficiency of compiled SRAM macros; configurable."""

AMP_AREA_14NM_UM2: float = 50.0
"""Area of one analog amplifier (transimpedance / driver stage with ~100 fF compensation) at
14 nm, µm². *Assumption, unverified* order of magnitude; configurable."""

HERMES_CELL_AREA_PER_DEVICE_UM2: float = HERMES_CORE_AREA_MM2 * 1e6 / (256 * 256 * 4)
"""Crossbar area per PCM device, µm², derived: the whole HERMES core area over its
256·256·4 devices (8T4R unit cells) ≈ 2.4 µm². It includes the core's converters and
digital unit, so adding converters on top over-counts analog area (conservative for the
analog side in an equal-area comparison)."""


# --- tasks ---
# Literature numbers used by hadeq.tasks (owner: tasks helper). Each carries its source.

# Pendulum-v1 (gymnasium, classic_control/pendulum.py; FACTS.md "Tasks").
PENDULUM_GRAVITY_M_PER_S2: float = 10.0
"""Gravity g of gymnasium Pendulum-v1 (its default ``g=10.0``)."""
PENDULUM_MASS_KG: float = 1.0
"""Pendulum mass m of gymnasium Pendulum-v1."""
PENDULUM_LENGTH_M: float = 1.0
"""Pendulum length l of gymnasium Pendulum-v1."""
PENDULUM_DT_S: float = 0.05
"""Integration step dt of gymnasium Pendulum-v1."""
PENDULUM_MAX_TORQUE_NM: float = 2.0
"""Action bound |u| <= 2 of gymnasium Pendulum-v1."""
PENDULUM_MAX_SPEED_RAD_PER_S: float = 8.0
"""Angular-velocity clip |theta_dot| <= 8 of gymnasium Pendulum-v1."""
PENDULUM_EPISODE_STEPS: int = 200
"""Episode length (TimeLimit) of gymnasium Pendulum-v1."""
PENDULUM_RESET_SPEED_RAD_PER_S: float = 1.0
"""Reset draws theta_dot ~ U[-1, 1] (gymnasium DEFAULT_Y)."""
PENDULUM_REFERENCE_RETURNS: dict[str, float] = {"TD3": -151.9, "SAC": -157.0, "PPO": -172.2}
"""Mean episode returns of trained RL agents on Pendulum-v1 (rl-baselines3-zoo benchmark
table, as quoted in FACTS.md)."""

# Darcy flow (FNO: Li et al., "Fourier Neural Operator for Parametric PDEs", 2020).
DARCY_GRF_SHIFT: float = 9.0
"""tau^2 in the permeability prior N(0, (-Laplacian + 9 I)^-2) (FNO Darcy recipe)."""
DARCY_GRF_POWER: float = 2.0
"""Exponent alpha in N(0, (-Laplacian + tau^2 I)^-alpha) (FNO Darcy recipe)."""
DARCY_COEFF_POSITIVE: float = 12.0
"""Permeability where the random field is >= 0 (FNO paper; its released script uses 12)."""
DARCY_COEFF_NEGATIVE: float = 3.0
"""Permeability where the random field is < 0 (FNO paper text; the released script uses 4)."""
DARCY_FORCING: float = 1.0
"""Constant forcing f in -div(a grad u) = f (FNO Darcy recipe)."""
DARCY_RESOLUTION_FNO: int = 85
"""The FNO Darcy benchmark resolution after subsampling 421 -> 85 (r = 5)."""

# Burgers (FNO: Li et al. 2020).
BURGERS_VISCOSITY: float = 0.1
"""Viscosity nu of the FNO Burgers benchmark (FACTS.md)."""
BURGERS_GRF_SCALE: float = 625.0
"""Prefactor of the initial-condition prior N(0, 625 (-Laplacian + 25 I)^-2) (FNO)."""
BURGERS_GRF_SHIFT: float = 25.0
"""tau^2 in the initial-condition prior (FNO Burgers recipe)."""
BURGERS_GRF_POWER: float = 2.0
"""Exponent alpha in the initial-condition prior (FNO Burgers recipe)."""
BURGERS_T_FINAL: float = 1.0
"""Final time T of the map u0 -> u(T) (FNO Burgers recipe)."""
# --- end tasks ---

HERMES_DEVICES_PER_WEIGHT: int = 4
"""PCM devices per weight in HERMES's 8T4R unit cell (two per sign). *Unverified*:
remembered from Le Gallo et al. 2023, not in FACTS.md."""

# --- proposal targets (PROPOSAL.md, "Expected Outcomes") ---
# The benchmark prints its measured ratios beside these; they are claims to test, not
# measurements.
PROPOSAL_ENERGY_RATIO = (10.0, 100.0)
"""Expected energy reduction of the hybrid vs a digital DEQ (×)."""
PROPOSAL_TIME_RATIO = (5.0, 20.0)
"""Expected convergence-time reduction of the hybrid vs a digital DEQ (×)."""
PROPOSAL_RETENTION = 0.90
"""Expected fraction of baseline accuracy kept at 8-bit precision and SNR ≥ 20 dB."""
PROPOSAL_SNR_DB = 20.0
"""The SNR at which retention is to be judged (dB)."""
PROPOSAL_WEIGHT_BITS = 8
"""The analog precision at which retention is to be judged (bits)."""

# --- equilibrium propagation (Nest & Ernoult, NeurIPS 2024, ff-EBM; FACTS.md) ---
FFEBM_BETA: float = 0.2
"""Nudging strength β of ff-EBM training (Nest & Ernoult, NeurIPS 2024)."""
FFEBM_NUDGE_STEPS: int = 5
"""Nudged-phase steps T2 of ff-EBM training (Nest & Ernoult, NeurIPS 2024)."""

# --- DEQ solver defaults (torchdeq; FACTS.md "DEQ anchors") ---
TORCHDEQ_F_TOL: float = 1e-3
"""torchdeq's default forward tolerance f_tol: the residual to which the benchmark runs
both the digital solver and the analog loop when it measures time to equilibrium."""
TORCHDEQ_ANDERSON_HISTORY: int = 6
"""torchdeq's default Anderson history m."""
