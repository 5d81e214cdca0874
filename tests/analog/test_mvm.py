"""The fused analog MVM (hadeq.analog.mvm.TiledMVM) against the elementwise autograd
formulation it replaces: same outputs for the same noise draws, same STE gradients."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hadeq.analog import AnalogConv2d, AnalogLinear, HardwareConfig
from hadeq.analog.converters import (
    adc,
    adc_levels,
    adc_units,
    dac,
    dac_levels,
    standard_normal,
)
from hadeq.analog.quant import level_step, quantize_ste, round_levels


def reference_matmul(layer, x, generator=None):
    """The previous implementation of ``AnalogMVM.analog_matmul``: every stage an
    autograd op (DAC/ADC through ``quantize_ste``, one bmm over the row tiles)."""
    hw = layer.hardware
    tiles, scale = layer.effective_tiles()
    tiny = torch.finfo(x.dtype).tiny
    if hw.input_range is not None:
        x_range = torch.as_tensor(hw.input_range, dtype=x.dtype)
        x_hat = x * (1.0 / hw.input_range)
        if hw.input_bits is None:
            x_hat = x_hat.clamp(-1.0, 1.0)
    else:
        x_range = x.detach().abs().amax(dim=1, keepdim=True).clamp_min(tiny)
        x_hat = x / x_range
    if hw.input_bits is not None:
        x_hat = quantize_ste(x_hat, hw.input_bits)
    r, rows, _ = tiles.shape
    x_hat = F.pad(x_hat, (0, r * rows - layer.mvm_in)).reshape(-1, r, rows)
    y = torch.bmm(x_hat.transpose(0, 1), tiles[..., : layer.mvm_out].to(x.dtype))  # (R, N, out)
    if layer.xi_amplifiers.shape[0]:
        amp = layer.xi_amplifiers[..., : layer.mvm_out].to(x.dtype)
        y = y * (1.0 + hw.gain_mismatch * amp[0])[:, None, :]
        y = y + (hw.offset_mismatch * amp[1])[:, None, :]
    if hw.read_noise > 0.0:
        y = y + hw.read_noise * standard_normal(y.shape, y, generator)
    if hw.output_bits is not None and hw.output_range is not None:
        y = quantize_ste(y * (1.0 / hw.output_range), hw.output_bits) * hw.output_range
    elif hw.output_range is not None:
        y = y.clamp(-hw.output_range, hw.output_range)
    y = y.sum(0) if r > 1 else y[0]
    return y * (x_range * scale.to(x.dtype))


def reference_forward(layer, x, generator=None):
    return reference_matmul(layer, x, generator) + layer.bias


# 40 inputs on 16-row tiles: 3 row tiles, the last one short; 13 outputs on 8-col tiles.
GEOMETRY = {"tile_rows": 16, "tile_cols": 8}
CONFIGS = {
    "dac_adc_8bit": dict(input_bits=8, output_bits=8, output_range=4.0, input_range=1.0),
    "dac_clip_only": dict(input_range=0.7, output_range=2.0),
    "dynamic_range": dict(input_bits=6, output_bits=7, output_range=3.0),
    "dynamic_float": dict(output_range=5.0),
    "wide_adc": dict(input_bits=8, output_bits=8, output_range=1e3),  # nothing clipped
    "no_adc": dict(input_bits=8, input_range=1.0),
    "one_bit": dict(input_bits=1, output_bits=1, output_range=2.0, input_range=1.0),
    "column_scale_weights": dict(weight_bits=4, weight_scale="column", input_bits=8,
                                 input_range=1.0, output_bits=8, output_range=3.0),
    "mismatch": dict(gain_mismatch=0.1, offset_mismatch=0.05, input_range=1.5,
                     output_range=3.0, output_bits=8),
    "gaussian_ir_drop": dict(device_model="gaussian", programming_noise=0.03,
                             wire_resistance_ohm=1.0, input_bits=8, input_range=1.0,
                             output_bits=8, output_range=3.0),
    "pcm": dict(device_model="pcm", t_inference_s=3600.0, input_bits=8, input_range=1.0,
                output_bits=8, output_range=3.0),
}


def _pair(name, noise, dtype=torch.float32):
    cfg = HardwareConfig(read_noise=noise, **GEOMETRY, **CONFIGS[name])
    torch.manual_seed(3)
    layer = AnalogLinear.from_linear(nn.Linear(40, 13), cfg).to(dtype)
    x = (torch.randn(64, 40) * 0.6).to(dtype)
    x[0, :3] = torch.tensor([5.0, -5.0, 1.0])  # clipped and on-the-range DAC inputs
    return layer, x


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_forward_matches_elementwise_formulation_with_the_same_noise_draws(name):
    layer, x = _pair(name, noise=0.05)
    with torch.no_grad():
        y = layer(x, generator=torch.Generator().manual_seed(7))
        ref = reference_forward(layer, x, torch.Generator().manual_seed(7))
    # Both draw the same noise; only float rounding differs, which may move a value that
    # sits on a rounding boundary by one ADC level (in practice: never, or a few).
    hw = layer.hardware
    step = level_step(hw.output_bits) * hw.output_range if hw.output_bits else 0.0
    assert torch.isfinite(y).all()
    fs = float(layer.weight.detach().abs().max() * (hw.input_range or x.abs().max()))
    diff = (y - ref).abs()
    assert int((diff > 1e-5 * fs).sum()) <= 2
    assert float(diff.max()) <= (3 * step + 1e-5) * fs  # 3 row tiles, one level each


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_ste_gradients_match_autograd_of_elementwise_formulation(name):
    dtype = torch.float64
    layer, x = _pair(name, noise=0.0, dtype=dtype)
    x.requires_grad_(True)
    v = torch.randn(64, 13, dtype=dtype)
    (layer(x) * v).sum().backward()
    grads = (x.grad, layer.weight.grad, layer.bias.grad)
    x.grad = None
    layer.zero_grad()
    (reference_forward(layer, x) * v).sum().backward()
    for got, expected in zip(grads, (x.grad, layer.weight.grad, layer.bias.grad), strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["dac_adc_8bit", "dynamic_range", "mismatch", "pcm"])
def test_second_order_gradients_match(name):
    # Differentiating the backward (create_graph=True), e.g. for gradient penalties.
    dtype = torch.float64
    layer, x = _pair(name, noise=0.0, dtype=dtype)
    x.requires_grad_(True)
    v = torch.randn(64, 13, dtype=dtype)
    results = []
    for fwd in (lambda: layer(x), lambda: reference_forward(layer, x)):
        gx, gw = torch.autograd.grad((fwd() * v).sum(), (x, layer.weight), create_graph=True)
        penalty = gx.square().sum() + (gw * gw.detach()).sum()
        results.append(torch.autograd.grad(penalty, (x, layer.weight), allow_unused=True))
    for got, expected in zip(*results, strict=True):
        got = torch.zeros_like(expected) if got is None else got
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-12)


def test_single_tile_and_no_bias_and_frozen_inputs():
    cfg = HardwareConfig(input_bits=8, output_bits=8, output_range=10.0, input_range=1.0,
                         read_noise=0.04, tile_rows=256, tile_cols=256)
    torch.manual_seed(0)
    layer = AnalogLinear(256, 64, bias=False, hardware=cfg).double()
    x = torch.rand(32, 256, dtype=torch.float64) * 2 - 1
    gen = torch.Generator().manual_seed(1)
    y = layer(x, generator=gen)
    ref = reference_matmul(layer, x, torch.Generator().manual_seed(1))
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-9)
    y.sum().backward()  # x does not require grad: only the weight gradient
    assert layer.weight.grad is not None and layer.weight.grad.shape == (64, 256)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_forward_without_a_gradient_gives_the_bits_of_the_autograd_forward(name):
    """Without a gradient the MVM runs its forward outside autograd (no graph node); it
    computes the same bits, from the same noise draws, as the forward that records one."""
    layer, x = _pair(name, noise=0.05)
    with torch.no_grad():
        direct = layer(x, generator=torch.Generator().manual_seed(5))
    recorded = layer(x.requires_grad_(True), generator=torch.Generator().manual_seed(5))
    assert direct.grad_fn is None and recorded.grad_fn is not None
    torch.testing.assert_close(direct, recorded.detach(), rtol=0, atol=0)


def test_conv_matches_elementwise_formulation():
    cfg = HardwareConfig(input_bits=8, output_bits=8, output_range=4.0, input_range=1.0,
                         tile_rows=16, tile_cols=4)
    torch.manual_seed(0)
    conv = AnalogConv2d(3, 5, 3, padding=1, hardware=cfg).double()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64, requires_grad=True)
    (conv(x) ** 2).sum().backward()
    gx, gw = x.grad, conv.weight.grad
    x.grad, conv.weight.grad, conv.bias.grad = None, None, None
    cols = F.unfold(x, 3, padding=1).transpose(1, 2).reshape(2 * 36, -1)
    y = reference_matmul(conv, cols).reshape(2, 36, 5).transpose(1, 2).reshape(2, 5, 6, 6)
    ((y + conv.bias[:, None, None]) ** 2).sum().backward()
    torch.testing.assert_close(gx, x.grad)
    torch.testing.assert_close(gw, conv.weight.grad)


def test_nan_inputs_propagate_and_infinite_ones_clip():
    cfg = HardwareConfig(input_bits=8, output_bits=8, output_range=4.0, input_range=1.0)
    layer = AnalogLinear(8, 3, hardware=cfg)
    x = torch.zeros(3, 8)
    x[0, 0], x[1, 0], x[2, 0] = float("nan"), float("inf"), 1.0
    with torch.no_grad():
        y = layer(x)
    assert bool(y[0].isnan().all())
    torch.testing.assert_close(y[1], y[2])  # +inf clips to the DAC range, like 1.0


def test_empty_batch():
    cfg = HardwareConfig(input_bits=8, output_bits=8, output_range=4.0, read_noise=0.1,
                         tile_rows=4)
    layer = AnalogLinear(10, 3, hardware=cfg)
    x = torch.zeros(0, 10, requires_grad=True)
    y = layer(x)
    assert y.shape == (0, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 10)


@pytest.mark.parametrize("bits", [1, 2, 5, 8])
def test_round_levels_is_quantize_ste_in_level_units(bits):
    h = ((1 << bits) - 1 - 1) / 2 if bits > 1 else 0.5
    v = torch.linspace(-1.3, 1.3, 2001, dtype=torch.float64)
    v = v[((v * h) - (v * h).floor() - 0.5).abs() > 1e-6]  # off the rounding ties
    torch.testing.assert_close(round_levels(v * h, bits) / h, quantize_ste(v, bits))


def test_effective_weight_of_float_weights_is_a_copy_with_gradient():
    layer = AnalogLinear(6, 4, hardware=HardwareConfig(input_range=1.0, read_noise=0.1))
    w = layer.effective_weight()
    assert torch.equal(w, layer.weight) and w.data_ptr() != layer.weight.data_ptr()
    w.sum().backward()
    assert torch.equal(layer.weight.grad, torch.ones(4, 6))


@pytest.mark.parametrize("n_in", [32, 48])  # whole row tiles only (no short last tile)
def test_whole_tiles_match_elementwise_formulation(n_in):
    cfg = HardwareConfig(input_bits=8, output_bits=8, output_range=3.0, input_range=1.0,
                         tile_rows=16, tile_cols=16)
    torch.manual_seed(2)
    layer = AnalogLinear(n_in, 24, hardware=cfg).double()
    x = torch.randn(20, n_in, dtype=torch.float64, requires_grad=True)
    v = torch.randn(20, 24, dtype=torch.float64)
    (layer(x) * v).sum().backward()
    got = (x.grad, layer.weight.grad)
    x.grad, layer.weight.grad = None, None
    (reference_forward(layer, x) * v).sum().backward()
    for a, b in zip(got, (x.grad, layer.weight.grad), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_level_and_fs_forms_of_the_converters_agree(name):
    # hadeq.analog.converters: the fused MVM's level units and the autograd FS units are
    # one DAC and one ADC (equal up to float rounding of the scale factors).
    hw = HardwareConfig(**GEOMETRY, **CONFIGS[name])
    x = torch.randn(50, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x_hat, x_range = dac(x, hw)
    k, x_range_levels, fs = dac_levels(x, hw)
    torch.testing.assert_close(k * fs, x_hat, rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.as_tensor(x_range_levels, dtype=x.dtype), x_range)
    v = 4 * x
    a, lsb = adc_units(hw)
    torch.testing.assert_close(adc_levels(v * a, hw) * lsb, adc(v, hw), rtol=0, atol=1e-12)
