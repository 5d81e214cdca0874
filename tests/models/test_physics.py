"""Each physics-informed term: its gradient moves the hardware quantity it targets."""

from __future__ import annotations

import pytest
import torch

import hadeq
from hadeq.deq import DEQConfig
from hadeq.models import HybridDEQ, HybridDEQConfig
from hadeq.training import PhysicsConfig, near_zero_fraction, physics_loss

DEQ_OPTIONS = DEQConfig(solver_options={"tol": 1e-8, "max_iter": 200})


def make_model(margin: float = 0.0) -> HybridDEQ:
    torch.manual_seed(0)
    config = HybridDEQConfig(in_features=8, out_features=3, hidden=24, stem_hidden=None,
                             injection_bits=None, contraction_margin=margin, deq=DEQ_OPTIONS)
    return HybridDEQ(config).double()


def descend(model: HybridDEQ, config: PhysicsConfig, x: torch.Tensor, steps: int, lr: float):
    opt = torch.optim.SGD([model.core.weight], lr=lr)
    for _ in range(steps):
        info = model.forward_with_info(x)
        loss, _ = physics_loss(model, info, config)
        opt.zero_grad()
        loss.backward()
        opt.step()


def jacobian_frobenius_exact(model: HybridDEQ, x: torch.Tensor) -> float:
    with torch.no_grad():
        info = model.forward_with_info(x)
    _, proxy = model.maps(info.u)
    total = 0.0
    for i in range(x.shape[0]):
        row = proxy.restrict(torch.tensor([i]))
        jac = torch.autograd.functional.jacobian(lambda z, f=row: f(z[None])[0], info.z_star[i])
        total += float(jac.square().sum())
    return total / x.shape[0]


X = torch.randn(16, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2


def test_sparsity_term_zeroes_feedback_cells():
    model = make_model()
    before = near_zero_fraction(model.core.weight, 0.05)
    l1_before = float(model.core.weight.detach().abs().mean())
    # Each SGD step moves every cell by lr/576 towards 0 (mean |W| over 24×24 cells).
    descend(model, PhysicsConfig(sparsity=1.0), X, steps=60, lr=0.5)
    assert float(model.core.weight.abs().mean()) < 0.7 * l1_before
    assert near_zero_fraction(model.core.weight, 0.05) > before + 0.05


def test_group_sparsity_shrinks_whole_rows():
    model = make_model()
    norms_before = torch.linalg.vector_norm(model.core.weight.detach(), dim=1)
    descend(model, PhysicsConfig(sparsity=1.0, sparsity_kind="group_l1"), X, steps=30, lr=0.05)
    norms_after = torch.linalg.vector_norm(model.core.weight.detach(), dim=1)
    assert bool((norms_after < norms_before).all())


def test_contraction_term_pulls_the_spectral_norm_under_the_margin():
    model = make_model()
    with torch.no_grad():
        model.core.weight.mul_(1.5 / torch.linalg.matrix_norm(model.core.weight, ord=2))
    config = PhysicsConfig(contraction=1.0, contraction_margin=0.2)
    descend(model, config, X * 0, steps=1, lr=0.0)  # the loss is active above 0.8
    norm = lambda: float(torch.linalg.matrix_norm(model.core.weight.detach(), ord=2))  # noqa: E731
    before = norm()
    for _ in range(60):
        w = model.core.weight
        loss, _ = physics_loss(model, model.forward_with_info(X), config)
        (grad,) = torch.autograd.grad(loss, [w])
        with torch.no_grad():
            w.sub_(0.5 * grad)
    assert before == pytest.approx(1.5, abs=1e-6)
    assert norm() < 0.85


def test_conductance_term_lowers_total_conductance():
    model = make_model()
    w = model.core.weight.detach()
    g_before = float(w.abs().sum() / w.abs().max())
    descend(model, PhysicsConfig(conductance=1e-3), X, steps=10, lr=0.01)
    w = model.core.weight.detach()
    assert float(w.abs().sum() / w.abs().max()) < 0.9 * g_before


def test_settling_term_shrinks_the_jacobian_and_the_iterations():
    model = make_model()
    with torch.no_grad():
        model.core.weight.mul_(0.9 / torch.linalg.matrix_norm(model.core.weight, ord=2))
    jac_before = jacobian_frobenius_exact(model, X)
    with torch.no_grad():
        iters_before = float(model.forward_with_info(X).stats.iterations.float().mean())
    descend(model, PhysicsConfig(settling=1.0, settling_samples=4), X, steps=30, lr=0.05)
    assert jacobian_frobenius_exact(model, X) < 0.7 * jac_before
    with torch.no_grad():
        iters_after = float(model.forward_with_info(X).stats.iterations.float().mean())
    assert iters_after < iters_before


def test_inactive_terms_cost_nothing_and_bad_weights_are_named():
    model = make_model()
    info = model.forward_with_info(X)
    loss, report = physics_loss(model, info, PhysicsConfig())
    assert float(loss) == 0.0 and set(report) == {"physics/near_zero_fraction", "physics/total"}
    with pytest.raises(hadeq.ConfigError, match="sparsity=-1"):
        PhysicsConfig(sparsity=-1)
    with pytest.raises(hadeq.ConfigError, match="sparsity_kind='l2'"):
        PhysicsConfig(sparsity_kind="l2")
