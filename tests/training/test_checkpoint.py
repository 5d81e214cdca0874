"""Checkpoints: atomic commits, verification on load, no unpickling."""

from __future__ import annotations

import json
import os
import pathlib
import warnings

import pytest
import torch

import hadeq.training
from hadeq.errors import DataError
from hadeq.models import HybridDEQ, HybridDEQConfig
from hadeq.training import Trainer, load_checkpoint, save_checkpoint
from hadeq.training import checkpoint as ckpt_module
from tests.training.conftest import small_config


def _model_and_optimizer(seed: int = 0) -> tuple[HybridDEQ, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = HybridDEQ(HybridDEQConfig(in_features=8, out_features=3, hidden=6,
                                      stem_hidden=None, hardware="rram_4bit"), seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, foreach=False)
    with warnings.catch_warnings():  # the noisy core stagnates above the tolerance
        warnings.simplefilter("ignore", RuntimeWarning)
        model(torch.randn(4, 8)).square().sum().backward()
    opt.step()
    return model, opt


def _save(directory: pathlib.Path, epoch: int, model: HybridDEQ,
          opt: torch.optim.Optimizer) -> None:
    save_checkpoint(str(directory), epoch=epoch, global_step=10 * epoch,
                    config={"task": "digits", "epochs": epoch}, model_state=model.state_dict(),
                    optimizer_state=opt.state_dict(),
                    rng={"torch/rank0": torch.Generator().manual_seed(epoch).get_state()},
                    history=[{"epoch": epoch, "loss": float("nan")}])


def test_round_trip_restores_weights_optimizer_and_rng(tmp_path) -> None:
    model, opt = _model_and_optimizer()
    _save(tmp_path, 1, model, opt)
    ck = load_checkpoint(str(tmp_path))
    assert ck.epoch == 1 and ck.global_step == 10
    for key, value in model.state_dict().items():
        assert torch.equal(ck.model_state[key], value), key
    _, fresh_opt = _model_and_optimizer(seed=1)
    fresh_opt.load_state_dict(ck.optimizer_state)
    mine, theirs = fresh_opt.state_dict(), opt.state_dict()
    assert mine["param_groups"] == theirs["param_groups"]
    for pid, state in theirs["state"].items():
        for name, value in state.items():
            assert torch.equal(mine["state"][pid][name], value), (pid, name)
    assert torch.equal(ck.rng["torch/rank0"], torch.Generator().manual_seed(1).get_state())
    assert ck.history[0]["loss"] == "nan"  # strict JSON on disk
    names = sorted(os.listdir(tmp_path))
    assert names == ["checkpoint.json", "state-e00001.safetensors", "weights-e00001.safetensors"]


def test_a_new_checkpoint_replaces_the_old_files(tmp_path) -> None:
    model, opt = _model_and_optimizer()
    _save(tmp_path, 1, model, opt)
    _save(tmp_path, 2, model, opt)
    assert sorted(os.listdir(tmp_path)) == [
        "checkpoint.json", "state-e00002.safetensors", "weights-e00002.safetensors"]


@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_a_crash_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch,
                                                        fail_at: int) -> None:
    """os.replace fails on the weights file (1), the state file (2) or the commit (3)."""
    model, opt = _model_and_optimizer()
    _save(tmp_path, 1, model, opt)
    before = {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)}
    real_replace = os.replace
    calls = {"n": 0}

    def failing_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(ckpt_module.os, "replace", failing_replace)
    with torch.no_grad():
        model.core.weight.add_(1.0)
    with pytest.raises(OSError):
        _save(tmp_path, 2, model, opt)
    monkeypatch.setattr(ckpt_module.os, "replace", real_replace)
    ck = load_checkpoint(str(tmp_path))
    assert ck.epoch == 1
    for name, data in before.items():
        assert (tmp_path / name).read_bytes() == data
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")]


def _committed(tmp_path: pathlib.Path) -> tuple[dict, pathlib.Path]:
    model, opt = _model_and_optimizer()
    _save(tmp_path, 1, model, opt)
    record = json.loads((tmp_path / "checkpoint.json").read_text())
    return record, tmp_path / record["files"]["weights"]["name"]


def test_a_flipped_byte_fails_the_checksum(tmp_path) -> None:
    _, weights = _committed(tmp_path)
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(DataError, match="SHA-256") as info:
        load_checkpoint(str(tmp_path))
    assert "\n" not in str(info.value)


def test_a_truncated_weights_file_is_refused(tmp_path) -> None:
    _, weights = _committed(tmp_path)
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(DataError, match="truncated"):
        load_checkpoint(str(tmp_path))


def test_a_truncated_record_is_refused(tmp_path) -> None:
    _committed(tmp_path)
    path = tmp_path / "checkpoint.json"
    path.write_text(path.read_text()[:200])
    with pytest.raises(DataError, match="truncated or not valid JSON"):
        load_checkpoint(str(tmp_path))


def test_another_schema_version_is_refused(tmp_path) -> None:
    record, _ = _committed(tmp_path)
    record["schema"] = "hadeq.checkpoint/99"
    (tmp_path / "checkpoint.json").write_text(json.dumps(record))
    with pytest.raises(DataError, match=r"schema 'hadeq\.checkpoint/99'"):
        load_checkpoint(str(tmp_path))


def test_missing_checkpoint_is_a_data_error(tmp_path) -> None:
    with pytest.raises(DataError, match="no checkpoint"):
        load_checkpoint(str(tmp_path))
    with pytest.raises(DataError, match="does not exist"):
        load_checkpoint(str(tmp_path / "nowhere"))


def test_resuming_with_another_model_config_is_refused(tmp_path) -> None:
    Trainer(small_config(tmp_path, {"epochs": 1}), progress=False).fit()
    other = small_config(tmp_path, {"epochs": 2, "model.hidden": 12})
    with pytest.raises(DataError, match=r"model\.hidden is 16 there but 12 here"):
        Trainer(other, progress=False).fit(resume=True)
    with pytest.raises(DataError, match="another config"):
        load_checkpoint(str(tmp_path), expected_config=other.to_dict())


def test_the_training_package_never_unpickles() -> None:
    root = pathlib.Path(hadeq.training.__file__).parent
    for path in root.glob("*.py"):
        text = path.read_text()
        for banned in ("torch.load(", "torch.save(", "pickle"):
            assert banned not in text, (path.name, banned)
