"""Physics-informed regularisation ``L_total = L_task + Σ_k λ_k · L_k``.

Each term keeps the analog loop hardware-friendly, acts on *every* analog layer inside the
loop (``model.loop_layers()``: the core and, in a
:class:`~hadeq.models.ConvHybridDEQ` with ``spectral_modes > 0``, the spectral path) and
has its own switch (a weight of 0 turns it off) and weight:

* ``sparsity`` — feedback sparsity over all loop cells: ``Σ|W| / #cells`` (L1) or the mean
  row norm ``mean_i ‖W_i,:‖₂`` over every layer's ``(out, in)`` crossbar matrix (group
  L1: whole rows that can be left unprogrammed);
* ``contraction`` — the *local* contraction of the loop at its equilibrium,
  ``L* = ‖J*‖₂`` with ``J* = ∂f/∂z(z*)`` the Jacobian of the model's differentiable proxy
  map (a dense core: ``diag(σ′(W z* + u + b))·W``; a conv core with a spectral path: the
  whole loop map's), estimated per sample by power iteration
  (:func:`local_contraction`); the penalty is ``mean_b relu(L*_b − target)²``. The
  model's projection caps ``‖W‖₂ ≤ 1 − margin``, hence ``L* ≤ 1 − margin`` (σ is
  1-Lipschitz), but not ``L*`` itself, which also depends on how far the neurons
  saturate at ``z*``. ``L*`` sets the final approach of both the digital iteration
  (the error shrinks by ``L*`` per step) and the analog loop (it decays like
  ``exp(−(1 − L*)·t/τ)``): the default target 0.3 asks for one e-fold per 1.4τ, so the
  final approach to half an 8-bit ADC LSB (ln 512 ≈ 6.2 e-folds) takes ≈ 9τ, against
  62τ at the projection's 0.9;
* ``conductance`` — the conductance the loop's differential pairs draw (``g_min = 0``),
  ``Σ_l Σ_ij |W_ij| / w_scale · g_max`` in µS with each layer's own full scale
  ``w_scale = max|W|`` (per layer or per output, as its hardware programs it, and kept
  in the gradient): one copy of every loop layer's programmed matrix, proportional to
  the crossbar's static read power ``V²·ΣG`` (a conv kernel, laid out once per output
  position, counts once). It is scale-invariant, as the chip is: only thinning the
  cells relative to the largest lowers it;
* ``settling`` — ``‖J*‖²_F`` (Hutchinson estimate) of the differentiable proxy:
  small Jacobians mean fast settling and few solver iterations (Bai et al. 2021).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from hadeq.analog import AnalogMVM
from hadeq.analog.config import WeightScale
from hadeq.deq import jacobian_frobenius_sq
from hadeq.models import AnalogCoreDEQ, ModelOutput
from hadeq.validation import check_choice, check_int, check_range

Map = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class PhysicsConfig:
    """Weights and settings of the physics-informed loss terms (0 turns a term off)."""

    sparsity: float = 0.0
    """λ of the feedback-sparsity term."""

    sparsity_kind: Literal["l1", "group_l1"] = "l1"
    """``l1``: every cell; ``group_l1``: whole rows of every loop layer's matrix."""

    sparsity_threshold: float = 0.01
    """A cell counts as near zero when ``|W_ij| ≤ threshold · max|W|`` of its layer (for
    reporting)."""

    contraction: float = 0.0
    """λ of the local-contraction penalty ``relu(‖J*‖₂ − target)²``."""

    contraction_target: float = 0.3
    """The local contraction ``‖J*‖₂`` the penalty allows at the equilibrium, in (0, 1):
    near ``z*`` the loop's error decays like ``exp(−(1 − target)·t/τ)`` (0.3: one e-fold
    per 1.4τ)."""

    contraction_iterations: int = 8
    """Power-iteration steps per batch for ``‖J*‖₂`` (each: one Jacobian-vector and one
    vector-Jacobian product); fewer steps underestimate it."""

    conductance: float = 0.0
    """λ of the conductance budget (per µS)."""

    settling: float = 0.0
    """λ of the Jacobian (settling-speed) term."""

    settling_samples: int = 1
    """Hutchinson probe vectors per sample for the Jacobian term."""

    def __post_init__(self) -> None:
        for name in ("sparsity", "contraction", "conductance", "settling"):
            check_range(name, getattr(self, name), 0.0, None)
        check_choice("sparsity_kind", self.sparsity_kind, ("l1", "group_l1"))
        check_range("sparsity_threshold", self.sparsity_threshold, 0.0, 1.0)
        check_range("contraction_target", self.contraction_target, 0.0, 1.0,
                    low_open=True, high_open=True)
        check_int("contraction_iterations", self.contraction_iterations, 1, 1000)
        check_int("settling_samples", self.settling_samples, 1, 64)

    @property
    def active(self) -> bool:
        return any(getattr(self, n) > 0 for n in ("sparsity", "contraction", "conductance",
                                                  "settling"))


