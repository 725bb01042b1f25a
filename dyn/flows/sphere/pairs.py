"""The sphere flow's Riesz pair pass: E = sum_{i<j} e(|w_i - w_j|^2) and its gradient (under the riesz and mhe
objectives and the measures), and the pair's scalar math, shared with the CUDA kernels.

The pass (``riesz``) takes each pair (i, j > i) once; from 32 vectors on (``SIMD_VECTORS``; fewer: a pair at a
time), a row i at a time vectorised over j (``pair_row``): the pair's force is subtracted from w_j's gradient and
summed into w_i's, those sums over j in SIMD lanes (reassociated, in an order fixed by the code). The rows
are cut into ``PAIR_TILES`` fixed tiles of about equal pair counts, each with a gradient of its own, added in
tile order: one replica of many vectors runs its tiles on all cores (``Consts.split``), with the same bits
as in turn on one. The snapshots' measures take the directions' largest cosine in the same sweep (``tops``).

Every function is generic over the float type (float64 or float32: ``like`` casts the constants, scratch takes
the vectors' dtype), and the scalar helpers return their first argument's type.

Kernels use numpy's error model: a division by zero (two vectors at the same point) gives inf or NaN, which
stops the replica as diverged, instead of raising.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from dyn.engine.precision import like


@njit(cache=True, error_model="numpy")
def riesz_pair(r2, s):
    """Pair energy at squared distance r2: r^-s, or -log r for s = 0."""
    if s == 0.0:
        return like(r2, -0.5) * math.log(r2)
    if s == 1.0:
        return math.sqrt(like(r2, 1.0) / r2)
    if s == 2.0:
        return like(r2, 1.0) / r2
    return r2 ** like(r2, -0.5 * s)


@njit(cache=True, error_model="numpy")
def riesz_pair_slope(r2, e, s):
    """d(pair energy)/d(r2) = -s/2 r^-(s+2), or -1/(2 r2) for s = 0, given the pair energy e (no new root)."""
    if s == 0.0:
        return like(r2, -0.5) / r2
    if s == 1.0:
        return like(e, -0.5) * e * e * e
    if s == 2.0:
        return -e * e
    return like(e, -0.5 * s) * e / r2


@njit(cache=True, error_model="numpy")
def riesz_coefficient(r2, s):
    """(pair energy, 2 d(pair energy)/d(r2)) at squared distance r2: the pair adds coefficient * (w_i - w_j)
    to the gradient of w_i, and its negative to that of w_j."""
    e = riesz_pair(r2, s)
    return e, like(e, 2.0) * riesz_pair_slope(r2, e, s)


SIMD_VECTORS = 32  # fewer vectors: the pairs one at a time (rows too short for SIMD to pay, and the sums in the
# order of the CUDA kernels' pair loop, which then agree with these to the rounding of a few dot products)
PAIR_TILES = 4  # row tiles of the pair pass, fixed: the sums and so the results do not depend on the threads
SPLIT_VECTORS = 2000  # one replica of at least this many vectors splits its pair pass across the threads (below,
# a parallel region a step costs more than it saves on a busy machine: see the README's sphere speed)


class Pairs(NamedTuple):
    """Scratch of the pair pass: the vectors transposed (d, M); per row tile its gradient (tile, d, M), a row of
    squared distances (tile, M) and its energy (tile,); the tiles' first rows (tile + 1,); whether the tiles run
    in parallel (one replica, many vectors) or in turn."""

    wt: np.ndarray
    gt: np.ndarray
    r2: np.ndarray
    energy: np.ndarray
    bounds: np.ndarray
    split: bool


@njit(cache=True, error_model="numpy")
def pair_scratch(M, d, split=False, dtype=np.float64):
    """The pair pass's scratch for M vectors in R^d, of float type ``dtype`` (the vectors'); the tiles hold about
    equal numbers of pairs (i, j > i)."""
    bounds = np.zeros(PAIR_TILES + 1, dtype=np.int64)
    total, i = M * (M - 1) // 2, 0
    for k in range(1, PAIR_TILES + 1):
        while i < M and i * M - i * (i + 1) // 2 < k * total / PAIR_TILES:
            i += 1
        bounds[k] = i
    bounds[PAIR_TILES] = M
    return Pairs(np.empty((d, M), dtype), np.empty((PAIR_TILES, d, M), dtype), np.empty((PAIR_TILES, M), dtype),
                 np.empty(PAIR_TILES, dtype), bounds, split)


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def pair_row(wt, gt, i, s, r2):
    """The pairs (i, j > i), vectorised over j: each one's force goes to w_j in ``gt`` (d, M), their sum to w_i;
    returns their energy. Reassociation lets the sums over j run in SIMD lanes, in an order fixed by the code."""
    d = wt.shape[0]
    n = wt.shape[1] - i - 1
    r = r2[:n]  # loops over slices from 0: numba's index checks would keep range(i + 1, M) from vectorising
    r[:] = 0.0
    for q in range(d):
        a, row = wt[q, i], wt[q, i + 1:]
        for j in range(n):
            t = a - row[j]
            r[j] += t * t
    energy = like(wt[0, 0], 0.0)
    for j in range(n):
        e, r[j] = riesz_coefficient(r[j], s)
        energy += e
    for q in range(d):
        a, row, out = wt[q, i], wt[q, i + 1:], gt[q, i + 1:]
        total = like(a, 0.0)
        for j in range(n):
            t = r[j] * (a - row[j])
            total += t
            out[j] -= t
        gt[q, i] += total
    return energy


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def pair_row3(wt, gt, i, s):
    """:func:`pair_row` for d = 3 in one loop (1.3x faster: the Thomson problem)."""
    x, y, z = wt[0, i + 1:], wt[1, i + 1:], wt[2, i + 1:]
    gx, gy, gz = gt[0, i + 1:], gt[1, i + 1:], gt[2, i + 1:]
    a, b, c = wt[0, i], wt[1, i], wt[2, i]
    zero = like(a, 0.0)
    energy, sx, sy, sz = zero, zero, zero, zero
    for j in range(x.shape[0]):
        tx, ty, tz = a - x[j], b - y[j], c - z[j]
        r2 = tx * tx
        r2 += ty * ty
        r2 += tz * tz
        e, f = riesz_coefficient(r2, s)
        energy += e
        tx, ty, tz = f * tx, f * ty, f * tz
        sx += tx
        sy += ty
        sz += tz
        gx[j] -= tx
        gy[j] -= ty
        gz[j] -= tz
    gt[0, i] += sx
    gt[1, i] += sy
    gt[2, i] += sz
    return energy


@njit(cache=True, error_model="numpy")
def largest(r, top):
    """max(top, max of r) in eight independent lanes (the CPU runs them side by side; a max is exact in any order)."""
    n = r.shape[0]
    m = n - n % 8
    t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = top
    for j in range(0, m, 8):
        t0, t1, t2, t3 = max(t0, r[j]), max(t1, r[j + 1]), max(t2, r[j + 2]), max(t3, r[j + 3])
        t4, t5, t6, t7 = max(t4, r[j + 4]), max(t5, r[j + 5]), max(t6, r[j + 6]), max(t7, r[j + 7])
    for j in range(m, n):
        t0 = max(t0, r[j])
    return max(max(max(t0, t1), max(t2, t3)), max(max(t4, t5), max(t6, t7)))


@njit(cache=True, error_model="numpy")
def largest_cosine_row(wt, i, c):
    """max_{j > i} u_i . u_j (-1 for none) of the vectors u given transposed (d, M); ``c`` (M,) scratch. Each dot
    product is summed over the coordinates in order (no reassociation; d = 3 starts from the first product rather
    than 0 + it, which changes only a zero's sign): the maximum, exact in any order, and its arccos are the same bits
    however the rows are taken."""
    r = c[:wt.shape[1] - i - 1]
    if wt.shape[0] == 3:  # the Thomson problem: the three coordinates in one loop
        x, y, z = wt[0, i + 1:], wt[1, i + 1:], wt[2, i + 1:]
        a, b, cz = wt[0, i], wt[1, i], wt[2, i]
        for j in range(r.shape[0]):
            t = a * x[j]
            t += b * y[j]
            t += cz * z[j]
            r[j] = t
    else:
        r[:] = 0.0
        for q in range(wt.shape[0]):
            a, row = wt[q, i], wt[q, i + 1:]
            for j in range(r.shape[0]):
                r[j] += a * row[j]
    return largest(r, like(wt[0, 0], -1.0))


@njit(cache=True, error_model="numpy")
def pair_tile(pairs, s, k, tops=None):
    """Row tile k of the pair pass: its rows' pairs into its own gradient ``gt[k]`` and energy; with ``tops``
    (tile,), the largest dot product of its pairs into ``tops[k]``, row by row as the row's energy is summed (the
    snapshots' minimum angle; a training step passes none, and compiles without it)."""
    wt, gt = pairs.wt, pairs.gt[k]
    gt[:, :] = 0.0
    energy = like(wt[0, 0], 0.0)
    for i in range(pairs.bounds[k], pairs.bounds[k + 1]):
        energy += pair_row3(wt, gt, i, s) if wt.shape[0] == 3 else pair_row(wt, gt, i, s, pairs.r2[k])
        if tops is not None:  # the row is in cache; pair_row is done with its scratch r2[k]
            tops[k] = max(tops[k], largest_cosine_row(wt, i, pairs.r2[k]))
    pairs.energy[k] = energy


@njit(cache=True, error_model="numpy", parallel=True)
def pair_tiles_split(pairs, s, tops=None):
    for k in prange(PAIR_TILES):
        pair_tile(pairs, s, k, tops)


@njit(cache=True, error_model="numpy")
def pairs_in_turn(w, s, g):
    """The Riesz energy and its gradient, a pair (i, j > i) at a time, i then j ascending (every sum in that order)."""
    M, d = w.shape
    g[:, :] = 0.0
    zero = like(w[0, 0], 0.0)
    energy = zero
    for i in range(M):
        for j in range(i + 1, M):
            r2 = zero
            for q in range(d):
                t = w[i, q] - w[j, q]
                r2 += t * t
            e, c = riesz_coefficient(r2, s)
            energy += e
            for q in range(d):
                t = c * (w[i, q] - w[j, q])
                g[i, q] += t
                g[j, q] -= t
    return energy


@njit(cache=True, error_model="numpy")
def riesz(w, s, g, pairs, tops=None):
    """E = sum_{i<j} e(|w_i - w_j|^2); its gradient into ``g``; leaves w transposed in ``pairs.wt``. From
    ``SIMD_VECTORS`` vectors on, each pair is computed once in SIMD rows; the rows go in ``PAIR_TILES`` fixed
    tiles, each with its own gradient, added in tile order: the result is the same whether the tiles run in turn
    or in parallel (``pairs.split``). With ``tops`` (tile,) of -1: the largest w_i . w_j over the pairs, in the
    same sweep (:func:`pair_tile`), split over its entries (their maximum is the largest)."""
    M, d = w.shape
    wt = pairs.wt
    for q in range(d):
        for i in range(M):
            wt[q, i] = w[i, q]
    if M < SIMD_VECTORS:
        if tops is not None:  # a few vectors: the dot products after the pairs
            for i in range(M - 1):
                tops[0] = max(tops[0], largest_cosine_row(wt, i, pairs.r2[0]))
        return pairs_in_turn(w, s, g)
    if pairs.split:
        pair_tiles_split(pairs, s, tops)
    else:
        for k in range(PAIR_TILES):
            pair_tile(pairs, s, k, tops)
    gt, energy = pairs.gt, pairs.energy[0]
    for k in range(1, PAIR_TILES):
        energy += pairs.energy[k]
    for i in range(M):
        for q in range(d):
            total = gt[0, q, i]
            for k in range(1, PAIR_TILES):
                total += gt[k, q, i]
            g[i, q] = total
    return energy
