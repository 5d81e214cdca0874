"""The analog feedback loop as the circuit runs it: continuous time, noisy, sampled once.

Circuit (the ngspice netlist of :mod:`hadeq.energy.spice` has the same equations). Every
neuron is a node ``a`` on a capacitor ``C`` with a resistor ``R`` to the summing node;
the crossbar feeds back the current of ``z = σ(a)`` and the DACs inject ``u``:

    τ · da/dt = −a + I(σ(a)) + u + ξ(t),        τ = R·C,

where ``I(z)`` is the programmed chip's feedback (``W_eff z + b``: quantized, drifted
conductances, IR drop; no per-read noise) and ``ξ`` is white noise: the crossbar's read
current noise and the amplifiers' input-referred noise. Units: ``a``, ``I``, ``u`` in
state units (:func:`state_unit_v` volts at the neuron node), time in ns.

Noise intensity. ``ς`` (``noise_std``) is the std of ``ξ`` observed over the loop's
bandwidth ``1/τ`` (one read of duration τ): its two-sided spectral density is ``ς²·τ``.
In the dimensionless time ``s = t/τ`` that is ``da = (−a + g(a)) ds + ς dW_s``; with no
feedback the stationary std of ``a`` is ``ς/√2``. The statistics of a trajectory do not
depend on the integration step (the noise of a step is the exact Ornstein–Uhlenbeck
increment, see below).

Integrator. With ``g(a) = I(σ(a)) + u`` and ``h = dt/τ``, one step is the fourth-order
exponential Runge–Kutta scheme ETDRK4 (:mod:`hadeq.solvers.etdrk4`) with the linear part
``−a`` (in units of τ), which it integrates exactly; the noise of the step is the exact
Ornstein–Uhlenbeck increment of that linear part:

    a_next = ETDRK4(a; h) + ς·√((1 − e^{−2h})/2)·ε,        ε ~ N(0, I).

Its fixed points are exactly those of ``a = g(a)`` (the DEQ's ``z* = σ(W z* + u + b)``,
``z* = σ(a*)``). For a linear feedback of gain ``L ∈ (−1, 1)`` the decay rate per step
is within 0.2 % of ``e^{−(1−L)h}`` at ``h = 1`` (0.07 % at ``h = 1/2``), so the default
step is one time constant (four evaluations of ``g`` per τ;
``tests/analog/test_loop.py`` checks a step against one half as long and against a
fine forward-Euler trajectory).

Sampling. The ADC reads ``z = σ(a)`` at one fixed instant ``t_s`` after the input is
applied (from ``a = 0``). A sample has *settled* at the earliest time after which its
output stays within ``tol`` (half an ADC LSB) of its equilibrium in every component,
measured noise-free; the crossing is interpolated between steps.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from hadeq import constants as C
from hadeq.analog.quant import level_step
from hadeq.solvers import Anderson, IterateOptions, iterate
from hadeq.solvers.etdrk4 import Etdrk4Coefficients, etdrk4_coefficients, etdrk4_step
from hadeq.validation import check_range

Current = Callable[[Tensor], Tensor]
"""``z ↦ I(z)``: the loop's feedback current (bias included) for output ``z``."""
Noise = Callable[[Tensor, "torch.Generator | None"], Tensor]
"""``(a, generator) ↦ ς·ε``: one draw of the loop's white noise (intensity times a standard
normal, shaped like ``a``), see the module docstring."""


def amplifier_noise_density_v_per_rthz(tau_ns: float) -> float:
    """Input-referred voltage-noise density of one loop amplifier, V/√Hz.

    Channel thermal noise of a differential input pair, ``e_n² = 2·4kTγ/g_m`` (Razavi,
    *Design of Analog CMOS Integrated Circuits*, ch. 7), with the ``g_m`` of the
    amplifier power model: ``g_m = 2π·GBW·C_L``, ``GBW = AMP_GBW_TAU_PRODUCT/τ``. About
    6 nV/√Hz at τ = 10 ns. A first-order design estimate, like the power model."""
    check_range("tau_ns", tau_ns, 0.0, None, low_open=True)
    gbw_hz = C.AMP_GBW_TAU_PRODUCT / (tau_ns * 1e-9)
    gm_s = 2.0 * math.pi * gbw_hz * C.AMP_LOAD_C_F
    return math.sqrt(2.0 * 4.0 * C.BOLTZMANN_J_PER_K * C.AMP_TEMPERATURE_K
                     * C.MOS_THERMAL_NOISE_GAMMA / gm_s)


