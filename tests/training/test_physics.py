"""Each physics-informed term: its gradient moves the hardware quantity it targets."""

from __future__ import annotations

import pytest
import torch

import hadeq
from hadeq.deq import DEQConfig
from hadeq.models import ConvHybridDEQ, ConvHybridDEQConfig, HybridDEQ, HybridDEQConfig
from hadeq.training import PhysicsConfig, near_zero_fraction, physics_loss
from hadeq.training.physics import conductance_term, local_contraction

DEQ_OPTIONS = DEQConfig(solver_options={"tol": 1e-8, "max_iter": 200})


def make_model(margin: float = 0.0) -> HybridDEQ:
    torch.manual_seed(0)
    # No injection gain: these tests set the injections' scale (and so σ′) through x.
    config = HybridDEQConfig(in_features=8, out_features=3, hidden=24, stem_hidden=None,
                             injection_bits=None, injection_rms=None,
                             contraction_margin=margin, deq=DEQ_OPTIONS)
    return HybridDEQ(config).double()


def descend(model: HybridDEQ, config: PhysicsConfig, x: torch.Tensor, steps: int, lr: float,
            project: bool = False):
    """SGD on the core weight with the physics loss alone (``project``: and the model's
    contraction projection after every step, as the trainer does)."""
    opt = torch.optim.SGD([model.core.weight], lr=lr)
    for _ in range(steps):
        info = model.forward_with_info(x)
        loss, _ = physics_loss(model, info, config)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if project:
            model.project_contractive_()


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
    assert float(model.core.weight.detach().abs().mean()) < 0.7 * l1_before
    assert near_zero_fraction(model.core.weight, 0.05) > before + 0.05


def test_group_sparsity_shrinks_whole_rows():
    model = make_model()
    norms_before = torch.linalg.vector_norm(model.core.weight.detach(), dim=1)
    descend(model, PhysicsConfig(sparsity=1.0, sparsity_kind="group_l1"), X, steps=30, lr=0.05)
    norms_after = torch.linalg.vector_norm(model.core.weight.detach(), dim=1)
    assert bool((norms_after < norms_before).all())


def exact_local_norms(model: HybridDEQ, x: torch.Tensor) -> torch.Tensor:
    """``‖diag(σ′(W z* + u + b))·W‖₂`` per sample by ``torch.linalg`` at the fixed point
    (the weight keeps its graph; ``z*`` and ``u`` do not)."""
    with torch.no_grad():
        info = model.forward_with_info(x)
    w, b = model.core.weight, model.core.bias
    slope = 1 - torch.tanh(info.z_star @ w.T + b + info.u) ** 2
    return torch.linalg.matrix_norm(slope[:, :, None] * w, ord=2)


def test_local_contraction_is_the_jacobian_norm_at_the_fixed_point_with_its_gradient():
    model = make_model()
    with torch.no_grad():
        info = model.forward_with_info(X)
    _, proxy = model.maps(info.u)
    exact = exact_local_norms(model, X)
    # The default few steps on a random core: a lower estimate, within 20 %.
    short = local_contraction(proxy, info.z_star, PhysicsConfig().contraction_iterations)
    assert bool((short <= exact * (1 + 1e-9)).all())
    assert float(short.detach().mean()) > 0.8 * float(exact.detach().mean())
    # Converged (a core with a clear top singular value): the value and its gradient.
    with torch.no_grad():
        g = torch.Generator().manual_seed(4)
        u, v = (torch.randn(24, 1, generator=g, dtype=torch.float64) for _ in range(2))
        w = 0.6 * u @ v.T / (u.norm() * v.norm()) + 0.02 * torch.randn(
            24, 24, generator=g, dtype=torch.float64)
        model.core.weight.copy_(w)
        info = model.forward_with_info(X)
    _, proxy = model.maps(info.u)
    exact = exact_local_norms(model, X)
    (grad_exact,) = torch.autograd.grad(exact.sum(), [model.core.weight])
    converged = local_contraction(proxy, info.z_star, iterations=200)
    (grad,) = torch.autograd.grad(converged.sum(), [model.core.weight])
    assert converged.detach() == pytest.approx(exact.detach(), rel=1e-9)
    assert grad == pytest.approx(grad_exact, rel=1e-6, abs=1e-12)


