"""Training where the crossbars measure a given SNR: the read noise follows the weights."""

from __future__ import annotations

import json

import pytest
import torch

from hadeq.analog import HardwareConfig
from hadeq.errors import ConfigError
from hadeq.models import HybridDEQ, HybridDEQConfig
from hadeq.training import Trainer
from hadeq.training.config import SNR_SAMPLES
from hadeq.training.seeding import derive_seed
from hadeq.training.snr import crossbar_snr_db, read_noise_for_snr
from tests.training.conftest import (
    NOISY_HARDWARE,
    assert_same_run,
    crash_in_epoch_3_and_resume,
    small_config,
)


def test_set_read_noise_is_the_same_chip_with_that_noise_and_keeps_the_parameters():
    """The model after set_read_noise computes what the same weights moved to the same
    chip with that read noise compute (same read-noise draws), and its parameters are the
    very tensors an optimizer holds."""
    torch.manual_seed(0)
    chip = HardwareConfig.preset("hermes_pcm_8bit", weight_bits=8, read_noise=0.05)
    model = HybridDEQ(HybridDEQConfig(in_features=8, hidden=24, out_features=3,
                                      stem_hidden=None, hardware=chip)).eval()
    model.program(5)
    before = list(model.parameters())
    moved = model.clone()
    moved.set_hardware(chip.replace(read_noise=0.3), seed=5)
    model.set_read_noise(0.3)
    assert all(a is b for a, b in zip(before, model.parameters(), strict=True))
    assert model.hardware.read_noise == 0.3
    assert all(layer.hardware.read_noise == 0.3 for layer in model.analog_layers())
    x = torch.randn(16, 8)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        ours = model(x)
        torch.manual_seed(1)
        theirs = moved(x)
    assert torch.equal(ours, theirs)
    with pytest.raises(ConfigError, match="read_noise"):
        model.set_read_noise(-0.1)


@pytest.fixture(scope="module")
def at_snr(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("snr")
    config = small_config(out, {"epochs": 3, "train_snr_db": 18.0})
    return out, config, Trainer(config, progress=False).fit()


def test_every_epoch_trains_where_the_crossbars_measure_the_target(at_snr):
    """Each epoch records the read noise it trained at and the SNR measured there, within
    0.25 dB of the target, and the model ends at the last one; on the final weights the
    search's read noise, measured independently on a fresh copy, gives the target."""
    out, config, result = at_snr
    noise = [r["train/read_noise"] for r in result.history]
    assert all(n > 0.0 for n in noise) and len(set(noise)) == 3
    for record in result.history:
        assert abs(record["train/snr_db"] - 18.0) <= 0.25
        assert record["train/static_snr_db"] > 18.0
    assert result.model.hardware.read_noise == noise[-1]
    x = Trainer(config, progress=False)._data()[0][-SNR_SAMPLES:]
    chip = HardwareConfig.parse(NOISY_HARDWARE)
    seed = derive_seed(config.seed, "program", 3)
    found = read_noise_for_snr(result.model, x, chip, 18.0, seed)
    measured = crossbar_snr_db(result.model, x, chip.replace(read_noise=found["read_noise"]),
                               seed)
    assert measured == pytest.approx(found["snr_db"]) and abs(measured - 18.0) <= 0.25
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["train/read_noise"] for line in lines] == noise


def test_a_resumed_run_at_an_snr_reaches_bitwise_the_same_weights(at_snr, tmp_path,
                                                                  monkeypatch):
    """The search starts from the last epoch's read noise, which the checkpoint keeps:
    a run killed in its last epoch and resumed ends with the same weights and records."""
    ref_dir, _, ref = at_snr
    config = small_config(tmp_path, {"epochs": 3, "train_snr_db": 18.0})
    result = crash_in_epoch_3_and_resume(config, monkeypatch)
    assert result.epochs_run == 1
    assert_same_run(tmp_path, ref_dir, result.history, ref.history)


def test_an_snr_target_is_refused_for_float_training_and_out_of_range(tmp_path):
    config = small_config(tmp_path, {"train_snr_db": 20.0, "model.mode": "standard"})
    with pytest.raises(ConfigError, match="train_snr_db"):
        Trainer(config, progress=False).fit()
    assert not list(tmp_path.iterdir())
    with pytest.raises(ConfigError, match="train_snr_db"):
        small_config(tmp_path, {"train_snr_db": 0.0})
