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


H_BYTES = 64 * 2**20  # neighbourhood matrices held at once by the measures


def normalized(a):
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), kernels.NORM_EPS)


def neighbourhood_matrix(grid, code, sigma):
    return kernels.neighbourhood_matrix(code, grid.gi, grid.gj, grid.gx, grid.gy, grid.periods, float(sigma))


def schedule(cfg, steps):
    """sigma and lr in force at each global step in ``steps`` (MiniSom's decays over cfg.steps)."""
    sig = np.array([kernels.decay(DECAY_CODES[cfg.sigma_decay], cfg.sigma, int(s), cfg.steps) for s in steps])
    lr = np.array([kernels.decay(DECAY_CODES[cfg.lr_decay], cfg.lr, int(s), cfg.steps) for s in steps])
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
        kernels.measure_many(np.ascontiguousarray(flat[pick]), x, xsq, H, which[pick] - lo, adj, part)
        out[pick] = part
    out = out.reshape(R, T, 4)
    if K < 2:
        out[..., 1] = np.nan
    return np.moveaxis(out, -1, 0)
