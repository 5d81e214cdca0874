"""Gaussian random fields with covariance ``scale · (−Δ + shift·I)^(−power)``.

We draw them by a Karhunen–Loève (spectral) expansion in the eigenfunctions of the
Laplacian: if −Δφ_k = λ_k φ_k with orthonormal φ_k, then

    g = Σ_k sqrt(scale) · (λ_k + shift)^(−power/2) · ξ_k · φ_k,   ξ_k ~ N(0, 1) i.i.d.,

has exactly the covariance operator ``scale · (−Δ + shift I)^(−power)``, truncated to the
modes kept. The series converges fast (coefficients decay like |k|^(−power)), so keeping
as many modes per direction as grid points loses nothing visible on the grid.

* :func:`grf_2d_neumann` — unit square, Neumann boundary: φ_{kl} = c_k c_l cos(πkx)cos(πly)
  with c_0 = 1, c_k = √2, λ = π²(k² + l²). Used for the Darcy permeability. As in the FNO
  Darcy generator (Li et al. 2020, ``data_generation/darcy/GRF.m``: the same cosine
  expansion with k, l = 0 .. s−1, and the k = l = 0 coefficient set to zero), the constant
  mode is dropped by default, so every sample has spatial mean exactly zero. That matters
  for the thresholded permeability: the constant mode has the largest variance of all
  (1/shift^power), and with it a large share of the fields comes out nearly all one value.
* :func:`grf_1d_periodic` — unit circle: φ = 1, √2 cos(2πmx), √2 sin(2πmx), λ = (2πm)².
  Used for the Burgers initial condition.
"""

from __future__ import annotations

import numpy as np


def _neumann_basis(nodes: np.ndarray, n_modes: int) -> np.ndarray:
    """(len(nodes), n_modes) matrix of orthonormal cosines c_k cos(πk x)."""
    k = np.arange(n_modes)
    basis = np.cos(np.pi * np.outer(nodes, k))
    basis[:, 1:] *= np.sqrt(2.0)
    return basis


def grf_2d_neumann(
    rng: np.random.Generator,
    n_samples: int,
    resolution: int,
    *,
    shift: float,
    power: float,
    scale: float = 1.0,
    n_modes: int | None = None,
    zero_mean: bool = True,
) -> np.ndarray:
    """Samples (n_samples, resolution, resolution) on the nodes x_i = i/(resolution − 1).

    With ``zero_mean`` (the default, the FNO recipe) the constant mode k = l = 0 is left
    out: each sample integrates to zero over the square, and its trapezoidal-rule mean on
    the node grid is zero to rounding (discrete orthogonality of the cosines for
    0 < k < 2(resolution − 1)). ``zero_mean=False`` keeps it, giving the full
    ``scale · (−Δ + shift I)^(−power)`` covariance including the constant eigenfunction.
    """
    n_modes = n_modes or resolution
    nodes = np.linspace(0.0, 1.0, resolution)
    basis = _neumann_basis(nodes, n_modes)
    k = np.arange(n_modes)
    eig = np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2)
    std = np.sqrt(scale) * (eig + shift) ** (-power / 2.0)
    if zero_mean:
        std[0, 0] = 0.0
    coeff = rng.standard_normal((n_samples, n_modes, n_modes)) * std
    # g[i, j] = Σ_kl basis[i, k] coeff[k, l] basis[j, l]
    return np.einsum("ik,nkl,jl->nij", basis, coeff, basis, optimize=True)


def grf_1d_periodic(
    rng: np.random.Generator,
    n_samples: int,
    n_points: int,
    *,
    shift: float,
    power: float,
    scale: float = 1.0,
) -> np.ndarray:
    """Samples (n_samples, n_points) on x_j = j / n_points of the periodic unit interval.

    Modes m = 0 .. n_points//2 − 1 are kept (the Nyquist mode, whose sine vanishes on the
    grid, is dropped so the field is exactly a trigonometric polynomial on the grid).
    """
    x = np.arange(n_points) / n_points
    m = np.arange(1, n_points // 2)
    std0 = np.sqrt(scale) * shift ** (-power / 2.0)
    std = np.sqrt(scale) * ((2 * np.pi * m) ** 2 + shift) ** (-power / 2.0)
    a0 = rng.standard_normal((n_samples, 1)) * std0
    a = rng.standard_normal((n_samples, len(m))) * std
    b = rng.standard_normal((n_samples, len(m))) * std
    phase = 2 * np.pi * np.outer(m, x)
    return a0 + np.sqrt(2.0) * (a @ np.cos(phase) + b @ np.sin(phase))
