"""Software references for the analog DEQ core that the SPICE run is checked against.

The core obeys τ·da/dt = −a + W·tanh(a) + u + b, z = tanh(a); its equilibrium is the DEQ
fixed point z* = tanh(W z* + u + b). Here, in plain torch (float64):

* :func:`software_fixed_point` — Picard iteration z ← tanh(W z + u + b) to 1e-10;
* :func:`loop_trajectory`, :func:`loop_settling_times_ns` — hadeq's own integration of the
  ODE (:mod:`hadeq.analog.loop`, the integrator the models are scored with);
* :func:`settling_time_ns` — hadeq's settling-time definition applied to any sampled
  trajectory (a SPICE run);
* :func:`ir_drop_weights_first_order` — a first-order model of wire (IR) drop.
"""

from __future__ import annotations

import torch

from hadeq.analog.loop import Current, LoopDynamics, crossing_times, integrate, settle
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


def loop_dynamics(tau_ns: float) -> LoopDynamics:
    """How hadeq integrates a loop of time constant ``tau_ns``: one step per time constant,
    the models' default (:class:`hadeq.analog.loop.LoopSampling` with ``dt_ns=None``)."""
    return LoopDynamics(tau_ns=tau_ns, dt_ns=tau_ns)


def _loop_current(W: torch.Tensor, b: torch.Tensor) -> Current:
    """The loop's feedback current ``I(z) = W z + b`` (row-vector batches: ``z @ Wᵀ + b``)."""
    W, b = _as64(W), _as64(b)
    return lambda z: z @ W.T + b


