"""Checkpoints that are written atomically and read without unpickling anything.

A run directory holds at most one *committed* checkpoint::

    checkpoint.json                 the commit record (schema, config, epoch, checksums, ...)
    weights-e00003.safetensors      model.state_dict() (parameters and buffers)
    state-e00003.safetensors        optimizer tensors and RNG states

Saving writes the two tensor files under new, epoch-numbered names (each to a temporary
file, fsync, ``os.replace``), then replaces ``checkpoint.json`` the same way — that
rename is the commit — and only then deletes the previous epoch's files. A crash at any
point leaves either the old or the new checkpoint complete and loadable.

``checkpoint.json`` stores the SHA-256 and size of both tensor files, the optimizer's
non-tensor state (hyper-parameters, scalars) and the metric history. Tensors are only
ever read with :func:`safetensors.torch.load_file`; ``torch.load`` is never used.
Any mismatch (checksum, size, schema, truncated JSON, another run's config) raises a
one-line :class:`~hadeq.errors.DataError`.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import safetensors.torch
import torch
from torch import Tensor

from hadeq.errors import DataError
from hadeq.io import write_atomic, write_text_atomic

SCHEMA = "hadeq.checkpoint/1"
"""Version of the checkpoint layout; a different one is refused on load."""

CHECKPOINT_FILE = "checkpoint.json"
_TENSOR_FILE = re.compile(r"^(weights|state)-e\d{5,}\.safetensors$")


@dataclass
class Checkpoint:
    """A loaded checkpoint."""

    directory: str
    epoch: int
    """Epochs completed when it was written."""
    global_step: int
    """Optimizer steps taken when it was written."""
    config: dict[str, Any]
    """The run's :class:`~hadeq.training.TrainConfig` as a mapping."""
    model_state: dict[str, Tensor]
    optimizer_state: dict[str, Any] | None
    """In ``torch.optim.Optimizer.state_dict()`` form."""
    rng: dict[str, Tensor]
    """Generator states by name (``torch/rank0``, ``shuffle``, ...), uint8 tensors."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """The metric records of every completed epoch."""
    metadata: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------ file helpers
def sha256_file(path: str) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def jsonable(obj: Any) -> Any:
    """A copy of ``obj`` that strict JSON can hold: tuples become lists, non-finite
    floats become the strings ``"nan"``, ``"inf"``, ``"-inf"``."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj


def dumps(obj: Any) -> str:
    """Strict JSON text (see :func:`jsonable`), one object, newline-terminated."""
    return json.dumps(jsonable(obj), indent=1, allow_nan=False) + "\n"


def _save_tensors(path: str, tensors: Mapping[str, Tensor]) -> None:
    # Cloning gives every tensor its own contiguous storage (safetensors refuses shared).
    data = {k: v.detach().to("cpu").clone().contiguous() for k, v in tensors.items()}
    write_atomic(path, lambda tmp: safetensors.torch.save_file(data, tmp))


