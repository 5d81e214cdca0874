"""ff-EBM: EP gradients against implicit differentiation, training, hardware, configs."""

from __future__ import annotations

import importlib
import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

import hadeq
from hadeq.analog import HardwareConfig
from hadeq.errors import ConfigError
from hadeq.models.ep import ep_gradients, hopfield_energy, rho
from hadeq.models.ffebm import FFEBM, FFEBMConfig

torch.set_num_threads(1)

TIGHT = {"tol": 1e-12, "max_iter": 2000, "stop_mode": "abs"}


def _model(blocks: tuple[int, ...], ff_hidden: int | None, beta: float, steps: int,
           seed: int = 0, **kw: object) -> FFEBM:
    cfg = FFEBMConfig(6, 3, blocks=blocks, ff_hidden=ff_hidden, beta=beta, nudge_steps=steps,
                      injection_bits=None, solver_options=TIGHT, **kw)
    return FFEBM(cfg, seed=seed).double()


def _implicit_grads(model: FFEBM, x: Tensor, y: Tensor) -> dict[str, Tensor]:
    """The same model's gradients by implicit differentiation (hadeq.DEQ, adjoint solve) of
    each block's fixed point ``s* = clip(sym(W)·mask·s* + U h + b)``."""
    deq = hadeq.DEQ(solver="anderson", solver_options=TIGHT, backward="implicit",
                    backward_solver="anderson",
                    backward_options={"tol": 1e-13, "max_iter": 2000, "stop_mode": "abs"})
    params = {name: p.detach().clone().requires_grad_() for name, p in model.named_parameters()}
    h = x
    for k, block in enumerate(model.energy_blocks()):
        for name in (f"ff.{k}.0.weight",):
            if name in params:
                h = F.relu(F.linear(h, params[name], params[f"ff.{k}.0.bias"]))
        u = F.linear(h, params[f"blocks.{k}.input.weight"], params[f"blocks.{k}.input.bias"])
        wp = params[f"blocks.{k}.coupling.weight"]
        n = block.neurons
        mask = 1.0 - torch.eye(n, dtype=wp.dtype)

        def f(s: Tensor, u: Tensor = u, wp: Tensor = wp, mask: Tensor = mask) -> Tensor:
            return (s @ (0.5 * (wp + wp.t()) * mask).t() + u).clamp(-1.0, 1.0)

        h, _ = deq(f, torch.zeros(x.shape[0], n, dtype=x.dtype))
    out = F.linear(h, params["head.weight"], params["head.bias"])
    F.cross_entropy(out, y).backward()
    return {name: p.grad for name, p in params.items()}


def _ep_grads(model: FFEBM, x: Tensor, y: Tensor) -> dict[str, Tensor]:
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return {name: p.grad.clone() for name, p in model.named_parameters()}


def _cosine(a: dict[str, Tensor], b: dict[str, Tensor], names: list[str]) -> float:
    va = torch.cat([a[n].flatten() for n in names])
    vb = torch.cat([b[n].flatten() for n in names])
    return float(F.cosine_similarity(va, vb, dim=0))


@pytest.mark.parametrize(("blocks", "ff_hidden"), [((12,), None), ((10, 8), 7)])
def test_ep_matches_implicit_differentiation_as_beta_goes_to_zero(
        blocks: tuple[int, ...], ff_hidden: int | None) -> None:
    gen = torch.Generator().manual_seed(0)
    x = 1.5 * torch.randn(16, 6, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (16,), generator=gen)
    # T2 large enough for the nudged phases to converge (training default: T2 = 5)
    ref = _implicit_grads(_model(blocks, ff_hidden, 0.01, 400), x, y)
    cos = {}
    for beta in (0.2, 0.05, 0.01):
        model = _model(blocks, ff_hidden, beta, 400)
        ep = _ep_grads(model, x, y)
        energy_params = [n for n in ep if n.startswith("blocks.")]
        cos[beta] = _cosine(ep, ref, energy_params)
        assert _cosine(ep, ref, list(ep)) >= 0.95
        w = ep["blocks.0.coupling.weight"]
        assert torch.equal(w, w.t()) and torch.all(w.diagonal() == 0)
    assert cos[0.01] >= 0.99, cos
    assert cos[0.01] >= cos[0.2] - 1e-9, cos


def test_ep_estimate_is_the_centred_energy_difference() -> None:
    """The closed-form estimate equals (1/2β)[∂E/∂θ(s⁺) − ∂E/∂θ(s⁻)] by autograd on E."""
    gen = torch.Generator().manual_seed(3)
    n, b, beta = 7, 4, 0.1
    w = torch.randn(n, n, generator=gen, dtype=torch.float64)
    w = 0.5 * (w + w.t())
    w.fill_diagonal_(0.0)
    w *= 0.6 / torch.linalg.matrix_norm(w, ord=2)
    u = torch.randn(b, n, generator=gen, dtype=torch.float64)
    s, _ = hadeq.solve(lambda s: rho(s @ w.t() + u, "hardtanh"), torch.zeros(b, n,
                       dtype=torch.float64), **TIGHT)
    g = torch.randn(b, n, generator=gen, dtype=torch.float64)
    gu, gw = ep_gradients(lambda r: r @ w.t(), s, u, g, beta=beta, steps=300,
                          activation="hardtanh", normalize=False)
    s_plus = s
    s_minus = s
    for _ in range(300):
        s_plus = rho(s_plus @ w.t() + u - beta * g, "hardtanh")
        s_minus = rho(s_minus @ w.t() + u + beta * g, "hardtanh")
    wl, ul = w.clone().requires_grad_(), u.clone().requires_grad_()
    diff = (hopfield_energy(s_plus, ul, wl, "hardtanh").sum()
            - hopfield_energy(s_minus, ul, wl, "hardtanh").sum()) / (2 * beta)
    dw, du = torch.autograd.grad(diff, (wl, ul))
    dw = dw.clone()
    dw.fill_diagonal_(0.0)
    torch.testing.assert_close(gu, du)
    torch.testing.assert_close(gw, dw)


