"""Every config shipped in configs/ parses, validates and builds its model."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch import nn

from hadeq.training.config import load_train_config
from hadeq.training.trainer import rebuild_model

CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("*.yaml"))


def test_configs_are_shipped():
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_config_builds_its_model(path: Path):
    config = load_train_config(path)
    assert isinstance(rebuild_model(config), nn.Module)
