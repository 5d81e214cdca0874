"""HybridDEQ against hand-written references: the digital DEQ it must equal on ideal
hardware, the implicit gradient of its proxy, its converters and its hardware swaps."""

from __future__ import annotations

import pytest
import torch

import hadeq
from hadeq.analog import HardwareConfig
from hadeq.deq import DEQConfig
from hadeq.models import HybridDEQ, HybridDEQConfig

TIGHT = DEQConfig(solver_options={"tol": 1e-12, "stop_mode": "abs", "max_iter": 300},
                  backward_options={"tol": 1e-12, "stop_mode": "abs", "max_iter": 300})


def with_rms(u, rms):
    """The injection after the model's digital gain: every sample scaled to RMS ``rms``
    (None: no gain)."""
    if rms is None:
        return u
    return u * rms / u.square().mean(dim=1, keepdim=True).sqrt()


def model(hardware="ideal", **changes):
    torch.manual_seed(0)
    config = HybridDEQConfig(in_features=6, out_features=3, hidden=10, stem_hidden=None,
                             injection_bits=None, hardware=hardware, deq=TIGHT, **changes)
    return HybridDEQ(config).double()


def reference_fixed_point(W, b, u, steps=2000):
    z = torch.zeros_like(u)
    for _ in range(steps):
        z = torch.tanh(z @ W.T + b + u)
    return z


def test_ideal_hardware_is_exactly_the_digital_deq():
    m = model()
    x = torch.randn(5, 6, dtype=torch.float64)
    out = m.forward_with_info(x)
    u = with_rms(m.stem(x), m.config.injection_rms)
    z = reference_fixed_point(m.core.weight.detach(), m.core.bias.detach(), u.detach())
    torch.testing.assert_close(out.z, z, rtol=0, atol=1e-10)
    torch.testing.assert_close(out.output, m.head(z), rtol=0, atol=1e-10)
    assert out.stats.all_converged


def test_gradients_are_the_implicit_gradients_of_the_deq():
    m = model()
    x = torch.randn(4, 6, dtype=torch.float64)
    loss = m(x).square().sum()
    grads = torch.autograd.grad(loss, [m.core.weight, m.stem.weight])
    # Reference: unroll the same map for long enough and differentiate the unrolled graph.
    z = torch.zeros(4, 10, dtype=torch.float64)
    u = with_rms(m.stem(x), m.config.injection_rms)
    for _ in range(400):
        z = torch.tanh(m.core(z) + u)
    ref = torch.autograd.grad(m.head(z).square().sum(), [m.core.weight, m.stem.weight])
    for g, r in zip(grads, ref, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-7, atol=1e-10)


def test_physics_aware_training_solves_hardware_and_differentiates_the_proxy():
    hw = HardwareConfig(weight_bits=4, read_noise=0.0)
    m = model(hw, proxy="clean")
    m.train()
    x = torch.randn(3, 6, dtype=torch.float64)
    out = m.forward_with_info(x)
    w_eff = m.core.effective_weight().detach()
    w, b = m.core.weight.detach(), m.core.bias.detach()
    u = out.u.detach()
    # Forward: the fixed point of the 4-bit hardware weights, not of the float ones.
    z_hw = reference_fixed_point(w_eff, b, u)
    torch.testing.assert_close(out.z_star, z_hw, rtol=0, atol=1e-10)
    assert (w_eff - w).abs().max() > 1e-3  # the quantization is visible
    # Backward: dL/dW = (s ⊙ g) z*ᵀ with g = (I − Jᵀ)⁻¹ ∂L/∂z*, J = diag(s) W of the clean
    # proxy at z*_hw, s = 1 − tanh²(W z* + b + u).
    (grad_w,) = torch.autograd.grad(out.z_star.sum(), [m.core.weight])
    expected = torch.zeros_like(grad_w)
    eye = torch.eye(10, dtype=torch.float64)
    for zi, ui in zip(z_hw, u, strict=True):
        s = 1 - torch.tanh(w @ zi + b + ui) ** 2
        g = torch.linalg.solve(eye - (s[:, None] * w).T, torch.ones(10, dtype=torch.float64))
        expected += torch.outer(s * g, zi)
    torch.testing.assert_close(grad_w, expected, rtol=1e-8, atol=1e-10)


def test_standard_mode_trains_on_the_ideal_map_and_evaluates_on_hardware():
    hw = HardwareConfig(weight_bits=3, read_noise=0.05)
    m = model(hw, mode="standard")
    x = torch.randn(4, 6, dtype=torch.float64)
    m.train()
    a, b = m.forward_with_info(x).z_star, m.forward_with_info(x).z_star
    torch.testing.assert_close(a, b, rtol=0, atol=0)  # no noise in standard training
    m.eval()
    with torch.no_grad():
        c, d = m.forward_with_info(x).z_star, m.forward_with_info(x).z_star
    assert (c - d).abs().max() > 1e-4  # fresh read noise at evaluation
    assert (c - a.detach()).abs().max() > 1e-4


