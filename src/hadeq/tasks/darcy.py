"""Darcy flow data (the FNO benchmark recipe, our own implementation).

Problem: on the unit square, −∇·(a(x) ∇u(x)) = f(x) with u = 0 on the boundary, f = 1.
The permeability a is a Gaussian random field g ~ N(0, (−Δ + 9I)^−2) with Neumann
boundary and, as in the FNO generator, its constant mode dropped, so every g has spatial
mean zero (see :mod:`hadeq.tasks.grf`); it is thresholded pointwise: a = 12 where g ≥ 0,
a = 3 where g < 0 (constants in :mod:`hadeq.constants`). About half of each field is then
12 (the per-field share has std ≈ 0.06 at 32²). The data map is a ↦ u on an s × s grid of
nodes x_i = i·h, h = 1/(s − 1), boundary nodes included (u = 0 there).

Discretisation: the conservative 5-point finite-volume/difference scheme

    −[ a_{i+½,j}(u_{i+1,j} − u_{ij}) − a_{i−½,j}(u_{ij} − u_{i−1,j})
       + a_{i,j+½}(u_{i,j+1} − u_{ij}) − a_{i,j−½}(u_{ij} − u_{i,j−1}) ] / h² = f_ij

at interior nodes. Face coefficients are *harmonic* means of the two node values,
a_{i+½,j} = 2 a_ij a_{i+1,j} / (a_ij + a_{i+1,j}): for a piecewise-constant a this is the
flux-continuous choice (a jump acts like resistors in series), and for smooth a it is a
second-order approximation of a at the face like the arithmetic mean — so the scheme is
second-order accurate for smooth a (tested on a manufactured solution). The symmetric
positive-definite system is solved directly with scipy's sparse LU.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from hadeq import constants as C
from hadeq.tasks.cache import cached
from hadeq.tasks.grf import grf_2d_neumann
from hadeq.validation import check_choice, check_int, check_range

DARCY_GENERATOR_VERSION = 2
"""Bumped whenever the generator's output changes for the same recipe (invalidates caches).