def state_unit_v() -> float:
    """Volts of one state unit at the neuron node: the sensing amplifier reaches its rail
    ``V_DD/2`` at ``|a| = LOOP_STATE_FULL_SCALE`` (the netlist's scale)."""
    return C.AMP_VDD_V / 2 / C.LOOP_STATE_FULL_SCALE


def amplifier_noise_std(tau_ns: float) -> float:
    """The amplifiers' contribution to ``ς``, in state units: a white voltage noise of
    one-sided density ``e_n`` has two-sided density ``e_n²/2``, so ``ς² = e_n²/(2τ)``, in
    units of :func:`state_unit_v`."""
    e_n = amplifier_noise_density_v_per_rthz(tau_ns)
    return e_n / math.sqrt(2.0 * tau_ns * 1e-9) / state_unit_v()


@dataclass(frozen=True)
class LoopDynamics:
    """How the loop is integrated: its time constant and the step."""

    tau_ns: float = C.LOOP_TAU_NS
    """Loop time constant τ = R·C, ns (> 0)."""
    dt_ns: float = C.LOOP_TAU_NS
    """Integration step, ns (> 0); fourth order, one time constant is accurate."""

    def __post_init__(self) -> None:
        check_range("tau_ns", self.tau_ns, 0.0, None, low_open=True)
        check_range("dt_ns", self.dt_ns, 0.0, None, low_open=True)


@dataclass(frozen=True)
class LoopSampling:
    """When the ADC samples the loop, and how the loop is simulated for it."""

    sample_time_ns: float | None = None
    """``t_s``, ns (> 0); None: the ``quantile`` of the noise-free settling times of the
    calibration inputs."""
    quantile: float = 0.99
    """Fraction of calibration inputs that must have settled at ``t_s``, in (0, 1]."""
    dt_ns: float | None = None
    """Integration step, ns (> 0); None: τ."""
    horizon_tau: float = 200.0
    """Longest simulated settling, in units of τ (> 0)."""
    noise: bool = True
    """Simulate the loop's noise (read and amplifier noise); False: a noise-free loop."""

    def __post_init__(self) -> None:
        if self.sample_time_ns is not None:
            check_range("sample_time_ns", self.sample_time_ns, 0.0, None, low_open=True)
        check_range("quantile", self.quantile, 0.0, 1.0, low_open=True)
        if self.dt_ns is not None:
            check_range("dt_ns", self.dt_ns, 0.0, None, low_open=True)
        check_range("horizon_tau", self.horizon_tau, 0.0, None, low_open=True)


def _step_times(t_end_ns: float, dt_ns: float, marks: Sequence[float]) -> list[float]:
    """The step boundaries in ``(0, t_end]``: multiples of ``dt`` and every mark."""
    n = math.ceil(t_end_ns / dt_ns - 1e-9)
    grid = {round(k * dt_ns, 9) for k in range(1, n)} | {round(t_end_ns, 9)}
    grid |= {round(t, 9) for t in marks if 0.0 < t <= t_end_ns}
    return sorted(grid)


@functools.lru_cache(maxsize=64)
def _coefficients(h: float) -> Etdrk4Coefficients:
    """ETDRK4's coefficients for a step of ``h`` time constants (linear part −1)."""
    return etdrk4_coefficients(-1.0, h)


