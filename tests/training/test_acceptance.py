"""Acceptance (small version): on digits, a hybrid DEQ trained physics-aware on 8-bit
weights with read noise 0.05 keeps ≥ 97 % of the digital DEQ's accuracy on that chip."""

from __future__ import annotations

from hadeq.analog import HardwareConfig
from hadeq.tasks import get_task
from hadeq.training import Trainer, evaluate_model, parse_train_config

HARDWARE = {"preset": "hermes_pcm_8bit", "weight_bits": 8, "read_noise": 0.05}
DEQ = {"solver_options": {"tol": 1e-3, "max_iter": 30, "stagnation_window": 8}}


def train(tmp_path, name, hardware):
    config = parse_train_config({
        "task": "digits",
        "model": {"kind": "hybrid_deq", "hidden": 32, "stem_hidden": 64, "hardware": hardware,
                  "deq": DEQ},
        "epochs": 6, "batch_size": 64, "optimizer": {"lr": 5e-3}, "seed": 0,
        "out_dir": str(tmp_path / name),
    })
    return Trainer(config, progress=False).fit().model


def test_physics_aware_hybrid_keeps_97_percent_of_the_digital_accuracy(tmp_path):
    task = get_task("digits")
    data = task.load(seed=0)
    chip = HardwareConfig.parse(HARDWARE)
    digital = train(tmp_path, "digital", "ideal")
    hybrid = train(tmp_path, "hybrid", HARDWARE)
    acc_digital = evaluate_model(digital, task, data.x_test, data.y_test,
                                 seed=0)["metrics"]["accuracy"]
    acc_hybrid = evaluate_model(hybrid, task, data.x_test, data.y_test, hardware=chip,
                                seed=0)["metrics"]["accuracy"]
    assert acc_digital > 0.9  # the reference itself learned the task
    assert acc_hybrid >= 0.97 * acc_digital