2: the permeability field drops the constant mode (mean-zero field, the FNO recipe)."""


def _face(a: np.ndarray, b: np.ndarray, averaging: str) -> np.ndarray:
    if averaging == "harmonic":
        return 2.0 * a * b / (a + b)
    return 0.5 * (a + b)


def darcy_matrix(a: np.ndarray, averaging: str = "harmonic") -> sp.csr_matrix:
    """The (s−2)² × (s−2)² matrix of −∇·(a∇·) on interior nodes, for node values ``a`` (s, s).

    Boundary values of u are zero, so boundary neighbours simply drop out of the stencil
    (their coefficient still enters the diagonal).
    """
    s = a.shape[0]
    h = 1.0 / (s - 1)
    m = s - 2
    # Face coefficients between node (i, j) and (i+1, j), for i = 0..s-2, all j.
    ax = _face(a[:-1, :], a[1:, :], averaging)  # (s-1, s)
    ay = _face(a[:, :-1], a[:, 1:], averaging)  # (s, s-1)
    # For interior node (i, j), i, j in 1..s-2:
    west = ax[:-1, 1:-1]   # face (i-1/2, j)
    east = ax[1:, 1:-1]    # face (i+1/2, j)
    south = ay[1:-1, :-1]  # face (i, j-1/2)
    north = ay[1:-1, 1:]   # face (i, j+1/2)
    idx = np.arange(m * m).reshape(m, m)
    diag = (west + east + south + north).ravel()
    rows = [idx.ravel()]
    cols = [idx.ravel()]
    vals = [diag]
    # Off-diagonals: only between interior nodes.
    rows += [idx[1:, :].ravel(), idx[:-1, :].ravel(), idx[:, 1:].ravel(), idx[:, :-1].ravel()]
    cols += [idx[:-1, :].ravel(), idx[1:, :].ravel(), idx[:, :-1].ravel(), idx[:, 1:].ravel()]
    vals += [
        -west[1:, :].ravel(),
        -east[:-1, :].ravel(),
        -south[:, 1:].ravel(),
        -north[:, :-1].ravel(),
    ]
    mat = sp.coo_matrix(
        (np.concatenate(vals) / h**2, (np.concatenate(rows), np.concatenate(cols))),
        shape=(m * m, m * m),
    )
    return mat.tocsc()


def solve_darcy(
    a: np.ndarray, f: np.ndarray | float = 1.0, averaging: str = "harmonic"
) -> np.ndarray:
    """Solve −∇·(a∇u) = f, u|∂Ω = 0, on the s × s node grid; returns u (s, s), float64.

    ``a`` are node values of the coefficient (s, s); ``f`` a scalar or node values (s, s).
    """
    a = np.asarray(a, dtype=np.float64)
    s = a.shape[0]
    if a.shape != (s, s) or s < 3:
        raise ValueError(f"a must be a square grid of at least 3×3 nodes, got {a.shape}")
    f_int = np.broadcast_to(np.asarray(f, dtype=np.float64), (s, s))[1:-1, 1:-1].ravel()
    u = np.zeros((s, s))
    u[1:-1, 1:-1] = spla.spsolve(darcy_matrix(a, averaging), f_int).reshape(s - 2, s - 2)
    return u


@dataclasses.dataclass(frozen=True)
class DarcyConfig:
    """Recipe of a Darcy-flow data set (defaults: FNO recipe at 32²)."""

    resolution: int = 32
    """Grid nodes per side s, boundary included (h = 1/(s−1)); FNO's benchmark uses 85."""
    n_train: int = 1000
    """Number of training pairs (a, u)."""
    n_test: int = 100
    """Number of test pairs."""
    coeff_positive: float = C.DARCY_COEFF_POSITIVE
    """Permeability where the random field is ≥ 0."""
    coeff_negative: float = C.DARCY_COEFF_NEGATIVE
    """Permeability where the random field is < 0."""
    grf_shift: float = C.DARCY_GRF_SHIFT
    """τ² in the field prior N(0, (−Δ + τ² I)^−α)."""
    grf_power: float = C.DARCY_GRF_POWER
    """α in the field prior."""
    forcing: float = C.DARCY_FORCING
    """Constant right-hand side f."""
    averaging: Literal["harmonic", "arithmetic"] = "harmonic"
    """Face average of the permeability in the finite-difference stencil."""

    def __post_init__(self) -> None:
        check_int("resolution", self.resolution, 5, 1025)
        check_int("n_train", self.n_train, 1)
        check_int("n_test", self.n_test, 1)
        check_range("coeff_positive", self.coeff_positive, 0.0, low_open=True)
        check_range("coeff_negative", self.coeff_negative, 0.0, low_open=True)
        check_range("grf_shift", self.grf_shift, 0.0, low_open=True)
        check_range("grf_power", self.grf_power, 0.0, low_open=True)
        check_range("forcing", self.forcing)
        check_choice("averaging", self.averaging, ("harmonic", "arithmetic"))


def generate_darcy(
    config: DarcyConfig, n_samples: int, seed: int | np.random.SeedSequence
) -> tuple[np.ndarray, np.ndarray]:
    """``n_samples`` pairs (a, u), each float32 (n_samples, s, s), from ``seed``."""
    rng = np.random.default_rng(seed)
    field = grf_2d_neumann(
        rng, n_samples, config.resolution, shift=config.grf_shift, power=config.grf_power
    )
    a = np.where(field >= 0.0, config.coeff_positive, config.coeff_negative)
    u = np.stack([solve_darcy(ai, config.forcing, config.averaging) for ai in a])
    return a.astype(np.float32), u.astype(np.float32)


def load_darcy(
    config: DarcyConfig,
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    use_cache: bool = True,
) -> dict[str, np.ndarray]:
    """Train/test arrays ``a_train, u_train, a_test, u_test`` (float32, (n, s, s)).

    Cached on disk keyed by the full recipe (config, seed, generator version). Train and
    test use independent streams derived from ``seed``.
    """
    recipe = {"name": "darcy", "version": DARCY_GENERATOR_VERSION, "seed": seed,
              **dataclasses.asdict(config)}

    def build() -> dict[str, np.ndarray]:
        train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
        a_tr, u_tr = generate_darcy(config, config.n_train, train_seed)
        a_te, u_te = generate_darcy(config, config.n_test, test_seed)
        return {"a_train": a_tr, "u_train": u_tr, "a_test": a_te, "u_test": u_te}

    return cached(recipe, build, cache_dir, use_cache=use_cache)