def loop_trajectory(
    W: torch.Tensor,
    u: torch.Tensor,
    b: torch.Tensor,
    *,
    dynamics: LoopDynamics,
    t_stop_ns: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """hadeq's loop τ·da/dt = −a + W·tanh(a) + u + b from a(0) = 0, integrated by
    :func:`hadeq.analog.loop.integrate` (the integrator hadeq scores the circuit with; its
    step is ``dynamics.dt_ns``), noise-free.

    Returns (t_ns of shape (K,), z = tanh(a) of shape (K, n)) at t = 0 and every step.
    """
    c = _as64(u).reshape(1, -1)
    times: list[float] = [0.0]
    zs: list[torch.Tensor] = [torch.zeros_like(c)]

    def record(t: float, a: torch.Tensor) -> bool:
        times.append(t)
        zs.append(torch.tanh(a))
        return False

    integrate(_loop_current(W, b), torch.tanh, c, dynamics, t_stop_ns, observe=record)
    return torch.tensor(times, dtype=torch.float64), torch.cat(zs)


def loop_settling_times_ns(
    W: torch.Tensor, u: torch.Tensor, b: torch.Tensor, *, dynamics: LoopDynamics, tol: float
) -> torch.Tensor:
    """hadeq's settling time of the loop from a = 0 for each injection ``u`` (shape (n,)
    or (B, n)), ns, shape (B,): :func:`hadeq.analog.loop.settle` — noise-free, to
    ``max_i |z_i(t) − z*_i| ≤ tol`` — ``inf`` for a sample that does not settle within
    its horizon (200 τ)."""
    c = _as64(u).reshape(-1, _as64(W).shape[1])
    return settle(_loop_current(W, b), torch.tanh, c, dynamics, tol).time_ns


def settling_time_ns(
    t_ns: torch.Tensor, z: torch.Tensor, tol: float, z_final: torch.Tensor | None = None
) -> float:
    """Earliest time after which max_i |z_i(t) − z_i,final| stays ≤ ``tol``, in ns, for a
    trajectory ``z`` of shape (K, n) sampled at ``t_ns`` (K,).

    ``z_final`` defaults to the last sample. The definition is hadeq's
    (:func:`hadeq.analog.loop.crossing_times`): linear interpolation between the last
    sample above ``tol`` and the next one; ``inf`` if the last sample is above.
    """
    t_ns, z = _as64(t_ns), _as64(z)
    ref = z[-1] if z_final is None else _as64(z_final)
    err = (z - ref).abs().amax(dim=1, keepdim=True)
    return float(crossing_times(t_ns, err, tol)[0])


def weight_scale_s(W: torch.Tensor, g_max_us: float) -> float:
    """Conductance per unit weight g_w = g_max / max|W| in S (max|W| maps to g_max)."""
    w_max = float(_as64(W).abs().max())
    return g_max_us * 1e-6 / (w_max if w_max > 0 else 1.0)


def differential_conductances_s(W: torch.Tensor, g_max_us: float) -> torch.Tensor:
    """Crossbar conductances of the netlist's layout, S, shape (2·n_in, n_out).

    Input j drives two rows: row 2j at +V_r·z_j and row 2j+1 at −V_r·z_j (the row
    driver's differential outputs); column i is summed by output i's transimpedance
    amplifier, which inverts. So W_ij > 0 is one device g_w·W_ij on the inverted row
    2j+1 and W_ij < 0 one device g_w·|W_ij| on row 2j (the pair's other device is idle,
    g = 0), g_w = :func:`weight_scale_s`; the column current is −g_w·V_r·(W z)_i.
    """
    W = _as64(W)
    g_w = weight_scale_s(W, g_max_us)
    G = torch.zeros(2 * W.shape[1], W.shape[0], dtype=torch.float64)
    G[0::2] = g_w * (-W).clamp(min=0).T
    G[1::2] = g_w * W.clamp(min=0).T
    return G


def ir_drop_weights_first_order(
    W: torch.Tensor, g_max_us: float, r_wire_ohm: float
) -> torch.Tensor:
    """Effective weights of the crossbar with wire resistance, to first order in r·G.

    Geometry (as :mod:`hadeq.energy.spice.netlist` builds it, the layout of
    :func:`differential_conductances_s`): row r (R = 2·n_in rows) is driven at its left
    end and crosses columns c = 0..C−1 (C = n_out) with one wire segment r_w before each
    cell; column c runs past rows r = 0..R−1 with one segment after each cell down to its
    transimpedance amplifier at virtual ground. With zero-order cell currents
    I⁰_rc = G_rc·V_r, the row drop at cell (r, c) is r_w·Σ_c' I⁰_rc'·(min(c, c') + 1)
    and the column rise is r_w·Σ_r' I⁰_r'c·(R − max(r, r')). Each cell then carries
    G_rc·(V_r − drop − rise), which is linear in V, giving column currents I = M·V with
    M = Gᵀ − r_w·[Gᵀ ⊙ (G A)ᵀ] − r_w·[(Gᵀ B) ⊙ Gᵀ], A_cc' = min(c, c') + 1,
    B_rr' = R − max(r, r'). With V = (+V_r z_j, −V_r z_j) per input and the inverting
    amplifier, the effective weight is W_eff,ij = (M_i,2j+1 − M_i,2j) / g_w.

    Error: the neglected terms are second order. With δ = r_w·g_max·R·C/2 (the drop at
    the far corner, relative, when every cell is at g_max) the relative error of W_eff
    is ≲ δ², documented for use as the test tolerance (:func:`ir_drop_first_order_error`).
    """
    W = _as64(W)
    G = differential_conductances_s(W, g_max_us)  # (R, C)
    c_idx = torch.arange(G.shape[1], dtype=torch.float64)
    A = torch.minimum(c_idx[:, None], c_idx[None, :]) + 1.0
    r_idx = torch.arange(G.shape[0], dtype=torch.float64)
    B = G.shape[0] - torch.maximum(r_idx[:, None], r_idx[None, :])
    Gt = G.T
    M = Gt - r_wire_ohm * (Gt * (G @ A).T) - r_wire_ohm * ((Gt @ B) * Gt)
    g_w = weight_scale_s(W, g_max_us)
    return (M[:, 1::2] - M[:, 0::2]) / g_w


def ir_drop_parameter(n: int, g_max_us: float, r_wire_ohm: float) -> float:
    """δ = r·g_max·(2n)·n/2 (R = 2n rows, C = n columns): the relative size of the IR drop
    when every cell is at g_max."""
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
