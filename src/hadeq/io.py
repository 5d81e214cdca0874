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

from hadeq.errors import ConfigError, DataError


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


def check_output_dir(field: str, path: str | os.PathLike[str]) -> None:
    """Raise :class:`ConfigError` naming ``field`` unless ``path`` is a writable directory
    or can be created as one.

    Checked before any work is done, so that a bad output location fails in a second with
    one line instead of after a long run (or with a traceback). The nearest existing
    ancestor must be a directory (a regular file in the path fails even for root) and
    writable (``os.access``: a read-only file system fails even for root).
    """
    text = os.fspath(path)
    if not text:
        raise ConfigError(field, text, "a directory path")
    probe = os.path.abspath(text)
    while not os.path.lexists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise ConfigError(field, text, f"a directory that can be created ({probe} is not a "
                          "directory)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(field, text, f"a writable directory ({probe} is not writable)")


def _open_temporary(path: str) -> tuple[int, str]:
    """Create the folder of ``path`` and a temporary file in it; OSError → DataError."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        return tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see either the old file or the whole new one."""
    fd, tmp = _open_temporary(path)
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
    fd, tmp = _open_temporary(path)
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
