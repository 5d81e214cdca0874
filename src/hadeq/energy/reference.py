"""Software references for the analog DEQ core that the SPICE run is checked against.

The core obeys τ·da/dt = −a + W·tanh(a) + u + b, z = tanh(a); its equilibrium is the DEQ
fixed point z* = tanh(W z* + u + b). Here, in plain torch (float64):

* :func:`software_fixed_point` — Picard iteration z ← tanh(W z + u + b) to 1e-10;
* :func:`euler_trajectory` — forward-Euler simulation of the ODE at a small step;
* :func:`settling_time_ns` — the settling-time definition shared by every simulation;
* :func:`ir_drop_weights_first_order` — a first-order model of wire (IR) drop.
"""

from __future__ import annotations

import math

import torch

from hadeq.errors import ConvergenceError


def _as64(x: torch.Tensor | list | float) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


def software_fixed_point(
    W: torch.Tensor,
    u: torch.Tensor,
    b: torch.Tensor,
    *,
    tol: float = 1e-10,
    max_iter: int = 100_000,
) -> torch.Tensor:
    """z* = tanh(W z* + u + b) by plain iteration from z = 0, to ‖Δz‖∞ ≤ ``tol``.

    Converges for ‖W‖₂ < 1 (tanh is 1-Lipschitz). Raises :class:`ConvergenceError` after
    ``max_iter`` iterations.
    """
    W, c = _as64(W), _as64(u) + _as64(b)
    z = torch.zeros_like(c)
    for _ in range(max_iter):
        z_new = torch.tanh(W @ z + c)
        if float((z_new - z).abs().max()) <= tol:
            return z_new
        z = z_new
    raise ConvergenceError(f"fixed-point iteration did not reach {tol:g} in {max_iter} steps")


