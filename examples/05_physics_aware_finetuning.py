"""Physics-aware training of a hybrid DEQ on digits, against standard training.

    python examples/05_physics_aware_finetuning.py [--quick]

``TrainConfig`` describes a run (the same mapping a ``hadeq train`` YAML file holds) and
``Trainer(config).fit()`` trains it, writing a checkpoint per epoch to ``out_dir``.

* ``mode: physics_aware`` — every training forward solves the fixed point through the
  hardware model (8-bit programmed PCM conductances, fresh read noise at every read of the
  loop, a newly programmed chip every batch) and back-propagates through a clean proxy
  at that z*;
* ``mode: standard`` — training solves the ideal float map; the hardware is met only at
  evaluation.

Both are then scored by ``evaluate_model`` on the same harsher chips (4-bit weights, read
noise 0.1, PCM read one day after programming), none of which either saw in training.
On digits expect the two to score alike: these small models learn a core driven mostly by
the digital injection, so the chip's noise barely reaches the output (the README's
harsh-corner comparison finds the same). The script shows how; a task whose accuracy
depends on the feedback is where the difference would show.
"""

import argparse
import tempfile

from hadeq.analog import HardwareConfig
from hadeq.training import TrainConfig, Trainer, evaluate_model

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="256 samples, 2 epochs (for tests)")
args = parser.parse_args()
samples = dict(max_train_samples=256, max_test_samples=128, epochs=2) if args.quick else \
    dict(epochs=8)
chips = 1 if args.quick else 5

headline = {"preset": "hermes_pcm_8bit", "weight_bits": 8, "read_noise": 0.05}
harsh = HardwareConfig.preset("hermes_pcm_8bit", weight_bits=4, read_noise=0.1,
                              t_inference_s=86400.0)

with tempfile.TemporaryDirectory() as runs:
    results = {}
    for mode in ("standard", "physics_aware"):
        config = TrainConfig(
            task="digits",
            model={"kind": "hybrid_deq", "hidden": 32, "mode": mode, "hardware": headline},
            optimizer={"lr": 3e-3},
            batch_size=64,
            seed=0,
            programming_resample="batch",
            out_dir=f"{runs}/{mode}",
            **samples,
        )
        result = Trainer(config, progress=False, log=print).fit()
        data = config.task_spec.load(seed=config.seed)
        x, y = data.x_test[:config.max_test_samples], data.y_test[:config.max_test_samples]
        scores = [evaluate_model(result.model, config.task_spec, x, y, hardware=harsh,
                                 seed=100 + s)["metrics"]["accuracy"] for s in range(chips)]
        results[mode] = (result.final, scores)

print()
for mode, (final, scores) in results.items():
    print(f"{mode:<14} test accuracy on its training hardware {final['test/accuracy']:.3f}; "
          f"on {len(scores)} harsh chips {sum(scores) / len(scores):.3f} "
          f"(min {min(scores):.3f})")
