"""PDE generators: convergence order on exact solutions, GRF statistics, seeds and caching."""

from __future__ import annotations

import numpy as np
import pytest

from hadeq import constants as C
from hadeq.errors import ConfigError
from hadeq.tasks import (
    BurgersConfig,
    DarcyConfig,
    grf_1d_periodic,
    grf_2d_neumann,
    load_burgers,
    load_darcy,
    solve_burgers,
    solve_darcy,
)
from hadeq.tasks.cache import cache_path, write_npz_atomic
from hadeq.tasks.darcy import DARCY_GENERATOR_VERSION, generate_darcy


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
    recipe = {"name": "darcy", "version": DARCY_GENERATOR_VERSION, "seed": 5, **cfg.__dict__}
    path = cache_path(recipe, tmp_path)
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


def _darcy_fields(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return grf_2d_neumann(rng, n, 32, shift=C.DARCY_GRF_SHIFT, power=C.DARCY_GRF_POWER)


def test_darcy_field_is_mean_zero():
    """The constant mode is dropped: trapezoidal grid mean zero, as the FNO generator."""
    g = _darcy_fields(50)
    w = np.ones(32)
    w[[0, -1]] = 0.5
    trapezoid_mean = np.einsum("i,nij,j->n", w, g, w) / w.sum() ** 2
    assert np.abs(trapezoid_mean).max() < 1e-12 * np.abs(g).max()
    # with the constant mode kept the field means spread over ~ 1/shift^(power/2) = 1/9
    rng = np.random.default_rng(0)
    kept = grf_2d_neumann(rng, 50, 32, shift=C.DARCY_GRF_SHIFT, power=C.DARCY_GRF_POWER,
                          zero_mean=False)
    assert np.std(np.einsum("i,nij,j->n", w, kept, w) / w.sum() ** 2) > 0.05


def test_darcy_permeability_share_follows_fno_recipe():
    """Per-field share of a = 12: mean 0.5, std ≈ 0.06 (FNO's GRF.m recipe), no field
    more than 90% one value. With the constant mode kept the std was ≈ 0.31 and a quarter
    of the fields were > 90% one value."""
    cfg = DarcyConfig()
    a = np.where(_darcy_fields(300) >= 0.0, cfg.coeff_positive, cfg.coeff_negative)
    share = (a == cfg.coeff_positive).mean(axis=(1, 2))
    assert abs(share.mean() - 0.5) < 0.05
    assert share.std() < 0.09
    assert np.maximum(share, 1.0 - share).max() <= 0.9
    # the generator that the task uses draws the same fields
    a_gen, _ = generate_darcy(DarcyConfig(n_train=1, n_test=1), 8, 0)
    share_gen = (a_gen == cfg.coeff_positive).mean(axis=(1, 2))
    assert np.maximum(share_gen, 1.0 - share_gen).max() <= 0.9


def test_darcy_cache_of_older_generator_is_not_reused(tmp_path):
    """A file written under the previous generator version is never read back."""
    cfg = DarcyConfig(resolution=12, n_train=2, n_test=1)
    old = {"name": "darcy", "version": DARCY_GENERATOR_VERSION - 1, "seed": 0,
           **cfg.__dict__}
    stale = {k: np.full((n, 12, 12), -1.0, np.float32)
             for k, n in (("a_train", 2), ("u_train", 2), ("a_test", 1), ("u_test", 1))}
    write_npz_atomic(cache_path(old, tmp_path), stale)
    d = load_darcy(cfg, seed=0, cache_dir=tmp_path)
    assert set(np.unique(d["a_train"])) <= {3.0, 12.0}
    assert len(list(tmp_path.iterdir())) == 2


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
