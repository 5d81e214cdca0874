"""Run ngspice in batch mode as a subprocess, in a temporary directory that is always
removed, and return its raw output and ``meas`` results."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from hadeq.energy.spice.raw import RawData, parse_raw
from hadeq.errors import DataError

NGSPICE_ENV = "HADEQ_NGSPICE"
"""Environment variable naming the ngspice executable (default ``ngspice`` on PATH)."""

_MEAS = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*=\s*([-+0-9.eE]+)", re.MULTILINE)


@dataclass(frozen=True)
class SpiceRun:
    raw: RawData
    measures: dict[str, float]
    """``meas`` results printed by ngspice, by lower-case name."""
    stdout: str


def find_ngspice(executable: str | None = None) -> str:
    """Path of the ngspice executable, or :class:`DataError` saying how to install it."""
    name = executable or os.environ.get(NGSPICE_ENV) or "ngspice"
    path = shutil.which(name)
    if path is None:
        raise DataError(
            f"ngspice executable {name!r} not found on PATH: install the Debian package "
            "ngspice (apt-get install ngspice)"
        )
    return path


def run_ngspice(
    netlist: str, raw_name: str, *, executable: str | None = None, timeout_s: float = 300.0
) -> SpiceRun:
    """Write ``netlist`` to a temporary directory, run ``ngspice -b`` there, parse the raw
    file ``raw_name`` the netlist's control block writes, and delete the directory."""
    exe = find_ngspice(executable)
    with tempfile.TemporaryDirectory(prefix="hadeq-spice-") as tmp:
        cir = os.path.join(tmp, "core.cir")
        with open(cir, "w", encoding="ascii") as fh:
            fh.write(netlist)
        try:
            proc = subprocess.run(
                [exe, "-b", "core.cir"],
                cwd=tmp,
                capture_output=True,
                timeout=timeout_s,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise DataError(f"ngspice did not finish within {timeout_s:g} s") from None
        except OSError as exc:
            raise DataError(f"could not run ngspice ({exe}): {exc}") from None
        stdout = proc.stdout.decode("utf-8", "replace")
        stderr = proc.stderr.decode("utf-8", "replace")
        raw_path = os.path.join(tmp, raw_name)
        if proc.returncode != 0 or not os.path.exists(raw_path):
            tail = " | ".join((stderr or stdout).strip().splitlines()[-3:])
            raise DataError(
                f"ngspice failed (exit status {proc.returncode}) and wrote no raw output: {tail}"
            )
        with open(raw_path, "rb") as fh:
            blob = fh.read()
    raw = parse_raw(blob)
    measures = {m.group(1).lower(): float(m.group(2)) for m in _MEAS.finditer(stdout)}
    return SpiceRun(raw=raw, measures=measures, stdout=stdout)
