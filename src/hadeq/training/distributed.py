"""Data parallelism over processes (``torchrun``), with gloo on CPU.

Every rank holds the whole model. Each global batch of ``B`` samples is split by rank
(``batch[rank::world]``); a rank's loss is its shard's mean times ``len(shard) / B``, so
the all-reduced *sum* of the gradients is exactly the gradient of the global batch mean,
as in one process. Only rank 0 writes files. The processes find each other through the
environment ``torchrun`` sets (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ...).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn


@dataclass
class DistContext:
    """Rank and world size of this process, and whether we created the process group."""

    rank: int = 0
    world_size: int = 1
    owns_group: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> DistContext:
        """Join the process group ``torchrun`` describes in the environment (gloo), or
        run alone when ``WORLD_SIZE`` is unset or 1."""
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size(), owns_group=False)
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        dist.init_process_group(backend="gloo")
        return cls(dist.get_rank(), dist.get_world_size(), owns_group=True)

    def close(self) -> None:
        """Destroy the process group if :meth:`from_env` created it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False

    # --- collectives (no-ops in one process) --------------------------------------------
    def all_reduce_sum(self, tensor: Tensor) -> Tensor:
        """Sum of ``tensor`` over ranks (in place; returned for convenience)."""
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def all_reduce_gradients(self, model: nn.Module) -> None:
        """Sum every parameter's gradient over ranks (a missing gradient counts as 0).

        Gradients are flattened into one buffer, so a whole model costs one collective.
        """
        if not self.enabled:
            return
        params = [p for p in model.parameters() if p.requires_grad]
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
            offset += n

    def broadcast_module(self, model: nn.Module) -> None:
        """Copy rank 0's parameters and buffers to every rank."""
        if not self.enabled:
            return
        with torch.no_grad():
            for tensor in [*model.parameters(), *model.buffers()]:
                dist.broadcast(tensor, src=0)

    def all_gather(self, tensor: Tensor) -> list[Tensor]:
        """Every rank's copy of a same-shaped tensor (e.g. RNG states), in rank order."""
        if not self.enabled:
            return [tensor]
        out = [torch.empty_like(tensor) for _ in range(self.world_size)]
        dist.all_gather(out, tensor)
        return out

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()
