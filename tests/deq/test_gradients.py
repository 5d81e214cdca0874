"""The DEQ's gradients against independent references: an unrolled solve, gradcheck,
torchdeq's implicit backward, and the exact gradient for the approximate modes."""

from __future__ import annotations

import pytest
import torch

import hadeq
from tests.deq.maps import ConvMap, DenseMap

SOLVERS = ["picard", "anderson", "broyden"]
TIGHT = {"tol": 1e-13, "stop_mode": "abs", "max_iter": 400, "stagnation_window": 0}


def unrolled_grads(fmap, x, z0, params, steps=600):
    z = z0
    for _ in range(steps):
        z = fmap(z, x)
    loss = (z * torch.linspace(-1, 1, z[0].numel(), dtype=z.dtype).view_as(z[0])).sum()
    return torch.autograd.grad(loss, params)


def deq_grads(deq, fmap, x, z0, params):
    z, stats = deq(hadeq.batched(fmap, x), z0)
    assert stats.all_converged
    loss = (z * torch.linspace(-1, 1, z[0].numel(), dtype=z.dtype).view_as(z[0])).sum()
    return torch.autograd.grad(loss, params)


def rel_err(a, b):
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("norm", [0.5, 0.9])
def test_implicit_gradient_equals_unrolled_dense(solver, norm, generator):
    fmap = DenseMap(24, 10, norm, generator)
    x = torch.randn(6, 10, dtype=torch.float64, generator=generator, requires_grad=True)
    z0 = torch.zeros(6, 24, dtype=torch.float64)
    deq = hadeq.DEQ(solver=solver, solver_options=TIGHT, backward_solver=solver,
                    backward_options=TIGHT)
    params = [*fmap.parameters(), x]
    for got, want in zip(deq_grads(deq, fmap, x, z0, params),
                         unrolled_grads(fmap, x, z0, params), strict=True):
        assert rel_err(got, want) <= 1e-6


@pytest.mark.parametrize("solver", SOLVERS)
def test_implicit_gradient_equals_unrolled_conv(solver, generator):
    fmap = ConvMap(4, generator)
    x = torch.randn(3, 1, 6, 6, dtype=torch.float64, generator=generator, requires_grad=True)
    z0 = torch.zeros(3, 4, 6, 6, dtype=torch.float64)
    deq = hadeq.DEQ(solver=solver, solver_options=TIGHT, backward_solver=solver,
                    backward_options=TIGHT)
    params = [*fmap.parameters(), x]
    for got, want in zip(deq_grads(deq, fmap, x, z0, params),
                         unrolled_grads(fmap, x, z0, params, steps=300), strict=True):
        assert rel_err(got, want) <= 1e-6


