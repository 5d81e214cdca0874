"""ETDRK4: the fourth-order exponential Runge–Kutta scheme of Cox & Matthews (J. Comput.
Phys. 176, 2002) for stiff systems ``dv/dt = L v + N(v)`` with a diagonal (or scalar)
linear part ``L``, shared by the analog loop's simulation (:mod:`hadeq.analog.loop`,
``L = −1/τ``) and the Burgers data generator (:mod:`hadeq.tasks.burgers`, ``L = −νk²``).

One step of length ``dt`` (``E = e^{L dt}``, ``E₂ = e^{L dt/2}``)::

    a = E₂ v + Q N(v)      b = E₂ v + Q N(a)      c = E₂ a + Q (2 N(b) − N(v))
    v_next = E v + f₁ N(v) + 2 f₂ (N(a) + N(b)) + f₃ N(c)

    Q  = dt · (e^{z/2} − 1)/z
    f₁ = dt · (−4 − z + e^{z}(4 − 3z + z²))/z³
    f₂ = dt · (2 + z + e^{z}(−2 + z))/z³
    f₃ = dt · (−4 − 3z − z² + e^{z}(4 − z))/z³,        z = L dt.

The linear part is integrated exactly; fixed points of ``L v + N(v) = 0`` are fixed
points of the step. The φ-function coefficients cancel catastrophically for small
``|z|``; they are computed by the contour-integral method of Kassam & Trefethen (SIAM J.
Sci. Comput. 26, 2005): the mean over points on a unit circle around ``z``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

CONTOUR_POINTS = 32
"""Points on the contour of the Kassam–Trefethen evaluation (accurate to ~1e-14)."""


class Etdrk4Coefficients(NamedTuple):
    """``E, E₂, Q, f₁, f₂, f₃`` of one step (see the module docstring)."""

    e: Any
    e2: Any
    q: Any
    f1: Any
    f2: Any
    f3: Any


def etdrk4_coefficients(lin: np.ndarray | float, dt: float) -> Etdrk4Coefficients:
    """The step's coefficients for the diagonal linear operator ``lin`` (an array of
    rates, or one rate: then the coefficients are floats)."""
    scalar = np.ndim(lin) == 0
    lhd = np.atleast_1d(np.asarray(lin, dtype=np.float64)) * dt
    roots = np.exp(1j * np.pi * (np.arange(1, CONTOUR_POINTS + 1) - 0.5) / CONTOUR_POINTS)
    lr = lhd[:, None] + roots[None, :]
    q = dt * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
    f1 = dt * np.real(np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = dt * np.real(np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=1))
    f3 = dt * np.real(np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=1))
    out = (np.exp(lhd), np.exp(lhd / 2), q, f1, f2, f3)
    if scalar:
        return Etdrk4Coefficients(*(float(c[0]) for c in out))
    return Etdrk4Coefficients(*out)


def etdrk4_step(v: Any, nonlinear: Callable[[Any], Any], c: Etdrk4Coefficients) -> Any:
    """``v`` after one step (numpy arrays or torch tensors alike)."""
    nv = nonlinear(v)
    a = c.e2 * v + c.q * nv
    na = nonlinear(a)
    b = c.e2 * v + c.q * na
    nb = nonlinear(b)
    cc = c.e2 * a + c.q * (2 * nb - nv)
    return c.e * v + c.f1 * nv + 2 * c.f2 * (na + nb) + c.f3 * nonlinear(cc)
