"""ConvHybridDEQ against hand-written references: the digital conv DEQ it must equal on
ideal hardware, the implicit gradient (vs an unrolled graph), the contraction projection
(vs the exact operator norm from the explicit Jacobian), hardware noise and bad shapes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import hadeq
from hadeq.analog import HardwareConfig
from hadeq.deq import DEQConfig
from hadeq.models import ConvHybridDEQ, ConvHybridDEQConfig, ModelOutput
from hadeq.models.conv_hybrid import conv_norm_fft, conv_norm_taps

TIGHT = DEQConfig(solver_options={"tol": 1e-12, "stop_mode": "abs", "max_iter": 300},
                  backward_options={"tol": 1e-12, "stop_mode": "abs", "max_iter": 300})


def with_rms(u, rms):
    """The injection after the model's digital gain: every sample scaled to RMS ``rms``
    (None: no gain)."""
    if rms is None:
        return u
    return u * rms / u.square().mean(dim=(1, 2, 3), keepdim=True).sqrt()


def model(hardware="ideal", **changes) -> ConvHybridDEQ:
    torch.manual_seed(0)
    options = {"in_channels": 2, "out_features": 1, "channels": 3, "stem_hidden": None,
               "injection_bits": None, "hardware": hardware, "deq": TIGHT,
               "contraction_grid": 8}
    options.update(changes)
    return ConvHybridDEQ(ConvHybridDEQConfig(**options)).double()


def conv_operator_matrix(kernel: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The explicit matrix of ``z ↦ conv2d(z, kernel, padding=k//2)`` on an h × w grid."""
    c_in = kernel.shape[1]
    n = c_in * h * w
    basis = torch.eye(n, dtype=kernel.dtype).reshape(n, c_in, h, w)
    cols = F.conv2d(basis, kernel, padding=kernel.shape[-1] // 2)
    return cols.reshape(n, -1).t()


def test_ideal_hardware_is_exactly_the_digital_conv_deq():
    m = model()
    x = torch.randn(3, 2, 6, 5, dtype=torch.float64)
    out = m.forward_with_info(x)
    assert isinstance(out, ModelOutput)
    u = with_rms(m.stem(x), m.config.injection_rms).detach()
    w, b = m.core.weight.detach(), m.core.bias.detach()
    z = torch.zeros_like(u)
    for _ in range(2000):
        z = torch.tanh(F.conv2d(z, w, b, padding=1) + u)
    torch.testing.assert_close(out.z, z, rtol=0, atol=1e-10)
    torch.testing.assert_close(out.output, m.head(z), rtol=0, atol=1e-10)
    assert out.output.shape == (3, 1, 6, 5)
    assert out.stats.all_converged


def test_gradients_are_the_implicit_gradients_of_the_deq():
    m = model()
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64)
    params = [m.core.weight, m.core.bias, m.stem.weight]
    grads = torch.autograd.grad(m(x).square().sum(), params)
    z = torch.zeros(2, 3, 5, 5, dtype=torch.float64)
    u = with_rms(m.stem(x), m.config.injection_rms)
    for _ in range(400):
        z = torch.tanh(F.conv2d(z, m.core.weight, m.core.bias, padding=1) + u)
    ref = torch.autograd.grad(m.head(z).square().sum(), params)
    for g, r in zip(grads, ref, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("bound", ["fft", "taps"])
def test_projection_makes_the_conv_operator_contractive(bound):
    m = model(norm_bound=bound, contraction_margin=0.2)
    with torch.no_grad():
        m.core.weight.normal_(0.0, 1.0)  # far outside the contraction region
    h, w = 8, 7
    before = torch.linalg.matrix_norm(conv_operator_matrix(m.core.weight.detach(), h, w), 2)
    assert before > 1.0
    assert m.operator_norm_bound() >= float(before) - 1e-9  # it is an upper bound
    assert m.project_contractive_() == pytest.approx(0.8)
    for size in [(h, w), (3, 3), (8, 8)]:  # every grid up to contraction_grid
        exact = torch.linalg.matrix_norm(conv_operator_matrix(m.core.weight.detach(), *size), 2)
        assert float(exact) <= 0.8 + 1e-9
    # Inside the region the projection leaves the kernel alone.
    kept = m.core.weight.detach().clone()
    m.project_contractive_()
    torch.testing.assert_close(m.core.weight.detach(), kept, rtol=0, atol=0)


def test_fft_bound_is_tight_and_below_the_tap_bound():
    gen = torch.Generator().manual_seed(3)
    kernel = torch.randn(3, 3, 3, 3, dtype=torch.float64, generator=gen)
    exact = float(torch.linalg.matrix_norm(conv_operator_matrix(kernel, 10, 10), 2))
    fft = float(conv_norm_fft(kernel, 10))
    assert exact <= fft <= float(conv_norm_taps(kernel)) + 1e-12
    assert fft <= 1.1 * exact  # boundary effects only


def test_hardware_differs_from_ideal_when_noise_is_on():
    x = torch.randn(2, 2, 6, 6, dtype=torch.float64)
    ideal = model().eval()
    hw = HardwareConfig(weight_bits=8, read_noise=0.05)
    noisy = model(hw, deq=DEQConfig(solver="picard", solver_options={"max_iter": 40},
                                    warn_unconverged=False)).eval()
    noisy.load_state_dict(ideal.state_dict())
    with torch.no_grad():
        a, b = ideal(x), noisy(x)
        c = noisy(x)
    assert (a - b).abs().max() > 1e-3
    assert (b - c).abs().max() > 0  # fresh read noise at every read
    # The same weights moved to ideal hardware give the digital result again (up to the
    # 40 Picard iterations of this solver).
    noisy.set_hardware(HardwareConfig.preset("ideal"))
    assert not noisy.deq.training and not noisy.core.training  # still in evaluation mode
    with torch.no_grad():
        torch.testing.assert_close(noisy(x), a, rtol=0, atol=1e-3)
        assert (noisy(x) - noisy(x)).abs().max() == 0


def test_physics_aware_training_solves_hardware_and_differentiates_the_proxy():
    hw = HardwareConfig(weight_bits=4)
    m = model(hw, proxy="frozen")
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64)
    out = m.forward_with_info(x)
    # The forward solve is the fixed point of the quantized (frozen) map ...
    _solved, proxy = m.maps(out.u.detach())
    torch.testing.assert_close(proxy(out.z_star.detach()), out.z_star.detach(),
                               rtol=0, atol=1e-9)
    out.output.sum().backward()
    assert m.core.weight.grad is not None and torch.isfinite(m.core.weight.grad).all()
    # ... and standard mode trains on the float map instead.
    std = model(hw, mode="standard")
    s_out = std.forward_with_info(x)
    z = s_out.z_star.detach()
    clean = torch.tanh(std.core.ideal_forward(z) + s_out.u.detach())
    torch.testing.assert_close(clean, z, rtol=0, atol=1e-9)