def test_ep_gradient_trains_a_tiny_model() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(64, 6, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 0.5).long()
    cfg = FFEBMConfig(6, 3, blocks=(16,), ff_hidden=16)  # β = 0.2, T2 = 5: the defaults
    model = FFEBM(cfg, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    with torch.no_grad():
        first = float(F.cross_entropy(model(x), y))
    for _ in range(40):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.project_contractive_()
    with torch.no_grad():
        last = float(F.cross_entropy(model(x), y))
    assert last < 0.6 * first, (first, last)
    w = model.blocks[0].coupling.weight
    assert torch.allclose(w, w.t()) and torch.all(w.diagonal() == 0)
    assert float(torch.linalg.matrix_norm(w.detach(), ord=2)) <= 0.9 + 1e-6


def test_forward_shapes_ideal_equals_float_and_parameter_count() -> None:
    model = FFEBM(FFEBMConfig(64, 10))
    x = torch.randn(5, 64)
    info = model.forward_with_info(x)
    assert info.output.shape == (5, 10)
    assert [s.shape for s in info.states] == [(5, 64)]
    assert torch.equal(model(x), model.ideal_forward(x))
    # the equilibrium is the Hopfield fixed point s* = clip(W s* + u)
    block = model.blocks[0]
    u = block.injection(model.ff[0](x), False)
    s = info.states[0]
    torch.testing.assert_close(s, rho(block.coupling(s) + u, "hardtanh"), atol=1e-3, rtol=0)
    # as many parameters as a HybridDEQ(hidden 64), less the core bias (b is in U's bias)
    assert sum(p.numel() for p in model.parameters()) == 21_386 - 64
    two = FFEBM(FFEBMConfig(64, 10, blocks=(32, 16), ff_hidden=None))
    assert two(x).shape == (5, 10)


def test_energy_blocks_on_analog_hardware() -> None:
    hw = HardwareConfig.preset("hermes_pcm_8bit")
    model = FFEBM(FFEBMConfig(64, 10, hardware=hw, solver="analog_relaxation",
                              solver_options={"tol": 1e-3, "max_iter": 400}))
    x = torch.randn(8, 64)
    model.train()
    loss = F.cross_entropy(model(x), torch.arange(8) % 10)
    loss.backward()
    w = model.blocks[0].coupling
    assert w.weight.grad is not None and w.weight.grad.abs().sum() > 0
    assert w.hardware.input_bits is None and w.hardware.device_model == "pcm"  # in-loop
    model.eval()
    with torch.no_grad():
        out = model.forward_with_info(x)
    levels = out.states[0] * 127  # 8-bit ADC over [−1, 1]
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    rep = model.energy_report()
    assert rep.kind == "ffebm_hybrid" and rep.total_j > 0 and rep.latency_ns > 0
    assert rep.counts["block0.adc_conversions"] == 64
    snr = model.output_snr_db(x)
    assert 5.0 < snr < 80.0
    model.set_hardware(HardwareConfig())
    assert math.isinf(model.output_snr_db(x))
    with torch.no_grad():
        model(x)
    rep = model.energy_report()
    assert rep.kind == "ffebm_digital" and rep.counts["block0.iterations_mean"] > 1


def test_analog_energy_needs_settling_times() -> None:
    model = FFEBM(FFEBMConfig(64, 10, hardware="hermes_pcm_8bit"))
    with torch.no_grad():
        model(torch.randn(2, 64))
    with pytest.raises(ConfigError, match="settling_time_ns"):
        model.energy_report()
    assert model.energy_report(settling_time_ns=[50.0]).latency_ns > 50.0


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"beta": 0.0}, "beta"),
    ({"nudge_steps": 0}, "nudge_steps"),
    ({"blocks": ()}, "blocks"),
    ({"blocks": (8, 0)}, "blocks"),
    ({"activation": "tanh"}, "activation"),
    ({"ff_hidden": 0}, "ff_hidden"),
    ({"contraction_margin": 1.0}, "contraction_margin"),
    ({"solver": "newton"}, "solver"),
    ({"solver_options": {"tol": -1.0}}, "tol"),
    ({"mode": "ep"}, "mode"),
    ({"injection_bits": 1}, "injection_bits"),
])
def test_bad_configs_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        FFEBMConfig(6, 3, **kwargs)
    assert info.value.field == field


def test_registry_builds_ffebm() -> None:
    registry = importlib.import_module("hadeq.models.registry")
    hints = registry.ModelHints(in_features=64, out_features=10)
    model = registry.build_model({"kind": "ffebm", "blocks": [32], "beta": 0.1}, hints)
    assert isinstance(model, FFEBM) and model.config.beta == 0.1
    with pytest.raises(ConfigError, match=r"model\.beta"):
        registry.parse_model_section({"kind": "ffebm", "beta": -1}, hints)