def test_adc_read_puts_the_equilibrium_on_the_converter_grid():
    hw = HardwareConfig(output_bits=4, output_range=1.0)
    m = model(hw).eval()
    with torch.no_grad():
        out = m.forward_with_info(torch.randn(8, 6, dtype=torch.float64))
    step = 2.0 / 14  # 4 bits: 15 levels on [-1, 1]
    levels = (out.z + 1) / step
    torch.testing.assert_close(levels, levels.round(), rtol=0, atol=1e-9)
    assert (out.z - out.z_star).abs().max() <= step / 2 + 1e-12


def test_contraction_projection_bounds_the_feedback_norm():
    m = model(contraction_margin=0.2)
    with torch.no_grad():
        m.core.weight.mul_(10.0)
    assert m.project_contractive_() == pytest.approx(0.8)
    norm = float(torch.linalg.matrix_norm(m.core.weight.detach(), ord=2))
    assert norm == pytest.approx(0.8, abs=1e-9)


def test_set_hardware_keeps_the_weights_and_programs_reproducibly():
    m = model()
    x = torch.randn(6, 6, dtype=torch.float64)
    w = m.core.weight.detach().clone()
    noisy = HardwareConfig(device_model="gaussian", programming_noise=0.05)
    m.set_hardware(noisy, seed=3)
    assert torch.equal(m.core.weight.detach(), w)
    m.eval()
    with torch.no_grad():
        first = m(x)
        m.program(4)
        other = m(x)
        m.program(3)
        again = m(x)
    torch.testing.assert_close(first, again, rtol=0, atol=1e-12)
    assert (first - other).abs().max() > 1e-6


def test_analog_relaxation_reaches_the_same_equilibrium_and_reports_settling_time():
    deq = DEQConfig(solver="analog_relaxation",
                    solver_options={"tol": 1e-9, "stop_mode": "abs", "max_iter": 5000,
                                    "dt_ns": 0.5})
    torch.manual_seed(0)
    config = HybridDEQConfig(in_features=6, out_features=3, hidden=10, stem_hidden=None,
                             injection_bits=None, deq=deq)
    relax = HybridDEQ(config).double().eval()
    exact = model().eval()
    exact.load_state_dict(relax.state_dict())
    x = torch.randn(4, 6, dtype=torch.float64)
    with torch.no_grad():
        a, b = relax.forward_with_info(x), exact.forward_with_info(x)
    torch.testing.assert_close(a.z, b.z, rtol=0, atol=1e-7)
    settle = a.stats.extras["settling_time_ns"]
    assert torch.isfinite(settle).all() and (settle > 0).all()


def test_the_loop_settles_at_the_hardwares_time_constant():
    # The same steps in units of τ (dt = τ/20) give the same trajectory, so the settling
    # time scales exactly with hardware.tau_ns; the solver never takes τ from options.
    torch.manual_seed(0)
    m = model().eval()
    x = torch.randn(4, 6, dtype=torch.float64)
    times = []
    for tau_ns in (10.0, 25.0):
        m.set_hardware(m.hardware.replace(tau_ns=tau_ns))
        m.set_eval_solver("analog_relaxation", {"tol": 1e-6, "dt_ns": tau_ns / 20,
                                                "max_iter": 5000})
        with torch.no_grad():
            times.append(m.forward_with_info(x).stats.extras["settling_time_ns"])
    torch.testing.assert_close(times[1], times[0] * 2.5, rtol=1e-12, atol=0)
    for key in ("tau_ns", "read_noise"):
        with pytest.raises(hadeq.ConfigError, match=rf"eval_options\.{key}.*hardware\.{key}"):
            m.set_eval_solver("analog_relaxation", {key: 1.0})


def test_bad_inputs_are_named():
    m = model()
    with pytest.raises(hadeq.ConfigError, match=r"x.shape"):
        m(torch.randn(3, 5, dtype=torch.float64))
    with pytest.raises(hadeq.ConfigError, match=r"hidden=0"):
        HybridDEQConfig(in_features=6, out_features=3, hidden=0)
    with pytest.raises(hadeq.ConfigError, match=r"mode='hardware'"):
        HybridDEQConfig(in_features=6, out_features=3, mode="hardware")
    with pytest.raises(hadeq.ConfigError, match=r"hardware='pcm'"):
        HybridDEQConfig(in_features=6, out_features=3, hardware="pcm")


def test_the_injection_gain_sets_every_samples_rms_and_can_be_turned_off():
    m = model()
    scales = torch.logspace(-2, 2, 7, dtype=torch.float64)[:, None]  # inputs of any scale
    x = torch.randn(7, 6, dtype=torch.float64) * scales
    u = m.injection(x)
    torch.testing.assert_close(u.square().mean(dim=1).sqrt(),
                               torch.full((7,), 0.5, dtype=torch.float64))
    plain = model(injection_rms=None)
    plain.load_state_dict(m.state_dict())
    torch.testing.assert_close(plain.injection(x), m.stem(x))
