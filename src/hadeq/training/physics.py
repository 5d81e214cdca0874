"""Physics-informed regularisation ``L_total = L_task + Σ_k λ_k · L_k``.

Each term keeps the analog core hardware-friendly and has its own switch (a weight of
0 turns it off) and weight:

* ``sparsity`` — feedback sparsity, ``mean |W|`` (L1) or ``mean_i ‖W_i,:‖₂`` (group L1
  over rows, i.e. whole crossbar rows that can be left unprogrammed);
* ``contraction`` — ``relu(‖W‖₂·Lip(σ) − (1 − margin))²`` with ``‖W‖₂`` estimated by
  power iteration: a soft version of the model's hard projection;
* ``conductance`` — conductance/power budget, ``Σ|W| / max|W| · g_max`` in µS: the total
  conductance the differential pairs draw (with ``g_min = 0``), proportional to the
  crossbar's static read power ``V²·ΣG``;
* ``settling`` — ``‖J_f(z*)‖²_F`` (Hutchinson estimate) of the differentiable proxy:
  small Jacobians mean fast settling and few solver iterations (Bai et al. 2021).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from hadeq.deq import jacobian_frobenius_sq
from hadeq.models import HybridDEQ, ModelOutput
from hadeq.validation import check_choice, check_int, check_range


@dataclass(frozen=True)
class PhysicsConfig:
    """Weights and settings of the physics-informed loss terms (0 turns a term off)."""

    sparsity: float = 0.0
    """λ of the feedback-sparsity term."""

    sparsity_kind: Literal["l1", "group_l1"] = "l1"
    """``l1``: every cell; ``group_l1``: whole rows of W."""

    sparsity_threshold: float = 0.01
    """A cell counts as near zero when ``|W_ij| ≤ threshold · max|W|`` (for reporting)."""

    contraction: float = 0.0
    """λ of the contraction-margin penalty."""

    contraction_margin: float = 0.1
    """The penalty starts at ``‖W‖₂·Lip(σ) = 1 − margin``."""

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
        check_range("contraction_margin", self.contraction_margin, 0.0, 1.0, high_open=True)
        check_int("settling_samples", self.settling_samples, 1, 64)

    @property
    def active(self) -> bool:
        return any(getattr(self, n) > 0 for n in ("sparsity", "contraction", "conductance",
                                                  "settling"))


def sparsity_term(w: Tensor, kind: str = "l1") -> Tensor:
    """``mean |W|`` (``l1``) or the mean row norm (``group_l1``)."""
    if kind == "l1":
        return w.abs().mean()
    return torch.linalg.vector_norm(w, dim=1).mean()


def near_zero_fraction(w: Tensor, threshold: float) -> float:
    """Fraction of cells with ``|W_ij| ≤ threshold · max|W|``."""
    w = w.detach()
    return float((w.abs() <= threshold * w.abs().max()).float().mean())


def spectral_norm_estimate(w: Tensor, iterations: int = 30) -> Tensor:
    """Differentiable ``‖W‖₂`` as ``uᵀWv`` with the top singular pair from power iteration
    (the pair is detached, so the gradient is ``u vᵀ``, the gradient of σ_max)."""
    with torch.no_grad():
        v = torch.ones(w.shape[1], dtype=w.dtype, device=w.device) / w.shape[1] ** 0.5
        for _ in range(iterations):
            u = torch.nn.functional.normalize(w @ v, dim=0)
            v = torch.nn.functional.normalize(w.T @ u, dim=0)
    return u @ w @ v


def contraction_term(w: Tensor, margin: float, lipschitz: float = 1.0) -> Tensor:
    """``relu(‖W‖₂·Lip(σ) − (1 − margin))²``."""
    return torch.relu(spectral_norm_estimate(w) * lipschitz - (1.0 - margin)) ** 2


def conductance_term(w: Tensor, g_max_us: float) -> Tensor:
    """Total conductance of the differential pairs in µS, ``Σ|W| / max|W| · g_max``."""
    return w.abs().sum() / w.detach().abs().max().clamp_min(1e-12) * g_max_us


def physics_loss(
    model: HybridDEQ, info: ModelOutput, config: PhysicsConfig
) -> tuple[Tensor, dict[str, float]]:
    """``Σ_k λ_k L_k`` for the model's core and this batch's equilibrium, plus a report.

    The report has every term's value (also the inactive ones, for logging) and the
    fraction of near-zero feedback cells.
    """
    w = model.core.weight
    zero = w.new_zeros(())
    terms: dict[str, Tensor] = {}
    total = zero
    if config.sparsity > 0:
        terms["sparsity"] = sparsity_term(w, config.sparsity_kind)
        total = total + config.sparsity * terms["sparsity"]
    if config.contraction > 0:
        terms["contraction"] = contraction_term(w, config.contraction_margin)
        total = total + config.contraction * terms["contraction"]
    if config.conductance > 0:
        terms["conductance"] = conductance_term(w, model.hardware.g_max_us)
        total = total + config.conductance * terms["conductance"]
    if config.settling > 0:
        assert info.u is not None and info.z_star is not None  # a hybrid DEQ's output
        _, proxy = model.maps(info.u)
        frob = jacobian_frobenius_sq(proxy, info.z_star.detach(), config.settling_samples)
        terms["settling"] = frob.mean()
        total = total + config.settling * terms["settling"]
    report = {f"physics/{k}": float(v.detach()) for k, v in terms.items()}
    report["physics/near_zero_fraction"] = near_zero_fraction(w, config.sparsity_threshold)
    report["physics/total"] = float(total.detach())
    return total, report