def integrate(current: Current, sigma: Callable[[Tensor], Tensor], u: Tensor,
              dynamics: LoopDynamics, t_end_ns: float, *,
              sample_times_ns: Sequence[float] = (), noise: Noise | None = None,
              generator: torch.Generator | None = None, a0: Tensor | None = None,
              observe: Callable[[float, Tensor], bool] | None = None
              ) -> tuple[Tensor, list[Tensor], float]:
    """Run the loop from ``a0`` (default 0) for ``t_end_ns`` with injection ``u``.

    Returns ``(a(t), [a(t') for t' in sample_times_ns], t)``, ``t = t_end_ns`` unless
    ``observe(t, a)``, called after every step, returned True (the run stops there; the
    sample times must then lie before it). A sample time outside ``[0, t_end]`` is
    refused. No gradient is tracked."""
    check_range("t_end_ns", t_end_ns, 0.0, None)
    for t in sample_times_ns:
        check_range("sample_times_ns", t, 0.0, t_end_ns)
    with torch.no_grad():
        a = torch.zeros_like(u) if a0 is None else a0.clone()
        samples: dict[float, Tensor] = {}
        for t in sample_times_ns:
            if t == 0.0:
                samples[0.0] = a.clone()
        t_prev = 0.0

        def g(state: Tensor) -> Tensor:
            return current(sigma(state)) + u

        for t in _step_times(t_end_ns, dynamics.dt_ns, sample_times_ns) if t_end_ns else []:
            h = (t - t_prev) / dynamics.tau_ns
            a = etdrk4_step(a, g, _coefficients(h))
            if noise is not None:
                a = a + math.sqrt(-math.expm1(-2.0 * h) / 2.0) * noise(a, generator)
            t_prev = t
            samples[t] = a
            if observe is not None and observe(t, a):
                break
        out = [samples[round(t, 9)] if t else samples[0.0] for t in sample_times_ns]
        return a, out, t_prev


def crossing_times(t_ns: Tensor, err: Tensor, tol: float) -> Tensor:
    """Per column of ``err`` (shape ``(K, B)``, sampled at times ``t_ns`` of shape
    ``(K,)``): the earliest time after which ``err`` stays ≤ ``tol``, interpolated
    between the last sample above ``tol`` and the next (linearly in ``log err``: the
    error decays about exponentially); ``inf`` if the last sample is
    above, ``t_ns[0]`` if none is."""
    above = err > tol
    k_last = err.shape[0] - 1
    # index of the last row above tol (−1 if none)
    rows = torch.arange(err.shape[0], device=err.device).unsqueeze(1).expand_as(err)
    last = torch.where(above, rows, torch.full_like(rows, -1)).amax(dim=0)
    k = last.clamp(0, max(k_last - 1, 0))
    e0 = err.gather(0, k.unsqueeze(0)).squeeze(0)
    e1 = err.gather(0, (k + 1).clamp_max(k_last).unsqueeze(0)).squeeze(0)
    t0, t1 = t_ns[k], t_ns[(k + 1).clamp_max(k_last)]
    # The error decays about exponentially between steps: interpolate its logarithm.
    tiny = torch.finfo(err.dtype).tiny
    log0, log1 = e0.clamp_min(tiny).log(), e1.clamp_min(tiny).log()
    frac = torch.where(log0 > log1, (log0 - math.log(tol)) / (log0 - log1),
                       torch.ones_like(e0))
    time = t0 + frac.clamp(0.0, 1.0) * (t1 - t0)
    time = torch.where(last < 0, torch.full_like(time, float(t_ns[0])), time)
    return torch.where(last == k_last, torch.full_like(time, math.inf), time)


@dataclass(frozen=True)
class SettlingResult:
    """Noise-free settling of a batch."""

    time_ns: Tensor
    """Per-sample settling time, ns (``inf``: not settled within the horizon)."""
    z_star: Tensor
    """The equilibrium output ``σ(a*)`` each sample settled to."""
    t_ns: Tensor
    """The step times of the trajectory, ns (``(K,)``, starting at 0)."""
    error: Tensor
    """``max_i |z_i(t) − z*_i|`` per step and sample, ``(K, B)``."""
    residual: Tensor | None = None
    """The residual ``max_i |σ(g(a)) − z|_i`` per step and sample, ``(K, B)``, when asked
    for (the measure a digital solver of the same map stops on)."""


