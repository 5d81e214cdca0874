"""An on-disk cache of generated data sets, keyed by a hash of the full recipe.

A *recipe* is a JSON-serialisable mapping naming everything that determines the data:
generator name and version, resolution, number of samples, seed, physical parameters.
Its SHA-256 (of the canonical JSON: sorted keys, no whitespace) names the file, so any
change of recipe is a cache miss and two recipes never share a file. Files are ``.npz``
written without pickle and read with ``allow_pickle=False``; the recipe is stored inside
and compared on load. A write goes to a temporary file in the same directory, then
``os.replace`` moves it into place — atomic on POSIX, so a reader never sees half a file
and concurrent writers of the same recipe simply race to an identical result.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

CACHE_ENV_VAR = "HADEQ_CACHE_DIR"
"""Environment variable that overrides the default cache directory."""

_RECIPE_KEY = "__recipe_json__"


def default_cache_dir() -> Path:
    """``$HADEQ_CACHE_DIR`` if set, else ``~/.cache/hadeq``."""
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env) if env else Path.home() / ".cache" / "hadeq"


def recipe_key(recipe: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of ``recipe``."""
    text = json.dumps(recipe, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def cache_path(recipe: Mapping[str, Any], cache_dir: str | os.PathLike[str] | None) -> Path:
    """The file the recipe's data live in: ``<dir>/<name>-<hash16>.npz``."""
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    name = str(recipe.get("name", "data"))
    return directory / f"{name}-{recipe_key(recipe)[:16]}.npz"


def _read(path: Path, recipe_json: str) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            if str(npz[_RECIPE_KEY]) != recipe_json:
                return None  # a (vanishingly unlikely) 64-bit prefix collision
            return {k: npz[k] for k in npz.files if k != _RECIPE_KEY}
    except Exception:
        return None  # unreadable or truncated: regenerate and overwrite


def write_npz_atomic(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` as .npz via a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def cached(
    recipe: Mapping[str, Any],
    build: Callable[[], Mapping[str, np.ndarray]],
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    use_cache: bool = True,
) -> dict[str, np.ndarray]:
    """Return the arrays for ``recipe``, from the cache if present, else ``build()``.

    ``build`` must be a pure function of the recipe. With ``use_cache=False`` nothing is
    read or written.
    """
    if not use_cache:
        return dict(build())
    path = cache_path(recipe, cache_dir)
    recipe_json = json.dumps(recipe, sort_keys=True, separators=(",", ":"))
    if path.is_file():
        hit = _read(path, recipe_json)
        if hit is not None:
            return hit
    arrays = dict(build())
    write_npz_atomic(path, {**arrays, _RECIPE_KEY: np.array(recipe_json)})
    return arrays
