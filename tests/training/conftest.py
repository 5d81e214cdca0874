"""Small, fast training configs on a subset of scikit-learn digits."""

from __future__ import annotations

import json
import os
from typing import Any

import safetensors.torch
import torch

from hadeq.training import TrainConfig, parse_train_config
from hadeq.training.config import apply_overrides

NOISY_HARDWARE = {"preset": "hermes_pcm_8bit", "weight_bits": 8, "read_noise": 0.05}


def small_mapping(out_dir: str | os.PathLike[str],
                  changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A 2-epoch run of a 16-neuron HybridDEQ on 128 digits (physics-aware on a noisy
    8-bit chip re-programmed every batch, so RNG handling matters); ``changes`` are
    ``--set``-style dotted keys and values."""
    data: dict[str, Any] = {
        "task": "digits",
        "model": {"kind": "hybrid_deq", "hidden": 16, "stem_hidden": None,
                  "hardware": dict(NOISY_HARDWARE)},
        "optimizer": {"lr": 0.01},
        "epochs": 2,
        "batch_size": 32,
        "max_train_samples": 128,
        "max_test_samples": 96,
        "programming_resample": "batch",
        "seed": 3,
        "out_dir": str(out_dir),
    }
    return apply_overrides(data, [f"{k}={v}" for k, v in (changes or {}).items()])


def small_config(out_dir: str | os.PathLike[str],
                 changes: dict[str, Any] | None = None) -> TrainConfig:
    return parse_train_config(small_mapping(out_dir, changes))


def final_weights(out_dir: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The weights of the committed checkpoint in ``out_dir`` (checked by load)."""
    from hadeq.training import load_checkpoint

    return load_checkpoint(str(out_dir)).model_state


def weights_file(out_dir: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    names = [n for n in os.listdir(out_dir) if n.startswith("weights-")]
    assert len(names) == 1, names
    return safetensors.torch.load_file(os.path.join(out_dir, names[0]))


def without_times(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.endswith("_time_s")}


def crash_in_epoch_3_and_resume(config: TrainConfig, monkeypatch: Any) -> Any:
    """Train ``config`` (3 epochs), killed after training epoch 3 and before its
    checkpoint, then resume it; returns the resumed run's result."""
    import pytest

    from hadeq.training import Trainer
    from hadeq.training import trainer as trainer_module

    real = trainer_module.evaluate_model
    calls = {"n": 0}

    def crash_in_epoch_3(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # killed after training epoch 3, before its checkpoint
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "evaluate_model", crash_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        Trainer(config, progress=False).fit()
    monkeypatch.setattr(trainer_module, "evaluate_model", real)
    with open(os.path.join(config.out_dir, "checkpoint.json"), encoding="utf-8") as fh:
        assert json.load(fh)["epoch"] == 2  # the last checkpoint before the crash
    return Trainer(config, progress=False).fit(resume=True)


def assert_same_run(out_dir: Any, ref_dir: Any, history: list[dict[str, Any]],
                    ref_history: list[dict[str, Any]]) -> None:
    """Bitwise the same final weights and the same records (times aside)."""
    mine, theirs = weights_file(out_dir), weights_file(ref_dir)
    for key in theirs:
        assert torch.equal(mine[key], theirs[key]), key
    assert [without_times(r) for r in history] == [without_times(r) for r in ref_history]