def settle(current: Current, sigma: Callable[[Tensor], Tensor], u: Tensor,
           dynamics: LoopDynamics, tol: float, *, horizon_tau: float = 200.0,
           residual_tol: float | None = None, record_residual: bool = False
           ) -> SettlingResult:
    """Noise-free settling of every sample to ``tol`` on the output ``z = σ(a)``.

    The equilibrium ``z*`` comes first: an Anderson solve of ``z = σ(I(z) + u)`` to
    residual ``residual_tol`` (default ``tol/100``) in every component, or, where that
    fails, a run of the loop until its residual (the change of ``z`` per step, per unit of
    the step's reach) is that small or ``horizon_tau·τ`` has passed. Then the loop runs
    from rest, measuring every sample's distance from ``z*``, until every sample is ten
    times closer than ``tol`` (or the horizon)."""
    check_range("tol", tol, 0.0, None, low_open=True)
    residual_tol = tol / 100.0 if residual_tol is None else residual_tol
    horizon_ns = horizon_tau * dynamics.tau_ns
    flat = u.shape[0]
    with torch.no_grad():
        z_star = _equilibrium(current, sigma, u, residual_tol)
        t_end = horizon_ns
        if z_star is None:
            z_prev, t_prev = [sigma(torch.zeros_like(u))], [0.0]

            def steady(t: float, a: Tensor) -> bool:
                # A step of h = Δt/τ covers the fraction 1 − e^{−h} of the way to g(a), so
                # the change per step over that fraction estimates |σ(g(a)) − σ(a)|.
                z = sigma(a)
                change = float((z - z_prev[0]).abs().amax()) if z.numel() else 0.0
                rate = change / -math.expm1(-(t - t_prev[0]) / dynamics.tau_ns)
                z_prev[0], t_prev[0] = z, t
                return rate <= residual_tol and t >= dynamics.tau_ns

            a_end, _, t_end = integrate(current, sigma, u, dynamics, horizon_ns,
                                        observe=steady)
            z_star = sigma(a_end)
        times: list[float] = []
        errors: list[Tensor] = []
        residuals: list[Tensor] = []

        def record(t: float, a: Tensor) -> bool:
            z = sigma(a)
            times.append(t)
            errors.append((z - z_star).reshape(flat, -1).abs().amax(dim=1))
            if record_residual:
                residuals.append((sigma(current(z) + u) - z).reshape(flat, -1).abs()
                                 .amax(dim=1))
            return bool(errors[-1].max() <= tol / 10)

        record(0.0, torch.zeros_like(u))
        _, _, t_last = integrate(current, sigma, u, dynamics, t_end, observe=record)
        t_ns = torch.tensor(times, dtype=torch.float64)
        err = torch.stack(errors).double()
        time = crossing_times(t_ns, err, tol)
        if t_last >= horizon_ns:  # some samples never came close: unsettled
            time = torch.where(err[-1] > tol, torch.full_like(time, math.inf), time)
        return SettlingResult(time_ns=time, z_star=z_star, t_ns=t_ns, error=err,
                              residual=torch.stack(residuals).double() if residuals else None)


def _equilibrium(current: Current, sigma: Callable[[Tensor], Tensor], u: Tensor,
                 residual_tol: float) -> Tensor | None:
    """``z*`` of the noise-free loop by Anderson, to ``residual_tol`` in every component;
    None when some sample does not get there."""
    options = IterateOptions(tol=residual_tol, rtol=0.0, stop_mode="mixed", max_iter=300,
                             on_nonfinite="warn")
    z, stats = iterate(Anderson(), lambda z: sigma(current(z) + u), torch.zeros_like(u),
                       options)
    return z if bool(stats.converged.all()) else None


def sampling_time_ns(settling_ns: Tensor, quantile: float = 0.99) -> float:
    """The ADC's sampling instant that covers ``quantile`` of the settling times (an
    unsettled sample counts as infinitely slow, so it may make the answer ``inf``)."""
    check_range("quantile", quantile, 0.0, 1.0, low_open=True)
    t = settling_ns.double().nan_to_num(nan=math.inf, posinf=math.inf).flatten().sort().values
    # the smallest t with at least ``quantile`` of the samples at or below it
    k = max(math.ceil(quantile * t.numel() - 1e-9), 1) - 1
    return float(t[k])


def adc_half_lsb(bits: int | None, full_scale: float = 1.0,
                 default: float = 1e-3) -> float:
    """Half an LSB of a ``bits``-bit ADC over ``[−full_scale, full_scale]`` (the levels of
    :func:`~hadeq.analog.quant.level_step`); ``default·full_scale`` without an ADC."""
    if bits is None:
        return default * full_scale
    return level_step(bits) / 2.0 * full_scale
