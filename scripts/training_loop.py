"""The training loop the task scripts share (imported as a sibling module)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from hadeq.models import AnalogCoreDEQ


def fit_epochs(model: AnalogCoreDEQ, x: Tensor, y: Tensor,
               loss_fn: Callable[[Tensor, Tensor], Tensor], *, epochs: int, batch: int,
               lr: float, warm_start: bool,
               time_limit_s: float) -> tuple[list[dict[str, Any]], float]:
    """Adam with a one-cycle learning rate (10 % warm-up, 1 % when ``warm_start``) over
    shuffled mini-batches, projecting the loop back into the contraction region after
    every step; stops early once ``time_limit_s`` has passed at the end of an epoch.

    Returns the per-epoch records (mean training loss, wall time) and the training time.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = max(1, epochs) * math.ceil(len(x) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps,
                                                pct_start=0.01 if warm_start else 0.1)
    start = time.perf_counter()
    history: list[dict[str, Any]] = []
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x))
        total = 0.0
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            model.project_contractive_()
            total += loss.item() * len(idx)
        elapsed = time.perf_counter() - start
        history.append({"epoch": epoch, "train_loss": total / len(x), "wall_s": elapsed})
        print(f"epoch {epoch} train loss {total / len(x):.4f}  {elapsed:.0f}s", flush=True)
        if elapsed > time_limit_s:
            break
    return history, time.perf_counter() - start
