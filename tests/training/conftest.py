"""Small, fast training configs on a subset of scikit-learn digits."""

from __future__ import annotations

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
