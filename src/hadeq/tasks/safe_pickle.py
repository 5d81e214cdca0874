"""Loading pickled data batches without executing arbitrary code.

hadeq never unpickles files as a rule: a pickle can run any code while it loads. The one
exception is the image data sets that are *distributed* as pickles (CIFAR-10's python
batches and ImageNet32's official batches), and only from a path the user names. Even
then we use :class:`RestrictedUnpickler`, which resolves only the handful of globals that
numpy needs to rebuild an array (``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``,
``numpy.dtype``, and ``(_)codecs.encode``, which protocol-2 pickles use for bytes); any other
global — ``os.system``, ``builtins.eval``, a class from some module — raises
:class:`hadeq.errors.DataError` instead of being imported.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from hadeq.errors import DataError

# (module, name) pairs a numpy-array pickle may reference. numpy 2 renamed numpy.core to
# numpy._core; pickles written by either version name one or the other.
_ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("codecs", "encode"),
        ("_codecs", "encode"),
    }
)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can only rebuild builtins containers and numpy arrays."""

    def __init__(self, file: io.BufferedIOBase, *, source: str) -> None:
        # encoding="bytes" keeps Python-2 dict keys as bytes (b"data", b"labels"), the
        # documented format of the CIFAR-10 python batches; numpy's buffers need latin1,
        # which is what "bytes" gives them.
        super().__init__(file, encoding="bytes")
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise DataError(
            f"{self._source}: refusing to unpickle {module}.{name}; only numpy arrays and "
            "builtin containers are allowed in a data batch"
        )


def load_pickle(path: Path) -> Any:
    """Unpickle ``path`` with :class:`RestrictedUnpickler`; any failure is a DataError."""
    try:
        with open(path, "rb") as fh:
            return RestrictedUnpickler(fh, source=str(path)).load()  # type: ignore[arg-type]
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except Exception as exc:  # truncated / corrupt pickles raise many different types
        raise DataError(
            f"{path}: not a readable pickle data batch ({type(exc).__name__}: {exc})"
        ) from None
