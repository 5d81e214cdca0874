"""Same seed → same run; a crashed and resumed run → bitwise the same weights."""

from __future__ import annotations

import json

import pytest
import torch

from hadeq.training import Trainer
from tests.training.conftest import (
    assert_same_run,
    crash_in_epoch_3_and_resume,
    small_config,
    weights_file,
    without_times,
)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("reference")
    result = Trainer(small_config(out, {"epochs": 3}), progress=False).fit()
    return out, result


def test_two_runs_with_one_seed_are_identical(reference, tmp_path) -> None:
    ref_dir, ref = reference
    result = Trainer(small_config(tmp_path, {"epochs": 3}), progress=False).fit()
    assert [without_times(r) for r in result.history] == [without_times(r) for r in ref.history]
    mine, theirs = weights_file(tmp_path), weights_file(ref_dir)
    assert mine.keys() == theirs.keys()
    for key in mine:
        assert torch.equal(mine[key], theirs[key]), key
    # the records on disk are the ones returned, one line per epoch
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [without_times(json.loads(line)) for line in lines] == [
        without_times(r) for r in result.history]
    assert result.history[-1]["train/solver/samples"] == 128


def test_a_different_seed_gives_a_different_run(reference, tmp_path) -> None:
    _, ref = reference
    result = Trainer(small_config(tmp_path, {"epochs": 1, "seed": 4}), progress=False).fit()
    assert result.history[0]["train/loss"] != ref.history[0]["train/loss"]


def test_resume_after_a_crash_reaches_bitwise_the_same_weights(reference, tmp_path,
                                                               monkeypatch) -> None:
    ref_dir, ref = reference
    config = small_config(tmp_path, {"epochs": 3})
    result = crash_in_epoch_3_and_resume(config, monkeypatch)
    assert result.epochs_run == 1
    assert_same_run(tmp_path, ref_dir, result.history, ref.history)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]


def test_extending_a_finished_run_equals_training_longer(reference, tmp_path) -> None:
    ref_dir, _ = reference
    Trainer(small_config(tmp_path, {"epochs": 2}), progress=False).fit()
    Trainer(small_config(tmp_path, {"epochs": 3}), progress=False).fit(resume=True)
    mine, theirs = weights_file(tmp_path), weights_file(ref_dir)
    for key in theirs:
        assert torch.equal(mine[key], theirs[key]), key


def test_a_finished_run_is_not_overwritten(reference) -> None:
    from hadeq.errors import ConfigError

    ref_dir, _ = reference
    with pytest.raises(ConfigError, match="out_dir"):
        Trainer(small_config(ref_dir, {"epochs": 3}), progress=False).fit()


def test_resuming_with_another_thread_count_warns(tmp_path) -> None:
    Trainer(small_config(tmp_path, {"epochs": 1}), progress=False).fit()
    before = torch.get_num_threads()
    torch.set_num_threads(before + 1)
    try:
        with pytest.warns(RuntimeWarning, match="not be bitwise identical"):
            Trainer(small_config(tmp_path, {"epochs": 2}), progress=False).fit(resume=True)
    finally:
        torch.set_num_threads(before)
