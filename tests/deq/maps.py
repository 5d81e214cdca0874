"""Test maps ``f(z) = tanh(W z + U x + b)`` and a small convolutional one."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hadeq.solvers import BatchedMap, batched
from tests.conftest import contractive_matrix


class DenseMap(nn.Module):
    """``z ↦ tanh(W z + U x + b)`` with ``‖W‖₂ = norm`` (a contraction for norm < 1)."""

    def __init__(self, d: int, d_in: int, norm: float, generator: torch.Generator):
        super().__init__()
        self.W = nn.Parameter(contractive_matrix(d, norm, generator))
        u = torch.randn(d, d_in, dtype=torch.float64, generator=generator)
        self.U = nn.Parameter(u / d_in**0.5)
        self.b = nn.Parameter(0.1 * torch.randn(d, dtype=torch.float64, generator=generator))

    def forward(self, z: Tensor, x: Tensor) -> Tensor:
        return torch.tanh(z @ self.W.T + x @ self.U.T + self.b)

    def bind(self, x: Tensor) -> BatchedMap:
        return batched(self, x)


class ConvMap(nn.Module):
    """``z ↦ tanh(conv(z) + conv_in(x))`` on ``(B, C, H, W)`` with a contractive kernel."""

    def __init__(self, channels: int, generator: torch.Generator, norm: float = 0.7):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=True).double()
        self.inject = nn.Conv2d(1, channels, 3, padding=1, bias=False).double()
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, dtype=torch.float64, generator=generator) * 0.3)
            # ‖conv‖₂ ≤ Σ_taps ‖K_tap‖₂ ≤ 3‖K‖_F (Cauchy–Schwarz over the 9 taps), so
            # ‖K‖_F = norm/3 makes the convolution a contraction with constant ≤ norm.
            k = self.conv.weight
            k.mul_(norm / (3.0 * torch.linalg.vector_norm(k)))

    def forward(self, z: Tensor, x: Tensor) -> Tensor:
        return torch.tanh(self.conv(z) + self.inject(x))
