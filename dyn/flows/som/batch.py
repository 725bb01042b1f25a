"""CPU kernels of the som flow's batch rule (MiniSom's ``train_batch_offline``), one epoch a step, on the engine's
frame loop: per epoch, w <- (1 - lr) w + lr sum_b h(c_b, .) x_b / sum_b h(c_b, .), c_b the best unit of x_b.

Units are ranked by MiniSom's expansion |x|^2 + |w|^2 - 2 x.w (first index on ties), x.w from one matrix
product per chunk of samples; the per-unit math is :mod:`dyn.flows.som.units`'. A step's "loss" is 0, or NaN
once a weight is not finite (the frame loop then stops the replica at that epoch). Generic over the float type of
the weights and the data (:mod:`dyn.engine.precision`): work arrays of the weights' dtype, constants ``like`` them.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from dyn.engine.loop import define_frame_loop
from dyn.engine.precision import like
from dyn.flows.som.neighbourhood import neighbour_tables, spread
from dyn.flows.som.units import Inputs, Snaps, State, blended, expanded_sq, rates

CHUNK = 2048  # samples per matrix product


class Work(NamedTuple):
    G: np.ndarray
    wT: np.ndarray
    xsq: np.ndarray
    wsq: np.ndarray
    Xsum: np.ndarray
    cnt: np.ndarray
    num: np.ndarray
    den: np.ndarray
    tmpD: np.ndarray
    tmp1: np.ndarray
    FA: np.ndarray
    FB: np.ndarray
    H: np.ndarray


@njit(cache=True)
def replica(states, inputs, snaps, r):
    return State(states.w[r], states.buf[r]), inputs, Snaps(snaps.w[r], snaps.loss[r])


@njit(cache=True)
def scratch(state, consts, inputs):
    K, D = state.w.shape
    f = state.w.dtype
    X = inputs.x
    n = X.shape[0]
    xsq = np.empty(n, f)
    for b in range(n):
        acc = like(consts.lr0, 0.0)
        for q in range(D):
            acc += X[b, q] * X[b, q]
        xsq[b] = acc
    rows, cols = consts.rows, consts.cols
    return Work(np.empty((min(n, CHUNK), K), f), np.empty((D, K), f), xsq, np.empty(K, f), np.empty((K, D), f),
                np.empty((K, 1), f), np.empty((K, D), f), np.empty((K, 1), f), np.empty((K, D), f), np.empty((K, 1), f),
                np.empty((rows, rows), f), np.empty((cols, cols), f), np.empty((K, K) if not consts.sep else (1, 1), f))


@njit(cache=True)
def step(state, consts, inputs, work, s):
    w = state.w
    K, D = w.shape
    X = inputs.x
    n = X.shape[0]
    c0 = consts
    G, wT, xsq, wsq, Xsum, cnt, num, den = work.G, work.wT, work.xsq, work.wsq, work.Xsum, work.cnt, work.num, work.den
    eta, sig = rates(c0.lr_code, c0.lr0, c0.sigma_code, c0.sigma0, inputs.step0 + s, c0.T)
    zero, one = like(eta, 0.0), like(eta, 1.0)
    for k in range(K):
        acc = zero
        for q in range(D):
            acc += w[k, q] * w[k, q]
        wsq[k] = acc
    Xsum[:, :] = 0.0
    cnt[:, :] = 0.0
    for k in range(K):
        for q in range(D):
            wT[q, k] = w[k, q]
    chunk = G.shape[0]
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        Gc = G[:hi - lo]
        np.dot(X[lo:hi], wT, Gc)
        for b in range(hi - lo):
            c = 0
            best = like(eta, np.inf)
            for k in range(K):
                v = expanded_sq(xsq[lo + b], wsq[k], Gc[b, k])
                if v < best:
                    best = v
                    c = k
            cnt[c, 0] += one
            for q in range(D):
                Xsum[c, q] += X[lo + b, q]
    neighbour_tables(c0.code, c0.gi, c0.gj, c0.gx, c0.gy, c0.periods, c0.sep, c0.rows, c0.cols, sig, work.FA,
                     work.FB, work.H)
    spread(c0.sep, c0.rows, c0.cols, work.FA, work.FB, work.H, Xsum, num, work.tmpD)
    spread(c0.sep, c0.rows, c0.cols, work.FA, work.FB, work.H, cnt, den, work.tmp1)
    for k in range(K):
        if den[k, 0] > zero:
            for q in range(D):
                w[k, q] = blended(w[k, q], eta, num[k, q], den[k, 0])
    for k in range(K):
        for q in range(D):
            if not math.isfinite(w[k, q]):
                return np.nan
    return 0.0


@njit(cache=True)
def snapshot(state, consts, work, snaps, slot, loss):
    snaps.w[slot] = state.w


define_frame_loop(globals())
