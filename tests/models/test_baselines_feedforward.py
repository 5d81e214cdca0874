"""Feed-forward analog baselines: sizes, float equivalence, converters, configs, energy."""

from __future__ import annotations

import importlib
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hadeq.analog import HardwareConfig, snr_db
from hadeq.errors import ConfigError
from hadeq.models import HybridDEQ, HybridDEQConfig
from hadeq.models.feedforward import (
    AnalogCNN,
    AnalogCNNConfig,
    AnalogMLP,
    AnalogMLPConfig,
)
from hadeq.models.interface import parameter_count

torch.set_num_threads(1)


def test_parameter_counts_comparable_to_hybrid_deq() -> None:
    for n_in, cnn_cfg in ((64, AnalogCNNConfig(1, 8, 8, 10)),
                          (784, AnalogCNNConfig(1, 28, 28, 10, fc_hidden=64))):
        ref = parameter_count(HybridDEQ(HybridDEQConfig(n_in, 10, hidden=64)))
        mlp = parameter_count(AnalogMLP(AnalogMLPConfig(n_in, 10)))
        cnn = parameter_count(AnalogCNN(cnn_cfg))
        for count in (mlp, cnn):
            assert 0.85 * ref <= count <= 1.15 * ref, (n_in, count, ref)
    assert parameter_count(AnalogMLP(AnalogMLPConfig(64, 10))) == 21_674
    assert parameter_count(AnalogCNN(AnalogCNNConfig(1, 8, 8, 10))) == 22_602


def test_ideal_mlp_reproduces_float_mlp() -> None:
    model = AnalogMLP(AnalogMLPConfig(20, 5, hidden=(16, 12)), seed=3)
    ref = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 12), nn.ReLU(),
                        nn.Linear(12, 5))
    with torch.no_grad():
        for dst, src in zip([ref[0], ref[2], ref[4]], model.layers, strict=True):
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)
    x = torch.randn(7, 20)
    model.train()
    assert torch.equal(model(x), ref(x))
    assert torch.equal(model.ideal_forward(x), ref(x))


def test_ideal_cnn_reproduces_float_cnn() -> None:
    model = AnalogCNN(AnalogCNNConfig(1, 8, 8, 10, channels=(4, 6), fc_hidden=16), seed=1)
    conv1, conv2, fc1, fc2 = model.layers
    x = torch.randn(3, 64)
    h = F.max_pool2d(F.relu(F.conv2d(x.reshape(3, 1, 8, 8), conv1.weight, conv1.bias,
                                     padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, conv2.weight, conv2.bias, padding=1)), 2)
    h = F.linear(F.relu(F.linear(h.flatten(1), fc1.weight, fc1.bias)), fc2.weight, fc2.bias)
    torch.testing.assert_close(model(x), h, rtol=0, atol=1e-6)


def test_forward_shapes_and_info() -> None:
    mlp = AnalogMLP(AnalogMLPConfig(64, 10))
    cnn = AnalogCNN(AnalogCNNConfig(1, 8, 8, 10))
    x = torch.randn(4, 64)
    assert mlp(x).shape == (4, 10)
    assert cnn(x).shape == (4, 10)
    assert cnn(x.reshape(4, 1, 8, 8)).shape == (4, 10)
    info = mlp.forward_with_info(x)
    assert [a.shape[1] for a in info.states] == [128, 96, 10]
    with pytest.raises(ConfigError, match=r"x\.shape"):
        mlp(torch.randn(4, 63))


def test_one_dac_and_one_adc_pass_per_layer_per_input() -> None:
    hw = HardwareConfig.preset("hermes_pcm_8bit", tile_rows=32, tile_cols=32)
    mlp = AnalogMLP(AnalogMLPConfig(64, 10, hidden=(40, 24), hardware=hw))
    mlp.eval()
    batch = 5
    with torch.no_grad():
        mlp(torch.randn(batch, 64))
    for layer in mlp.layers:
        c = layer.counters()
        assert c["n_vectors"] == batch  # every layer converts every input once
        # one DAC per input value per column tile, one ADC per output per row tile
        assert c["n_dac_conversions"] == batch * layer.mvm_in * layer.n_col_tiles
        assert c["n_adc_conversions"] == batch * layer.mvm_out * layer.n_row_tiles
    # the energy workload converts the same number of values per inference
    rep = mlp.energy_report()
    assert rep.counts["dac_conversions"] == sum(
        lay.counters()["n_dac_conversions"] for lay in mlp.layers) / batch
    assert rep.counts["adc_conversions"] == sum(
        lay.counters()["n_adc_conversions"] for lay in mlp.layers) / batch

    cnn = AnalogCNN(AnalogCNNConfig(1, 8, 8, 10, channels=(4, 8), fc_hidden=16, hardware=hw))
    cnn.eval()
    with torch.no_grad():
        cnn(torch.randn(batch, 64))
    pixels = cnn.vectors_per_inference()
    assert pixels == [64, 16, 1, 1]
    for layer, v in zip(cnn.layers, pixels, strict=True):
        assert layer.counters()["n_vectors"] == batch * v
    rep = cnn.energy_report()
    assert rep.counts["dac_conversions"] == sum(
        lay.counters()["n_dac_conversions"] for lay in cnn.layers) / batch
    assert rep.total_j > 0 and rep.latency_ns > 0