def test_converters_quantize_the_injection_and_the_read():
    hw = HardwareConfig(input_bits=4, output_bits=3, output_range=1.0)
    m = model(hw).eval()
    x = torch.randn(2, 2, 4, 4, dtype=torch.float64)
    with torch.no_grad():
        out = m.forward_with_info(x)
    levels = 2**3 - 1
    torch.testing.assert_close(out.z * (levels - 1) / 2, (out.z * (levels - 1) / 2).round())
    per_sample = out.u.reshape(2, -1)
    scale = per_sample.abs().amax(dim=1, keepdim=True)
    steps = per_sample / scale * (2**4 - 2) / 2
    torch.testing.assert_close(steps, steps.round())


def test_eval_solver_can_simulate_the_settling_physics():
    m = model().eval()
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64)
    with torch.no_grad():
        ref = m.forward_with_info(x).z
        m.set_hardware(m.hardware.replace(tau_ns=1.0))
        m.set_eval_solver("analog_relaxation", {"dt_ns": 1.0, "tol": 1e-10,
                                                "stop_mode": "abs", "max_iter": 500})
        out = m.forward_with_info(x)
    assert out.stats.solver == "analog_relaxation"
    torch.testing.assert_close(out.z, ref, rtol=0, atol=1e-8)


def test_classes_head_pools_to_logits():
    m = model(head="classes", out_features=5, pool_size=2, head_hidden=4)
    x = torch.randn(3, 2, 8, 8, dtype=torch.float64)
    assert m(x).shape == (3, 5)


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (2, 2, 4), (2, 2, 9, 4), (0, 2, 4, 4)])
def test_bad_shapes_raise_config_error(shape):
    m = model()
    with pytest.raises(hadeq.ConfigError, match=r"x\.shape"):
        m(torch.zeros(shape, dtype=torch.float64))


@pytest.mark.parametrize("changes", [{"kernel_size": 4}, {"channels": 0}, {"head": "pixels"},
                                     {"norm_bound": "power"}, {"in_channels": 1.5}])
def test_bad_config_raises_config_error(changes):
    options = {"in_channels": 1, "out_features": 1, **changes}
    with pytest.raises(hadeq.ConfigError):
        ConvHybridDEQConfig(**options)
