"""Add your own task and train hadeq's models on it.

    python examples/07_add_your_own_task.py [--quick]

A task is a ``hadeq.tasks.Task``: its kind, data shapes, a ``load(seed, **options)``
returning a ``TaskData`` of tensors, a training loss and a metrics function. The built-in
tasks are rows of ``src/hadeq/tasks/registry.py``; ``register_task`` adds one at run time,
after which ``get_task``, ``TrainConfig(task=...)``, ``Trainer`` and ``evaluate_model``
accept its name like any other.

What this does not do: ``hadeq train`` and ``hadeq bench`` are separate processes and see
only the tasks registered when hadeq is imported. To run your task from the command
line or in a benchmark suite, add its row to ``src/hadeq/tasks/registry.py`` and (for the
bench) a ``TaskPlan`` to a suite in ``src/hadeq/bench/suites.py``.
"""

import argparse
import tempfile
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from sklearn.datasets import make_moons

from hadeq.tasks import Task, TaskData, accuracy, get_task, register_task
from hadeq.training import TrainConfig, Trainer, evaluate_model
from hadeq.validation import check_int, check_range

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="fewer samples and epochs (for tests)")
args = parser.parse_args()


@dataclass(frozen=True)
class MoonsConfig:
    """Options of the ``moons`` task (the fields are the keyword options of ``load``)."""

    n_samples: int = 1000
    """Points drawn, 80 % for training."""
    noise: float = 0.2
    """Std of the Gaussian noise added to the two interleaved half circles."""

    def __post_init__(self) -> None:
        check_int("n_samples", self.n_samples, 10)
        check_range("noise", self.noise, 0.0, None)


def load_moons(cfg: MoonsConfig, seed: int, _cache_dir: object) -> TaskData:
    x, y = make_moons(n_samples=cfg.n_samples, noise=cfg.noise, random_state=seed)
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)
    cut = int(0.8 * cfg.n_samples)
    return TaskData(x[:cut], y[:cut], x[cut:], y[cut:])


register_task(Task(
    name="moons", kind="classification", config_class=MoonsConfig,
    primary_metric="accuracy", higher_is_better=True,
    input_shape=(2,), output_dim=2, hidden_hint=16,
    _load=load_moons, _loss=F.cross_entropy,
    _metrics=lambda logits, labels: {"accuracy": accuracy(logits, labels)},
))

task = get_task("moons")
options = {"n_samples": 240 if args.quick else 2000, "noise": 0.2}
with tempfile.TemporaryDirectory() as out_dir:
    config = TrainConfig(
        task="moons", task_options=options,
        # in_features and out_features default to the task's input_shape and output_dim
        model={"kind": "hybrid_deq", "hidden": 16, "stem_hidden": 32, "mode": "physics_aware",
               "hardware": {"preset": "hermes_pcm_8bit", "weight_bits": 8}},
        epochs=3 if args.quick else 10, batch_size=64 if args.quick else 32, seed=0,
        out_dir=out_dir,
    )
    result = Trainer(config, progress=False).fit()
data = task.load(seed=0, **options)
score = evaluate_model(result.model, task, data.x_test, data.y_test, seed=1)
print(f"moons: trained {result.epochs_run} epochs physics-aware on PCM; test accuracy on a "
      f"freshly programmed chip {score['metrics']['accuracy']:.3f}")
