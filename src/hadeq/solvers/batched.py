"""Maps whose inputs can be restricted to a subset of the batch.

Per-sample stopping saves work only if ``f`` can be evaluated on the samples still
running. A plain closure ``z -> f(z)`` cannot: its captured inputs have the full batch.
:func:`batched` builds a map that knows its batch-first inputs and can be restricted to a
subset of rows, so the solver computes only what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor


class BatchedMap:
    """``z ↦ fn(z, *inputs)`` where every tensor in ``inputs`` is batch-first.

    Non-tensor inputs, and tensors whose first dimension is not the batch size, are
    passed through unchanged by :meth:`restrict`.
    """

    def __init__(self, fn: Callable[..., Tensor], *inputs: Any, batch_size: int | None = None):
        self.fn = fn
        self.inputs = inputs
        if batch_size is None:
            sizes = {x.shape[0] for x in inputs if isinstance(x, Tensor) and x.dim() > 0}
            batch_size = sizes.pop() if len(sizes) == 1 else None
        self.batch_size = batch_size

    def __call__(self, z: Tensor) -> Tensor:
        return self.fn(z, *self.inputs)

    def restrict(self, index: Tensor) -> BatchedMap:
        """The same map on the rows ``index`` of the batch."""

        def pick(x: Any) -> Any:
            if isinstance(x, Tensor) and x.dim() > 0 and x.shape[0] == self.batch_size:
                return x.index_select(0, index)
            return x

        return BatchedMap(self.fn, *(pick(x) for x in self.inputs), batch_size=index.numel())


def batched(fn: Callable[..., Tensor], *inputs: Any) -> BatchedMap:
    """Wrap ``fn(z, *inputs)`` as a map ``z -> z`` that per-sample stopping can restrict.

    Example::

        f = hadeq.batched(lambda z, x: torch.tanh(z @ W.T + x @ U.T), x)
        z, stats = hadeq.solve(f, torch.zeros(len(x), d))
    """
    return BatchedMap(fn, *inputs)


def is_restrictable(f: object) -> bool:
    return callable(getattr(f, "restrict", None))


