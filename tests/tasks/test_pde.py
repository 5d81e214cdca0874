"""PDE generators: convergence order on exact solutions, GRF statistics, seeds and caching."""

from __future__ import annotations

import numpy as np
import pytest

from hadeq.errors import ConfigError
from hadeq.tasks import (
    BurgersConfig,
    DarcyConfig,
    grf_1d_periodic,
    load_burgers,
    load_darcy,
    solve_burgers,
    solve_darcy,
)
from hadeq.tasks.cache import cache_path


def _darcy_max_error(s: int, averaging: str) -> float:
    """Manufactured solution u = sin πx sin πy with a = 1 + x² + y + ½ sin(3xy)."""
    x = np.linspace(0, 1, s)
    X, Y = np.meshgrid(x, x, indexing="ij")
    a = 1 + X**2 + Y + 0.5 * np.sin(3 * X * Y)
    ax = 2 * X + 1.5 * Y * np.cos(3 * X * Y)
    ay = 1 + 1.5 * X * np.cos(3 * X * Y)
    u = np.sin(np.pi * X) * np.sin(np.pi * Y)
    ux = np.pi * np.cos(np.pi * X) * np.sin(np.pi * Y)
    uy = np.pi * np.sin(np.pi * X) * np.cos(np.pi * Y)
    f = -(ax * ux + ay * uy) + 2 * np.pi**2 * a * u  # −∇·(a∇u)
    return float(np.abs(solve_darcy(a, f, averaging) - u).max())


@pytest.mark.parametrize("averaging", ["harmonic", "arithmetic"])
def test_darcy_second_order(averaging):
    errs = [_darcy_max_error(s, averaging) for s in (17, 33, 65)]  # h = 1/16, 1/32, 1/64
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(orders > 1.9) and np.all(orders < 2.1), (errs, orders)


def test_darcy_generation_seeded_and_cached(tmp_path):
    cfg = DarcyConfig(resolution=20, n_train=4, n_test=2)
    d1 = load_darcy(cfg, seed=5, cache_dir=tmp_path)
    path = cache_path({"name": "darcy", "version": 1, "seed": 5, **cfg.__dict__}, tmp_path)
    assert path.is_file() and list(tmp_path.iterdir()) == [path]  # no temp file left
    mtime = path.stat().st_mtime_ns
    d2 = load_darcy(cfg, seed=5, cache_dir=tmp_path)  # cache hit
    d3 = load_darcy(cfg, seed=5, use_cache=False)  # regenerated from the seed
    assert path.stat().st_mtime_ns == mtime
    for k in d1:
        np.testing.assert_array_equal(d1[k], d2[k])
        np.testing.assert_array_equal(d1[k], d3[k])
    assert set(np.unique(d1["a_train"])) == {3.0, 12.0}
    # boundary is zero, interior positive (f = 1 > 0, maximum principle)
    u = d1["u_train"]
    assert np.all(u[:, 0, :] == 0) and np.all(u[:, 1:-1, 1:-1] > 0)
    d4 = load_darcy(cfg, seed=6, cache_dir=tmp_path)
    assert not np.array_equal(d4["a_train"], d1["a_train"]) and len(list(tmp_path.iterdir())) == 2


def test_darcy_config_validation():
    with pytest.raises(ConfigError, match="averaging"):
        DarcyConfig(averaging="geometric")
    with pytest.raises(ConfigError, match="coeff_negative"):
        DarcyConfig(coeff_negative=0.0)


def test_grf_1d_variance_matches_covariance():
    """Var g(x) = trace of the covariance per point: 625 [25^-2 + 2 Σ_m ((2πm)² + 25)^-2]."""
    rng = np.random.default_rng(0)
    g = grf_1d_periodic(rng, 4000, 64, shift=25.0, power=2.0, scale=625.0)
    m = np.arange(1, 32)
    expected = 625 * (25.0**-2 + 2 * np.sum(((2 * np.pi * m) ** 2 + 25.0) ** -2.0))
    assert g.var(axis=0).mean() == pytest.approx(expected, rel=0.03)


def _cole_hopf(x, t, nu, a=1.0, b=0.9):
    """u = −2ν φ_x/φ with φ = a + b e^{−4π²νt} cos 2πx, an exact periodic Burgers solution."""
    e = b * np.exp(-4 * np.pi**2 * nu * t)
    return 4 * np.pi * nu * e * np.sin(2 * np.pi * x) / (a + e * np.cos(2 * np.pi * x))


def test_burgers_matches_cole_hopf_and_is_fourth_order():
    nu, T, n = 0.05, 0.5, 128
    x = np.arange(n) / n
    u0, exact = _cole_hopf(x, 0.0, nu), _cole_hopf(x, T, nu)
    assert np.abs(solve_burgers(u0, nu, T, 1e-3) - exact).max() < 1e-9
    errs = [np.abs(solve_burgers(u0, nu, T, dt) - exact).max() for dt in (0.05, 0.025, 0.0125)]
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(orders > 3.6), (errs, orders)


def test_burgers_seeded_and_cached(tmp_path):
    cfg = BurgersConfig(resolution=64, n_train=3, n_test=2, dt=5e-3)
    d1 = load_burgers(cfg, seed=1, cache_dir=tmp_path)
    d2 = load_burgers(cfg, seed=1, cache_dir=tmp_path)
    d3 = load_burgers(cfg, seed=1, use_cache=False)
    for k in d1:
        np.testing.assert_array_equal(d1[k], d2[k])
        np.testing.assert_array_equal(d1[k], d3[k])
    assert d1["u0_train"].shape == (3, 64)
    # viscosity dissipates energy: ‖u(T)‖ < ‖u0 − mean‖ + |mean| (mean is conserved)
    u0, uT = d1["u0_train"], d1["uT_train"]
    np.testing.assert_allclose(u0.mean(1), uT.mean(1), atol=1e-5)
    assert np.all(uT.std(1) < u0.std(1))
