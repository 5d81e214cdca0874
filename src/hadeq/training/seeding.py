"""Deterministic seeds derived from a run's seed and a position in the run."""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, *parts: int | str) -> int:
    """A 63-bit seed that depends only on ``seed`` and ``parts``.

    Used for everything that must be reproducible from a position in the run — the chip
    programmed at ``(epoch, step)``, a rank's noise stream — without carrying generator
    state around: ``derive_seed(7, "program", 3, 12)`` is the same in every process, in
    every run and after a resume. SHA-256 keeps nearby inputs' seeds unrelated.
    """
    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1
