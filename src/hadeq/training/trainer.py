"""The training loop: seeded, resumable bit for bit, data-parallel under ``torchrun``.

One epoch = one pass over the shuffled training set in global batches of
``batch_size``; after it, rank 0 scores the test set on the evaluation hardware, writes
a checkpoint (atomically) and appends one JSON line to ``metrics.jsonl``.

Randomness and what makes a resumed run equal an uninterrupted one:

* weights: ``torch.manual_seed(derive_seed(seed, "init"))`` before the model is built
  (identical on every rank);
* data order: a ``torch.Generator`` whose state is saved in each checkpoint;
* read noise and other draws from torch's global generator: seeded per rank with
  ``derive_seed(seed, "noise", rank)``; every rank's state is saved in the checkpoint
  (a resume needs the same number of processes);
* programming noise: the chip is re-programmed with ``derive_seed(seed, "program",
  epoch[, step])`` (``programming_resample``), a pure function of the position;
* evaluation runs in a forked RNG with its own seed, so it never moves the training
  streams.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from tqdm import tqdm

from hadeq.errors import ConfigError, DataError
from hadeq.io import check_output_dir, remove_temporaries, write_text_atomic
from hadeq.models import HadeqModel
from hadeq.training.checkpoint import (
    CHECKPOINT_FILE,
    Checkpoint,
    check_state_dict,
    dumps,
    has_checkpoint,
    jsonable,
    load_checkpoint,
    save_checkpoint,
)
from hadeq.training.config import SNR_SAMPLES, TrainConfig, parse_train_config
from hadeq.training.distributed import DistContext
from hadeq.training.errors import TrainingDivergedError
from hadeq.training.evaluation import SOLVER_WARNINGS, evaluate_model
from hadeq.training.physics import physics_loss
from hadeq.training.seeding import derive_seed
from hadeq.training.snr import retune_read_noise
from hadeq.training.tally import SolverTally

METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.json"


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns."""

    model: HadeqModel
    """The trained model (on every rank)."""
    history: list[dict[str, Any]]
    """One metric record per completed epoch (also those before a resume)."""
    out_dir: str
    epochs_run: int
    """Epochs trained by this call (0 when the checkpoint was already complete)."""
    wall_time_s: float
    """Wall time of this call."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> dict[str, Any]:
        return self.history[-1] if self.history else {}


def build_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """Adam or AdamW over the model's trainable parameters (single-tensor kernels, whose
    arithmetic does not depend on how parameters are grouped)."""
    o = config.optimizer
    params = [p for p in model.parameters() if p.requires_grad]
    cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
    return cls(params, lr=o.lr, weight_decay=o.weight_decay, foreach=False)


def rebuild_model(config: TrainConfig, seed: int | None = None) -> HadeqModel:
    """The model of ``config``, initialised as a fresh run would initialise it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(config.seed, "init"))
        return config.model_spec.build(
            derive_seed(config.seed, "program") if seed is None else seed)


def load_trained(directory: str) -> tuple[HadeqModel, TrainConfig, Checkpoint]:
    """``(model, config, checkpoint)`` of a ``hadeq train`` directory: the model rebuilt
    from the checkpoint's config with its verified weights, in eval mode."""
    ckpt = load_checkpoint(directory)
    try:
        config = parse_train_config(ckpt.config)
    except ConfigError as exc:
        raise DataError(f"checkpoint {directory}: its config is not valid here "
                        f"({exc})") from None
    model = rebuild_model(config)
    check_state_dict(directory, model, ckpt.model_state)
    model.load_state_dict(ckpt.model_state)
    return model.eval(), config, ckpt


