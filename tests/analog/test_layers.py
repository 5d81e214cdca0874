import math

import pytest
import torch
from torch import nn

from hadeq.analog import (
    AnalogConv2d,
    AnalogLinear,
    HardwareConfig,
    analog_layers,
    analogize,
)
from hadeq.analog.quant import level_step


def _linear(in_f, out_f, cfg, seed=0):
    torch.manual_seed(seed)
    return AnalogLinear.from_linear(nn.Linear(in_f, out_f), cfg)


def test_ideal_preset_reproduces_nn_linear_exactly():
    torch.manual_seed(0)
    ref = nn.Linear(300, 70)
    layer = AnalogLinear.from_linear(ref, HardwareConfig.preset("ideal"))
    x = torch.randn(5, 4, 300)
    assert torch.equal(layer(x), ref(x))


def test_ideal_preset_reproduces_nn_conv2d_exactly():
    torch.manual_seed(0)
    ref = nn.Conv2d(3, 6, 3, stride=2, padding=1)
    layer = AnalogConv2d.from_conv(ref, HardwareConfig.preset("ideal"))
    x = torch.randn(2, 3, 9, 9)
    assert torch.equal(layer(x), ref(x))


def test_tiled_noiseless_path_matches_float_linear_and_conv():
    # Small tiles and a non-clipping DAC range force the general path (3x2 tiles).
    cfg = HardwareConfig(tile_rows=16, tile_cols=8, input_range=100.0)
    torch.manual_seed(1)
    ref = nn.Linear(40, 13)
    layer = AnalogLinear.from_linear(ref, cfg)
    assert (layer.n_row_tiles, layer.n_col_tiles) == (3, 2)
    x = torch.randn(7, 40)
    torch.testing.assert_close(layer(x), ref(x), rtol=1e-5, atol=1e-6)
    conv = nn.Conv2d(4, 5, 3, padding=1)
    aconv = AnalogConv2d.from_conv(conv, cfg)
    xi = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(aconv(xi), conv(xi), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_quantized_weights_take_at_most_2b_levels_with_half_step_error(bits):
    cfg = HardwareConfig(weight_bits=bits, tile_rows=32, tile_cols=16)
    layer = _linear(64, 32, cfg)
    w, w_eff = layer.weight.detach(), layer.effective_weight().detach()
    scale = w.abs().max()
    assert (w_eff - w).abs().max() <= 0.5 * level_step(bits) * scale * (1 + 1e-6)
    for i in range(0, 64, 32):
        for j in range(0, 32, 16):
            tile = w_eff[j:j + 16, i:i + 32]
            assert tile.unique().numel() <= 2 ** bits


def test_read_noise_std_matches_config_and_adds_over_row_tiles():
    eta, x_range = 0.05, 2.0
    cfg = HardwareConfig(read_noise=eta, input_range=x_range, tile_rows=16, tile_cols=16)
    layer = _linear(48, 16, cfg)  # 3 row tiles: partial sums add 3 noise terms
    x = torch.rand(4000, 48) * 2 - 1  # within the DAC range: no clipping
    with torch.no_grad():
        err = layer(x) - layer.ideal_forward(x)
    fs = x_range * layer.weight.detach().abs().max()
    expected = eta * fs * math.sqrt(3)
    assert abs(float(err.std()) / float(expected) - 1.0) < 0.05
    assert abs(float(err.mean())) < 0.05 * float(expected)


def test_read_noise_is_fresh_per_read_but_seedable():
    layer = _linear(8, 4, HardwareConfig(read_noise=0.1, input_range=1.0))
    x = torch.randn(3, 8)
    with torch.no_grad():
        assert not torch.equal(layer(x), layer(x))
        a = layer(x, generator=torch.Generator().manual_seed(5))
        b = layer(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_adc_clips_at_its_range():
    rho, x_range = 0.5, 1.0
    cfg = HardwareConfig(output_range=rho, input_range=x_range, output_bits=6)
    layer = _linear(32, 8, cfg)
    with torch.no_grad():
        y = layer(torch.randn(200, 32) * 10) - layer.bias
    bound = rho * x_range * float(layer.weight.detach().abs().max())
    assert float(y.abs().max()) <= bound * (1 + 1e-5)
    assert float(y.abs().max()) >= bound * (1 - 1e-5)  # large inputs do saturate
    step = 2 * bound / (2 ** 6 - 2)
    levels = y / step + (2 ** 6 - 2) / 2  # ADC levels are -bound + k·step
    assert torch.allclose(levels, levels.round(), atol=1e-3)


def test_dac_clips_inputs_at_input_range():
    cfg = HardwareConfig(input_range=1.0, tile_rows=8, tile_cols=4)
    layer = _linear(8, 4, cfg)
    x = torch.randn(10, 8) * 5
    with torch.no_grad():
        y = layer(x)
    torch.testing.assert_close(y, layer.ideal_forward(x.clamp(-1, 1)), rtol=1e-5, atol=1e-6)


def test_programming_noise_frozen_after_program_and_reproducible_per_seed():
    sigma = 0.04
    cfg = HardwareConfig(device_model="gaussian", programming_noise=sigma, tile_rows=64,
                         tile_cols=64)
    layer = _linear(64, 64, cfg)
    layer.program(3)
    w1 = layer.effective_weight().detach().clone()
    assert torch.equal(layer.effective_weight(), w1)  # frozen between reads
    layer.program(4)
    w2 = layer.effective_weight().detach().clone()
    assert not torch.equal(w1, w2)
    layer.program(3)
    assert torch.equal(layer.effective_weight(), w1)
    # ΔW = (ξ+ − ξ−)·σ·g_max/(g_max − g_min)·w_scale: std σ·√2·w_scale.
    err = (w1 - layer.weight.detach()) / layer.weight.detach().abs().max()
    assert abs(float(err.std()) / (sigma * math.sqrt(2)) - 1.0) < 0.05


def test_gain_and_offset_mismatch_are_static_with_configured_spread():
    cfg = HardwareConfig(offset_mismatch=0.1, input_range=1.0, tile_rows=8, tile_cols=512)
    layer = _linear(8, 512, cfg)
    x = torch.zeros(2, 8)
    with torch.no_grad():
        y = layer(x) - layer.bias
    assert torch.equal(y[0], y[1])
    fs = float(layer.weight.detach().abs().max())
    assert abs(float(y[0].std()) / (0.1 * fs) - 1.0) < 0.15


def test_ir_drop_lowers_outputs_as_documented():
    # A uniform matrix of positive weights fills every pair with ĝ = 1 (G+ = g_max,
    # G− = 0): c_j = (j+1)·C − j(j+1)/2 and the weight of column j is 1 − ε·c_j.
    rows, cols, r_w = 16, 16, 2.0
    cfg = HardwareConfig(wire_resistance_ohm=r_w, tile_rows=rows, tile_cols=cols,
                         input_range=1.0)
    layer = AnalogLinear(rows, cols, bias=False, hardware=cfg)
    with torch.no_grad():
        layer.weight.fill_(0.5)
        y = layer(torch.ones(1, rows))[0]
    eps = r_w * cfg.g_max_us * 1e-6
    j = torch.arange(cols, dtype=torch.float64)
    c = (j + 1) * cols - j * (j + 1) / 2
    expected = rows * 0.5 * (1 - eps * c)
    torch.testing.assert_close(y.double(), expected, rtol=1e-5, atol=0)
    assert bool((y[1:] < y[:-1]).all()) and float(y[0]) < rows * 0.5


def test_straight_through_gradient_of_quantized_layer():
    cfg = HardwareConfig(weight_bits=3, input_bits=4, input_range=10.0)
    layer = _linear(6, 3, cfg)
    x = torch.randn(5, 6, requires_grad=True)
    layer(x).sum().backward()
    # STE: y = Q(W)·q(x) is differentiated as W·q(x), so d/dW Σ y = Σ_n q(x_n) with the
    # 4-bit DAC levels −1 + k·2/14 of x/10, and d/dx Σ y = Σ_j Q(W)_j.
    step = 2 / 14
    xq = (torch.round((x.detach() / 10 + 1) / step) * step - 1) * 10
    expected = xq.sum(0).expand(3, 6)
    torch.testing.assert_close(layer.weight.grad, expected)
    with torch.no_grad():
        w_q = layer.effective_weight()
    torch.testing.assert_close(x.grad, w_q.sum(0).expand(5, 6))


def test_counters_count_tiles_and_conversions():
    cfg = HardwareConfig(tile_rows=16, tile_cols=8, input_range=1.0)
    layer = _linear(40, 13, cfg)  # 3 x 2 tiles
    layer(torch.randn(4, 5, 40))
    assert layer.counters() == {
        "n_vectors": 20, "n_mvms": 20 * 6, "n_macs": 20 * 40 * 13,
        "n_dac_conversions": 20 * 40 * 2, "n_adc_conversions": 20 * 13 * 3,
    }
    layer.reset_counters()
    assert layer.n_vectors == 0
    conv = AnalogConv2d(2, 3, 3, padding=1, hardware=cfg)
    conv(torch.randn(2, 2, 5, 5))
    assert conv.n_vectors == 2 * 25 and conv.n_macs == 50 * 18 * 3


def test_analogize_converts_in_place_or_on_a_copy():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    x = torch.randn(2, 1, 4, 4)
    ref = model(x)
    copy = analogize(model, HardwareConfig(), inplace=False)
    assert isinstance(model[0], nn.Conv2d) and isinstance(copy[3], AnalogLinear)
    same = analogize(model, HardwareConfig())
    assert same is model and isinstance(model[0], AnalogConv2d)
    assert [m.seed for m in analog_layers(model)] == [0, 1]
    assert torch.equal(model(x), ref)


@pytest.mark.parametrize("kernel, stride, padding, dilation",
                         [(3, 1, 1, 1), (3, 2, 1, 1), ((3, 5), (1, 2), (1, 2), (2, 1)),
                          (1, 1, 0, 1)])
def test_conv_patches_match_unfold_with_first_and_second_derivatives(kernel, stride, padding,
                                                                     dilation):
    """The analog conv's im2col (strided copies per kernel offset, hand-written backward)
    against torch's conv2d and its derivatives, on a hardware path without device errors."""
    torch.manual_seed(0)
    conv = nn.Conv2d(5, 7, kernel, stride=stride, padding=padding, dilation=dilation).double()
    cfg = HardwareConfig(tile_rows=16, tile_cols=16, device_model="gaussian")
    layer = AnalogConv2d.from_conv(conv, cfg).double()
    assert not cfg.is_exact  # the crossbar path, not conv2d
    x = torch.randn(3, 5, 11, 13, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(layer(x), conv(x), rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(layer, (x,))
    assert torch.autograd.gradgradcheck(lambda x: layer(x).square(), (x,))
