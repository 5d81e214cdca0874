"""What a result needs to be reproduced: every library version, the BLAS, the CPU, the
thread count, the platform and the git commit."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import subprocess
import sys
from typing import Any

import numpy
import torch

import hadeq


def git_commit() -> str | None:
    """The commit of the hadeq checkout in use, with ``+dirty`` if it has changes."""
    here = os.path.dirname(os.path.abspath(hadeq.__file__))
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty.strip() else "")


LIBRARIES: tuple[str, ...] = ("torch", "numpy", "scipy", "scikit-learn", "gymnasium",
                              "matplotlib", "tqdm", "pyyaml", "safetensors", "ray")
"""Distributions whose versions can change a result (``None`` when not installed)."""


def library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def cpu_model() -> str:
    """The CPU's model name (``platform.processor()`` where /proc/cpuinfo is absent)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas() -> dict[str, str]:
    """The BLAS/LAPACK torch and numpy were built with."""
    found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    torch_blas = found.group(1) if found else "unknown"
    try:
        deps = numpy.show_config(mode="dicts")["Build Dependencies"]  # type: ignore[index]
        numpy_blas = str(deps.get("blas", {}).get("name", "unknown"))
    except (TypeError, KeyError):
        numpy_blas = "unknown"
    return {"torch": torch_blas, "numpy": numpy_blas}


def environment() -> dict[str, Any]:
    """Everything about the machine and software a result may depend on."""
    return {
        "hadeq": hadeq.__version__,
        "python": sys.version.split()[0],
        "libraries": library_versions(),
        "blas": blas(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "git_commit": git_commit(),
    }
