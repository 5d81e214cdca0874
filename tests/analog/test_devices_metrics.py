import math

import torch
from torch import nn

from hadeq.analog import AnalogLinear, HardwareConfig, measure_snr_db, snr_db


def _pcm_layer(t_s, compensate, w_value=0.1, n=64):
    cfg = HardwareConfig(device_model="pcm", t_inference_s=t_s, pcm_noise_scale=0.0,
                         drift_compensation=compensate, tile_rows=n, tile_cols=n)
    layer = AnalogLinear(n, n, bias=False, hardware=cfg, seed=7)
    with torch.no_grad():
        layer.weight.fill_(w_value)
        layer.weight[0, 0] = 1.0  # sets the layer scale: every other pair has ĝ = w_value
    return layer


def test_pcm_drift_follows_the_power_law_with_the_nandakumar_exponent():
    t_s, g_hat = 2000.0, 0.1
    layer = _pcm_layer(t_s, compensate=False, w_value=g_hat)
    ratio = (layer.effective_weight() / layer.weight).detach().double().flatten()[1:]
    nu = -torch.log(ratio) / math.log(t_s / 20.0)  # g(t) = g0·(t/t0)^−ν, t0 = 20 s
    # ν = |N(μ, σ)| with μ = −0.0155 ln ĝ + 0.0244, σ = −0.0125 ln ĝ − 0.0059 (FACTS.md).
    mu = -0.0155 * math.log(g_hat) + 0.0244
    sd = -0.0125 * math.log(g_hat) - 0.0059
    phi = 0.5 * (1 + math.erf(-mu / (sd * math.sqrt(2))))
    folded_mean = sd * math.sqrt(2 / math.pi) * math.exp(-mu**2 / (2 * sd**2)) + mu * (1 - 2 * phi)
    assert bool((nu >= 0).all())
    assert abs(float(nu.mean()) / folded_mean - 1) < 0.03
    assert abs(float(nu.std()) / sd - 1) < 0.05


def test_pcm_no_drift_before_t0_and_global_compensation_restores_scale():
    fresh = _pcm_layer(10.0, compensate=False)
    torch.testing.assert_close(fresh.effective_weight(), fresh.weight)
    drifted = _pcm_layer(1e6, compensate=False)
    compensated = _pcm_layer(1e6, compensate=True)
    w = drifted.weight.detach()
    raw = float((drifted.effective_weight().detach() / w).mean())
    fixed = compensated.effective_weight().detach()
    assert raw < 0.7  # (5e4)^−0.06 ≈ 0.52: drift shrinks every weight
    assert abs(float(fixed.abs().sum() / w.abs().sum()) - 1) < 1e-4


def test_pcm_programming_noise_matches_nandakumar_sigma():
    cfg = HardwareConfig(device_model="pcm", tile_rows=128, tile_cols=128)
    layer = AnalogLinear(128, 128, bias=False, hardware=cfg, seed=1)
    with torch.no_grad():
        layer.weight.fill_(1.0)  # G+ = g_max (ĝ = 1), G− = 0 (ĝ = 0)
    err_us = (layer.effective_weight() - layer.weight).detach() * cfg.g_max_us
    # G+: σ(1) = −1.1731 + 1.9650 + 0.2635; G−: σ(0) = 0.2635 but clipped at 0 conductance.
    sigma_pos = -1.1731 + 1.9650 + 0.2635
    sigma_neg = 0.2635
    neg_var = sigma_neg**2 * (0.5 - 1 / (2 * math.pi))  # variance of max(N(0, σ²), 0)
    expected = math.sqrt(sigma_pos**2 + neg_var)
    assert abs(float(err_us.std()) / expected - 1) < 0.05


def test_snr_db_matches_the_analytic_uniform_signal_value():
    gen = torch.Generator().manual_seed(0)
    clean = torch.rand(200_000, generator=gen, dtype=torch.float64) * 2 - 1
    for eta in (0.01, 0.06, 0.1):
        noisy = clean + eta * torch.randn(clean.shape, generator=gen, dtype=torch.float64)
        assert abs(snr_db(clean, noisy) - 20 * math.log10(1 / (math.sqrt(3) * eta))) < 0.05
    assert snr_db(clean, clean) == math.inf


def test_measure_snr_db_of_a_noisy_layer():
    torch.manual_seed(0)
    eta = 0.05
    cfg = HardwareConfig(read_noise=eta, input_range=1.0)
    layer = AnalogLinear.from_linear(nn.Linear(32, 16), cfg)
    x = torch.rand(5000, 32) * 2 - 1
    with torch.no_grad():
        signal_var = float(layer.ideal_forward(x).var(unbiased=False))
    noise_var = (eta * float(layer.weight.detach().abs().max())) ** 2
    expected = 10 * math.log10(signal_var / noise_var)
    assert abs(measure_snr_db(layer, x) - expected) < 0.3
    assert layer.n_vectors == 0  # measuring does not count as work
    ideal = AnalogLinear.from_linear(nn.Linear(32, 16), HardwareConfig())
    assert measure_snr_db(ideal, x) == math.inf
