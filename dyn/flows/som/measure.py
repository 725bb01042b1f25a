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

import numpy as np

from dyn.flows.som import kernels
from dyn.flows.som.config import DECAY_CODES
from dyn.flows.som.grid import adjacent


def normalized(a):
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), kernels.NORM_EPS)


def neighbourhood_matrix(grid, code, sigma):
    return kernels.neighbourhood_matrix(code, grid.gi, grid.gj, grid.gx, grid.gy, grid.periods, float(sigma))


def schedule(cfg, steps):
    """sigma and lr in force at each global step in ``steps`` (MiniSom's decays over cfg.steps)."""
    sig = np.array([kernels.decay(DECAY_CODES[cfg.sigma_decay], cfg.sigma, int(s), cfg.steps) for s in steps])
    lr = np.array([kernels.decay(DECAY_CODES[cfg.lr_decay], cfg.lr, int(s), cfg.steps) for s in steps])
    return sig, lr


def measure_one(w, x, xsq, H, adj):
    """(qe, te, topographic loss, Heskes energy) of weights w (K, D) on data x (n, D)."""
    wsq = np.einsum("kd,kd->k", w, w)
    d2 = np.maximum(0.0, -2.0 * (x @ w.T) + xsq[:, None] + wsq[None, :])
    bmu = np.argmin(d2, axis=1)
    rows = np.arange(len(x))
    qe = float(np.linalg.norm(x - w[bmu], axis=1).mean())
    d2_2 = d2.copy()
    d2_2[rows, bmu] = np.inf
    second = np.argmin(d2_2, axis=1)
    te = float(np.mean(~adj[bmu, second])) if w.shape[0] > 1 else np.nan
    loss = float(np.einsum("bk,bk->b", H[bmu], d2).mean())
    energy_all = xsq[:, None] * H.sum(1)[None, :] + (H @ wsq)[None, :] - 2.0 * (x @ (H @ w).T)
    energy = float(energy_all.min(axis=1).mean())
    return qe, te, loss, energy


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
    H = np.stack([neighbourhood_matrix(grid, code, s) for s in levels])
    out = np.full((R * T, 4), np.nan)
    kernels.measure_many(np.ascontiguousarray(w.reshape(R * T, K, D)), x, xsq, H,
                         np.tile(which.astype(np.int64), R), adj, out)
    out = out.reshape(R, T, 4)
    if K < 2:
        out[..., 1] = np.nan
    return np.moveaxis(out, -1, 0)
