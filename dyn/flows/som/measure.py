"""What a map's snapshots are worth: quantisation and topographic errors, topographic loss, Heskes energy.

All four are measured on the whole data set, in the space the rule compares inputs and weights
(L2-normalised copies when ``normalize``), with the rule's neighbourhood at the snapshot's sigma:

- quantisation error: mean Euclidean distance to the best-matching unit (MiniSom's);
- topographic error: share of samples whose two best units are not grid neighbours (MiniSom's:
  rectangular, index distance > 1.42; hexagonal, plane distance not 1; wrapped on a torus);
- topographic loss: mean_b sum_k h(c_b, k) |x_b - w_k|^2, c_b the best unit (the forum's loss);
- Heskes energy: mean_b min_c sum_k h(c, k) |x_b - w_k|^2 (never above the topographic loss).

Distances use MiniSom's expansion sqrt(max(0, |x|^2 + |w|^2 - 2 x.w)) (one matrix product per
snapshot); the Heskes energy expands the same way, through H w and H |w|^2.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from dyn.flows.som.config import DECAY_CODES
from dyn.flows.som.grid import adjacent
from dyn.flows.som.kernels import NORM_EPS
from dyn.flows.som.neighbourhood import decay, neighbourhood_matrix as _matrix


H_BYTES = 64 * 2**20  # neighbourhood matrices held at once by the measures


def normalized(a):
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), NORM_EPS)


def neighbourhood_matrix(grid, code, sigma):
    return _matrix(code, grid.gi, grid.gj, grid.gx, grid.gy, grid.periods, float(sigma))


def schedule(cfg, steps):
    """sigma and lr in force at each global step in ``steps`` (MiniSom's decays over cfg.steps)."""
    sig = np.array([decay(DECAY_CODES[cfg.sigma_decay], cfg.sigma, int(s), cfg.steps) for s in steps])
    lr = np.array([decay(DECAY_CODES[cfg.lr_decay], cfg.lr, int(s), cfg.steps) for s in steps])
    return sig, lr


def measure(cfg, grid, code, w, x, sigmas):
    """Per snapshot (replica, time): the four measures; NaN where the weights are NaN.

    One parallel kernel call over every snapshot (fused loops, two matrix products a snapshot).
    """
    if cfg.normalize:
        x = normalized(x)
        w = normalized(w)
    x = np.ascontiguousarray(x)
    xsq = np.einsum("bd,bd->b", x, x)
    adj = adjacent(grid)
    R, T, K, D = w.shape
    levels, which = np.unique(np.asarray(sigmas, float), return_inverse=True)
    which = np.tile(which.astype(np.int64), R)
    flat = np.ascontiguousarray(w.reshape(R * T, K, D))
    out = np.full((R * T, 4), np.nan)
    # the neighbourhood matrices of a few sigma levels at a time (one a snapshot when sigma decays):
    # memory stays at about H_BYTES whatever the number of snapshots
    per = max(1, H_BYTES // (8 * K * K))
    for lo in range(0, len(levels), per):
        H = np.stack([neighbourhood_matrix(grid, code, s) for s in levels[lo:lo + per]])
        pick = np.flatnonzero((which >= lo) & (which < lo + per))
        part = np.full((len(pick), 4), np.nan)
        measure_many(np.ascontiguousarray(flat[pick]), x, xsq, H, which[pick] - lo, adj, part)
        out[pick] = part
    out = out.reshape(R, T, 4)
    if K < 2:
        out[..., 1] = np.nan
    return np.moveaxis(out, -1, 0)


@njit(cache=True, nogil=True)
def measure_snapshot(w, X, xsq, H, adj, out):
    """out = (QE, TE, topographic loss, Heskes energy) of weights w (K, D) on data X (n, D).

    Distances as MiniSom expands them, sqrt(max(0, |x|^2 + |w|^2 - 2 x.w)); the two best units by
    those distances; the Heskes energy through sum_k h(c, k) |x - w_k|^2 = |x|^2 s_c + q_c - 2 x.m_c
    with s = H 1, q = H |w|^2, m = H w.
    """
    K, D = w.shape
    n = X.shape[0]
    wsq = np.empty(K)
    WMT = np.empty((D, 2 * K))  # [w^T | (H w)^T]: one product gives x.w_k and x.m_c
    for k in range(K):
        acc = 0.0
        for q in range(D):
            acc += w[k, q] * w[k, q]
            WMT[q, k] = w[k, q]
        wsq[k] = acc
    M = np.dot(H, w)
    for k in range(K):
        for q in range(D):
            WMT[q, K + k] = M[k, q]
    hs = np.empty(K)
    hq = np.empty(K)
    for c in range(K):
        a = 0.0
        b = 0.0
        for k in range(K):
            a += H[c, k]
            b += H[c, k] * wsq[k]
        hs[c] = a
        hq[c] = b
    chunk = min(n, 1024)
    G = np.empty((chunk, 2 * K))
    d2 = np.empty(K)
    qe = 0.0
    te = 0.0
    loss = 0.0
    energy = 0.0
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        Gc = G[:hi - lo]
        np.dot(X[lo:hi], WMT, Gc)
        for b in range(hi - lo):
            x = X[lo + b]
            c1 = 0
            best = np.inf
            for k in range(K):
                v = max(0.0, -2.0 * Gc[b, k] + xsq[lo + b] + wsq[k])
                d2[k] = v
                if v < best:
                    best = v
                    c1 = k
            c2 = -1
            second = np.inf
            for k in range(K):
                if k != c1 and d2[k] < second:
                    second = d2[k]
                    c2 = k
            acc = 0.0
            for q in range(D):
                diff = x[q] - w[c1, q]
                acc += diff * diff
            qe += math.sqrt(acc)
            if c2 >= 0 and not adj[c1, c2]:
                te += 1.0
            acc = 0.0
            for k in range(K):
                acc += H[c1, k] * d2[k]
            loss += acc
            low = np.inf
            for c in range(K):
                v = xsq[lo + b] * hs[c] + hq[c] - 2.0 * Gc[b, K + c]
                if v < low:
                    low = v
            energy += low
    out[0] = qe / n
    out[1] = te / n
    out[2] = loss / n
    out[3] = energy / n


@njit(cache=True, parallel=True, nogil=True)
def measure_many(W, X, xsq, H, which, adj, out):
    """measure_snapshot for snapshots W (N, K, D), with the neighbourhood H[which[i]]; NaN weights skipped."""
    for i in prange(W.shape[0]):
        ok = True
        for k in range(W.shape[1]):
            for q in range(W.shape[2]):
                if not math.isfinite(W[i, k, q]):
                    ok = False
        if ok:
            measure_snapshot(W[i], X, xsq, H[which[i]], adj, out[i])