class Trainer:
    """Trains the model a :class:`TrainConfig` describes.

    ``Trainer(config).fit()`` trains from scratch (refusing a directory that already
    holds a checkpoint); ``fit(resume=True)`` continues from the checkpoint in
    ``config.out_dir`` (or starts fresh when there is none) and reaches bitwise the same
    weights as an uninterrupted run. ``progress`` shows a tqdm bar (rank 0 only);
    ``log`` receives one line per epoch. ``fit`` leaves torch's global RNG state and
    the deterministic-algorithms flag as it found them.
    """

    def __init__(self, config: TrainConfig, *, progress: bool = True,
                 log: Callable[[str], None] | None = None) -> None:
        if not isinstance(config, TrainConfig):
            raise ConfigError("config", type(config).__name__, "a TrainConfig")
        self.config = config
        self.progress = progress
        self.log = log

    # ------------------------------------------------------------------ entry point
    def fit(self, resume: bool = False) -> TrainResult:
        dist = DistContext.from_env()
        previous = torch.are_deterministic_algorithms_enabled()
        rng_before = torch.get_rng_state()
        try:
            if self.config.deterministic:
                torch.use_deterministic_algorithms(True)
            with warnings.catch_warnings():
                # Non-convergence is counted per epoch in metrics.jsonl instead.
                warnings.filterwarnings("ignore", message=SOLVER_WARNINGS,
                                        category=RuntimeWarning)
                return self._fit(dist, resume)
        finally:
            torch.use_deterministic_algorithms(previous)
            torch.set_rng_state(rng_before)
            dist.close()

    # ------------------------------------------------------------------ setup
    def _data(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        c = self.config
        data = c.task_spec.load(seed=c.seed, **c.task_options)
        x_train, y_train = data.x_train, data.y_train
        x_test, y_test = data.x_test, data.y_test
        if c.max_train_samples is not None:
            x_train, y_train = x_train[:c.max_train_samples], y_train[:c.max_train_samples]
        if c.max_test_samples is not None:
            x_test, y_test = x_test[:c.max_test_samples], y_test[:c.max_test_samples]
        if x_train.shape[0] == 0:
            raise DataError(f"task {c.task!r} has no training samples")
        return x_train, y_train, x_test, y_test

    def _program(self, model: HadeqModel, *position: int) -> None:
        model.program(derive_seed(self.config.seed, "program", *position))

    def _fit(self, dist: DistContext, resume: bool) -> TrainResult:
        c = self.config
        out_dir = c.out_dir
        if dist.is_main:  # fail in a second, not after the first epoch
            check_output_dir("out_dir", out_dir)
        task = c.task_spec
        x_train, y_train, x_test, y_test = self._data()
        model = rebuild_model(c)
        eval_hw = c.eval_hardware_config
        base_hardware = model.hardware  # the configured chip (train_snr_db changes its noise)
        if c.train_snr_db is not None and not _trains_on_hardware(model):
            raise ConfigError("train_snr_db", c.train_snr_db, "None for a model trained "
                              "on the float model (set the model's mode to train through "
                              "the hardware)")
        optimizer = build_optimizer(c, model)
        shuffle = torch.Generator().manual_seed(derive_seed(c.seed, "shuffle"))
        torch.manual_seed(derive_seed(c.seed, "noise", dist.rank))
        history: list[dict[str, Any]] = []
        start_epoch, global_step = 0, 0
        if resume and has_checkpoint(out_dir):
            ckpt = load_checkpoint(out_dir, expected_config=c.to_dict())
            threads = ckpt.metadata.get("torch_num_threads")
            if threads is not None and threads != torch.get_num_threads():
                # Reduction order depends on the thread count: the run continues correctly
                # but is not bitwise equal to an uninterrupted one.
                warnings.warn(f"resuming {out_dir} with {torch.get_num_threads()} torch "
                              f"threads; it was written with {threads}: the continued run "
                              "will not be bitwise identical to an uninterrupted one",
                              RuntimeWarning, stacklevel=2)
            world = ckpt.metadata.get("world_size", 1)
            if world != dist.world_size:
                raise DataError(f"checkpoint in {out_dir} was written by {world} process(es); "
                                f"resume it with the same number, not {dist.world_size}")
            check_state_dict(out_dir, model, ckpt.model_state)
            model.load_state_dict(ckpt.model_state)
            if ckpt.optimizer_state is None:
                raise DataError(f"checkpoint in {out_dir} has no optimizer state to resume")
            try:
                optimizer.load_state_dict(ckpt.optimizer_state)
            except (ValueError, KeyError) as exc:
                raise DataError(f"checkpoint in {out_dir}: optimizer state does not fit "
                                f"({exc})") from None
            try:
                shuffle.set_state(ckpt.rng["shuffle"])
                torch.set_rng_state(ckpt.rng[f"torch/rank{dist.rank}"])
            except (KeyError, RuntimeError):
                raise DataError(f"checkpoint in {out_dir}: RNG states are missing or "
                                "malformed") from None
            start_epoch, global_step, history = ckpt.epoch, ckpt.global_step, ckpt.history
            if dist.is_main:
                # A run killed mid-write leaves temporaries that nothing else will remove.
                remove_temporaries(out_dir)
                # metrics.jsonl may hold an epoch the checkpoint never got.
                write_text_atomic(os.path.join(out_dir, METRICS_FILE),
                                  "".join(_jsonl(r) for r in history))
        else:
            if has_checkpoint(out_dir):
                raise ConfigError("out_dir", out_dir, "a directory without a run in it (it "
                                  f"holds {CHECKPOINT_FILE}); resume it or choose another")
            dist.broadcast_module(model)
            if c.programming_resample == "never":
                self._program(model)
        fresh = start_epoch == 0 and not history  # files are created at the first commit
        dist.barrier()

        t_start = time.perf_counter()
        steps_per_epoch = math.ceil(x_train.shape[0] / c.batch_size)
        bar = tqdm(total=(c.epochs - start_epoch) * steps_per_epoch, unit="step",
                   disable=not (self.progress and dist.is_main), leave=False, dynamic_ncols=True)
        try:
            for epoch in range(start_epoch, c.epochs):
                found = None
                if c.train_snr_db is not None:
                    # The search starts from the last epoch's read noise (kept in the
                    # checkpointed history, so a resumed run searches alike).
                    start = history[-1].get("train/read_noise") if history else None
                    found = retune_read_noise(
                        model, x_train[-SNR_SAMPLES:],
                        base_hardware if not start else base_hardware.replace(read_noise=start),
                        c.train_snr_db, derive_seed(c.seed, "program", epoch))
                record, global_step = self._epoch(dist, model, optimizer, shuffle, task,
                                                  x_train, y_train, epoch, global_step, bar)
                if found is not None:
                    record.update({"train/read_noise": found["read_noise"],
                                   "train/snr_db": found["snr_db"],
                                   "train/static_snr_db": found["static_snr_db"]})
                if dist.is_main:
                    t_eval = time.perf_counter()
                    ev = evaluate_model(model, task, x_test, y_test, hardware=eval_hw,
                                        seed=c.eval_seed, batch_size=c.eval_batch_size)
                    record.update({f"test/{k}": v for k, v in ev["metrics"].items()})
                    record.update({f"test/solver/{k}": v for k, v in ev["solver"].items()})
                    record["eval_time_s"] = time.perf_counter() - t_eval
                    history.append(record)
                    if fresh:
                        os.makedirs(out_dir, exist_ok=True)
                        write_text_atomic(os.path.join(out_dir, CONFIG_FILE), dumps(c.to_dict()))
                        write_text_atomic(os.path.join(out_dir, METRICS_FILE), "")
                        fresh = False
                    self._checkpoint(dist, model, optimizer, shuffle, epoch + 1, global_step,
                                     history)
                    with open(os.path.join(out_dir, METRICS_FILE), "a", encoding="utf-8") as fh:
                        fh.write(_jsonl(record))
                    if self.log is not None:
                        self.log(_epoch_line(record, task.primary_metric))
                else:
                    self._checkpoint(dist, model, optimizer, shuffle, epoch + 1, global_step,
                                     history)
                dist.barrier()
        finally:
            bar.close()
        return TrainResult(model=model, history=history, out_dir=out_dir,
                           epochs_run=c.epochs - start_epoch,
                           wall_time_s=time.perf_counter() - t_start)

    # ------------------------------------------------------------------ one epoch
    def _epoch(self, dist: DistContext, model: HadeqModel, optimizer: torch.optim.Optimizer,
               shuffle: torch.Generator, task: Any, x: Tensor, y: Tensor, epoch: int,
               global_step: int, bar: tqdm) -> tuple[dict[str, Any], int]:
        c = self.config
        t0 = time.perf_counter()
        model.train()
        if c.programming_resample == "epoch":
            self._program(model, epoch)
        n = x.shape[0]
        order = torch.randperm(n, generator=shuffle)
        forward, backward = SolverTally(), SolverTally()
        sums = torch.zeros(3, dtype=torch.float64)
        physics_sums: dict[str, float] = {}
        feedback_norm: float | None = None
        for step, start in enumerate(range(0, n, c.batch_size)):
            index = order[start:start + c.batch_size]
            shard = index[dist.rank::dist.world_size]
            if c.programming_resample == "batch":
                self._program(model, epoch, step)
            optimizer.zero_grad(set_to_none=True)
            loss = torch.zeros((), dtype=torch.float64)
            info = None
            # this rank's: total loss share, task loss × samples, samples (summed over ranks)
            local = torch.zeros(3, dtype=torch.float64)
            if shard.numel():
                xb, yb = x[shard], y[shard]
                info = model.forward_with_info(xb)
                task_loss = task.loss(info.output, yb)
                loss = task_loss * (shard.numel() / index.numel())
                forward.add(info.solves)
                if c.physics.active:
                    p_loss, report = physics_loss(model, info, c.physics)
                    loss = loss + p_loss / dist.world_size
                    for k, v in report.items():
                        physics_sums[k] = physics_sums.get(k, 0.0) + v
                local[0] = float(loss.detach())
                local[1] = float(task_loss.detach()) * shard.numel()
                local[2] = shard.numel()
            total = dist.all_reduce_sum(local.clone())
            if not math.isfinite(float(total[0])):
                raise TrainingDivergedError(
                    f"training diverged: the loss is {float(total[0])} at epoch {epoch + 1}, "
                    f"step {step + 1} (global step {global_step + 1}); nothing was written for "
                    "this epoch and the last good checkpoint in "
                    f"{c.out_dir} is intact (lower optimizer.lr or add grad_clip_norm)")
            if loss.requires_grad:
                loss.backward()
                if info is not None:
                    backward.add(info.backward)
            dist.all_reduce_gradients(model)
            if c.optimizer.grad_clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), c.optimizer.grad_clip_norm)
            optimizer.step()
            feedback_norm = model.project_contractive_()
            if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
                raise TrainingDivergedError(
                    f"training diverged: the weights became NaN/Inf at epoch {epoch + 1}, step "
                    f"{step + 1} (global step {global_step + 1}); the last good checkpoint "
                    f"in {c.out_dir} is intact (lower optimizer.lr or add grad_clip_norm)")
            sums += total
            global_step += 1
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{float(total[0]):.4f}", refresh=False)
        steps = math.ceil(n / c.batch_size)
        fwd = self._reduce_tally(dist, forward)
        bwd = self._reduce_tally(dist, backward)
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "global_step": global_step,
            "train/loss": float(sums[0]) / steps,
            "train/task_loss": float(sums[1]) / max(float(sums[2]), 1.0),
            "train/samples": int(sums[2]),
        }
        record.update(fwd.summary("train/solver/"))
        if bwd.samples:
            record.update(bwd.summary("train/backward/"))
        for k, v in physics_sums.items():  # rank 0's batches
            record[f"train/{k}"] = v / steps
        if feedback_norm is not None:  # after the last step's projection
            record["core_spectral_norm"] = float(feedback_norm)
        record["train_time_s"] = time.perf_counter() - t0
        return record, global_step

    @staticmethod
    def _reduce_tally(dist: DistContext, tally: SolverTally) -> SolverTally:
        if not dist.enabled:
            return tally
        vec = dist.all_reduce_sum(tally.to_tensor())
        top = torch.tensor([tally.iterations_max], dtype=torch.float64)
        for other in dist.all_gather(top):  # same shape on every rank
            top = torch.maximum(top, other)
        merged = SolverTally.from_tensor(vec)
        merged.iterations_max = float(top)
        return merged

    # ------------------------------------------------------------------ checkpoint
    def _checkpoint(self, dist: DistContext, model: nn.Module,
                    optimizer: torch.optim.Optimizer, shuffle: torch.Generator, epoch: int,
                    global_step: int, history: list[dict[str, Any]]) -> None:
        """Gather every rank's RNG state; rank 0 writes the checkpoint."""
        states = dist.all_gather(torch.get_rng_state())
        if not dist.is_main:
            return
        rng = {f"torch/rank{r}": s for r, s in enumerate(states)}
        rng["shuffle"] = shuffle.get_state()
        import hadeq

        save_checkpoint(
            self.config.out_dir, epoch=epoch, global_step=global_step,
            config=self.config.to_dict(), model_state=model.state_dict(),
            optimizer_state=optimizer.state_dict(), rng=rng, history=history,
            metadata={"world_size": dist.world_size, "model_kind": self.config.model_kind,
                      "hadeq_version": hadeq.__version__,
                      "torch_version": torch.__version__, "python": platform.python_version(),
                      "torch_num_threads": torch.get_num_threads(),
                      "written_at_unix_s": time.time()})


def _jsonl(record: dict[str, Any]) -> str:
    return json.dumps(jsonable(record), allow_nan=False) + "\n"


def _epoch_line(record: dict[str, Any], metric: str) -> str:
    value = record.get(f"test/{metric}")
    shown = f"{value:.4f}" if isinstance(value, float) else str(value)
    floor = record.get("train/solver/stagnated", 0)
    return (f"epoch {record['epoch']}: train loss {record['train/loss']:.4f}, test {metric} "
            f"{shown}, solver iterations {record.get('train/solver/iterations_mean', 0):.1f} "
            f"(non-converged {record.get('train/solver/nonconverged', 0) - floor}, "
            f"at noise floor {floor}), "
            f"{record['train_time_s']:.1f} s")


def _trains_on_hardware(model: HadeqModel) -> bool:
    """Whether ``model`` runs through its hardware model in training."""
    was_training = model.training
    model.train()
    try:
        return model.uses_hardware()
    finally:
        model.train(was_training)
