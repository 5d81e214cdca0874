"""AnalogSpectralMix against independent references: scipy's orthonormal DST-I, the
eigenvectors of the discrete Laplacian, the explicit operator matrix (its norm), and the
configured read-noise statistics; plus the spectral path of ConvHybridDEQ against an
unrolled solve."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
import torch
import torch.nn.functional as F

from hadeq.analog import HardwareConfig
from hadeq.analog.spectral import AnalogSpectralMix, sine_basis
from hadeq.deq import DEQConfig
from hadeq.errors import ConfigError
from hadeq.models import ConvHybridDEQ, ConvHybridDEQConfig


def with_rms(u, rms):
    """The injection after the model's digital gain: every sample scaled to RMS ``rms``
    (None: no gain)."""
    if rms is None:
        return u
    return u * rms / u.square().mean(dim=(1, 2, 3), keepdim=True).sqrt()


def operator_matrix(layer: AnalogSpectralMix, c: int, h: int, w: int) -> torch.Tensor:
    n = c * h * w
    basis = torch.eye(n, dtype=torch.float64).reshape(n, c, h, w)
    with torch.no_grad():
        return layer.ideal_forward(basis).reshape(n, -1).t()


def test_sine_basis_is_the_orthonormal_dst1_and_diagonalises_the_laplacian():
    n, m = 11, 5
    phi = sine_basis(n, m, dtype=torch.float64)
    scipy_dst = scipy.fft.dst(np.eye(n), type=1, norm="ortho", axis=0)  # rows = modes
    np.testing.assert_allclose(phi.numpy(), scipy_dst[:m], atol=1e-12)
    torch.testing.assert_close(phi @ phi.t(), torch.eye(m, dtype=torch.float64))
    lap = 2 * torch.eye(n, dtype=torch.float64) - torch.diag(torch.ones(n - 1), 1).double()
    lap = lap - torch.diag(torch.ones(n - 1), -1).double()
    eig = 2 - 2 * torch.cos(torch.pi * torch.arange(1, m + 1).double() / (n + 1))
    torch.testing.assert_close(phi @ lap, eig[:, None] * phi)


def test_analysis_matches_scipy_dstn_and_synthesis_is_its_adjoint():
    layer = AnalogSpectralMix(2, 3, 4).double()
    z = torch.randn(2, 2, 7, 9, dtype=torch.float64)
    ref = scipy.fft.dstn(z.numpy(), type=1, norm="ortho", axes=(-2, -1))[..., :4, :4]
    np.testing.assert_allclose(layer.analysis(z).numpy(), ref, atol=1e-12)
    c = torch.randn(2, 2, 4, 4, dtype=torch.float64)
    lhs = (layer.analysis(z) * c).sum()
    rhs = (z * layer.synthesis(c, 7, 9)).sum()
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-12)
    assert layer.ideal_forward(z).shape == (2, 3, 7, 9)


def test_operator_norm_is_the_exact_norm_of_the_operator():
    torch.manual_seed(0)
    layer = AnalogSpectralMix(3, 2, 3).double()
    exact = torch.linalg.matrix_norm(operator_matrix(layer, 3, 6, 5), 2)
    assert layer.operator_norm() == pytest.approx(float(exact), rel=1e-9)


def test_ideal_hardware_computes_the_float_operator_and_counts_macs():
    layer = AnalogSpectralMix(3, 4, 2, HardwareConfig.preset("ideal"))
    z = torch.randn(5, 3, 6, 7)
    torch.testing.assert_close(layer(z), layer.ideal_forward(z), rtol=0, atol=0)
    m, h, w = 2, 6, 7
    transforms = 3 * m * (h * w + m * w) + 4 * m * (h * w + m * h)
    assert layer.n_vectors == 5 * m * m
    assert layer.n_macs == 5 * (m * m * 3 * 4 + transforms)


def test_quantized_weights_take_the_levels_of_their_bits():
    torch.manual_seed(1)
    layer = AnalogSpectralMix(4, 4, 3, HardwareConfig(weight_bits=4))
    w = layer.effective_weight().detach()
    scale = layer.weight.detach().abs().amax()
    assert torch.unique(torch.round(w / scale * 7)).numel() <= 2**4
    assert (w.reshape(layer.weight.shape) - layer.weight.detach()).abs().max() <= scale / 14 + 1e-6


def test_read_noise_has_the_configured_std():
    torch.manual_seed(2)
    sigma = 0.05
    layer = AnalogSpectralMix(4, 4, 3, HardwareConfig(read_noise=sigma))
    z = torch.randn(400, 4, 8, 8)
    noise_field = layer(z) - layer.frozen_forward(z)
    # The synthesis Φᵀ has orthonormal columns: the noise energy in the field equals its
    # energy over the m² modes, σ²·(x_range·w_scale)² per mode output.
    coef = layer.analysis(z)
    x_range = coef.abs().amax(dim=1)  # per sample and mode, over the input channels
    w_scale = layer.weight.detach().abs().amax()
    expected = sigma**2 * 4 * (x_range * w_scale).square().sum()
    measured = noise_field.square().sum()
    assert float(measured / expected) == pytest.approx(1.0, rel=0.05)


def test_programming_noise_is_frozen_and_reproducible_per_seed():
    hw = HardwareConfig(weight_bits=8, device_model="gaussian", programming_noise=0.05)
    a = AnalogSpectralMix(3, 3, 2, hw, seed=7)
    b = AnalogSpectralMix(3, 3, 2, hw, seed=7)
    b.weight.data.copy_(a.weight.data)
    torch.testing.assert_close(a.effective_weight(), b.effective_weight())
    b.program(8)
    assert not torch.allclose(a.effective_weight(), b.effective_weight())


def test_bad_modes_and_grids_raise_config_errors():
    with pytest.raises(ConfigError, match="modes"):
        AnalogSpectralMix(2, 2, 0)
    with pytest.raises(ConfigError, match="in_channels"):
        AnalogSpectralMix(300, 2, 2, HardwareConfig(tile_rows=256))
    with pytest.raises(ConfigError, match="spectral modes=5"):
        AnalogSpectralMix(2, 2, 5)(torch.zeros(1, 2, 4, 9))


TIGHT = DEQConfig(solver_options={"tol": 1e-12, "stop_mode": "abs", "max_iter": 300},
                  backward_options={"tol": 1e-12, "stop_mode": "abs", "max_iter": 300})


def spectral_model(**changes: object) -> ConvHybridDEQ:
    torch.manual_seed(0)
    options = {"in_channels": 1, "out_features": 1, "channels": 3, "stem_hidden": None,
               "injection_bits": None, "deq": TIGHT, "contraction_grid": 8,
               "spectral_modes": 3, **changes}
    return ConvHybridDEQ(ConvHybridDEQConfig(**options)).double()


def test_spectral_core_is_the_unrolled_fixed_point_and_its_implicit_gradient():
    m = spectral_model()
    x = torch.randn(2, 1, 6, 7, dtype=torch.float64)
    params = [m.core.weight, m.spectral.weight, m.stem.weight]
    out = m.forward_with_info(x)
    grads = torch.autograd.grad(out.output.square().sum(), params)
    u = with_rms(m.stem(x), m.config.injection_rms)
    z = torch.zeros(2, 3, 6, 7, dtype=torch.float64)
    for _ in range(400):
        z = torch.tanh(F.conv2d(z, m.core.weight, m.core.bias, padding=1)
                       + m.spectral.ideal_forward(z) + u)
    torch.testing.assert_close(out.z, z.detach(), rtol=0, atol=1e-10)
    ref = torch.autograd.grad(m.head(z).square().sum(), params)
    for g, r in zip(grads, ref, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-7, atol=1e-10)


def test_projection_bounds_the_whole_loop_operator():
    from tests.models.test_conv_hybrid import conv_operator_matrix

    m = spectral_model(contraction_margin=0.2)
    with torch.no_grad():
        m.core.weight.normal_(0.0, 1.0)
        m.spectral.weight.normal_(0.0, 1.0)
    assert m.project_contractive_() == pytest.approx(0.8)
    for h, w in [(8, 8), (6, 7), (3, 4)]:
        loop = conv_operator_matrix(m.core.weight.detach(), h, w)
        loop = loop + operator_matrix(m.spectral, 3, h, w)
        assert float(torch.linalg.matrix_norm(loop, 2)) <= 0.8 + 1e-9


def test_a_core_wider_than_a_tile_with_spectral_modes_names_the_model_field():
    with pytest.raises(ConfigError, match="channels=300 is not allowed: at most tile_rows=256"):
        spectral_model(channels=300, hardware={"tile_rows": 256})


def test_set_hardware_keeps_the_spectral_weights_and_programs_both_arrays():
    m = spectral_model()
    before = m.spectral.weight.detach().clone()
    hw = HardwareConfig(weight_bits=8, device_model="gaussian", programming_noise=0.05)
    m.set_hardware(hw, seed=3)
    torch.testing.assert_close(m.spectral.weight.detach(), before, rtol=0, atol=0)
    assert m.spectral.hardware.weight_bits == 8 and (m.core.seed, m.spectral.seed) == (3, 4)
    m.program(5)
    assert (m.core.seed, m.spectral.seed) == (5, 6)