def test_gradcheck_implicit(generator):
    fmap = DenseMap(5, 3, 0.6, generator)
    deq = hadeq.DEQ(solver_options=TIGHT, backward_options=TIGHT)

    def layer(x, W):
        f = hadeq.batched(lambda z, x: torch.tanh(z @ W.T + x @ fmap.U.T + fmap.b), x)
        return deq(f, torch.zeros(x.shape[0], 5, dtype=torch.float64))[0]

    x = torch.randn(2, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    W = fmap.W.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(layer, (x, W), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_matches_torchdeq_implicit_backward(generator):
    # torchdeq is a dev dependency: a missing install must fail, not skip.
    import torchdeq
    fmap = DenseMap(20, 8, 0.8, generator)
    x = torch.randn(5, 8, dtype=torch.float64, generator=generator, requires_grad=True)
    z0 = torch.zeros(5, 20, dtype=torch.float64)
    params = [*fmap.parameters(), x]
    ours = deq_grads(hadeq.DEQ(solver_options=TIGHT, backward_options=TIGHT), fmap, x, z0, params)

    reference = torchdeq.get_deq(ift=True, f_solver="anderson", f_max_iter=200, f_tol=1e-13,
                                 b_solver="anderson", b_max_iter=200, b_tol=1e-13)
    zs, _ = reference(lambda z: fmap(z, x), z0)
    loss = (zs[-1] * torch.linspace(-1, 1, 20, dtype=torch.float64)).sum()
    theirs = torch.autograd.grad(loss, params)
    for got, want in zip(ours, theirs, strict=True):
        assert rel_err(got, want) <= 1e-6


@pytest.mark.parametrize("mode", ["phantom", "jfb"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_approximate_gradients_are_descent_directions(mode, seed):
    generator = torch.Generator().manual_seed(seed)
    fmap = DenseMap(16, 6, 0.7, generator)
    x = torch.randn(8, 6, dtype=torch.float64, generator=generator)
    z0 = torch.zeros(8, 16, dtype=torch.float64)
    params = list(fmap.parameters())
    exact = deq_grads(hadeq.DEQ(solver_options=TIGHT, backward_options=TIGHT), fmap, x, z0, params)
    approx = deq_grads(hadeq.DEQ(solver_options=TIGHT, backward=mode, phantom_steps=5),
                       fmap, x, z0, params)
    inner = sum(float((a * e).sum()) for a, e in zip(approx, exact, strict=True))
    assert inner > 0
    # and the approximation is not the exact gradient itself
    assert max(rel_err(a, e) for a, e in zip(approx, exact, strict=True)) > 1e-4


def test_output_value_is_the_fixed_point_in_every_mode(generator):
    fmap = DenseMap(10, 4, 0.6, generator)
    x = torch.randn(3, 4, dtype=torch.float64, generator=generator)
    z0 = torch.zeros(3, 10, dtype=torch.float64)
    with torch.no_grad():
        reference, _ = hadeq.solve(fmap.bind(x), z0, **TIGHT)
    for mode in ["implicit", "phantom", "jfb"]:
        z, _ = hadeq.DEQ(solver_options=TIGHT, backward=mode)(fmap.bind(x), z0)
        assert z.requires_grad
        torch.testing.assert_close(z, reference, rtol=0, atol=1e-12)


def test_proxy_is_differentiated_while_f_is_solved(generator):
    """Physics-aware use: solve a perturbed map, differentiate the clean one at its z*."""
    fmap = DenseMap(12, 5, 0.6, generator)
    x = torch.randn(4, 5, dtype=torch.float64, generator=generator)
    z0 = torch.zeros(4, 12, dtype=torch.float64)
    offset = 0.05 * torch.randn(12, dtype=torch.float64, generator=generator)
    hardware = hadeq.batched(lambda z, x: fmap(z, x) + offset, x)
    deq = hadeq.DEQ(solver_options=TIGHT, backward_options=TIGHT)
    z, _ = deq(hardware, z0, proxy=fmap.bind(x))
    with torch.no_grad():
        z_hw, _ = hadeq.solve(hardware, z0, **TIGHT)
    torch.testing.assert_close(z, z_hw, rtol=0, atol=1e-12)
    (g_w,) = torch.autograd.grad(z.sum(), [fmap.W])
    # Reference: implicit gradient of the clean map at z_hw, by the explicit formula
    # dL/dW = (diag(s)ᵀ g) z*ᵀ with g = (I − Jᵀ)⁻¹ 1 and J = diag(s) W, s = 1 − f(z*)².
    expected = torch.zeros_like(g_w)
    for zi, xi in zip(z_hw, x, strict=True):
        s = 1 - fmap(zi[None], xi[None])[0].detach() ** 2
        J = s[:, None] * fmap.W.detach()
        eye, ones = torch.eye(12, dtype=torch.float64), torch.ones(12, dtype=torch.float64)
        g = torch.linalg.solve(eye - J.T, ones)
        expected += torch.outer(s * g, zi)
    torch.testing.assert_close(g_w, expected, rtol=1e-8, atol=1e-10)


def test_implicit_backward_memory_does_not_grow_with_forward_iterations(generator):
    """The graph kept for backward is one evaluation of f, whatever the iteration count."""
    fmap = DenseMap(16, 4, 0.95, generator)
    x = torch.randn(4, 4, dtype=torch.float64, generator=generator)
    z0 = torch.zeros(4, 16, dtype=torch.float64)
    saved = {}
    for iters in (5, 200):
        deq = hadeq.DEQ(solver="picard", solver_options={"max_iter": iters, "tol": 1e-14},
                        warn_unconverged=False)
        count = 0

        def pack(t):
            nonlocal count
            count += 1
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            deq(fmap.bind(x), z0)
        saved[iters] = count
    assert saved[5] == saved[200]