def test_contraction_acts_where_the_projection_caps_the_weights():
    """With ‖W‖₂ held at 1 − margin by the projection, a penalty on ‖W‖₂ is 0; the local
    contraction at z* is not, and its penalty lowers it below the projection's cap."""
    model = make_model(margin=0.1)
    with torch.no_grad():
        model.core.weight.mul_(2.0 / torch.linalg.matrix_norm(model.core.weight, ord=2))
    model.project_contractive_()
    norm = float(torch.linalg.matrix_norm(model.core.weight.detach(), ord=2))
    x = X * 0.25  # small injections: unsaturated neurons, σ′ ≈ 1
    config = PhysicsConfig(contraction=1.0, contraction_target=0.5, contraction_iterations=30)
    before = exact_local_norms(model, x).detach()
    info = model.forward_with_info(x)
    loss, report = physics_loss(model, info, config)
    assert norm == pytest.approx(0.9, rel=1e-9)
    assert float(torch.relu(torch.tensor(norm) - 0.9) ** 2) == 0.0  # the old term
    # 30 power-iteration steps: within 1 % below the exact norm.
    assert report["physics/local_contraction"] == pytest.approx(float(before.mean()), rel=1e-2)
    assert report["physics/local_contraction"] <= float(before.mean())
    expected = float((torch.relu(before - 0.5) ** 2).mean())
    assert float(loss.detach()) == pytest.approx(expected, rel=3e-2) and expected > 0.05
    with torch.no_grad():
        iters_before = float(model.forward_with_info(x).stats.iterations.float().mean())
    descend(model, config, x, steps=40, lr=0.5, project=True)
    after = exact_local_norms(model, x).detach()
    assert float(after.mean()) < 0.6 < float(before.mean()) - 0.2
    with torch.no_grad():
        iters_after = float(model.forward_with_info(x).stats.iterations.float().mean())
    assert iters_after < iters_before


def spectral_model() -> ConvHybridDEQ:
    torch.manual_seed(0)
    config = ConvHybridDEQConfig(in_channels=1, out_features=1, channels=2, stem_hidden=None,
                                 spectral_modes=2, injection_bits=None, deq=DEQ_OPTIONS)
    return ConvHybridDEQ(config).double()


def test_every_term_covers_the_spectral_path():
    """Sparsity, conductance and near-zero cells count the spectral path's cells (each
    layer at its own full scale); the contraction is the whole loop map's Jacobian."""
    model = spectral_model()
    x = torch.randn(2, 1, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    kernel, modes = model.core.weight, model.spectral.weight

    def by_hand() -> tuple[float, float]:
        k, r = kernel.detach().abs(), modes.detach().abs()
        l1 = float((k.sum() + r.sum()) / (k.numel() + r.numel()))
        return l1, 25.0 * float(k.sum() / k.max() + r.sum() / r.max())

    def exact_norms() -> torch.Tensor:
        with torch.no_grad():
            info = model.forward_with_info(x)
        _, proxy = model.maps(info.u)
        norms = []
        for i in range(x.shape[0]):
            row = proxy.restrict(torch.tensor([i]))
            jac = torch.autograd.functional.jacobian(lambda z, f=row: f(z[None])[0],
                                                     info.z_star[i])
            norms.append(torch.linalg.matrix_norm(jac.reshape(50, 50), ord=2))
        return torch.stack(norms)

    def terms() -> tuple[float, float, float, torch.Tensor]:
        info = model.forward_with_info(x)
        _, proxy = model.maps(info.u)
        local = local_contraction(proxy, info.z_star, iterations=300).detach()
        _, report = physics_loss(model, info, PhysicsConfig(sparsity=1.0, conductance=1.0))
        return (report["physics/sparsity"], report["physics/conductance"],
                report["physics/near_zero_fraction"], local)

    sparsity, conductance, near_zero, local = terms()
    assert (sparsity, conductance) == pytest.approx(by_hand(), rel=1e-12)
    assert local == pytest.approx(exact_norms(), rel=1e-5)
    with torch.no_grad():  # only the spectral path changes: half its cells off, rest × 3
        modes[:, :, :, 0] = 0.0
        modes.mul_(3.0)
    sparsity2, conductance2, near_zero2, local2 = terms()
    assert (sparsity2, conductance2) == pytest.approx(by_hand(), rel=1e-12)
    assert sparsity2 != pytest.approx(sparsity, rel=1e-3)
    assert conductance2 < conductance - 1.0  # half the spectral cells draw nothing
    assert near_zero2 == pytest.approx(near_zero + 8 / (2 * 2 * 9 + 2 * 2 * 2 * 2))
    assert local2 == pytest.approx(exact_norms(), rel=1e-5)
    assert not torch.allclose(local2, local, rtol=1e-3)


def test_conductance_term_lowers_total_conductance():
    model = make_model()
    w = model.core.weight.detach()
    g_before = float(w.abs().sum() / w.abs().max())
    # What the chip draws does not depend on the weights' scale, nor does the term: its
    # gradient is orthogonal to W (Euler: a degree-0 homogeneous function).
    term = conductance_term([model.core])
    (grad,) = torch.autograd.grad(term, [model.core.weight])
    assert float(term) == pytest.approx(25.0 * g_before, rel=1e-12)
    assert float((grad * w).sum()) == pytest.approx(0.0, abs=1e-9 * float(term))
    with torch.no_grad():
        model.core.weight.mul_(0.3)
    assert float(conductance_term([model.core])) == pytest.approx(float(term), rel=1e-12)
    with torch.no_grad():
        model.core.weight.div_(0.3)
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
    with pytest.raises(hadeq.ConfigError, match="contraction_target=1"):
        PhysicsConfig(contraction_target=1.0)