def euler_trajectory(
    W: torch.Tensor,
    u: torch.Tensor,
    b: torch.Tensor,
    *,
    tau_ns: float,
    t_stop_ns: float,
    dt_ns: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward Euler of τ·da/dt = −a + W tanh(a) + u + b from a(0) = 0.

    Returns (t_ns of shape (K,), z = tanh(a) of shape (K, n)). ``dt_ns`` defaults to τ/200,
    small enough that Euler's rate error (≈ λ·dt/2 relative) stays below 1 % for the
    contractive cores of interest.
    """
    dt = tau_ns / 200.0 if dt_ns is None else dt_ns
    steps = math.ceil(t_stop_ns / dt)
    W, c = _as64(W), _as64(u) + _as64(b)
    a = torch.zeros_like(c)
    zs = torch.empty(steps + 1, c.numel(), dtype=torch.float64)
    zs[0] = torch.tanh(a)
    k = dt / tau_ns
    for s in range(steps):
        z = torch.tanh(a)
        a = a + k * (-a + W @ z + c)
        zs[s + 1] = torch.tanh(a)
    t = torch.arange(steps + 1, dtype=torch.float64) * dt
    return t, zs


def settling_time_ns(
    t_ns: torch.Tensor, z: torch.Tensor, tol: float, z_final: torch.Tensor | None = None
) -> float:
    """Earliest time after which max_i |z_i(t) − z_i,final| stays ≤ ``tol``, in ns.

    ``z_final`` defaults to the last sample. The crossing is interpolated linearly between
    the last sample above ``tol`` and the next one; ``inf`` if the last sample is above.
    """
    t_ns, z = _as64(t_ns), _as64(z)
    ref = z[-1] if z_final is None else _as64(z_final)
    err = (z - ref).abs().max(dim=1).values
    above = torch.nonzero(err > tol).flatten()
    if above.numel() == 0:
        return float(t_ns[0])
    k = int(above[-1])
    if k == err.numel() - 1:
        return math.inf
    e0, e1 = float(err[k]), float(err[k + 1])
    t0, t1 = float(t_ns[k]), float(t_ns[k + 1])
    frac = (e0 - tol) / (e0 - e1) if e0 != e1 else 1.0
    return t0 + frac * (t1 - t0)


def weight_scale_s(W: torch.Tensor, g_max_us: float) -> float:
    """Conductance per unit weight g_w = g_max / max|W| in S (max|W| maps to g_max)."""
    w_max = float(_as64(W).abs().max())
    return g_max_us * 1e-6 / (w_max if w_max > 0 else 1.0)


def differential_conductances_s(W: torch.Tensor, g_max_us: float) -> torch.Tensor:
    """Crossbar conductances (rows j = inputs, columns 2i / 2i+1 = G+ / G− of output i), S.

    G+_ij = g_w·max(W_ij, 0), G−_ij = g_w·max(−W_ij, 0); shape (n_in, 2·n_out).
    """
    W = _as64(W)
    g_w = weight_scale_s(W, g_max_us)
    G = torch.zeros(W.shape[1], 2 * W.shape[0], dtype=torch.float64)
    G[:, 0::2] = g_w * W.clamp(min=0).T
    G[:, 1::2] = g_w * (-W).clamp(min=0).T
    return G


def ir_drop_weights_first_order(
    W: torch.Tensor, g_max_us: float, r_wire_ohm: float
) -> torch.Tensor:
    """Effective weights of the crossbar with wire resistance, to first order in r·G.

    Geometry (as :mod:`hadeq.energy.spice.netlist` builds it): row j is driven at its left
    end and crosses columns c = 0..2n−1 with one wire segment r before each cell; column c
    runs past rows j = 0..n−1 with one segment r after each cell down to its sense amplifier
    at virtual ground. With zero-order cell currents I⁰_jc = G_jc·V_j, the row drop at cell
    (j, c) is r·Σ_c' I⁰_jc'·(min(c, c') + 1) and the column rise is
    r·Σ_j' I⁰_j'c·(n − max(j, j')). Each cell then carries G_jc·(V_j − drop − rise), which is
    linear in V, giving column currents I = M·V with M = Gᵀ − r·[Gᵀ ⊙ (G A)ᵀ] −
    r·[(Gᵀ B) ⊙ Gᵀ], A_cc' = min(c, c') + 1, B_jj' = n − max(j, j'). The effective weight is
    W_eff = (M_2i − M_2i+1) / g_w.

    Error: the neglected terms are second order. With δ = r·g_max·n·2n/2 (the drop at the
    far corner, relative, when every cell is at g_max) the relative error of W_eff is
    ≲ δ², documented for use as the test tolerance (:func:`ir_drop_first_order_error`).
    """
    W = _as64(W)
    n_in = W.shape[1]
    G = differential_conductances_s(W, g_max_us)  # (n_in, 2 n_out)
    n_cols = G.shape[1]
    c_idx = torch.arange(n_cols, dtype=torch.float64)
    A = torch.minimum(c_idx[:, None], c_idx[None, :]) + 1.0
    j_idx = torch.arange(n_in, dtype=torch.float64)
    B = n_in - torch.maximum(j_idx[:, None], j_idx[None, :])
    Gt = G.T
    M = Gt - r_wire_ohm * (Gt * (G @ A).T) - r_wire_ohm * ((Gt @ B) * Gt)
    g_w = weight_scale_s(W, g_max_us)
    return (M[0::2] - M[1::2]) / g_w


def ir_drop_parameter(n: int, g_max_us: float, r_wire_ohm: float) -> float:
    """δ = r·g_max·n·(2n)/2: the relative size of the IR drop when every cell is at g_max."""
    return r_wire_ohm * g_max_us * 1e-6 * n * 2 * n / 2.0


def ir_drop_first_order_error(n: int, g_max_us: float, r_wire_ohm: float) -> float:
    """Documented bound on the relative error of the first-order IR-drop model: δ²
    (the first neglected order), where δ = :func:`ir_drop_parameter`."""
    return ir_drop_parameter(n, g_max_us, r_wire_ohm) ** 2


def random_contractive_core(
    n: int, *, norm: float = 0.7, seed: int = 0, input_scale: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A random dense W (n×n) rescaled to ‖W‖₂ = ``norm``, and u, b ~ N(0, input_scale²)
    and N(0, (0.1·input_scale)²), float64 (a stand-in for a trained core)."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(n, n, generator=g, dtype=torch.float64)
    W = W * (norm / float(torch.linalg.matrix_norm(W, ord=2)))
    u = input_scale * torch.randn(n, generator=g, dtype=torch.float64)
    b = 0.1 * input_scale * torch.randn(n, generator=g, dtype=torch.float64)
    return W, u, b
