"""Atomic file output: write to a temporary file in the target folder, then os.replace.

Every file hadeq writes for a user (results, reports, checkpoints, netlists) goes through
here, so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable
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
    ancestor must be a directory (a regular file in the path fails even for root), and
    something must actually be creatable in it: a probe (a temporary directory, or a
    temporary file when ``path`` exists) is created there and removed at once, leaving
    nothing behind. Permission bits alone are not trusted: ``os.access`` says yes for
    root on a read-only file system, and on pseudo file systems such as ``/proc``.
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
    exists = probe == os.path.abspath(text)
    try:
        if exists:
            fd, name = tempfile.mkstemp(dir=probe, prefix=PROBE_PREFIX)
            os.close(fd)
            os.unlink(name)
        else:
            os.rmdir(tempfile.mkdtemp(dir=probe, prefix=PROBE_PREFIX))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        what = "a writable directory" if exists else "a directory that can be created"
        raise ConfigError(field, text, f"{what} (creating a test entry in {probe} failed: "
                          f"{reason})") from None


PROBE_PREFIX = ".hadeq-probe-"
"""Name prefix of the probe :func:`check_output_dir` creates and removes at once."""


def _fsync_dir(folder: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


TEMPORARY_PREFIX = ".tmp-"
"""Name prefix of the temporary files :func:`write_atomic` creates next to its target."""


def write_atomic(path: str, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)``, fsync the file and ``os.replace`` it onto ``path``.

    Readers see the old file or the whole new one; on any error the temporary file is
    removed and ``path`` is untouched (a process killed mid-write can leave a
    ``.tmp-*`` file behind: :func:`remove_temporaries` clears them). An unwritable
    folder raises :class:`DataError`.
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMPORARY_PREFIX,
                                   suffix="-" + os.path.basename(path))
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        write(tmp)
        # mkstemp creates 0600 (and some writers recreate the file): give the usual mode.
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def remove_temporaries(folder: str) -> list[str]:
    """Delete the ``.tmp-*`` files an interrupted :func:`write_atomic` left in ``folder``
    (for a folder only one process writes to, e.g. a run being resumed); returns their
    names."""
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for name in sorted(os.listdir(folder)):
            full = os.path.join(folder, name)
            if name.startswith(TEMPORARY_PREFIX) and os.path.isfile(full):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(full)
                    removed.append(name)
    return removed


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`write_atomic`)."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    write_atomic(path, write)


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Binary twin of :func:`write_text_atomic`."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    write_atomic(path, write)


def write_json_atomic(path: str, obj: Any) -> None:
    """``obj`` as indented JSON (see :func:`dumps_json`), written atomically."""
    write_text_atomic(path, dumps_json(obj))
