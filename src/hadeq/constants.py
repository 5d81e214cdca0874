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
