"""Bench run folders are named by cell and record the cell's key; the progress bar names
the running cells and estimates each task's remaining time."""

from __future__ import annotations

import dataclasses
import json
import os
from types import MappingProxyType as Frozen

import pytest

from hadeq.bench import run as bench_run
from hadeq.bench.cells import RUN_KEY_FILE, Cell, result_path, run_cell, run_dir
from hadeq.bench.run import CellProgress, plan_cells, run_local, run_suite, stale_run_dirs
from hadeq.bench.suites import SuiteConfig, TaskPlan
from hadeq.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

TINY = SuiteConfig(
    name="tiny",
    tasks=(TaskPlan(task="digits",
                    hybrid=Frozen({"kind": "hybrid_deq", "hidden": 8, "stem_hidden": None}),
                    train=Frozen({"epochs": 1, "batch_size": 64, "lr": 3e-3,
                                  "max_train_samples": 128, "max_test_samples": 64}),
                    baselines=Frozen({"analog_mlp": {"kind": "analog_mlp", "hidden": [8]}}),
                    regularizers=True),),
    seeds=(0,),
    weight_bits=(),
    read_noise=(),
    regularizer_weights=Frozen({"sparsity": 1e-2}),
)


def _cell(role: str, suite: SuiteConfig = TINY) -> Cell:
    (cell,) = [c for c in plan_cells(suite) if c.role == role]
    return cell


def _key_in(folder: str) -> str:
    with open(os.path.join(folder, RUN_KEY_FILE), encoding="utf-8") as fh:
        return json.load(fh)["key"]


def test_run_folders_are_named_by_cell() -> None:
    root = os.path.join("out", "tiny")
    assert {os.path.relpath(run_dir(c, root), root) for c in plan_cells(TINY)} == {
        os.path.join("runs", "digits", role, "seed0")
        for role in ("digital", "physics_aware", "feedforward_control", "analog_mlp",
                     "reg-sparsity")}


def test_a_run_folder_records_its_key_and_another_configuration_replaces_it(tmp_path) -> None:
    root = str(tmp_path)
    cell = _cell("analog_mlp")
    folder = run_dir(cell, root)
    first = run_cell(cell, root)
    assert first["cached"] is False
    assert _key_in(folder) == cell.key() == first["key"]
    assert os.path.exists(os.path.join(folder, "checkpoint.json"))
    assert os.path.exists(result_path(cell, root))
    assert stale_run_dirs([cell], root) == []  # cached: nothing will train

    # Same cell (same label, same folder), another configuration: another key.
    changed = dataclasses.replace(cell, train={**cell.train, "epochs": 2})
    assert changed.label == cell.label and changed.key() != cell.key()
    assert stale_run_dirs([changed], root) == [folder]
    second = run_cell(changed, root)
    assert second["cached"] is False and second["train_final"]["epoch"] == 2
    assert _key_in(folder) == changed.key()
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as fh:
        assert json.load(fh)["epochs"] == 2  # trained afresh, not resumed from epoch 1
    # Both results stay cached under their own keys.
    assert run_cell(cell, root)["cached"] and run_cell(changed, root)["cached"]


def test_a_folder_hadeq_did_not_make_is_refused_before_any_work(tmp_path) -> None:
    root = tmp_path / "tiny"
    cell = _cell("analog_mlp")
    folder = run_dir(cell, str(root))
    os.makedirs(folder)
    with open(os.path.join(folder, "notes.txt"), "w", encoding="utf-8") as fh:
        fh.write("mine\n")
    with pytest.raises(ConfigError, match="no cell key"):
        stale_run_dirs([cell], str(root))
    with pytest.raises(ConfigError) as info:
        run_suite(TINY, str(tmp_path), progress=False)
    assert "seed0" in str(info.value) and "\n" not in str(info.value)
    assert not (root / "cells").exists()  # nothing ran
    with pytest.raises(ConfigError):
        run_cell(cell, str(root))
    assert os.listdir(folder) == ["notes.txt"]


def test_progress_estimates_each_tasks_remaining_time() -> None:
    cells = plan_cells(dataclasses.replace(TINY, seeds=(0, 1)))
    digits = [i for i, c in enumerate(cells) if c.task == "digits"]
    state = CellProgress(cells, jobs=2, cached={digits[-1]})
    assert state.estimates(now=0.0) == {"digits": None}  # nothing finished yet
    state.start(digits[0], now=0.0)
    state.start(digits[1], now=0.0)
    text = state.text(now=1.0)
    assert text.startswith(f"running {cells[digits[0]].label}, {cells[digits[1]].label}")
    assert "digits ?" in text
    state.finish(digits[0], 30.0)
    state.start(digits[2], now=30.0)
    # left: digits[1] (30 s in: ~0 s more), digits[2] (10 s in: 20 s more) and the
    # others but the cached one at 30 s each; two cells at a time.
    others = len(digits) - 4
    expected = (0.0 + 20.0 + 30.0 * others) / 2
    assert state.estimates(now=40.0)["digits"] == pytest.approx(expected)
    assert cells[digits[0]].label not in state.text(now=40.0)


def test_the_bar_names_the_running_cell(monkeypatch) -> None:
    cells = plan_cells(TINY)
    shown: list[str] = []
    ran: list[str] = []

    class Bar:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def set_postfix_str(self, text: str, refresh: bool = True) -> None:
            shown.append(text)

        def update(self, n: int = 1) -> None:
            pass

        def close(self) -> None:
            pass

    def fake_run_cell(cell: Cell, root: str) -> dict[str, object]:
        ran.append(cell.label)
        assert shown[-1].startswith(f"running {cell.label}")
        return {"label": cell.label, "wall_time_s": 2.0}

    monkeypatch.setattr(bench_run, "tqdm", Bar)
    monkeypatch.setattr(bench_run, "run_cell", fake_run_cell)
    out = run_local(cells, "unused", jobs=1, progress=True)
    assert [o["label"] for o in out] == ran == [c.label for c in cells]
    assert "left: digits ~" in shown[-2] and shown[-1] == "done"