def loop_weights(model: AnalogCoreDEQ) -> list[Tensor]:
    """The ``(out, in)`` crossbar matrix of every analog layer in the model's loop."""
    return [layer.weight_matrix() for layer in model.loop_layers()]


def _as_list(weights: Tensor | Sequence[Tensor]) -> list[Tensor]:
    return [weights] if isinstance(weights, Tensor) else list(weights)


def sparsity_term(weights: Tensor | Sequence[Tensor], kind: str = "l1") -> Tensor:
    """``Σ|W| / #cells`` over all matrices (``l1``) or the mean norm of all their rows
    (``group_l1``)."""
    ws = _as_list(weights)
    if kind == "l1":
        return sum(w.abs().sum() for w in ws) / sum(w.numel() for w in ws)
    return torch.cat([torch.linalg.vector_norm(w, dim=1) for w in ws]).mean()


def near_zero_fraction(weights: Tensor | Sequence[Tensor], threshold: float) -> float:
    """Fraction of cells with ``|W_ij| ≤ threshold · max|W|``, each matrix against its own
    maximum (its layer's full scale)."""
    ws = [w.detach().abs() for w in _as_list(weights)]
    near = sum(int((w <= threshold * w.max()).sum()) for w in ws)
    return near / sum(w.numel() for w in ws)


def spectral_norm_estimate(w: Tensor, iterations: int = 30) -> Tensor:
    """Differentiable ``‖W‖₂`` as ``uᵀWv`` with the top singular pair from power iteration
    (the pair is detached, so the gradient is ``u vᵀ``, the gradient of σ_max)."""
    with torch.no_grad():
        v = torch.ones(w.shape[1], dtype=w.dtype, device=w.device) / w.shape[1] ** 0.5
        for _ in range(iterations):
            u = torch.nn.functional.normalize(w @ v, dim=0)
            v = torch.nn.functional.normalize(w.T @ u, dim=0)
    return u @ w @ v


def _unit(x: Tensor) -> Tensor:
    """``x`` scaled to unit norm per sample (leading dimension)."""
    norm = torch.linalg.vector_norm(x.reshape(x.shape[0], -1), dim=1)
    return x / norm.clamp_min(1e-30).view(-1, *([1] * (x.dim() - 1)))


def local_contraction(f: Map, z_star: Tensor, iterations: int = 8) -> Tensor:
    """Per-sample ``‖J_f(z*)‖₂``, differentiable with respect to what ``f`` depends on
    (the weights), for a map ``f`` acting on each sample separately.

    Power iteration on ``JᵀJ`` from a random start: ``u ← Jv/‖Jv‖``, ``v ← Jᵀu/‖Jᵀu‖``,
    with vector-Jacobian products ``Jᵀu`` from one graph of ``f`` at ``z*`` and
    Jacobian-vector products ``Jv`` as the gradient of the (linear) ``⟨Jᵀp, v⟩`` with
    respect to ``p``. Returns ``uᵀJv = ‖Jv‖ ≤ ‖J‖₂`` with the pair ``(u, v)`` detached, so
    its gradient is that of the largest singular value, ``∂σ_max = uᵀ(∂J)v`` (as
    :func:`spectral_norm_estimate`). Converges at the rate ``(σ₂/σ₁)²`` per step.
    """
    check_int("iterations", iterations, 1, 1000)
    with torch.enable_grad():
        z = z_star.detach().requires_grad_()
        fz = f(z)
        probe = torch.zeros_like(fz, requires_grad=True)
        (jt_probe,) = torch.autograd.grad(fz, z, probe, create_graph=True)

        def jvp(v: Tensor) -> Tensor:
            return torch.autograd.grad(jt_probe, probe, v, retain_graph=True)[0].detach()

        def vjp(u: Tensor, graph: bool = False) -> Tensor:
            return torch.autograd.grad(fz, z, u, retain_graph=True, create_graph=graph)[0]

        v = _unit(torch.randn_like(z))
        for _ in range(iterations):
            v = _unit(vjp(_unit(jvp(v))).detach())
        u = _unit(jvp(v))
        jt_u = vjp(u, graph=True)
    return (jt_u * v).reshape(z.shape[0], -1).sum(dim=1)


