"""Estimates of the Jacobian ``J = ∂f/∂z`` at a point, for regularisation and diagnostics.

All functions treat ``f`` as acting on each sample separately (``J`` block-diagonal over
the batch) and return one value per sample.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from hadeq.validation import check_int

Map = Callable[[Tensor], Tensor]


def _per_sample_norm(x: Tensor) -> Tensor:
    return torch.linalg.vector_norm(x.reshape(x.shape[0], -1), dim=1)


def jacobian_frobenius_sq(
    f: Map, z: Tensor, samples: int = 1, create_graph: bool = True, fz: Tensor | None = None
) -> Tensor:
    """Hutchinson estimate of ``‖J_f(z)‖²_F`` per sample.

    For ``v ~ N(0, I)``, ``E‖vᵀJ‖² = tr(JJᵀ) = ‖J‖²_F``; the estimate averages
    ``samples`` draws of ``‖vᵀJ‖²``. With ``create_graph=True`` it is differentiable, so
    ``λ·mean(jacobian_frobenius_sq(f, z*))`` is the Jacobian regulariser of Bai et al.
    (2021) that keeps DEQs fast to solve. Pass ``fz = f(z)`` if it is already computed
    (``z`` must then require grad and ``fz`` depend on it).
    """
    check_int("samples", samples, 1, 10_000)
    if fz is None:
        z = z.detach().requires_grad_()
        fz = f(z)
    total = torch.zeros(z.shape[0], dtype=fz.dtype, device=fz.device)
    for i in range(samples):
        v = torch.randn_like(fz)
        (vjp,) = torch.autograd.grad(
            fz, z, v, create_graph=create_graph, retain_graph=create_graph or i < samples - 1
        )
        total = total + _per_sample_norm(vjp) ** 2
    return total / samples


def jacobian_spectral_norm(f: Map, z: Tensor, iterations: int = 30) -> Tensor:
    """Power-iteration estimate of ``‖J_f(z)‖₂`` per sample (no gradient).

    Iterates ``v ← JᵀJv / ‖JᵀJv‖`` with Jacobian-vector and vector-Jacobian products and
    returns ``‖Jv‖``, a lower estimate that converges to the largest singular value. The
    largest singular value bounds the local Lipschitz constant of ``f``: below 1, the
    map contracts around ``z``.
    """
    check_int("iterations", iterations, 1, 100_000)
    z = z.detach()
    with torch.enable_grad():
        v = torch.randn_like(z)
        v = v / _per_sample_norm(v).clamp_min(1e-30).view(-1, *([1] * (z.dim() - 1)))
        _, vjp_fn = torch.func.vjp(f, z)
        for _ in range(iterations):
            _, jv = torch.func.jvp(f, (z,), (v,))
            (jtjv,) = vjp_fn(jv)
            norm = _per_sample_norm(jtjv).clamp_min(1e-30).view(-1, *([1] * (z.dim() - 1)))
            v = (jtjv / norm).detach()
        _, jv = torch.func.jvp(f, (z,), (v,))
    return _per_sample_norm(jv).detach()


def spectral_radius(f: Map, z: Tensor, iterations: int = 50) -> Tensor:
    """Power-iteration estimate of the spectral radius ``ρ(J_f(z))`` per sample.

    Iterates ``v ← Jv/‖Jv‖`` and returns the geometric mean of the growth ``‖Jv‖`` over
    the second half of the iterations (Gelfand's formula ``ρ = lim ‖Jᵏ‖^{1/k}``): exact in
    the limit when the dominant eigenvalue is simple, and for a dominant complex pair,
    whose one-step growth oscillates around ``ρ``, the mean still tends to ``ρ``.
    ``ρ < 1`` is necessary for local convergence of plain iteration.
    """
    check_int("iterations", iterations, 1, 100_000)
    z = z.detach()
    shape = (-1, *([1] * (z.dim() - 1)))
    log_growth = []
    with torch.enable_grad():
        v = torch.randn_like(z)
        v = v / _per_sample_norm(v).clamp_min(1e-30).view(shape)
        for _ in range(iterations):
            _, jv = torch.func.jvp(f, (z,), (v,))
            growth = _per_sample_norm(jv.detach()).clamp_min(1e-30)
            log_growth.append(growth.log())
            v = jv.detach() / growth.view(shape)
    return torch.stack(log_growth[len(log_growth) // 2:]).mean(dim=0).exp()
