"""A digital DEQ at fp16/int8 computes what a post-training-quantized accelerator computes:
checked against a hand-written int8 solve in numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hadeq
from hadeq.models import ConvHybridDEQ, ConvHybridDEQConfig, HybridDEQ, HybridDEQConfig
from hadeq.models.precision import at_precision


def trained_like(seed: int = 0) -> HybridDEQ:
    torch.manual_seed(seed)
    config = HybridDEQConfig(in_features=6, out_features=3, hidden=12, stem_hidden=None,
                             injection_bits=None,
                             deq=hadeq.DEQConfig(solver="picard", eval_options={
                                 "tol": 1e-9, "max_iter": 200, "stagnation_window": 0}))
    model = HybridDEQ(config).double()
    with torch.no_grad():  # a strong, contractive feedback so that the loop matters
        model.core.weight.copy_(torch.randn(12, 12, dtype=torch.float64) * 0.25)
    model.project_contractive_()
    return model.eval()


def int8_weight(w: np.ndarray) -> np.ndarray:
    """Symmetric per-row int8: s = max|row| / 127, w ↦ s·round(w/s)."""
    s = np.abs(w).max(axis=1, keepdims=True) / 127
    return np.round(w / s) * s


def int8_dynamic(x: np.ndarray) -> np.ndarray:
    """Per-sample symmetric int8 of an activation: ``v = x/max|x|`` to the nearest of the
    255 levels ``−1 + k/127``, counted from −1 (``k = round((v + 1)·127)``, half to even,
    as torch rounds), times ``max|x|``."""
    m = np.abs(x).max(axis=1, keepdims=True)
    return (np.round((x / m + 1.0) * 127) / 127 - 1.0) * m


def reference_int8_picard(model: HybridDEQ, x: np.ndarray, max_iter: int,
                          tol: float) -> np.ndarray:
    """The int8 accelerator's solve, written out: quantized stem, Picard iterations on an
    int8 state over σ's range [−1, 1] (each sample keeps its lowest-residual iterate and
    stops at the tolerance, as the solver loop does), quantized head."""
    p = {k: v.detach().numpy() for k, v in model.state_dict().items()
         if "original" in k or k.endswith("bias")}
    stem_w = int8_weight(p["stem.parametrizations.weight.original"])
    core_w = int8_weight(p["core.parametrizations.weight.original"])
    head_w = int8_weight(p["head.parametrizations.weight.original"])
    u = int8_dynamic(x) @ stem_w.T + p["stem.bias"]
    # the digital gain to the configured RMS per sample (computed at full precision)
    u = u * (model.config.injection_rms / np.sqrt((u * u).mean(axis=1, keepdims=True)))
    out = np.zeros_like(u)
    for i in range(u.shape[0]):
        z, best, best_res = np.zeros(u.shape[1]), np.zeros(u.shape[1]), np.inf
        for _ in range(max_iter):
            fz = np.round(np.tanh(core_w @ z + p["core.bias"] + u[i]) * 127) / 127
            scale = max(np.linalg.norm(fz), np.linalg.norm(z))
            res = np.linalg.norm(fz - z) / scale if scale > 0 else 0.0
            if res < best_res:
                best, best_res = z, res
            if res <= tol:
                break
            z = fz
        out[i] = best
    return int8_dynamic(out) @ head_w.T + p["head.bias"]


def test_int8_solve_equals_a_hand_written_int8_accelerator():
    fp32 = trained_like()
    int8 = at_precision(fp32, "int8")
    x = torch.randn(16, 6, dtype=torch.float64)
    with torch.no_grad():
        out = int8.forward_with_info(x)
        ref32 = fp32(x)
    expected = reference_int8_picard(int8, x.numpy(), max_iter=200, tol=1e-9)
    np.testing.assert_allclose(out.output.numpy(), expected, rtol=0, atol=1e-12)
    # The state lies on the int8 grid, and int8 measurably differs from fp32.
    torch.testing.assert_close(out.z_star * 127, (out.z_star * 127).round(), rtol=0, atol=1e-9)
    assert (out.output - ref32).abs().max() > 1e-4


def test_fp32_copy_is_exact_and_fp16_rounds_to_half():
    model = trained_like(1)
    x = torch.randn(8, 6, dtype=torch.float64)
    with torch.no_grad():
        ref = model(x)
        same = at_precision(model, "fp32")(x)
        half = at_precision(model, "fp16").forward_with_info(x)
    torch.testing.assert_close(same, ref, rtol=0, atol=0)
    z = half.z_star
    torch.testing.assert_close(z, z.half().double(), rtol=0, atol=0)
    assert 0 < (half.output - ref).abs().max() < 1e-2


def test_precision_survives_cloning_and_refuses_analog_hardware():
    int8 = at_precision(trained_like(), "int8")
    x = torch.randn(4, 6, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(int8.clone()(x), int8(x), rtol=0, atol=0)
    with pytest.raises(hadeq.ConfigError, match="digital_precision"):
        int8.set_hardware("hermes_pcm_8bit")
    with pytest.raises(hadeq.ConfigError, match="digital_precision"):
        HybridDEQConfig(in_features=6, out_features=3, hardware="rram_4bit",
                        digital_precision="int8")


def test_conv_core_quantizes_every_output_channel():
    torch.manual_seed(0)
    model = ConvHybridDEQ(ConvHybridDEQConfig(in_channels=1, out_features=1, channels=4,
                                              spectral_modes=2)).double().eval()
    int8 = at_precision(model, "int8")
    int8.set_eval_solver("picard", {"tol": 1e-6, "max_iter": 100})
    for layer in (int8.core, int8.spectral):
        w = layer.weight_matrix().detach()
        steps = w / (w.abs().amax(dim=1, keepdim=True) / 127)
        torch.testing.assert_close(steps, steps.round(), rtol=0, atol=1e-9)
    with torch.no_grad():
        out = int8.forward_with_info(torch.randn(2, 1, 6, 6, dtype=torch.float64))
    torch.testing.assert_close(out.z_star * 127, (out.z_star * 127).round(), rtol=0, atol=1e-9)
