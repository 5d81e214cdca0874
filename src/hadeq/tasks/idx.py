"""Reading the IDX format of MNIST and Fashion-MNIST.

An IDX file is a big-endian header — two zero bytes, a type code (0x08 = uint8), the
number of dimensions ``d`` — followed by ``d`` uint32 sizes and the raw data. Image files
have ``d = 3`` (N, rows, cols) so the pixels start at byte offset 16; label files have
``d = 1`` (N,) so the labels start at offset 8. Files may be gzip-compressed (``.gz``).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from hadeq.errors import DataError

_UINT8_CODE = 0x08


def read_idx(path: Path, expected_ndim: int) -> np.ndarray:
    """Read an IDX file of unsigned bytes with ``expected_ndim`` dimensions.

    Raises :class:`DataError` naming the file if it is missing, has the wrong magic
    number or dimension count, or holds fewer bytes than its header promises.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    header_bytes = 4 + 4 * expected_ndim
    if len(raw) < header_bytes:
        raise DataError(f"{path}: truncated IDX header (expected {header_bytes} bytes)")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code != _UINT8_CODE or ndim != expected_ndim:
        raise DataError(
            f"{path}: not an IDX uint8 file with {expected_ndim} dimension(s) "
            f"(magic {raw[:4].hex()}, expected 000008{expected_ndim:02x})"
        )
    shape = struct.unpack(">" + "I" * ndim, raw[4:header_bytes])
    count = int(np.prod(shape))
    if len(raw) - header_bytes != count:
        raise DataError(
            f"{path}: IDX body has {len(raw) - header_bytes} bytes, header promises "
            f"{count} for shape {shape}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_bytes).reshape(shape).copy()


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzip if the name ends in ``.gz``); used by the tests."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, _UINT8_CODE, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(header + array.tobytes())
