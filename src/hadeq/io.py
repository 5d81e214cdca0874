"""Atomic file output: write to a temporary file in the target folder, then os.replace.

Every file hadeq writes for a user (results, reports, checkpoints, netlists) goes through
here, so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Any


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


def dumps_json(obj: Any) -> str:
    """JSON text; non-finite floats become the strings ``"inf"``/``"-inf"`` (or null)."""
    return json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n"


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see either the old file or the whole new one."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Binary twin of :func:`write_text_atomic`."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json_atomic(path: str, obj: Any) -> None:
    """``obj`` as indented JSON (see :func:`dumps_json`), written atomically."""
    write_text_atomic(path, dumps_json(obj))