def contraction_term(local: Tensor, target: float) -> Tensor:
    """``mean_b relu(L*_b − target)²`` of per-sample local contractions ``L*``
    (:func:`local_contraction`)."""
    return (torch.relu(local - target) ** 2).mean()


def conductance_term(layers: Sequence[AnalogMVM]) -> Tensor:
    """Total conductance of the layers' differential pairs in µS (``g_min = 0``):
    ``Σ_l g_max · Σ_ij |W_ij| / w_scale``, with each layer's full scale ``w_scale = max|W|``
    (of the layer, or of every output row, as its hardware programs it).

    The full scale stays in the gradient: the chip maps a layer's largest weight to
    ``g_max`` whatever its size, so the programmed conductances depend on ``W`` only
    relative to it. The term is scale-invariant: only making the other cells small
    against the largest lowers it (shrinking all of ``W`` does not, and is what the
    ``sparsity`` term does)."""
    total: Tensor | float = 0.0
    for layer in layers:
        w = layer.weight_matrix().abs()
        full = (w.amax() if layer.hardware.weight_scale == WeightScale.LAYER
                else w.amax(dim=1, keepdim=True))
        # A layer without feedback (all zero) draws nothing and has no full scale.
        ratio = torch.where(full > 0, w / full.clamp_min(torch.finfo(w.dtype).tiny), 0.0)
        total = total + ratio.sum() * layer.hardware.g_max_us
    assert isinstance(total, Tensor), "at least one layer is required"
    return total


def physics_loss(
    model: AnalogCoreDEQ, info: ModelOutput, config: PhysicsConfig
) -> tuple[Tensor, dict[str, float]]:
    """``Σ_k λ_k L_k`` over the model's loop layers and this batch's equilibrium, plus a
    report.

    The report has every active term's value, the mean local contraction ``‖J*‖₂`` when
    the contraction term is on, and the fraction of near-zero loop cells.
    """
    weights = loop_weights(model)
    total = weights[0].new_zeros(())
    terms: dict[str, Tensor] = {}
    report: dict[str, float] = {}
    if config.sparsity > 0:
        terms["sparsity"] = sparsity_term(weights, config.sparsity_kind)
        total = total + config.sparsity * terms["sparsity"]
    if config.contraction > 0 or config.settling > 0:
        assert info.u is not None and info.z_star is not None  # a hybrid DEQ's output
        _, proxy = model.maps(info.u)
        if config.contraction > 0:
            local = local_contraction(proxy, info.z_star, config.contraction_iterations)
            report["physics/local_contraction"] = float(local.detach().mean())
            terms["contraction"] = contraction_term(local, config.contraction_target)
            total = total + config.contraction * terms["contraction"]
        if config.settling > 0:
            frob = jacobian_frobenius_sq(proxy, info.z_star.detach(), config.settling_samples)
            terms["settling"] = frob.mean()
            total = total + config.settling * terms["settling"]
    if config.conductance > 0:
        terms["conductance"] = conductance_term(model.loop_layers())
        total = total + config.conductance * terms["conductance"]
    report.update({f"physics/{k}": float(v.detach()) for k, v in terms.items()})
    report["physics/near_zero_fraction"] = near_zero_fraction(weights,
                                                              config.sparsity_threshold)
    report["physics/total"] = float(total.detach())
    return total, report
