"""The compiled CPU kernels (hadeq.analog.fused) against the torch formulation they
replace on CPU, which stays the definition: the converters give the same bits, the device
read the same effective weights and slopes to float64 rounding (float32 to its own)."""

import math

import numba
import numpy as np
import pytest
import torch
from scipy import stats

from hadeq.analog import HardwareConfig, fused
from hadeq.analog.converters import adc_units, dac_levels, standard_normal
from hadeq.analog.layer import _per_output
from hadeq.analog.quant import half_range

from .test_device_models import CONFIGS, _layer


@pytest.fixture
def torch_formulation(monkeypatch):
    """Run the block with the kernels switched off."""
    def use(enabled):
        monkeypatch.setattr(fused, "ENABLED", enabled)
    return use


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dac_kernel_gives_the_torch_levels_bit_for_bit(dtype, torch_formulation):
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(40, 300, generator=gen) * torch.logspace(-3, 3, 40)[:, None]).to(dtype)
    x[1] = 0.0  # the range falls back to the smallest normal
    x[2, 5] = float("nan")
    x[3, 7] = float("inf")
    hw = HardwareConfig(input_bits=6, output_bits=8, output_range=4.0)
    results = []
    for enabled in (True, False):
        torch_formulation(enabled)
        k, x_range, fs = dac_levels(x, hw)
        results.append((k, torch.as_tensor(x_range).expand(40, 1), fs))
    (k, r, fs), (k_ref, r_ref, fs_ref) = results
    assert fs == fs_ref
    torch.testing.assert_close(r, r_ref, rtol=0, atol=0, equal_nan=True)
    torch.testing.assert_close(k, k_ref, rtol=0, atol=0, equal_nan=True)
    assert bool(k[2].isnan().all()) and bool((k[0].abs() <= half_range(6)).all())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("per_output", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_adc_kernel_sums_tiles_and_counts_clips_as_the_torch_formulation(dtype, per_output,
                                                                         bias):
    hw = HardwareConfig(input_bits=8, output_bits=7, output_range=3.0, read_noise=0.1)
    gen = torch.Generator().manual_seed(1)
    lsb = adc_units(hw)[1]
    h = half_range(hw.output_bits)
    u = (torch.randn(3, 50, 20, generator=gen) * 0.7 * h).to(dtype)  # some beyond ±H
    scale = (torch.rand(20, generator=gen) + 0.5 if per_output else torch.tensor(0.8)).to(dtype)
    x_range = (torch.rand(50, 1, generator=gen) + 0.1).to(dtype)
    b = torch.randn(20, generator=gen).to(dtype) if bias else None
    y, clipped = fused.adc_sum(u.numpy(), fused.const(h, dtype), scale.numpy(),
                               x_range.numpy(), fused.const(lsb, dtype),
                               fused.empty(dtype) if b is None else b.numpy())
    y = torch.from_numpy(y)
    levels = u.clamp(-h, h).round().sum(0)
    ref = levels * (scale * x_range * lsb)
    ref = ref + b if b is not None else ref
    assert clipped == int((u.abs() > h).sum()) > 0
    torch.testing.assert_close(y, ref, rtol=0, atol=0)


@pytest.mark.parametrize("name", [name for name in CONFIGS if name != "ideal"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_device_read_matches_the_torch_formulation(name, dtype, torch_formulation):
    layer, _ = _layer("linear", CONFIGS[name])
    layer = layer.to(dtype)
    w = layer.weight.detach()
    scale = _per_output(layer._weight_scale(w))
    array = layer._programmed_array(dtype)
    results = []
    for enabled in (True, False):
        torch_formulation(enabled)
        results.append(array.read(w, scale))
    tol = {"rtol": 1e-12, "atol": 1e-14} if dtype == torch.float64 else {"rtol": 2e-5,
                                                                         "atol": 1e-6}
    for got, expected in zip(*results, strict=True):
        torch.testing.assert_close(got, expected, **tol)



# --- the read noise's normal draws --------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_read_noise_draws_are_standard_normal(dtype):
    """Two million draws against N(0, 1): Kolmogorov–Smirnov, the first four moments and
    the mass of both tails out to 4.5 σ (where the polynomial logarithm's relative error
    would show first)."""
    n = 2_000_001  # odd: the last draw has no partner
    xi = standard_normal((n,), torch.empty(0, dtype=dtype), torch.Generator().manual_seed(3))
    assert xi.dtype == dtype and xi.shape == (n,)
    v = xi.double().numpy()
    assert np.isfinite(v).all()
    assert stats.kstest(v, "norm").pvalue > 1e-3
    se = 1 / math.sqrt(n)
    assert abs(v.mean()) < 5 * se
    assert abs(v.var() - 1) < 5 * math.sqrt(2) * se
    assert abs(stats.skew(v)) < 5 * math.sqrt(6) * se
    assert abs(stats.kurtosis(v)) < 5 * math.sqrt(24) * se
    for t in (2.0, 3.0, 4.0, 4.5):
        p = 2 * stats.norm.sf(t)
        assert abs((np.abs(v) > t).mean() - p) < 5 * math.sqrt(p / n)
    # Neighbours (the two normals of one 64-bit output) are uncorrelated, also in square.
    assert abs(np.corrcoef(v[:-1:2], v[1::2])[0, 1]) < 5 * math.sqrt(2) * se
    assert abs(np.corrcoef(v[:-1:2] ** 2, v[1::2] ** 2)[0, 1]) < 5 * math.sqrt(2) * se


def test_read_noise_draws_follow_the_generator():
    like = torch.empty(0)

    def draw(seed):
        return standard_normal((3, 50, 7), like, torch.Generator().manual_seed(seed))

    assert torch.equal(draw(1), draw(1))
    assert not torch.equal(draw(1), draw(2))
    gen = torch.Generator().manual_seed(1)
    first, second = standard_normal((100,), like, gen), standard_normal((100,), like, gen)
    assert not torch.equal(first, second)  # each draw advances the generator


@numba.njit
def _log2_all(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = fused._log2(x[i])
    return out


def test_float32_log2_is_within_a_few_ulps():
    """The float32 log2 of the device read and the read noise against NumPy's in float64,
    over float32's normal range (the powers of two exactly)."""
    rng = np.random.default_rng(0)
    x = np.exp2(rng.uniform(-126, 127.9, 200_000)).astype(np.float32)
    x[:3] = [np.finfo(np.float32).tiny, 1.0, 2.0 ** 100]
    got = _log2_all(x)
    exact = np.log2(x.astype(np.float64))
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(got - exact) <= 4 * np.maximum(ulp, np.spacing(np.float32(1))))
    assert got[:3].tolist() == [-126.0, 0.0, 100.0]
