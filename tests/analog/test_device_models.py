"""The device models (hadeq.analog.devices.ProgrammedArray) against the elementwise
autograd formulation they replace, kept here as the slow reference: the same effective
weights, the same gradients with respect to the weights, and the same layer outputs and
input gradients for the same read-noise draws, in float64."""

import math

import pytest
import torch
from torch import nn

from hadeq import constants as C
from hadeq.analog import AnalogConv2d, AnalogLinear, HardwareConfig
from hadeq.analog.crossbar import from_tiles, ir_drop_factor, to_tiles
from hadeq.analog.layer import _per_output
from hadeq.analog.mvm import TiledMVM
from hadeq.analog.quant import quantize_ste

_US_TO_S = 1e-6


# --- the reference: the previous implementation, one autograd op per step -----------------
def ref_pcm_programming_noise_us(g_us, g_max_us):
    c2, c1, c0 = C.PCM_PROG_NOISE_COEFFS_US
    g_hat = g_us / g_max_us
    sigma = (c2 * g_hat * g_hat + c1 * g_hat + c0).clamp_min(0.0)
    return sigma * (g_max_us / C.PCM_G_MAX_US)


def ref_pcm_drift(g_prog_us, g_hat, xi, t_s):
    if t_s <= C.PCM_DRIFT_T0_S:
        return g_prog_us
    log_g = torch.log(g_hat.clamp_min(torch.finfo(g_hat.dtype).tiny))
    a_mu, b_mu = C.PCM_DRIFT_MU_COEFFS
    a_sd, b_sd = C.PCM_DRIFT_SIGMA_COEFFS
    mu = (a_mu * log_g + b_mu).clamp(*C.PCM_DRIFT_MU_CLIP)
    sd = (a_sd * log_g + b_sd).clamp(*C.PCM_DRIFT_SIGMA_CLIP)
    nu = (mu + sd * xi).abs()
    return g_prog_us * torch.exp(-nu * math.log(t_s / C.PCM_DRIFT_T0_S))


def ref_pcm_read_noise_us(g_us, g_hat, t_s):
    t_read = C.PCM_READ_NOISE_T_READ_S
    log_term = math.log((t_s + t_read) / (2.0 * t_read))
    if log_term <= 0.0:
        return torch.zeros_like(g_us)
    a, p = C.PCM_READ_NOISE_QS_COEFFS
    q_s = (a / g_hat.clamp_min(torch.finfo(g_hat.dtype).tiny) ** p).clamp_max(
        C.PCM_READ_NOISE_QS_MAX)
    return g_us * q_s * math.sqrt(log_term)


def ref_pcm_conductance_us(g_target_us, g_max_us, t_s, noise_scale, xi_prog, xi_drift,
                           xi_read):
    sigma = ref_pcm_programming_noise_us(g_target_us.detach(), g_max_us)
    g_prog = (g_target_us + noise_scale * sigma * xi_prog).clamp_min(0.0)
    g_hat = (g_prog / g_max_us).detach()
    g_t = ref_pcm_drift(g_prog, g_hat, xi_drift, t_s)
    read_sd = ref_pcm_read_noise_us(g_t.detach(), g_hat, t_s)
    g_t = (g_t + noise_scale * read_sd * xi_read).clamp_min(0.0)
    return g_prog, g_t


