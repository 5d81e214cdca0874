"""Export an analog DEQ core to an ngspice netlist, amplifiers included.

Circuit, per neuron (node voltages relative to mid-supply, the signal ground; z in units
of the read voltage V_r, the state a in units of k·V_r):

* **row driver** (amplifier 1 of 2): a saturating stage with differential outputs drives
  the neuron's two rows at ±V_r·tanh(a) (z = tanh(a)): a tanh input stage (the transfer
  of a differential pair) followed by the op-amp model below as a unity-gain follower;
  each output passes a 0 V ammeter (``vdp``/``vdm``) for the row power;
* **crossbar**: weight W_ij is one device of conductance g_w·|W_ij| (g_w = g_max/max|W|)
  from row j− (W_ij > 0) or row j+ (W_ij < 0) to column i, the pair's idle device left
  out (:func:`~hadeq.energy.reference.differential_conductances_s`); optional wire
  resistance r_wire per segment between cells (IR drop);
* **sensing** (amplifier 2 of 2): column i ends at the inverting input of a
  transimpedance amplifier (the op-amp model, feedback R_f = k/g_w, non-inverting input at
  signal ground), which also sums the DAC's current −g_w·V_r·(u_i + b_i) (a
  current-steering DAC into the virtual ground; b is folded into u digitally, one DAC per
  neuron); its output is k·V_r·(W z + u + b)_i;
* **neuron RC**: R from the amplifier output to a_i and C from a_i to ground, R·C + the
  amplifiers' lag = τ, so τ·da/dt = −a + W·tanh(a) + u + b.

**Op-amp model** (:class:`OpAmpModel`, one subcircuit per amplifier): a transconductor
g_m into R_p ∥ C_p — DC gain A0 = g_m·R_p, one pole f_p = GBW/A0, unity-gain bandwidth
GBW = ``amp_gbw_tau_product``/τ (the amplifier power model's) — buffered to the output;
the output is limited to the rails ±V_DD/2 (a rail-to-rail output stage around
mid-supply: a clamp on the pole node, so it does not wind up). Each amplifier draws the
quiescent current I_q = P_amp/V_DD of the power model
(:meth:`~hadeq.energy.config.EnergyConfig.amp_power_per_amp_w`) from one supply source
``vsup`` of V_DD.

**State scale** k = (V_DD/2)/(:data:`~hadeq.constants.LOOP_STATE_FULL_SCALE`·V_r): the
sensing amplifier reaches its rail at |a| = 6, where tanh(a) is within 1.2e-5 of ±1, so
the clamp changes z by far less than a settling tolerance; the row driver's tanh input
stage then has the scale k·V_r = 67 mV at V_DD = 0.8 V, that of a MOS differential pair
in weak inversion (2·n·U_T, n ≈ 1.3). The rows swing ±V_r, which must lie inside the rails.

**Neuron RC**. R·C is τ less the amplifiers' lag (:func:`amplifier_lag_ns`), so that the
loop's time constant, amplifiers included, is τ.

**Energy**. The power each source delivers, integrated by ngspice: the row drivers'
outputs (``p_xbar``: the crossbar's power), the supply's V_DD·I_q plus the sensing
amplifiers' outputs (``p_amp``: bias, feedback resistor and RC load) and the DACs
(``p_dac``). Their sum is the whole core's power. The output stages are lossless (an
output delivering V·I draws V·I): the headroom a class-AB stage burns, (V_DD/2 − |V|)·|I|,
is not in the circuit, as it is not in the energy model.

The circuit parameters come from a :class:`~hadeq.analog.config.HardwareConfig`: τ is
``tau_ns``, g_max ``g_max_us`` and r_wire ``wire_resistance_ohm`` (``g_min_us`` must be 0:
the idle device of each pair is left out).

The analysis (``tran`` with ``uic`` from a = 0) and the power integrals (``meas ...
INTEG``) run in a ``.control`` block that writes the raw file. No user text reaches the
netlist except through :func:`sanitize_identifier` / :func:`sanitize_title`, which keep only
``[a-z0-9_]`` (resp. letters, digits, space, ``_-.,``) on a single line — so no name can
start a control line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from hadeq import constants as C
from hadeq.analog.config import HardwareConfig
from hadeq.energy.config import EnergyConfig
from hadeq.energy.reference import weight_scale_s
from hadeq.errors import ConfigError
from hadeq.validation import check_int, check_range

_IDENT_BAD = re.compile(r"[^a-z0-9_]")
_TITLE_BAD = re.compile(r"[^A-Za-z0-9 _\-.,]")


# Internal realisation of the op-amp's pole (not physical quantities: only g_m·R_p and
# R_p·C_p matter). The clamp conductance holds the pole node within about 10 mV of the
# rail at 1 V of overdrive while staying far from the pole's own conductance 1/R_p.
_POLE_GM_S = 1e-3
_CLAMP_G_S = 0.1


def sanitize_identifier(name: str, *, max_len: int = 24) -> str:
    """A SPICE-safe identifier: lower case, only ``[a-z0-9_]``, starting with a letter."""
    text = _IDENT_BAD.sub("_", str(name).lower())[:max_len]
    if not text or not text[0].isalpha():
        text = "n" + text
    return text


def sanitize_title(title: str, *, max_len: int = 80) -> str:
    """A one-line title with only letters, digits, space and ``_-.,``."""
    text = _TITLE_BAD.sub("_", str(title))[:max_len].strip()
    return text or "hadeq analog DEQ core"


def _fmt(x: float) -> str:
    return f"{x:.12g}"


@dataclass(frozen=True)
class OpAmpModel:
    """The behavioural op-amp of the netlist: single pole, rail-limited output, quiescent
    supply current (see the module docstring)."""

    gbw_hz: float
    """Unity-gain bandwidth GBW = A0·f_pole, Hz (> 0)."""
    quiescent_a: float
    """Quiescent supply current I_q, A (≥ 0)."""
    supply_v: float = C.AMP_VDD_V
    """Supply voltage V_DD, V (> 0); the output swings within ±V_DD/2 around mid-supply."""
    dc_gain: float = C.AMP_DC_GAIN
    """Open-loop DC gain A0 (> 1)."""

    def __post_init__(self) -> None:
        check_range("gbw_hz", self.gbw_hz, 0.0, None, low_open=True)
        check_range("quiescent_a", self.quiescent_a, 0.0, 1.0)
        check_range("supply_v", self.supply_v, 0.0, 100.0, low_open=True)
        check_range("dc_gain", self.dc_gain, 1.0, None, low_open=True)

    @classmethod
    def from_energy_config(cls, config: EnergyConfig, tau_ns: float, *,
                           dc_gain: float = C.AMP_DC_GAIN) -> OpAmpModel:
        """The amplifier the energy model prices for time constant ``tau_ns``:
        GBW = ``amp_gbw_tau_product``/τ, I_q = P_amp(τ)/V_DD
        (:meth:`~hadeq.energy.config.EnergyConfig.amp_power_per_amp_w`), V_DD =
        ``amp_vdd_v``."""
        return cls(gbw_hz=config.amp_gbw_hz(tau_ns),
                   quiescent_a=config.amp_power_per_amp_w(tau_ns) / config.amp_vdd_v,
                   supply_v=config.amp_vdd_v, dc_gain=dc_gain)

    @property
    def pole_hz(self) -> float:
        """Open-loop pole f_p = GBW/A0, Hz."""
        return self.gbw_hz / self.dc_gain

    @property
    def rail_v(self) -> float:
        """Output limit ±V_DD/2 around mid-supply, V."""
        return self.supply_v / 2.0

    @property
    def power_w(self) -> float:
        """Quiescent power V_DD·I_q, W."""
        return self.supply_v * self.quiescent_a

    def subcircuits(self, v_read_v: float, state_v: float) -> list[str]:
        """The two amplifier subcircuits: ``hadeq_tia`` (ports: inverting input, output,
        supply; non-inverting input at signal ground) and ``hadeq_drv`` (ports: input a,
        outputs +/−, supply), the latter with the tanh input stage
        V_r·tanh(v/state_v)."""
        r_p = self.dc_gain / _POLE_GM_S
        c_p = 1.0 / (2.0 * math.pi * self.pole_hz * r_p)
        rail = _fmt(self.rail_v)

        def core(plus: str, minus: str) -> list[str]:
            return [
                f"iq vdd 0 dc {_fmt(self.quiescent_a)}",
                f"gp 0 x {plus} {minus} {_fmt(_POLE_GM_S)}",
                f"rp x 0 {_fmt(r_p)}",
                f"cp x 0 {_fmt(c_p)}",
                f"bl x 0 i={_fmt(_CLAMP_G_S)}*(uramp(v(x)-{rail})-uramp(-v(x)-{rail}))",
            ]

        return [
            ".subckt hadeq_tia inn out vdd",
            *core("0", "inn"),
            "eo out 0 x 0 1",
            ".ends hadeq_tia",
            ".subckt hadeq_drv in outp outn vdd",
            f"bt t 0 v={_fmt(v_read_v)}*tanh(v(in)/{_fmt(state_v)})",
            *core("t", "outp"),
            "eop outp 0 x 0 1",
            "eon outn 0 x 0 -1",
            ".ends hadeq_drv",
        ]


@dataclass(frozen=True)
class CoreNetlist:
    """A netlist and what its vectors mean."""

    text: str
    """The netlist (``.control`` block included)."""
    raw_name: str
    """File name (relative to the run directory) the control block writes."""
    z_vectors: tuple[str, ...]
    """Raw-file vector names of the row voltages V_r·z_i, in neuron order."""
    power_vectors: dict[str, str]
    """Raw-file vectors of the power delivered, by part: ``crossbar`` (the row drivers'
    outputs), ``amplifiers`` (supply plus the sensing amplifiers' outputs), ``dac``."""
    energy_measures: dict[str, str]
    """Names of the ``meas`` results, by part as ``power_vectors``: ∫ power dt over the
    whole run, J."""
    v_read_v: float
    tau_ns: float
    t_stop_ns: float
    max_step_ns: float
    amplifier: OpAmpModel
    """The op-amp model of every amplifier."""
    amplifiers: int
    """Amplifiers in the circuit (2 per neuron)."""
    state_scale: float
    """k: the state a is k·V_r·a volts on the neuron capacitor."""
    labels: tuple[str, ...] = field(default_factory=tuple)
    """Sanitized neuron labels used in node names."""


def build_core_netlist(
    W: torch.Tensor,
    u: torch.Tensor,
    b: torch.Tensor,
    *,
    hardware: HardwareConfig | None = None,
    amplifier: OpAmpModel | None = None,
    v_read_v: float = C.CROSSBAR_READ_V,
    c_neuron_f: float = 1e-12,
    t_stop_ns: float = 1000.0,
    max_step_ns: float | None = None,
    dac_bits: int | None = None,
    labels: Sequence[str] | None = None,
    title: str = "hadeq analog DEQ core",
    raw_name: str = "out.raw",
) -> CoreNetlist:
    """Netlist of the core τ·da/dt = −a + W·tanh(a) + u + b (see the module docstring).

    ``hardware`` (default ``HardwareConfig()``) gives τ, g_max and the wire resistance;
    ``amplifier`` (default: :meth:`OpAmpModel.from_energy_config` of ``EnergyConfig()`` at
    τ) every amplifier. ``W`` (n×n, W[i, j] from neuron j to neuron i), ``u`` and ``b``
    (n) are dimensionless; ``dac_bits`` rounds u + b to a symmetric grid over
    [−max|·|, max|·|] as a DAC would (``None`` = ideal). ``v_read_v`` must lie below the
    rails V_DD/2. ``max_step_ns`` (the largest time step) defaults to τ/10. ``labels``
    (user-given neuron names) and ``title`` are sanitized before use.
    """
    W = torch.as_tensor(W, dtype=torch.float64)
    u = torch.as_tensor(u, dtype=torch.float64).reshape(-1)
    b = torch.as_tensor(b, dtype=torch.float64).reshape(-1)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ConfigError("W", tuple(W.shape), "a square (n, n) matrix is required")
    n = W.shape[0]
    check_int("neurons", n, 1, 4096)
    if u.numel() != n or b.numel() != n:
        raise ConfigError("u/b", (u.numel(), b.numel()), f"vectors of length n={n} are required")
    for name, t in (("W", W), ("u", u), ("b", b)):
        if not bool(torch.isfinite(t).all()):
            raise ConfigError(name, "non-finite", "finite values are required")
    hardware = hardware or HardwareConfig()
    if hardware.g_min_us != 0.0:
        raise ConfigError("hardware.g_min_us", hardware.g_min_us,
                          "0 (the netlist leaves the idle device of each pair out)")
    tau_ns, g_max_us = hardware.tau_ns, hardware.g_max_us
    r_wire_ohm = hardware.wire_resistance_ohm
    amp = amplifier or OpAmpModel.from_energy_config(EnergyConfig(), tau_ns)
    check_range("v_read_v", v_read_v, 0.0, 10.0, low_open=True)
    if v_read_v >= amp.rail_v:
        raise ConfigError("v_read_v", v_read_v,
                          f"a read voltage below the amplifiers' rail V_DD/2 = "
                          f"{amp.rail_v:g} V (the rows swing ±v_read_v)")
    check_range("c_neuron_f", c_neuron_f, 0.0, 1.0, low_open=True)
    check_range("t_stop_ns", t_stop_ns, 0.0, 1e12, low_open=True)
    max_step = tau_ns / 10.0 if max_step_ns is None else max_step_ns
    check_range("max_step_ns", max_step, 0.0, t_stop_ns, low_open=True)
    c = u + b  # one DAC per neuron: b is folded into u digitally
    if dac_bits is not None:
        check_int("dac_bits", dac_bits, 1, 16)
        c = _dac_quantize(c, dac_bits)
    raw_name = sanitize_identifier(raw_name.replace(".", "_")) + ".raw"

    labels_s = _labels(labels, n)
    g_w = weight_scale_s(W, g_max_us)
    vr = v_read_v
    k = amp.rail_v / (C.LOOP_STATE_FULL_SCALE * vr)
    r_f = k / g_w
    r_tau = [(tau_ns - lag) * 1e-9 / c_neuron_f
             for lag in amplifier_lag_ns(W, amp, k, tau_ns)]
    lines: list[str] = [sanitize_title(title)]
    lines.append(f"* analog DEQ core: n={n}, tau={_fmt(tau_ns)} ns, g_max={_fmt(g_max_us)} uS, "
                 f"v_read={_fmt(vr)} V, r_wire={_fmt(r_wire_ohm)} ohm; op-amps: "
                 f"GBW={_fmt(amp.gbw_hz)} Hz, A0={_fmt(amp.dc_gain)}, "
                 f"Iq={_fmt(amp.quiescent_a)} A, VDD={_fmt(amp.supply_v)} V")
    lines += amp.subcircuits(vr, k * vr)
    lines.append(f"vsup vdd 0 dc {_fmt(amp.supply_v)}")
    n_rows = 2 * n
    wire = r_wire_ohm > 0

    def row(j: int, sign: int) -> str:  # sign 0: +V_r z_j, 1: −V_r z_j
        return f"{'p' if sign == 0 else 'm'}{j}"

    def row_node(j: int, sign: int, col: int) -> str:
        return f"{row(j, sign)}_{col}" if wire else row(j, sign)

    def col_node(i: int, r: int) -> str:
        return f"k{i}_{r}" if wire else f"sum{i}"

    for j, lab in enumerate(labels_s):
        lines.append(f"xd{j} a_{lab} dp{j} dn{j} vdd hadeq_drv")
        for sign, out in ((0, f"dp{j}"), (1, f"dn{j}")):
            name = row(j, sign)
            lines.append(f"vd{name} {out} {name} dc 0")
            if wire:
                lines.append(f"rw{name}_0 {name} {name}_0 {_fmt(r_wire_ohm)}")
                for col in range(1, n):
                    lines.append(f"rw{name}_{col} {name}_{col - 1} {name}_{col} "
                                 f"{_fmt(r_wire_ohm)}")
    # Crossbar cells: output i's column meets input j's inverted row for W_ij > 0 (the
    # sensing amplifier inverts) and its direct row for W_ij < 0.
    for i in range(n):
        for j in range(n):
            w = float(W[i, j])
            if w == 0.0:
                continue
            sign = 1 if w > 0 else 0
            lines.append(f"rg{i}_{j} {row_node(j, sign, i)} {col_node(i, 2 * j + sign)} "
                         f"{_fmt(1.0 / (g_w * abs(w)))}")
    for i, lab in enumerate(labels_s):
        if wire:
            for r in range(n_rows - 1):
                lines.append(f"rcw{i}_{r} k{i}_{r} k{i}_{r + 1} {_fmt(r_wire_ohm)}")
            lines.append(f"rcw{i}_{n_rows - 1} k{i}_{n_rows - 1} sum{i} {_fmt(r_wire_ohm)}")
        lines.append(f"xt{i} sum{i} o{i} vdd hadeq_tia")
        lines.append(f"vto{i} o{i} s{i} dc 0")
        lines.append(f"rf{i} s{i} sum{i} {_fmt(r_f)}")
        # The DAC's current into the virtual ground: I = −g_w·V_r·(u + b)_i.
        lines.append(f"idac{i} 0 sum{i} dc {_fmt(-g_w * vr * float(c[i]))}")
        lines.append(f"rt{i} s{i} a_{lab} {_fmt(r_tau[i])}")
        lines.append(f"ct{i} a_{lab} 0 {_fmt(c_neuron_f)} ic=0")
    lines.append(".options reltol=1e-5 abstol=1e-15 vntol=1e-9 chgtol=1e-18 noacct")
    z_vec = tuple(f"v(dp{j})" for j in range(n))
    lines += [
        ".control",
        "set filetype=binary",
        f"tran {_fmt(max_step)}n {_fmt(t_stop_ns)}n 0 {_fmt(max_step)}n uic",
        "let p_xbar = 0*time",
        "let p_amp = -v(vdd)*i(vsup)",
        "let p_dac = 0*time",
    ]
    for j in range(n):
        lines.append(f"let p_xbar = p_xbar + v(dp{j})*i(vdp{j}) + v(dn{j})*i(vdm{j})")
    for i in range(n):
        lines.append(f"let p_amp = p_amp + v(o{i})*i(vto{i})")
        lines.append(f"let p_dac = p_dac + v(sum{i})*({_fmt(-g_w * vr * float(c[i]))})")
    measures = {"crossbar": "e_xbar", "amplifiers": "e_amp", "dac": "e_dac"}
    powers = {"crossbar": "p_xbar", "amplifiers": "p_amp", "dac": "p_dac"}
    for part, meas in measures.items():
        lines.append(f"meas tran {meas} integ {powers[part]} from=0 to={_fmt(t_stop_ns)}n")
    lines.append(f"write {raw_name} " + " ".join(z_vec) + " " + " ".join(powers.values()))
    lines += ["quit", ".endc", ".end", ""]
    return CoreNetlist(
        text="\n".join(lines),
        raw_name=raw_name,
        z_vectors=z_vec,
        power_vectors=powers,
        energy_measures=measures,
        v_read_v=vr,
        tau_ns=tau_ns,
        t_stop_ns=t_stop_ns,
        max_step_ns=max_step,
        amplifier=amp,
        amplifiers=2 * n,
        state_scale=k,
        labels=tuple(labels_s),
    )


def _inverse_feedback_factors(W: torch.Tensor, state_scale: float) -> list[float]:
    """Per neuron, 1/β_i of its sensing amplifier: β_i = G_f/(G_f + G_col,i) with
    G_f = 1/R_f = g_w/k and G_col,i = g_w·Σ_j|W_ij| the column's conductance to the rows,
    so 1/β_i = 1 + k·Σ_j|W_ij| (g_w cancels)."""
    W = torch.as_tensor(W, dtype=torch.float64)
    return [1.0 + state_scale * w for w in W.abs().sum(dim=1).tolist()]


def amplifier_lag_ns(W: torch.Tensor, amplifier: OpAmpModel, state_scale: float,
                     tau_ns: float) -> list[float]:
    """Per neuron, the lag its two amplifiers add to the loop, ns: the sensing amplifier's
    closed-loop time constant 1/(2π·β_i·GBW) plus the follower's 1/(2π·GBW), β_i its
    feedback factor (1/β_i = 1 + k·Σ_j|W_ij|, k = ``state_scale``).

    The neuron's R·C is τ minus this lag, so that the loop's time constant, amplifiers
    included, is τ: the lags and R·C in series have the Elmore delay τ, and the slow mode
    of the loop decays as (1 − λ)/(R·C + lag) to first order; a designer sizes R·C for
    it. Raises :class:`ConfigError` when the lag exceeds τ/2 (GBW·τ far below the design
    rule ``amp_gbw_tau_product`` = 10)."""
    unit_ns = 1e9 / (2.0 * math.pi * amplifier.gbw_hz)
    lags = [unit_ns * (inv_beta + 1.0) for inv_beta in _inverse_feedback_factors(W, state_scale)]
    worst = max(lags)
    if worst > tau_ns / 2:
        raise ConfigError("amplifier.gbw_hz", amplifier.gbw_hz,
                          f"a bandwidth whose lag ({worst:.3g} ns) stays below tau/2 = "
                          f"{tau_ns / 2:g} ns (GBW·tau >= 10 is the design rule)")
    return lags


def amplifier_dc_gains(W: torch.Tensor, amplifier: OpAmpModel,
                       state_scale: float) -> tuple[torch.Tensor, float]:
    """The amplifiers' closed-loop DC gains relative to ideal: per neuron the sensing
    amplifier's 1/(1 + 1/(β_i·A0)) and the row driver's (a follower) 1/(1 + 1/A0). The
    circuit's equilibrium is z = g_drv·tanh(g_sense ⊙ (W z + u + b))."""
    inv_beta = torch.tensor(_inverse_feedback_factors(W, state_scale), dtype=torch.float64)
    return 1.0 / (1.0 + inv_beta / amplifier.dc_gain), 1.0 / (1.0 + 1.0 / amplifier.dc_gain)


def _dac_quantize(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Round to a symmetric (2^bits − 1)-level grid over [−max|x|, max|x|]."""
    full = float(x.abs().max())
    if full == 0.0:
        return x
    levels = 2 ** (bits - 1) - 1
    return torch.round(x / full * levels) / levels * full


def _labels(labels: Sequence[str] | None, n: int) -> list[str]:
    if labels is None:
        return [str(i) for i in range(n)]
    if len(labels) != n:
        raise ConfigError("labels", len(labels), f"one label per neuron (n={n}) is required")
    out: list[str] = []
    seen: set[str] = set()
    for i, lab in enumerate(labels):
        s = sanitize_identifier(lab)
        if s in seen:
            s = f"{s}_{i}"
        seen.add(s)
        out.append(s)
    return out


def default_stop_time_ns(tau_ns: float, w_norm: float, tol: float) -> float:
    """A run long enough to settle well below ``tol``: τ·ln(1e3/tol)/(1 − ‖W‖₂) (the decay
    rate of the contractive loop is at least (1 − ‖W‖₂)/τ), at least 20 τ; 500 τ if ‖W‖₂ ≥ 0.98."""
    if w_norm >= 0.98:
        return 500.0 * tau_ns
    return max(20.0 * tau_ns, tau_ns * math.log(1e3 / tol) / (1.0 - w_norm))
