"""Parser of ngspice raw files (ASCII and binary, real-valued analyses)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hadeq.errors import DataError


@dataclass(frozen=True)
class RawData:
    """The vectors of one raw-file plot, keyed by lower-case name (``time``, ``v(x)``, ...)."""

    plotname: str
    vectors: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.vectors[name.lower()]
        except KeyError:
            raise DataError(
                f"ngspice raw output has no vector {name!r}; it has: "
                + ", ".join(sorted(self.vectors)[:20])
            ) from None


def parse_raw(blob: bytes) -> RawData:
    """Parse the first plot of an ngspice raw file (``Flags: real``), ASCII or binary.

    Raises :class:`DataError` when the file is empty, truncated or not a raw file.
    """
    if not blob:
        raise DataError("ngspice wrote an empty raw file")
    header: dict[str, str] = {}
    names: list[str] = []
    pos = 0
    n_vars = n_points = None
    while True:
        end = blob.find(b"\n", pos)
        if end < 0:
            raise DataError("ngspice raw file is malformed: no data section found")
        line = blob[pos:end].decode("latin-1").rstrip("\r")
        pos = end + 1
        key, _, value = line.partition(":")
        key_l = key.strip().lower()
        if key_l == "variables":
            if n_vars is None:
                raise DataError("ngspice raw file is malformed: Variables before No. Variables")
            for _ in range(n_vars):
                end = blob.find(b"\n", pos)
                if end < 0:
                    raise DataError("ngspice raw file is malformed: truncated variable list")
                parts = blob[pos:end].decode("latin-1").split()
                pos = end + 1
                if len(parts) < 2:
                    raise DataError("ngspice raw file is malformed: bad variable line")
                names.append(parts[1].lower())
            continue
        if key_l in ("values", "binary"):
            break
        header[key_l] = value.strip()
        if key_l == "no. variables":
            n_vars = _int(value, "No. Variables")
        elif key_l == "no. points":
            n_points = _int(value, "No. Points")
    if n_vars is None or n_points is None or len(names) != n_vars:
        raise DataError("ngspice raw file is malformed: incomplete header")
    if "complex" in header.get("flags", "").lower():
        raise DataError("ngspice raw file holds complex data; only real analyses are supported")
    if key_l == "binary":
        need = n_vars * n_points * 8
        data = blob[pos : pos + need]
        if len(data) < need or n_points == 0:
            raise DataError(f"ngspice raw file is truncated: {len(data)} of {need} data bytes")
        table = np.frombuffer(data, dtype="<f8").reshape(n_points, n_vars)
    else:
        tokens = blob[pos:].split()
        # Each point: index, then n_vars values (the first on the index line).
        need = n_points * (n_vars + 1)
        if len(tokens) < need or n_points == 0:
            raise DataError(f"ngspice raw file is truncated: {len(tokens)} of {need} values")
        try:
            arr = np.array([float(t) for t in tokens[:need]], dtype=np.float64)
        except ValueError:
            raise DataError("ngspice raw file is malformed: non-numeric value") from None
        table = arr.reshape(n_points, n_vars + 1)[:, 1:]
    if not np.isfinite(table).all():
        raise DataError("ngspice raw file holds non-finite values (the simulation diverged)")
    vectors = {name: table[:, k].copy() for k, name in enumerate(names)}
    return RawData(plotname=header.get("plotname", ""), vectors=vectors)


def _int(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise DataError(f"ngspice raw file is malformed: bad {what}: {text.strip()!r}") from None
