"""Shared fixtures: small random contractive DEQ maps in float64."""

from __future__ import annotations

import pytest
import torch


def pytest_configure(config: pytest.Config) -> None:
    # The tests use small tensors: one thread avoids spin-waiting thread pools, which
    # slow tiny ops by orders of magnitude when the machine is busy.
    torch.set_num_threads(1)


def contractive_matrix(d: int, norm: float, generator: torch.Generator) -> torch.Tensor:
    """A random ``d×d`` matrix with spectral norm exactly ``norm``."""
    w = torch.randn(d, d, dtype=torch.float64, generator=generator)
    return w * (norm / torch.linalg.matrix_norm(w, ord=2))


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(1234)
