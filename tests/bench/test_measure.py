"""The bench's measurements of a conv DEQ with a spectral path: the workload counts every
analog layer in the loop, and the feedback share includes the spectral feedback."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from hadeq.analog import HardwareConfig
from hadeq.bench.measure import core_snr
from hadeq.models import ConvHybridDEQ, ConvHybridDEQConfig


def spectral_model() -> ConvHybridDEQ:
    torch.manual_seed(0)
    return ConvHybridDEQ(ConvHybridDEQConfig(in_channels=1, out_features=1, channels=3,
                                             stem_hidden=None, spectral_modes=2))


def test_workload_counts_the_conv_and_the_spectral_path():
    m, c, h, w, k = 2, 3, 6, 7, 3
    work = spectral_model().workload(torch.randn(4, 1, h, w))
    conv_macs = h * w * c * c * k * k
    mix_macs = m * m * c * c
    transform_macs = m * (c * (h * w + m * w) + c * (h * w + m * h))
    assert work.core_macs == conv_macs + mix_macs + transform_macs
    assert work.core_weights == c * c * k * k + m * m * c * c
    assert work.neurons == c * h * w


def test_feedback_share_includes_the_spectral_feedback():
    model = spectral_model()
    x = torch.randn(3, 1, 6, 6)
    got = core_snr(model, x, HardwareConfig(weight_bits=8, read_noise=0.02), seed=0)
    with torch.no_grad():
        out = model.eval().forward_with_info(x)
        z = out.z_star
        fb = F.conv2d(z, model.core.weight, padding=1) + model.spectral.ideal_forward(z)
        share = (fb.flatten(1).norm(dim=1) / out.u.flatten(1).norm(dim=1)).mean()
    assert got["feedback_share"] == pytest.approx(float(share), rel=1e-5)


def test_jacobian_radius_and_slope_match_the_explicit_jacobian_of_a_dense_core():
    """ρ(diag(1 − z*²)·W) from torch.linalg.eigvals at the float equilibrium, per sample,
    and the mean tanh slope 1 − z*², against the bench's estimates."""
    from hadeq.models import HybridDEQ, HybridDEQConfig

    torch.manual_seed(0)
    model = HybridDEQ(HybridDEQConfig(in_features=8, hidden=12, out_features=3,
                                      stem_hidden=None)).eval()
    with torch.no_grad():
        model.core.weight.mul_(3.0)
    model.project_contractive_()
    x = torch.randn(16, 8)
    out = core_snr(model, x, HardwareConfig.preset("hermes_pcm_8bit"), seed=0)
    ideal = model.clone().eval()
    ideal.set_hardware(HardwareConfig.preset("ideal"))
    with torch.no_grad():
        z = ideal.forward_with_info(x).z_star
    w = model.core.weight.detach()
    radii = [float(torch.linalg.eigvals((1 - zi * zi)[:, None] * w).abs().max()) for zi in z]
    assert out["jacobian_radius"] == pytest.approx(sum(radii) / len(radii), rel=0.05)
    assert out["mean_slope"] == pytest.approx(float((1 - z * z).mean()), rel=1e-4)


def test_the_read_noise_for_an_snr_gives_that_snr_and_crossbar_snr_is_core_snrs():
    """The read noise found for 20 dB gives 20 dB when measured afresh, more noise gives
    less, and a hybrid's crossbar_snr_db is core_snr's mvm_snr_db; a target above the
    static errors' SNR is out of reach (no read noise)."""
    from hadeq.models import HybridDEQ, HybridDEQConfig
    from hadeq.training.snr import crossbar_snr_db, read_noise_for_snr

    torch.manual_seed(0)
    model = HybridDEQ(HybridDEQConfig(in_features=8, hidden=48, out_features=3,
                                      stem_hidden=None)).eval()
    x = torch.randn(64, 8)
    chip = HardwareConfig.preset("hermes_pcm_8bit")
    found = read_noise_for_snr(model, x, chip, 20.0, seed=1)
    assert found["reachable"] and found["static_snr_db"] > 20.0 and found["read_noise"] > 0
    at = chip.replace(read_noise=found["read_noise"])
    assert crossbar_snr_db(model, x, at, seed=1) == pytest.approx(found["snr_db"])
    assert abs(found["snr_db"] - 20.0) <= 0.25
    # Twice the noise: the static error power plus four times the read noise's.
    p0, p1 = 10 ** (-found["static_snr_db"] / 10), 10 ** (-found["snr_db"] / 10)
    twice = crossbar_snr_db(model, x, chip.replace(read_noise=2 * found["read_noise"]), 1)
    assert twice == pytest.approx(-10 * math.log10(p0 + 4 * (p1 - p0)), abs=0.5)
    assert twice < found["snr_db"] - 1.0
    assert crossbar_snr_db(model, x, at, seed=1) == pytest.approx(
        core_snr(model, x, at, seed=1)["mvm_snr_db"])
    beyond = read_noise_for_snr(model, x, chip, found["static_snr_db"] + 1.0, seed=1)
    assert not beyond["reachable"] and beyond["read_noise"] == 0.0