def ref_effective_weight(layer):
    """``E`` of ``layer`` (``(out, in)``, differentiable with respect to its weight)."""
    hw = layer.hardware
    w = layer.weight_matrix()
    tiny = torch.finfo(w.dtype).tiny
    scale = layer._weight_scale(w)
    w_hat = w / _per_output(scale)
    if hw.weight_bits is not None:
        w_hat = quantize_ste(w_hat, hw.weight_bits)
    if hw.device_model == "ideal" and hw.wire_resistance_ohm == 0.0:
        return w_hat * _per_output(scale)
    w_hat = to_tiles(w_hat, hw.tile_rows, hw.tile_cols)
    span = hw.g_max_us - hw.g_min_us
    g_pos = hw.g_min_us + span * torch.relu(w_hat)
    g_neg = hw.g_min_us + span * torch.relu(-w_hat)
    xi = layer.xi_devices.to(dtype=w.dtype)
    if hw.device_model == "gaussian":
        sigma = hw.programming_noise * hw.g_max_us
        g_pos = g_pos + sigma * xi[0, 0]
        g_neg = g_neg + sigma * xi[0, 1]
        diff = g_pos - g_neg
    elif hw.device_model == "pcm":
        args = (hw.g_max_us, hw.t_inference_s, hw.pcm_noise_scale)
        p_prog, g_pos = ref_pcm_conductance_us(g_pos, *args, xi[0, 0], xi[1, 0], xi[2, 0])
        n_prog, g_neg = ref_pcm_conductance_us(g_neg, *args, xi[0, 1], xi[1, 1], xi[2, 1])
        diff = g_pos - g_neg
        if hw.drift_compensation:
            alpha = ((p_prog - n_prog).abs().sum()
                     / (diff.abs().sum().clamp_min(tiny))).detach()
            diff = diff * alpha
    else:
        diff = g_pos - g_neg
    if hw.wire_resistance_ohm > 0.0:
        eps = hw.wire_resistance_ohm * hw.g_max_us * _US_TO_S
        load = ((g_pos + g_neg) / hw.g_max_us).detach()
        diff = diff * ir_drop_factor(load, hw.tile_cols, eps)
    tiles = diff / span
    return from_tiles(tiles, layer.mvm_in, layer.mvm_out) * _per_output(scale)


def ref_matmul(layer, x, generator):
    """``analog_matmul`` with the reference effective weight."""
    from hadeq.analog.converters import amplifier_errors

    hw = layer.hardware
    e = ref_effective_weight(layer)
    scale = layer._weight_scale(layer.weight_matrix())
    gain, offset = amplifier_errors(layer.xi_amplifiers[..., : layer.mvm_out], hw, x.dtype)
    return TiledMVM.apply(x, e, layer.bias, scale, gain, offset, hw, generator)


# --- configurations -----------------------------------------------------------------------
SMALL = {"tile_rows": 16, "tile_cols": 8}
CONFIGS = {
    **{name: HardwareConfig.preset(name, **SMALL) for name in HardwareConfig.PRESET_NAMES},
    "gaussian": HardwareConfig(device_model="gaussian", programming_noise=0.05, weight_bits=6,
                               read_noise=0.02, gain_mismatch=0.02, offset_mismatch=0.01,
                               **SMALL),
    "pcm_ir_column_gmin": HardwareConfig(device_model="pcm", t_inference_s=86400.0,
                                         wire_resistance_ohm=1.0, weight_scale="column",
                                         weight_bits=5, g_min_us=0.5, read_noise=0.01,
                                         **SMALL),
    "pcm_uncompensated": HardwareConfig(device_model="pcm", t_inference_s=1e5,
                                        drift_compensation=False, pcm_noise_scale=2.0,
                                        **SMALL),
    "pcm_before_t0": HardwareConfig(device_model="pcm", t_inference_s=10.0, **SMALL),
    "pcm_drift_only": HardwareConfig(device_model="pcm", t_inference_s=3600.0,
                                     pcm_noise_scale=0.0, **SMALL),
    "ideal_ir": HardwareConfig(wire_resistance_ohm=2.0, weight_bits=4, **SMALL),
    # Wide tiles: the IR drop's prefix sums take the blocked matrix-product path.
    "gaussian_ir_wide": HardwareConfig(device_model="gaussian", programming_noise=0.03,
                                       wire_resistance_ohm=1.0, g_max_us=100.0,
                                       tile_rows=32, tile_cols=64),
    "pcm_ir_wide": HardwareConfig(device_model="pcm", t_inference_s=3600.0,
                                  wire_resistance_ohm=0.5, tile_rows=32, tile_cols=128),
}


