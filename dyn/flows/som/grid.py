"""The map's grid: unit positions, grid distances (toroidal or not), mesh edges, U-matrix.

Unit k = i * cols + j sits at row i, column j (the forum's ``locations``, MiniSom's (x, y) = (i, j)
with x = rows). Its position in the plane is (i, j) on a rectangular grid; on a hexagonal grid it is
MiniSom's: (i - 0.5 on every other column counted from the last, j * sqrt(3) / 2). Bubble and
triangle neighbourhoods use the index distances (as MiniSom does), gaussian and mexican hat the
positions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

HEX_Y = (3.0 / 2.0) / np.sqrt(3)  # MiniSom's Y_HEX_CONV_FACTOR


class Grid(NamedTuple):
    """Arrays the kernels take: index and plane coordinates per unit, and the torus periods (0: none)."""

    gi: np.ndarray      # (K,) int64 row index
    gj: np.ndarray      # (K,) int64 column index
    gx: np.ndarray      # (K,) float plane coordinate along the rows
    gy: np.ndarray      # (K,) float plane coordinate along the columns
    periods: np.ndarray  # (4,) float: periods of gx, gy, gi, gj (0: not toroidal)
    rows: int
    cols: int
    hexagonal: bool


def make_grid(rows, cols, topology="rectangular", toroidal=False):
    i, j = np.divmod(np.arange(rows * cols, dtype=np.int64), cols)
    hexagonal = topology == "hexagonal"
    gx = i.astype(float)
    gy = j.astype(float)
    if hexagonal:
        gx = gx - 0.5 * ((cols - 1 - j) % 2 == 0)
        gy = gy * HEX_Y
    periods = np.array([rows, cols * (HEX_Y if hexagonal else 1.0), rows, cols], float) if toroidal \
        else np.zeros(4)
    return Grid(i, j, gx, gy, periods, rows, cols, hexagonal)


def grid_of(cfg):
    return make_grid(cfg.rows, cfg.cols, cfg.topology, cfg.toroidal)


def wrap(delta, period):
    """Shortest signed-free difference on a circle of ``period`` (period 0: the difference itself)."""
    if period <= 0:
        return delta
    a = np.abs(delta) % period
    return np.minimum(a, period - a)


def distances(grid, index=False):
    """(K, K) grid distances between units: plane positions (default) or row/column indices."""
    if index:
        a, b, pa, pb = grid.gi.astype(float), grid.gj.astype(float), grid.periods[2], grid.periods[3]
    else:
        a, b, pa, pb = grid.gx, grid.gy, grid.periods[0], grid.periods[1]
    da = wrap(a[:, None] - a[None, :], pa)
    db = wrap(b[:, None] - b[None, :], pb)
    return np.sqrt(da * da + db * db)


def adjacent(grid):
    """(K, K) bool: grid neighbours, as MiniSom's topographic error counts them.

    Rectangular: index distance <= 1.42 (diagonals included); hexagonal: plane distance close to 1.
    """
    if grid.hexagonal:
        return np.isclose(1.0, distances(grid))
    d = distances(grid, index=True)
    return (d <= 1.42) & (d > 0)


def neighbour_table(grid):
    """(K, 9) int64: each unit's grid neighbours as :func:`adjacent` counts them, padded with -1, without its
    K x K matrices (a 100 x 100 map's took 0.9 GB and seconds to build). Every neighbour of unit (i, j) lies in
    rows i - 1..i + 1 and columns j - 1..j + 1 (wrapped on a torus), so only those 9 candidates are tested, with
    the distances :func:`distances` computes for them."""
    offsets = np.arange(-1, 2)
    ci = (grid.gi[:, None, None] + offsets[None, :, None]).repeat(3, 2).reshape(-1, 9)
    cj = (grid.gj[:, None, None] + offsets[None, None, :]).repeat(3, 1).reshape(-1, 9)
    if grid.periods[2] > 0:  # toroidal
        ci, cj = ci % grid.rows, cj % grid.cols
    valid = (ci >= 0) & (ci < grid.rows) & (cj >= 0) & (cj < grid.cols)
    cand = np.where(valid, ci * grid.cols + cj, 0)
    if grid.hexagonal:
        a, b, pa, pb = grid.gx, grid.gy, grid.periods[0], grid.periods[1]
    else:
        a, b, pa, pb = grid.gi.astype(float), grid.gj.astype(float), grid.periods[2], grid.periods[3]
    da = wrap(a[:, None] - a[cand], pa)
    db = wrap(b[:, None] - b[cand], pb)
    d = np.sqrt(da * da + db * db)
    near = np.isclose(1.0, d) if grid.hexagonal else (d <= 1.42) & (d > 0)
    return np.where(valid & near, cand, -1)


def mesh_edges(grid):
    """(E, 2) unit pairs joined in the picture: right and down neighbours (and the hexagonal diagonals).

    Toroidal wrap-around edges are left out: they would cross the whole picture.
    """
    K = grid.rows * grid.cols
    d = distances(make_grid(grid.rows, grid.cols, "hexagonal" if grid.hexagonal else "rectangular"))
    close = np.isclose(d, 1.0)
    a, b = np.nonzero(np.triu(close))
    return np.stack([a, b], 1)[a < b] if K else np.zeros((0, 2), np.int64)


def umatrix(w, grid):
    """(..., K) mean distance of each unit's weights to its grid neighbours' (the U-matrix)."""
    edges = mesh_edges(grid)
    diff = np.linalg.norm(w[..., edges[:, 0], :] - w[..., edges[:, 1], :], axis=-1)
    total = np.zeros(w.shape[:-1])
    count = np.zeros(w.shape[-2])
    for e, (a, b) in enumerate(edges):
        total[..., a] += diff[..., e]
        total[..., b] += diff[..., e]
        count[a] += 1
        count[b] += 1
    return total / np.maximum(count, 1)
