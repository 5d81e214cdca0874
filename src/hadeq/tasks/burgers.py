"""1-D viscous Burgers data (the FNO benchmark recipe, our own implementation).

Problem: u_t + u u_x = ν u_xx on the periodic unit interval, ν = 0.1 by default; the data
map is u0 ↦ u(·, T), T = 1, with u0 ~ N(0, 625 (−Δ + 25 I)^−2) (see
:mod:`hadeq.tasks.grf`; constants in :mod:`hadeq.constants`).

Scheme: Fourier pseudo-spectral in space on x_j = j/N, written in Fourier variables as

    dû/dt = L û + N(û),   L = −ν k²,   N(û) = −(i k / 2) · FFT(u²)   (k = 2π m),

with the product u² formed on the grid and 2/3-rule dealiasing (modes |m| > N/3 of the
nonlinear term are zeroed). Time stepping is ETDRK4 (Cox & Matthews 2002): the stiff
linear part is integrated exactly, the nonlinear part by a fourth-order exponential
Runge–Kutta rule; the φ-function coefficients are computed by the contour-integral
method of Kassam & Trefethen (2005) to avoid cancellation for small |L·dt|. The scheme is
unconditionally stable for the diffusion term; the step must only resolve advection
(|u|·k_max·dt ≲ 1), which the default dt = 2.5e-3 does for these initial conditions.
Spectral in space, fourth order in time (both tested against the exact Cole–Hopf solution).
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

from hadeq import constants as C
from hadeq.solvers.etdrk4 import etdrk4_coefficients, etdrk4_step
from hadeq.tasks.cache import cached
from hadeq.tasks.grf import grf_1d_periodic
from hadeq.validation import check_int, check_range

BURGERS_GENERATOR_VERSION = 1
"""Bumped whenever the generator's output changes for the same recipe."""

def solve_burgers(u0: np.ndarray, viscosity: float, t_final: float, dt: float) -> np.ndarray:
    """Integrate Burgers from ``u0`` (…, N) on x_j = j/N to ``t_final``; returns u (…, N).

    Uses ceil(t_final/dt) equal ETDRK4 steps (so the last step lands exactly on t_final).
    """
    u0 = np.asarray(u0, dtype=np.float64)
    n = u0.shape[-1]
    n_steps = max(1, math.ceil(t_final / dt - 1e-12))
    h = t_final / n_steps
    m = np.fft.rfftfreq(n, d=1.0 / n)  # 0, 1, ..., N/2
    k = 2 * np.pi * m
    lin = -viscosity * k**2
    dealias = m <= n / 3.0
    g = -0.5j * k * dealias

    def nonlinear(v_hat: np.ndarray) -> np.ndarray:
        u = np.fft.irfft(v_hat, n=n)
        return g * np.fft.rfft(u * u)

    coefficients = etdrk4_coefficients(lin, h)
    v = np.fft.rfft(u0)
    for _ in range(n_steps):
        v = etdrk4_step(v, nonlinear, coefficients)
    return np.fft.irfft(v, n=n)


@dataclasses.dataclass(frozen=True)
class BurgersConfig:
    """Recipe of a Burgers data set (defaults: FNO recipe at a small CPU resolution)."""

    resolution: int = 128
    """Grid points N of the returned data on the periodic unit interval (x_j = j/N)."""
    solve_factor: int = 1
    """Solve on N·solve_factor points and subsample by this factor (FNO: 8192 → 1024)."""
    n_train: int = 1000
    """Number of training pairs (u0, u(T))."""
    n_test: int = 100
    """Number of test pairs."""
    viscosity: float = C.BURGERS_VISCOSITY
    """Viscosity ν."""
    t_final: float = C.BURGERS_T_FINAL
    """Final time T of the map u0 ↦ u(T)."""
    dt: float = 2.5e-3
    """Largest ETDRK4 time step (the step actually used is T / ceil(T/dt)). At the
    defaults, halving it changes u(T) by < 1e-7 (max abs), far below float32 storage."""
    grf_scale: float = C.BURGERS_GRF_SCALE
    """Prefactor σ² of the initial-condition prior σ² (−Δ + τ² I)^−α."""
    grf_shift: float = C.BURGERS_GRF_SHIFT
    """τ² of the initial-condition prior."""
    grf_power: float = C.BURGERS_GRF_POWER
    """α of the initial-condition prior."""

    def __post_init__(self) -> None:
        check_int("resolution", self.resolution, 8, 65536)
        check_int("solve_factor", self.solve_factor, 1, 64)
        check_int("n_train", self.n_train, 1)
        check_int("n_test", self.n_test, 1)
        check_range("viscosity", self.viscosity, 0.0, low_open=True)
        check_range("t_final", self.t_final, 0.0, low_open=True)
        check_range("dt", self.dt, 0.0, self.t_final, low_open=True)
        check_range("grf_scale", self.grf_scale, 0.0, low_open=True)
        check_range("grf_shift", self.grf_shift, 0.0, low_open=True)
        check_range("grf_power", self.grf_power, 0.0, low_open=True)


def generate_burgers(
    config: BurgersConfig, n_samples: int, seed: int | np.random.SeedSequence
) -> tuple[np.ndarray, np.ndarray]:
    """``n_samples`` pairs (u0, u(T)), each float32 (n_samples, resolution), from ``seed``."""
    rng = np.random.default_rng(seed)
    fine = config.resolution * config.solve_factor
    u0 = grf_1d_periodic(
        rng, n_samples, fine,
        shift=config.grf_shift, power=config.grf_power, scale=config.grf_scale,
    )
    u_t = solve_burgers(u0, config.viscosity, config.t_final, config.dt)
    step = config.solve_factor
    return u0[:, ::step].astype(np.float32), u_t[:, ::step].astype(np.float32)


def load_burgers(
    config: BurgersConfig,
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    use_cache: bool = True,
) -> dict[str, np.ndarray]:
    """Arrays ``u0_train, uT_train, u0_test, uT_test`` (float32, (n, N)), cached by recipe."""
    recipe = {"name": "burgers", "version": BURGERS_GENERATOR_VERSION, "seed": seed,
              **dataclasses.asdict(config)}

    def build() -> dict[str, np.ndarray]:
        train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
        u0_tr, ut_tr = generate_burgers(config, config.n_train, train_seed)
        u0_te, ut_te = generate_burgers(config, config.n_test, test_seed)
        return {"u0_train": u0_tr, "uT_train": ut_tr, "u0_test": u0_te, "uT_test": ut_te}

    return cached(recipe, build, cache_dir, use_cache=use_cache)
