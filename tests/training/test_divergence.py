"""A NaN loss stops the run with one clear line and keeps the last good checkpoint."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from hadeq.training import Trainer, TrainingDivergedError, load_checkpoint
from hadeq.training.config import TrainConfig
from tests.training.conftest import small_config


def test_nan_loss_stops_cleanly_and_keeps_the_last_checkpoint(tmp_path, monkeypatch) -> None:
    config = small_config(tmp_path, {"epochs": 3})
    task = config.task_spec
    calls = {"n": 0}

    def nan_from_epoch_2_step_2(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1  # 4 steps per epoch
        loss = task.loss(pred, target)
        return loss * float("nan") if calls["n"] == 6 else loss

    poisoned = dataclasses.replace(task, _loss=nan_from_epoch_2_step_2)
    monkeypatch.setattr(TrainConfig, "task_spec", property(lambda self: poisoned))
    with pytest.raises(TrainingDivergedError) as info:
        Trainer(config, progress=False).fit()
    message = str(info.value)
    assert "\n" not in message
    assert "epoch 2, step 2" in message and "nan" in message
    assert "last good checkpoint" in message
    ck = load_checkpoint(str(tmp_path))
    assert ck.epoch == 1
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1]
    assert all(torch.isfinite(v).all() for v in ck.model_state.values())
