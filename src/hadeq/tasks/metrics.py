"""Task metrics on tensors.

* accuracy: fraction of rows whose arg-max equals the label.
* top-k accuracy: fraction of rows whose label is among the k largest logits.
* relative L2 error: mean over samples of ‖pred − target‖₂ / ‖target‖₂ (the FNO metric).
"""

from __future__ import annotations

import torch

from hadeq.errors import ConfigError


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples with ``argmax(logits) == label``."""
    return (logits.argmax(dim=-1) == labels).float().mean().item()


def top_k_accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int = 5) -> float:
    """Fraction of samples whose label is among the ``k`` largest logits (ties: torch.topk)."""
    k = min(k, logits.shape[-1])
    top = logits.topk(k, dim=-1).indices
    return (top == labels.unsqueeze(-1)).any(dim=-1).float().mean().item()


def relative_l2_per_sample(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """‖pred_i − target_i‖₂ / ‖target_i‖₂ for each sample i (all trailing dims flattened)."""
    if pred.shape[0] != target.shape[0] or pred[0].numel() != target[0].numel():
        raise ConfigError("pred.shape", tuple(pred.shape),
                          f"as many values per sample as the target {tuple(target.shape)}")
    # Compare flattened samples: a model may answer (B, H·W) for a (B, H, W) field.
    target = target.reshape(target.shape[0], -1)
    diff = (pred.reshape(pred.shape[0], -1) - target).norm(dim=1)
    return diff / target.norm(dim=1).clamp_min(1e-12)


def relative_l2(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean over samples of the relative L2 error (also usable as a loss via the tensor)."""
    return relative_l2_per_sample(pred, target).mean().item()
