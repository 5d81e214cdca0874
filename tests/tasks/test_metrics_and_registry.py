"""Metrics against hand-computed values; the task registry and its option checking."""

from __future__ import annotations

import pytest
import torch

from hadeq.errors import ConfigError
from hadeq.tasks import accuracy, available_tasks, get_task, relative_l2, top_k_accuracy
from hadeq.tasks.darcy import DarcyConfig, load_darcy


def test_accuracy_and_top5():
    logits = torch.tensor([[0.1, 0.9, 0, 0, 0, 0], [5, 4, 3, 2, 1, 0.0], [0, 1, 2, 3, 4, 5.0]])
    labels = torch.tensor([1, 5, 0])
    assert accuracy(logits, labels) == pytest.approx(1 / 3)
    # row 0: label 1 is top-1; row 1: label 5 is the 6th largest; row 2: label 0 is 6th
    assert top_k_accuracy(logits, labels, 5) == pytest.approx(1 / 3)
    assert top_k_accuracy(logits, labels, 6) == pytest.approx(1.0)


def test_relative_l2():
    target = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    pred = torch.tensor([[3.0, 4.0 + 0.5], [0.0, 0.0]])
    assert relative_l2(pred, target) == pytest.approx((0.5 / 5 + 1.0) / 2)


def test_registry_names_and_errors():
    assert {"digits", "fashion_mnist", "darcy32", "burgers", "pendulum"} <= set(available_tasks())
    with pytest.raises(ConfigError, match="task='mnist3d'"):
        get_task("mnist3d")
    with pytest.raises(ConfigError, match="did you mean 'n_train'"):
        get_task("darcy32").load(n_trian=3)
    with pytest.raises(ConfigError, match="resolution=2"):
        get_task("darcy32").load(resolution=2)


def test_digits_task_end_to_end():
    task = get_task("digits")
    data = task.load(seed=0)
    assert task.kind == "classification" and task.higher_is_better
    assert tuple(data.x_train.shape[1:]) == task.input_shape
    # a least-squares linear classifier: an independent sanity check of the data (≥ 90 %)
    x = torch.cat([data.x_train, torch.ones(len(data.x_train), 1)], 1).double()
    y = torch.nn.functional.one_hot(data.y_train, 10).double()
    w = torch.linalg.pinv(x) @ y  # (constant border pixels make x rank-deficient)
    xt = torch.cat([data.x_test, torch.ones(len(data.x_test), 1)], 1).double()
    m = task.metrics(xt @ w, data.y_test)
    assert m["accuracy"] > 0.9 and m["top5_accuracy"] >= m["accuracy"]
    assert task.loss(xt @ w, data.y_test).item() > 0


def test_darcy_task_small(tmp_path):
    task = get_task("darcy32")
    d = task.load(seed=3, cache_dir=tmp_path, n_train=3, n_test=2)
    assert d.x_train.shape == (3, 32, 32) and d.y_test.shape == (2, 32, 32)
    # The task standardises the raw generator output with training-set statistics.
    raw = load_darcy(DarcyConfig(n_train=3, n_test=2), seed=3, cache_dir=tmp_path)
    a, u = torch.from_numpy(raw["a_train"]), torch.from_numpy(raw["u_train"])
    torch.testing.assert_close(d.x_train, (a - a.mean()) / a.std())
    torch.testing.assert_close(d.y_test, torch.from_numpy(raw["u_test"]) / u.std())
    assert not task.higher_is_better
    assert task.metrics(d.y_test, d.y_test)["relative_l2"] == 0.0
