"""Jacobian estimates and the contractive parametrisation against explicit Jacobians and
exact matrix norms."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import hadeq
from hadeq.deq import (
    contractive,
    jacobian_frobenius_sq,
    jacobian_spectral_norm,
    spectral_radius,
)
from tests.deq.maps import DenseMap


@pytest.fixture
def problem(generator):
    fmap = DenseMap(12, 4, 0.9, generator)
    x = torch.randn(5, 4, dtype=torch.float64, generator=generator)
    z = torch.randn(5, 12, dtype=torch.float64, generator=generator) * 0.3
    # Explicit per-sample Jacobians, the independent reference.
    jac = torch.stack([torch.autograd.functional.jacobian(
        lambda v, i=i: fmap(v[None], x[i:i + 1])[0], z[i]) for i in range(5)])
    return fmap, x, z, jac


def test_hutchinson_estimate_is_unbiased_for_the_frobenius_norm(problem):
    fmap, x, z, jac = problem
    torch.manual_seed(0)
    f = lambda v: fmap(v, x)  # noqa: E731
    estimate = jacobian_frobenius_sq(f, z, samples=4000, create_graph=False)
    exact = jac.square().sum(dim=(1, 2))
    torch.testing.assert_close(estimate, exact, rtol=0.08, atol=0)


def test_hutchinson_term_is_differentiable_in_the_parameters(problem):
    fmap, x, z, _ = problem
    loss = jacobian_frobenius_sq(lambda v: fmap(v, x), z, samples=2).mean()
    (grad,) = torch.autograd.grad(loss, [fmap.W])
    assert grad.abs().sum() > 0


def test_power_iteration_finds_the_spectral_norm(problem):
    fmap, x, z, jac = problem
    estimate = jacobian_spectral_norm(lambda v: fmap(v, x), z, iterations=200)
    exact = torch.linalg.matrix_norm(jac, ord=2)
    torch.testing.assert_close(estimate, exact, rtol=1e-6, atol=0)
    assert bool((estimate < 1).all())  # ‖W‖₂ = 0.9 and tanh' ≤ 1


def test_spectral_radius_of_a_symmetric_jacobian(generator):
    a = torch.randn(10, 10, dtype=torch.float64, generator=generator)
    sym = (a + a.T) / 2
    z = torch.zeros(3, 10, dtype=torch.float64)
    estimate = spectral_radius(lambda v: v @ sym.T, z, iterations=500)
    exact = torch.linalg.eigvalsh(sym).abs().max()
    torch.testing.assert_close(estimate, exact.expand(3), rtol=1e-6, atol=0)


@pytest.mark.parametrize("exact", [True, False])
def test_contractive_parametrisation_bounds_the_norm_and_keeps_small_weights(exact):
    torch.manual_seed(0)
    big = nn.Linear(16, 16).double()
    with torch.no_grad():
        big.weight.mul_(10.0)
    contractive(big, margin=0.2, exact=exact, power_iterations=5)
    for _ in range(10):  # power iteration refines its vectors on training forwards
        big(torch.zeros(1, 16, dtype=torch.float64))
    norm = float(torch.linalg.matrix_norm(big.weight.detach(), ord=2))
    assert norm == pytest.approx(0.8, rel=1e-6 if exact else 1e-3)

    small = nn.Linear(16, 16).double()
    with torch.no_grad():
        small.weight.mul_(0.1 / torch.linalg.matrix_norm(small.weight, ord=2))
    raw = small.weight.detach().clone()
    contractive(small, margin=0.2, exact=exact)
    torch.testing.assert_close(small.weight.detach(), raw, rtol=0, atol=0)


def test_contractive_layer_gives_a_deq_that_converges():
    torch.manual_seed(1)
    layer = contractive(nn.Linear(32, 32).double(), margin=0.1, exact=True)
    with torch.no_grad():
        layer.parametrizations.weight.original.mul_(20.0)
    x = torch.randn(4, 32, dtype=torch.float64) * 3
    _, stats = hadeq.solve(hadeq.batched(lambda z, x: torch.tanh(layer(z) + x), x),
                           torch.zeros(4, 32, dtype=torch.float64), solver="picard",
                           tol=1e-10, max_iter=400)
    assert stats.all_converged
    with pytest.raises(hadeq.ConfigError, match=r"margin=1\.5"):
        contractive(nn.Linear(4, 4), margin=1.5)


def test_spectral_radius_of_a_non_normal_map_with_a_complex_dominant_pair():
    """J = [[a, −b], [c, a]] has eigenvalues a ± i·√(bc): ρ = √(a² + bc), while a single
    power step's growth oscillates (J is not normal when b ≠ c)."""
    a, b, c = 0.3, 0.9, 0.1
    jac = torch.tensor([[a, -b], [c, a]], dtype=torch.float64)
    z = torch.zeros(4, 2, dtype=torch.float64)
    estimate = spectral_radius(lambda v: v @ jac.T, z, iterations=400)
    expected = float(torch.linalg.eigvals(jac).abs().max())
    assert expected == pytest.approx((a * a + b * c) ** 0.5)
    assert torch.allclose(estimate, torch.full((4,), expected, dtype=torch.float64), rtol=0.02)
