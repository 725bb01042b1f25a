"""CPU kernels of the som flow's topographic rule: the forum's layer trained by SGD with momentum (torch's
convention), one batch of B samples a step, on the engine's frame loop.

loss = 1/B sum_b sum_k h(c_b, k) |z_b - w_k|^2 on L2-normalised copies (``normalize``), c_b the argmin. The
batch is grouped by winner: Zsum_c = sum_{b: c_b = c} z_b, then A = H^T Zsum in one product, and
d loss / d w_k = 2/B (S_k w_k - A_k) with S = H^T counts; through the normalisation the chain rule projects
it on the tangent space and divides by |w_k|. A step returns its batch loss, taken before it moves: the frame
loop stops a replica whose loss is not finite. Generic over the float type of the weights and the data
(:mod:`dyn.engine.precision`): work arrays of the weights' dtype, constants ``like`` them.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from dyn.engine.loop import define_frame_loop
from dyn.engine.precision import like
from dyn.flows.som.neighbourhood import neighbour_tables, spread
from dyn.flows.som.units import NORM_EPS, expanded_sq, rates, replica  # noqa: F401 (replica: the frame loop's)


class Work(NamedTuple):
    What: np.ndarray
    WT: np.ndarray
    nw: np.ndarray
    wsq: np.ndarray
    Zb: np.ndarray
    zsq: np.ndarray
    G: np.ndarray
    dist: np.ndarray
    Zsum: np.ndarray
    A: np.ndarray
    tmpD: np.ndarray
    small: np.ndarray
    spread2: np.ndarray
    tmp2: np.ndarray
    FA: np.ndarray
    FB: np.ndarray
    H: np.ndarray
    table_sigma: np.ndarray  # (1,): sigma of the tables FA, FB, H (-1: none built yet)


@njit(cache=True)
def scratch(state, consts, inputs):
    K, D = state.w.shape
    f = state.w.dtype
    B, rows, cols = consts.batch, consts.rows, consts.cols
    return Work(np.empty((K, D), f), np.empty((D, K), f), np.empty(K, f), np.empty(K, f), np.empty((B, D), f),
                np.empty(B, f), np.empty((B, K), f), np.empty(K, f), np.empty((K, D), f), np.empty((K, D), f),
                np.empty((K, D), f), np.empty((K, 2), f), np.empty((K, 2), f), np.empty((K, 2), f),
                np.empty((rows, rows), f), np.empty((cols, cols), f), np.empty((K, K) if not consts.sep else (1, 1), f),
                np.full(1, -1.0, f))


@njit(cache=True)
def step(state, consts, inputs, work, s):
    w, buf = state.w, state.buf
    K, D = w.shape
    c0 = consts
    B, normalize = c0.batch, c0.normalize
    What, WT, nw, wsq, Zb, zsq, G, dist = work.What, work.WT, work.nw, work.wsq, work.Zb, work.zsq, work.G, work.dist
    Zsum, A, tmpD, small, spread2 = work.Zsum, work.A, work.tmpD, work.small, work.spread2
    X = inputs.x
    eta, sig = rates(c0.lr_code, c0.lr0, c0.sigma_code, c0.sigma0, inputs.step0 + s, c0.T)
    zero, one, eps = like(eta, 0.0), like(eta, 1.0), like(eta, NORM_EPS)
    for k in range(K):
        acc = zero
        for q in range(D):
            acc += w[k, q] * w[k, q]
        nk = max(math.sqrt(acc), eps) if normalize else one
        nw[k] = nk
        acc = zero
        for q in range(D):
            v = w[k, q] / nk
            What[k, q] = v
            WT[q, k] = v
            acc += v * v
        wsq[k] = acc
    base = s * B
    for b in range(B):
        x = X[inputs.order[base + b]]
        acc = zero
        for q in range(D):
            acc += x[q] * x[q]
        nz = max(math.sqrt(acc), eps) if normalize else one
        acc = zero
        for q in range(D):
            v = x[q] / nz
            Zb[b, q] = v
            acc += v * v
        zsq[b] = acc
    np.dot(Zb, WT, G)
    Zsum[:, :] = 0.0
    small[:, :] = 0.0  # column 0: winners per unit; column 1: sum of |z|^2 per winner
    for b in range(B):
        zb = zsq[b]
        row = G[b]
        for k in range(K):  # a branch-free pass (vectorises), then the first argmin
            dist[k] = expanded_sq(zb, wsq[k], row[k])
        c = np.argmin(dist)
        small[c, 0] += one
        small[c, 1] += zsq[b]
        for q in range(D):
            Zsum[c, q] += Zb[b, q]
    if sig != work.table_sigma[0]:
        neighbour_tables(c0.code, c0.gi, c0.gj, c0.gx, c0.gy, c0.periods, c0.sep, c0.rows, c0.cols, sig, work.FA,
                         work.FB, work.H)
        work.table_sigma[0] = sig
    spread(c0.sep, c0.rows, c0.cols, work.FA, work.FB, work.H, Zsum, A, tmpD)
    spread(c0.sep, c0.rows, c0.cols, work.FA, work.FB, work.H, small, spread2, work.tmp2)
    loss = zero
    for k in range(K):
        dot = zero
        for q in range(D):
            dot += What[k, q] * A[k, q]
        loss += spread2[k, 1] + spread2[k, 0] * wsq[k] - like(dot, 2.0) * dot
    loss /= like(loss, B)
    if not math.isfinite(loss):
        return loss
    scale = like(loss, 2.0) / like(loss, B)
    for k in range(K):
        S = spread2[k, 0]
        proj = zero
        for q in range(D):
            g = scale * (S * What[k, q] - A[k, q])
            tmpD[k, q] = g
            proj += What[k, q] * g
        for q in range(D):
            g = tmpD[k, q]
            if normalize:
                g = (g - What[k, q] * proj) / nw[k]
            buf[k, q] = c0.momentum * buf[k, q] + g
            w[k, q] -= eta * buf[k, q]
        if c0.project:
            acc = zero
            for q in range(D):
                acc += w[k, q] * w[k, q]
            nk = max(math.sqrt(acc), eps)
            for q in range(D):
                w[k, q] /= nk
    return loss


@njit(cache=True)
def snapshot(state, consts, work, snaps, slot, loss):
    snaps.w[slot] = state.w
    snaps.loss[slot] = loss


define_frame_loop(globals())
