"""The compiled CPU Anderson step against its torch definition."""

from __future__ import annotations

import pytest
import torch

from hadeq.solvers import Anderson, IterateOptions, compiled, iterate


def _steps(solver: Anderson, dtype: torch.dtype, enabled: bool, monkeypatch,
           steps: int = 9) -> list[torch.Tensor]:
    """The iterates of ``steps`` Anderson steps on a contractive tanh map, with the kernel
    switched on or off; every step starts from the same inputs (the torch iterates)."""
    gen = torch.Generator().manual_seed(0)
    d = 48
    w = torch.randn(d, d, generator=gen, dtype=torch.float64)
    w = (0.9 * w / torch.linalg.matrix_norm(w, 2)).to(dtype)
    x = torch.randn(20, d, generator=gen, dtype=dtype)

    def f(z):
        return torch.tanh(z @ w.T + x)

    monkeypatch.setattr(compiled, "ENABLED", False)
    z = torch.zeros(20, d, dtype=dtype)
    inputs, state = [], solver.init(z, f(z))
    for k in range(steps):  # the torch iterates give every step's inputs
        inputs.append((z, {n: t.clone() for n, t in state.items()}))
        z, state = solver.step(state, z, f(z), k)
    monkeypatch.setattr(compiled, "ENABLED", enabled)
    return [solver.step(s, z_k, f(z_k), k)[0] for k, (z_k, s) in enumerate(inputs)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mixing", [1.0, 0.7, 0.3])
def test_the_compiled_step_gives_the_torch_iterates(dtype, mixing, monkeypatch):
    solver = Anderson(history=4, mixing=mixing)
    assert compiled.applies(torch.zeros(2, 3, dtype=dtype))
    expected = _steps(solver, dtype, False, monkeypatch)
    got = _steps(solver, dtype, True, monkeypatch)
    # The small system is solved in float64 by the kernel, in the dtype by torch.
    tol = 1e-12 if dtype == torch.float64 else 2e-5
    for k, (a, b) in enumerate(zip(got, expected, strict=True)):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol, msg=f"step {k}")
    if mixing == 1.0:  # the first step is exactly f(z0), in both
        assert torch.equal(got[0], expected[0])


def test_a_singular_system_falls_back_to_the_picard_step(monkeypatch):
    # Without a ridge, two equal residual slots make GGᵀ singular: both forms take
    # the newest f(z) for that sample.
    solver = Anderson(history=3, ridge=0.0)
    z = torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=torch.float64)
    fz = torch.tensor([[1.0, 0.5], [1.5, 0.0]], dtype=torch.float64)
    for enabled in (False, True):
        monkeypatch.setattr(compiled, "ENABLED", enabled)
        state = solver.init(z, fz)
        _, state = solver.step(state, z, fz, 0)
        out, _ = solver.step(state, z, fz, 1)  # the same residual again
        assert torch.equal(out, fz)


def test_iterate_converges_to_the_same_fixed_point_either_way(monkeypatch):
    gen = torch.Generator().manual_seed(1)
    w = torch.randn(64, 64, generator=gen)
    w = 0.95 * w / torch.linalg.matrix_norm(w, 2)
    x = torch.randn(33, 64, generator=gen)
    opts = IterateOptions(tol=1e-6, max_iter=200)
    results = []
    for enabled in (False, True):
        monkeypatch.setattr(compiled, "ENABLED", enabled)
        z, stats = iterate(Anderson(), lambda z: torch.tanh(z @ w.T + x),
                           torch.zeros(33, 64), opts)
        assert bool(stats.converged.all())
        results.append(z)
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=1e-5)


def test_tensors_that_need_a_gradient_take_the_torch_step():
    z = torch.zeros(2, 3, requires_grad=True)
    assert not compiled.applies(z)
    assert not compiled.applies(torch.zeros(2, 3, dtype=torch.float16))
    assert not compiled.applies(torch.zeros(3, 2).t())
