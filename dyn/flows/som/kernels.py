"""CPU kernels of the som flow's online rules, one sample a step: online Kohonen (MiniSom's ``train``/``update``)
and Heskes' rule (the winner minimises sum_j h(k, j) |x - w_j|^2), on the engine's frame loop.

The weights are held transposed, (replica, dim, unit), so that the loops over units are contiguous. The
per-unit math is :mod:`dyn.flows.som.units`' (distance, tie, update); the neighbourhood row and tables are
:mod:`dyn.flows.som.neighbourhood`'s. The other rules' kernels are ``batch.py`` and ``topographic.py``; the
measures' are ``measure.py``. A step's "loss" is the sum of the sample's squared distances to the units: the
frame loop stops a replica whose sum is not finite (a weight not finite, or far enough for the measures to
overflow) before it moves. The kernels are generic over the float type of the weights and the data (float64 or
float32, :mod:`dyn.engine.precision`): work arrays of the weights' dtype, the step's rates in it.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from dyn.engine.loop import define_frame_loop
from dyn.flows.som.neighbourhood import neighbour_row, neighbour_tables, spread
from dyn.flows.som.units import moved, rates, replica, same_norm, sq_diff  # noqa: F401 (replica: the frame loop's)


class Work(NamedTuple):
    h: np.ndarray
    fa: np.ndarray
    fb: np.ndarray
    d2: np.ndarray
    e: np.ndarray
    FA: np.ndarray
    FB: np.ndarray
    H: np.ndarray
    tmp: np.ndarray
    table_sigma: np.ndarray  # (1,): sigma of the Heskes tables FA, FB, H (NaN: none built yet)


@njit(cache=True)
def scratch(state, consts, inputs):
    K, f = state.w.shape[1], state.w.dtype
    rows, cols = consts.rows, consts.cols
    return Work(np.empty(K, f), np.empty(rows, f), np.empty(cols, f), np.empty((K, 1), f), np.empty((K, 1), f),
                np.empty((rows, rows), f), np.empty((cols, cols), f),
                np.empty((K, K) if not consts.sep else (1, 1), f), np.empty((K, 1), f), np.full(1, np.nan, f))


@njit(cache=True)
def first_of_equal_norms(d2, c, best):
    """The first unit before ``c`` whose norm sqrt(d2) equals the best one's (MiniSom's argmin of norms), or c."""
    for k in range(c):
        if same_norm(d2[k, 0], best):
            return k
    return c


@njit(cache=True)
def step(state, consts, inputs, work, s):
    wt = state.w
    D, K = wt.shape
    h, d2, e = work.h, work.d2, work.e
    c0 = consts
    eta, sig = rates(c0.lr_code, c0.lr0, c0.sigma_code, c0.sigma0, inputs.step0 + s, c0.T)
    x = inputs.x[inputs.order[s]]
    d2[:, 0] = 0.0
    for q in range(D):
        xq = x[q]
        row = wt[q]
        for k in range(K):
            d2[k, 0] += sq_diff(xq, row[k])
    c = 0
    best = d2[0, 0]
    total = best
    for k in range(1, K):
        total += d2[k, 0]
        if d2[k, 0] < best:
            best = d2[k, 0]
            c = k
    if not math.isfinite(total):
        return total
    c = first_of_equal_norms(d2, c, best)
    if c0.heskes:  # the winner minimises sum_j h(k, j) |x - w_j|^2
        if sig != work.table_sigma[0]:  # the tables depend on sigma alone: rebuilt only when it changed
            neighbour_tables(c0.code, c0.gi, c0.gj, c0.gx, c0.gy, c0.periods, c0.sep, c0.rows, c0.cols, sig,
                             work.FA, work.FB, work.H)
            work.table_sigma[0] = sig
        spread(c0.sep, c0.rows, c0.cols, work.FA, work.FB, work.H, d2, e, work.tmp)
        c = 0
        for k in range(1, K):
            if e[k, 0] < e[c, 0]:
                c = k
    neighbour_row(c0.code, c, c0.gi, c0.gj, c0.gx, c0.gy, c0.periods, c0.sep, c0.rows, c0.cols, sig, work.fa,
                  work.fb, h)
    for k in range(K):
        h[k] = h[k] * eta
    for q in range(D):
        xq = x[q]
        row = wt[q]
        for k in range(K):
            row[k] = moved(row[k], h[k], xq)
    return total


@njit(cache=True)
def snapshot(state, consts, work, snaps, slot, loss):
    wt = state.w
    for k in range(wt.shape[1]):
        for q in range(wt.shape[0]):
            snaps.w[slot, k, q] = wt[q, k]


define_frame_loop(globals())
