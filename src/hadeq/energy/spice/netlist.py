"""Export an analog DEQ core to an ngspice netlist.

Circuit, per neuron i (all values in volts scaled by the read voltage V_r, so a node at
V_r·a represents the state a):

* **row driver / nonlinearity**: a behavioural source ``Bz_i`` sets
  V(zb_i) = V_r·tanh(V(a_i)/V_r), i.e. z_i = tanh(a_i), and drives row i through a 0 V
  source ``Vdrv_i`` (an ammeter for the supply-power integral);
* **crossbar**: each weight W_ij is a differential pair of resistors G+ = g_w·max(W_ij, 0)
  (column 2i) and G− = g_w·max(−W_ij, 0) (column 2i+1) from row j, g_w = g_max / max|W|;
  optional wire resistance r_wire per segment between cells (IR drop);
* **sensing**: each column ends at virtual ground (0 V source ``Vsp_i`` / ``Vsn_i``); a
  transimpedance amplifier, modelled as current-controlled voltage sources ``Hp_i``/``Hn_i``
  with gain 1/g_w, outputs V_r·(W z)_i;
* **injection**: DAC outputs V_r·u_i and V_r·b_i as DC sources ``Vu_i``, ``Vb_i`` in series;
* **neuron RC**: R = τ/C from the summing node s_i to a_i and C from a_i to ground, so
  R·C·dV(a_i)/dt = −V(a_i) + V(s_i), i.e. τ·da/dt = −a + W·tanh(a) + u + b.

The circuit parameters come from a :class:`~hadeq.analog.config.HardwareConfig`: τ is
``tau_ns``, g_max ``g_max_us`` and r_wire ``wire_resistance_ohm`` (``g_min_us`` must be 0:
the idle device of each pair is left out).

The analysis (``tran`` with ``uic`` from a = 0) and the supply-power integral (``meas ...
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
from hadeq.energy.reference import weight_scale_s
from hadeq.errors import ConfigError
from hadeq.validation import check_int, check_range

_IDENT_BAD = re.compile(r"[^a-z0-9_]")
_TITLE_BAD = re.compile(r"[^A-Za-z0-9 _\-.,]")


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
class CoreNetlist:
    """A netlist and what its vectors mean."""

    text: str
    """The netlist (``.control`` block included)."""
    raw_name: str
    """File name (relative to the run directory) the control block writes."""
    z_vectors: tuple[str, ...]
    """Raw-file vector names of the row voltages V_r·z_i, in neuron order."""
    power_vector: str
    """Raw-file vector of the instantaneous power the row drivers deliver to the crossbar."""
    energy_measure: str
    """Name of the ``meas`` result: ∫ crossbar power dt over the whole run, J."""
    v_read_v: float
    tau_ns: float
    t_stop_ns: float
    max_step_ns: float
    labels: tuple[str, ...] = field(default_factory=tuple)
    """Sanitized neuron labels used in node names."""


def build_core_netlist(
    W: torch.Tensor,
    u: torch.Tensor,
    b: torch.Tensor,
    *,
    hardware: HardwareConfig | None = None,
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

    ``hardware`` (default ``HardwareConfig()``) gives τ, g_max and the wire resistance.
    ``W`` (n×n, W[i, j] from neuron j to neuron i), ``u`` and ``b`` (n) are dimensionless;
    ``dac_bits`` rounds u and b each to a symmetric grid over [−max|·|, max|·|] as a DAC
    would (``None`` = ideal). ``max_step_ns`` (the largest time step) defaults to τ/20.
    ``labels`` (user-given neuron names) and ``title`` are sanitized before use.
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
    check_range("v_read_v", v_read_v, 0.0, 10.0, low_open=True)
    check_range("c_neuron_f", c_neuron_f, 0.0, 1.0, low_open=True)
    check_range("t_stop_ns", t_stop_ns, 0.0, 1e12, low_open=True)
    max_step = tau_ns / 20.0 if max_step_ns is None else max_step_ns
    check_range("max_step_ns", max_step, 0.0, t_stop_ns, low_open=True)
    if dac_bits is not None:
        check_int("dac_bits", dac_bits, 1, 16)
        u, b = _dac_quantize(u, dac_bits), _dac_quantize(b, dac_bits)
    raw_name = sanitize_identifier(raw_name.replace(".", "_")) + ".raw"

    labels_s = _labels(labels, n)
    g_w = weight_scale_s(W, g_max_us)
    r_f = 1.0 / g_w
    r_tau = tau_ns * 1e-9 / c_neuron_f
    vr = v_read_v
    lines: list[str] = [sanitize_title(title)]
    lines.append(f"* analog DEQ core: n={n}, tau={_fmt(tau_ns)} ns, g_max={_fmt(g_max_us)} uS, "
                 f"v_read={_fmt(vr)} V, r_wire={_fmt(r_wire_ohm)} ohm")
    n_cols = 2 * n
    wire = r_wire_ohm > 0

    def row_node(j: int, c: int) -> str:
        return f"r{j}_{c}" if wire else f"r{j}"

    def col_node(c: int, j: int) -> str:
        return f"k{c}_{j}" if wire else f"k{c}"

    for j, lab in enumerate(labels_s):
        a = f"a_{lab}"
        lines.append(f"bz{j} zb{j} 0 v={_fmt(vr)}*tanh(v({a})/{_fmt(vr)})")
        lines.append(f"vdrv{j} zb{j} r{j} dc 0")
        if wire:
            lines.append(f"rrw{j}_0 r{j} r{j}_0 {_fmt(r_wire_ohm)}")
            for c in range(1, n_cols):
                lines.append(f"rrw{j}_{c} r{j}_{c - 1} r{j}_{c} {_fmt(r_wire_ohm)}")
    # Crossbar cells: row j (input z_j) to column 2i (+) / 2i+1 (−) of output i.
    for i in range(n):
        for j in range(n):
            w = float(W[i, j])
            if w == 0.0:
                continue
            c = 2 * i if w > 0 else 2 * i + 1
            r_cell = _fmt(1.0 / (g_w * abs(w)))
            lines.append(f"rg{i}_{j} {row_node(j, c)} {col_node(c, j)} {r_cell}")
    for c in range(n_cols):
        sense = f"k{c}_end" if wire else f"k{c}"
        if wire:
            for j in range(n - 1):
                lines.append(f"rcw{c}_{j} k{c}_{j} k{c}_{j + 1} {_fmt(r_wire_ohm)}")
            lines.append(f"rcw{c}_{n - 1} k{c}_{n - 1} {sense} {_fmt(r_wire_ohm)}")
        i, sign = divmod(c, 2)
        lines.append(f"{'vsp' if sign == 0 else 'vsn'}{i} {sense} 0 dc 0")
    for i, lab in enumerate(labels_s):
        a = f"a_{lab}"
        lines.append(f"hp{i} s1_{i} 0 vsp{i} {_fmt(r_f)}")
        lines.append(f"hn{i} s2_{i} s1_{i} vsn{i} {_fmt(-r_f)}")
        lines.append(f"vu{i} s3_{i} s2_{i} dc {_fmt(vr * float(u[i]))}")
        lines.append(f"vb{i} s_{i} s3_{i} dc {_fmt(vr * float(b[i]))}")
        lines.append(f"rt{i} s_{i} {a} {_fmt(r_tau)}")
        lines.append(f"ct{i} {a} 0 {_fmt(c_neuron_f)} ic=0")
    lines.append(".options reltol=1e-5 abstol=1e-15 vntol=1e-9 chgtol=1e-18 noacct")
    z_vec = tuple(f"v(zb{j})" for j in range(n))
    lines += [
        ".control",
        "set filetype=binary",
        f"tran {_fmt(max_step)}n {_fmt(t_stop_ns)}n 0 {_fmt(max_step)}n uic",
        "let p_xbar = 0*time",
    ]
    lines += [f"let p_xbar = p_xbar + v(zb{j})*i(vdrv{j})" for j in range(n)]
    lines.append(f"meas tran e_xbar integ p_xbar from=0 to={_fmt(t_stop_ns)}n")
    lines.append(f"write {raw_name} " + " ".join(z_vec) + " p_xbar")
    lines += ["quit", ".endc", ".end", ""]
    return CoreNetlist(
        text="\n".join(lines),
        raw_name=raw_name,
        z_vectors=z_vec,
        power_vector="p_xbar",
        energy_measure="e_xbar",
        v_read_v=vr,
        tau_ns=tau_ns,
        t_stop_ns=t_stop_ns,
        max_step_ns=max_step,
        labels=tuple(labels_s),
    )


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
