"""Tiling a weight matrix onto crossbars, and first-order IR drop.

Layout: a layer ``y = W x`` with ``W`` of shape ``(out, in)`` is stored transposed, inputs
on crossbar rows (word lines, driven by DACs) and outputs on columns (bit lines, read by
ADCs). It is zero-padded to ``(R·tile_rows, C·tile_cols)`` and viewed as ``R × C`` tiles
of shape ``(tile_rows, tile_cols)``; every tile computes its partial sum in analog, the
``R`` partial sums of a column of tiles are added digitally after the ADCs.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def tile_grid(in_features: int, out_features: int, tile_rows: int, tile_cols: int
              ) -> tuple[int, int]:
    """Number of tiles ``(R, C)`` along the input and output dimensions."""
    return math.ceil(in_features / tile_rows), math.ceil(out_features / tile_cols)


def to_tiles(w: Tensor, tile_rows: int, tile_cols: int) -> Tensor:
    """``(out, in)`` matrix → zero-padded tiles ``(R, tile_rows, C·tile_cols)`` of ``Wᵀ``.

    The columns of all ``C`` tiles of one tile row are kept side by side, so one batched
    matmul over ``R`` computes every tile at once.
    """
    out_f, in_f = w.shape
    r, c = tile_grid(in_f, out_f, tile_rows, tile_cols)
    wt = torch.nn.functional.pad(w.t(), (0, c * tile_cols - out_f, 0, r * tile_rows - in_f))
    return wt.reshape(r, tile_rows, c * tile_cols)


def from_tiles(tiles: Tensor, in_features: int, out_features: int) -> Tensor:
    """Inverse of :func:`to_tiles` (drops the padding): ``(out, in)``."""
    r, rows, cols = tiles.shape
    return tiles.reshape(r * rows, cols)[:in_features, :out_features].t()


def ir_drop_factor(g_sum_norm: Tensor, tile_cols: int, epsilon: float) -> Tensor:
    """First-order word-line IR-drop attenuation of every cell, shape like ``g_sum_norm``.

    Model. Each word line is driven from its left end (column 0); the wire between
    adjacent cells has resistance ``R_w``. Segment ``k`` (between column ``k − 1`` — or the
    driver — and column ``k``) carries the currents of every cell at columns ``m ≥ k``. To
    first order in ``R_w·G`` (cell currents taken at the undisturbed voltage ``V_i``), the
    voltage reaching cell ``(i, j)`` is

        V_ij = V_i · (1 − ε · c_ij),   c_ij = Σ_{k=0..j} Σ_{m=k..C−1} ĝ_im,

    with ``ε = R_w · g_max`` and ``ĝ = (G+ + G−)/g_max`` the normalised load of the pair.
    Because every current on word line ``i`` is proportional to ``V_i``, the attenuation is
    input independent and acts as a static factor on the weights. Bit lines are held at
    virtual ground by the column amplifiers and their resistance is neglected. The factor
    is clipped at 0 (the first-order model is meant for ``ε·c ≪ 1``). Cells further from
    the driver (larger ``j``) lose more, so outputs shrink in magnitude.

    ``g_sum_norm`` has shape ``(R, tile_rows, C·tile_cols)``; each tile is handled
    separately (its word lines start at its own left edge).
    """
    r, rows, width = g_sum_norm.shape
    g = g_sum_norm.reshape(r, rows, width // tile_cols, tile_cols)
    suffix = g.flip(-1).cumsum(-1).flip(-1)  # Σ_{m ≥ k} ĝ_im: current in segment k
    c = suffix.cumsum(-1)  # Σ_{k ≤ j}: accumulated drop at column j
    return (1.0 - epsilon * c).clamp_min(0.0).reshape(r, rows, width)