def test_hardware_aware_training_injects_noise_and_standard_mode_does_not() -> None:
    hw = HardwareConfig(read_noise=0.05)
    x = torch.randn(6, 64)
    noisy = AnalogMLP(AnalogMLPConfig(64, 10, hardware=hw)).train()
    assert not torch.equal(noisy(x), noisy(x))
    clean = AnalogMLP(AnalogMLPConfig(64, 10, hardware=hw, mode="standard")).train()
    assert torch.equal(clean(x), clean.ideal_forward(x))
    clean.eval()
    assert not torch.equal(clean(x), clean.ideal_forward(x))
    # gradients reach every layer through the hardware model (STE)
    noisy(x).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in noisy.parameters())


def test_set_hardware_keeps_weights_and_snr_is_finite() -> None:
    model = AnalogMLP(AnalogMLPConfig(64, 10))
    x = torch.randn(32, 64)
    before = model(x)
    model.set_hardware(HardwareConfig.preset("hermes_pcm_8bit"), seed=2)
    assert model.hardware.device_model == "pcm"
    assert all(layer.hardware.input_bits == 8 for layer in model.layers)
    snr = model.output_snr_db(x)
    assert 5.0 < snr < 60.0
    model.set_hardware(HardwareConfig())
    assert torch.equal(model(x), before)
    assert math.isinf(model.output_snr_db(x))


def test_crossbar_snr_pools_every_layer_on_its_own_inputs() -> None:
    """An MLP's crossbar SNR: each layer's output on the chip against the float product
    of the same inputs (the previous layer's hardware output after ReLU), pooled as
    Σ Var[clean] / Σ Var[error] with every layer's elements counted; static device errors
    only, so the pass is deterministic. One layer gives snr_db of its output. The
    counters and the training mode are left as they were."""
    torch.manual_seed(0)
    model = AnalogMLP(AnalogMLPConfig(32, 6, hidden=(24,)))
    model.set_hardware(HardwareConfig.preset("hermes_pcm_8bit", read_noise=0.0), seed=3)
    x = torch.randn(40, 32)
    model.eval()
    with torch.no_grad():
        first, second = model.layers
        y1 = first(x)
        y2 = second(torch.relu(y1))
        clean = [first.ideal_forward(x), second.ideal_forward(torch.relu(y1))]
    model.train()
    for layer in model.analog_layers():
        layer.reset_counters()
    pooled = model.crossbar_snr_db(x)
    signal = sum(c.double().var(unbiased=False) * c.numel() for c in clean)
    error = sum((n.double() - c.double()).var(unbiased=False) * c.numel()
                for n, c in zip((y1, y2), clean, strict=True))
    assert pooled == pytest.approx(10 * math.log10(float(signal / error)), rel=1e-6)
    per_layer = [snr_db(c, n) for c, n in zip(clean, (y1, y2), strict=True)]
    assert min(per_layer) < pooled < max(per_layer)
    assert model.training and all(layer.n_vectors == 0 for layer in model.analog_layers())
    single = AnalogMLP(AnalogMLPConfig(32, 6, hidden=()))
    single.set_hardware(HardwareConfig.preset("hermes_pcm_8bit", read_noise=0.0), seed=3)
    with torch.no_grad():
        expected = snr_db(single.ideal_forward(x), single.eval()(x))
    assert single.crossbar_snr_db(x) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("cls", "kwargs", "field"), [
    (AnalogMLPConfig, {"in_features": 0, "out_features": 3}, "in_features"),
    (AnalogMLPConfig, {"in_features": 4, "out_features": 3, "hidden": (8, -1)}, "hidden"),
    (AnalogMLPConfig, {"in_features": 4, "out_features": 3, "mode": "x"}, "mode"),
    (AnalogMLPConfig, {"in_features": 4, "out_features": 3, "hardware": "nope"}, "hardware"),
    (AnalogCNNConfig, {"in_channels": 1, "height": 2, "width": 8, "out_features": 3},
     "height"),
    (AnalogCNNConfig, {"in_channels": 1, "height": 8, "width": 8, "out_features": 3,
                       "channels": ()}, "channels"),
    (AnalogCNNConfig, {"in_channels": 1, "height": 8, "width": 8, "out_features": 3,
                       "fc_hidden": 0}, "fc_hidden"),
])
def test_bad_configs_name_the_field(cls: type, kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        cls(**kwargs)
    assert info.value.field == field


def test_registry_builds_feedforward_models() -> None:
    registry = importlib.import_module("hadeq.models.registry")
    hints = registry.ModelHints(in_features=64, out_features=10, input_shape=(64,))
    mlp = registry.build_model({"kind": "analog_mlp", "hidden": [32]}, hints)
    assert isinstance(mlp, AnalogMLP) and mlp(torch.randn(2, 64)).shape == (2, 10)
    cnn = registry.build_model({"kind": "analog_cnn", "hardware": "rram_4bit"}, hints)
    assert isinstance(cnn, AnalogCNN) and cnn.config.height == 8
    with pytest.raises(ConfigError, match=r"model\.hiden"):
        registry.parse_model_section({"kind": "analog_mlp", "hiden": [3]}, hints)