def _layer(kind, hw):
    torch.manual_seed(3)
    if kind == "linear":
        layer = AnalogLinear(37, 150, hardware=hw, seed=5).double()
        x = torch.randn(11, 37, dtype=torch.float64)
    else:
        layer = AnalogConv2d(3, 5, 3, padding=1, hardware=hw, seed=5).double()
        x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    with torch.no_grad():
        layer.weight[0].zero_()  # exactly zero weights: both devices idle, no gradient
    return layer, x


def _cotangent(shape, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_effective_weight_and_its_gradient_match_the_reference(name, kind):
    layer, _ = _layer(kind, CONFIGS[name])
    e_ref = ref_effective_weight(layer)
    t = _cotangent(e_ref.shape, 1)
    (g_ref,) = torch.autograd.grad((e_ref * t).sum(), layer.weight)
    e = layer.effective_weight()
    (g,) = torch.autograd.grad((e * t).sum(), layer.weight)
    torch.testing.assert_close(e, e_ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(g, g_ref, rtol=1e-12, atol=1e-14)
    if name != "ideal":
        assert bool((g.reshape(g.shape[0], -1)[0] == 0).all())  # the zeroed output row


@pytest.mark.parametrize("name", list(CONFIGS))
def test_layer_outputs_and_gradients_match_the_reference(name):
    layer, x = _layer("linear", CONFIGS[name])
    outs = []
    for forward in (lambda xx, gen: layer(xx, generator=gen), lambda xx, gen: ref_matmul(
            layer, xx, gen)):
        layer.zero_grad()
        xx = x.clone().requires_grad_()
        y = forward(xx, torch.Generator().manual_seed(9))
        (y * _cotangent(y.shape, 2)).sum().backward()
        outs.append((y.detach(), xx.grad, layer.weight.grad.clone(), layer.bias.grad.clone()))
    for new, ref in zip(*outs, strict=True):
        torch.testing.assert_close(new, ref, rtol=1e-12, atol=1e-13)


def test_float32_training_forward_matches_the_reference_to_float32_rounding():
    hw = HardwareConfig.preset("hermes_pcm_8bit")
    torch.manual_seed(0)
    layer = AnalogLinear.from_linear(nn.Linear(300, 70), hw)
    e_ref = ref_effective_weight(layer)
    t = torch.randn(e_ref.shape)
    (g_ref,) = torch.autograd.grad((e_ref * t).sum(), layer.weight)
    e = layer.effective_weight()
    (g,) = torch.autograd.grad((e * t).sum(), layer.weight)
    torch.testing.assert_close(e, e_ref, rtol=2e-5, atol=1e-6)
    torch.testing.assert_close(g, g_ref, rtol=2e-5, atol=1e-6)


def test_static_factors_follow_reprogramming_loading_and_dtype():
    hw = HardwareConfig.preset("hermes_pcm_8bit", **SMALL)
    layer, _ = _layer("linear", hw)
    e0 = layer.effective_weight().detach()
    layer.program(11)
    e1 = layer.effective_weight().detach()
    assert not torch.equal(e0, e1)
    torch.testing.assert_close(e1, ref_effective_weight(layer).detach(), rtol=1e-12,
                               atol=1e-14)
    other = AnalogLinear(37, 150, hardware=hw, seed=5).double()
    other.load_state_dict(layer.state_dict())  # same draws, loaded in place
    torch.testing.assert_close(other.effective_weight(), e1, rtol=0, atol=0)
    single = layer.float()
    torch.testing.assert_close(single.effective_weight().double(), e1, rtol=2e-5, atol=1e-6)


def test_second_order_gradient_through_the_device_model_is_that_of_the_reference():
    layer, x = _layer("linear", CONFIGS["hermes_pcm_8bit"])
    xx = x.clone().requires_grad_()
    grads = []
    for forward in (lambda: layer(xx, generator=torch.Generator().manual_seed(4)),
                    lambda: ref_matmul(layer, xx, torch.Generator().manual_seed(4))):
        y = forward()
        (gx,) = torch.autograd.grad(y.square().sum(), xx, create_graph=True)
        (gw,) = torch.autograd.grad(gx.square().sum(), layer.weight)
        grads.append(gw)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-10, atol=1e-12)
