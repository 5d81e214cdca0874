"""What a result needs to be reproduced: versions, platform and the git commit."""

from __future__ import annotations

import os
import platform
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


def environment() -> dict[str, Any]:
    return {
        "hadeq": hadeq.__version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "git_commit": git_commit(),
    }
