"""Errors of the training loop."""

from __future__ import annotations

from hadeq.errors import HadeqError


class TrainingDivergedError(HadeqError, FloatingPointError):
    """The loss or the weights became NaN/Inf; the message names the epoch and step.

    Raised before anything is written for that epoch, so the last good checkpoint and
    ``metrics.jsonl`` stay as they were.
    """