# ------------------------------------------------------------------------ optimizer state
def flatten_optimizer_state(state: Mapping[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into tensors (``optimizer/<param>/<name>``) and a
    JSON-ready remainder (param groups and non-tensor per-parameter values)."""
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entries in state["state"].items():
        for name, value in entries.items():
            if isinstance(value, Tensor):
                tensors[f"optimizer/{pid}/{name}"] = value
            else:
                scalars.setdefault(str(pid), {})[name] = value
    return tensors, {"param_groups": jsonable(state["param_groups"]), "scalars": scalars}


def unflatten_optimizer_state(tensors: Mapping[str, Tensor],
                              meta: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`flatten_optimizer_state`."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if not key.startswith("optimizer/"):
            continue
        _, pid, name = key.split("/", 2)
        state.setdefault(int(pid), {})[name] = value
    for pid, entries in meta.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(entries)
    groups = []
    for group in meta["param_groups"]:
        group = dict(group)
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        groups.append(group)
    return {"state": state, "param_groups": groups}


# ------------------------------------------------------------------------ save / load
def save_checkpoint(
    directory: str,
    *,
    epoch: int,
    global_step: int,
    config: Mapping[str, Any],
    model_state: Mapping[str, Tensor],
    optimizer_state: Mapping[str, Any] | None,
    rng: Mapping[str, Tensor],
    history: list[dict[str, Any]],
    metadata: Mapping[str, Any] | None = None,
) -> str:
    """Write a checkpoint atomically (see the module docstring); returns the JSON path."""
    os.makedirs(directory, exist_ok=True)
    weights_name = f"weights-e{epoch:05d}.safetensors"
    state_name = f"state-e{epoch:05d}.safetensors"
    weights_path = os.path.join(directory, weights_name)
    state_path = os.path.join(directory, state_name)
    opt_tensors: dict[str, Tensor] = {}
    opt_meta: dict[str, Any] | None = None
    if optimizer_state is not None:
        opt_tensors, opt_meta = flatten_optimizer_state(optimizer_state)
    state_tensors = {**opt_tensors, **{f"rng/{k}": v for k, v in rng.items()}}
    _save_tensors(weights_path, model_state)
    _save_tensors(state_path, state_tensors)
    record = {
        "schema": SCHEMA,
        "epoch": epoch,
        "global_step": global_step,
        "config": jsonable(config),
        "files": {
            "weights": {"name": weights_name, "sha256": sha256_file(weights_path),
                        "bytes": os.path.getsize(weights_path)},
            "state": {"name": state_name, "sha256": sha256_file(state_path),
                      "bytes": os.path.getsize(state_path)},
        },
        "optimizer": opt_meta,
        "rng_names": sorted(rng),
        "history": jsonable(history),
        "metadata": jsonable(dict(metadata or {})),
    }
    json_path = os.path.join(directory, CHECKPOINT_FILE)
    write_text_atomic(json_path, dumps(record))  # the commit
    keep = {weights_name, state_name}
    for path in glob.glob(os.path.join(glob.escape(directory), "*.safetensors")):
        name = os.path.basename(path)
        if _TENSOR_FILE.match(name) and name not in keep:
            with contextlib.suppress(OSError):
                os.unlink(path)
    return json_path


def has_checkpoint(directory: str) -> bool:
    """True when ``directory`` holds a committed checkpoint record."""
    return os.path.isfile(os.path.join(directory, CHECKPOINT_FILE))


def _load_tensor_file(directory: str, entry: Any, what: str) -> dict[str, Tensor]:
    if not isinstance(entry, Mapping) or not all(k in entry for k in ("name", "sha256", "bytes")):
        raise DataError(f"checkpoint {directory}: the record of the {what} file is malformed")
    name = str(entry["name"])
    if os.path.basename(name) != name:
        raise DataError(f"checkpoint {directory}: {what} file name {name!r} is not a plain name")
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise DataError(f"checkpoint {directory}: {what} file {name} is missing")
    size = os.path.getsize(path)
    if size != entry["bytes"]:
        raise DataError(f"checkpoint {directory}: {what} file {name} has {size} bytes, "
                        f"expected {entry['bytes']} (truncated or replaced)")
    if sha256_file(path) != entry["sha256"]:
        raise DataError(f"checkpoint {directory}: {what} file {name} fails its SHA-256 check "
                        "(corrupted or replaced)")
    try:
        return safetensors.torch.load_file(path)
    except Exception as exc:  # safetensors raises its own error types
        raise DataError(f"checkpoint {directory}: {what} file {name} is not a valid "
                        f"safetensors file ({type(exc).__name__})") from None


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The dotted path of the first place two JSON-like values differ, or None."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                return sub
            found = first_difference(a[key], b[key], sub)
            if found is not None:
                return found
        return None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    return None if a == b else path


def _lookup(data: Any, path: str) -> Any:
    node = data
    for part in re.split(r"\.(?![^\[]*\])", path):
        name, _, index = part.partition("[")
        if not isinstance(node, Mapping) or name not in node:
            return "<absent>"
        node = node[name]
        if index:
            node = node[int(index.rstrip("]"))] if isinstance(node, list) else "<absent>"
    return node


def load_checkpoint(
    directory: str,
    *,
    expected_config: Mapping[str, Any] | None = None,
    ignore: tuple[str, ...] = ("epochs", "out_dir"),
) -> Checkpoint:
    """Read and verify the committed checkpoint in ``directory``.

    ``expected_config`` (a TrainConfig mapping) must match the stored config except for
    the top-level keys in ``ignore``; otherwise a DataError names the first difference.
    """
    json_path = os.path.join(directory, CHECKPOINT_FILE)
    if not os.path.isdir(directory):
        raise DataError(f"checkpoint directory {directory} does not exist")
    try:
        with open(json_path, encoding="utf-8") as fh:
            record = json.load(fh)
    except FileNotFoundError:
        raise DataError(f"no checkpoint in {directory} ({CHECKPOINT_FILE} is missing)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"checkpoint {json_path} is truncated or not valid JSON "
                        f"({type(exc).__name__})") from None
    if not isinstance(record, dict):
        raise DataError(f"checkpoint {json_path} does not hold a JSON object")
    if record.get("schema") != SCHEMA:
        raise DataError(f"checkpoint {json_path} has schema {record.get('schema')!r}; this "
                        f"version of hadeq reads {SCHEMA!r}")
    for key, kind in (("epoch", int), ("global_step", int), ("config", dict), ("files", dict),
                      ("history", list)):
        if not isinstance(record.get(key), kind):
            raise DataError(f"checkpoint {json_path}: field {key!r} is missing or malformed")
    config = record["config"]
    if expected_config is not None:
        mine = {k: v for k, v in jsonable(expected_config).items() if k not in ignore}
        theirs = {k: v for k, v in config.items() if k not in ignore}
        diff = first_difference(theirs, mine)
        if diff is not None:
            raise DataError(
                f"checkpoint in {directory} was written for another config: {diff} is "
                f"{_lookup(theirs, diff)!r} there but {_lookup(mine, diff)!r} here")
    files = record["files"]
    weights = _load_tensor_file(directory, files.get("weights"), "weights")
    state = _load_tensor_file(directory, files.get("state"), "state")
    optimizer_state = None
    if record.get("optimizer") is not None:
        try:
            optimizer_state = unflatten_optimizer_state(state, record["optimizer"])
        except (KeyError, ValueError, TypeError, AttributeError):
            raise DataError(f"checkpoint {json_path}: the optimizer record is malformed") from None
    rng = {k.removeprefix("rng/"): v for k, v in state.items() if k.startswith("rng/")}
    return Checkpoint(directory=directory, epoch=record["epoch"],
                      global_step=record["global_step"], config=config, model_state=weights,
                      optimizer_state=optimizer_state, rng=rng, history=record["history"],
                      metadata=record.get("metadata") or {})


def check_state_dict(directory: str, module: torch.nn.Module, state: Mapping[str, Tensor]) -> None:
    """Raise DataError unless ``state`` has exactly ``module``'s keys and shapes."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        what = f"missing {missing[0]!r}" if missing else f"unexpected {extra[0]!r}"
        raise DataError(f"checkpoint {directory}: weights do not fit the model ({what})")
    for key, value in own.items():
        if tuple(state[key].shape) != tuple(value.shape) or state[key].dtype != value.dtype:
            raise DataError(f"checkpoint {directory}: weight {key!r} has shape "
                            f"{tuple(state[key].shape)} {state[key].dtype}, the model needs "
                            f"{tuple(value.shape)} {value.dtype}")
