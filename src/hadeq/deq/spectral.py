"""Keeping a linear map contractive: ``‖W‖₂ ≤ 1 − margin``."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from hadeq.errors import ConfigError
from hadeq.validation import check_choice, check_int, check_range


class _NormBound(nn.Module):
    """The parametrisation behind :func:`contractive`:
    ``W ↦ W · min(1, (1 − margin) / σ_max(W))``."""

    def __init__(
        self, weight: Tensor, margin: float = 0.05, exact: bool = False, power_iterations: int = 1
    ) -> None:
        super().__init__()
        check_range("margin", margin, 0.0, 1.0, high_open=True)
        check_choice("exact", exact, (True, False))
        check_int("power_iterations", power_iterations, 1, 1000)
        if weight.dim() < 2:
            raise ConfigError("weight.shape", tuple(weight.shape), "2 or more dimensions")
        self.margin = margin
        self.exact = exact
        self.power_iterations = power_iterations
        matrix = weight.detach().reshape(weight.shape[0], -1)
        u = torch.randn(matrix.shape[0], dtype=weight.dtype, device=weight.device)
        v = torch.randn(matrix.shape[1], dtype=weight.dtype, device=weight.device)
        self.register_buffer("_u", u / u.norm())
        self.register_buffer("_v", v / v.norm())
        # Start the persistent vectors close to the top singular pair.
        self._power(matrix, 15)

    @torch.no_grad()
    def _power(self, matrix: Tensor, steps: int) -> None:
        for _ in range(steps):
            self._v.copy_(nn.functional.normalize(matrix.T @ self._u, dim=0))
            self._u.copy_(nn.functional.normalize(matrix @ self._v, dim=0))

    def sigma_max(self, weight: Tensor) -> Tensor:
        matrix = weight.reshape(weight.shape[0], -1)
        if self.exact:
            return torch.linalg.matrix_norm(matrix, ord=2)
        if self.training:
            self._power(matrix.detach(), self.power_iterations)
        return torch.dot(self._u, matrix @ self._v)

    def forward(self, weight: Tensor) -> Tensor:
        bound = 1.0 - self.margin
        scale = torch.clamp(bound / self.sigma_max(weight).clamp_min(1e-12), max=1.0)
        return weight * scale


def contractive(
    module: nn.Module,
    name: str = "weight",
    margin: float = 0.05,
    exact: bool = False,
    power_iterations: int = 1,
) -> nn.Module:
    """Parametrise ``module.<name>`` as ``W · min(1, (1 − margin) / σ_max(W))`` and return
    ``module``.

    A weight already inside the ball ``‖W‖₂ ≤ 1 − margin`` is left untouched; one outside
    is scaled back to its boundary. With a 1-Lipschitz activation (tanh, ReLU) the map
    ``z ↦ σ(Wz + u)`` is then a ``(1 − margin)``-contraction, so the DEQ has a unique
    fixed point that plain iteration reaches. ``σ_max`` is computed exactly (SVD) when
    ``exact`` is true, else by ``power_iterations`` steps of power iteration per training
    forward with persistent vectors (as ``torch.nn.utils.spectral_norm``), which
    under-estimates ``σ_max`` until it has converged: use ``exact`` when the guarantee
    matters.
    """
    weight = getattr(module, name)
    parametrize.register_parametrization(
        module, name, _NormBound(weight, margin, exact, power_iterations)
    )
    return module
