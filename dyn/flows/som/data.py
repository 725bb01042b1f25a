"""The data a map learns, the order its samples are used in, and the initial weights.

Built-in sets are drawn from the stream (data_seed, DATA), so every replica sees the same data;
initial weights come from (seed + r, INIT) and shuffled epochs from (seed + r, ORDER, epoch), so that
replica r is a single run with seed + r.
"""

from __future__ import annotations

import numpy as np

from dyn.engine.streams import DATA, INIT, ORDER, stream
from dyn.errors import UsageError
from dyn.io.arrays import as_samples, read_numbers


def builtin(name, n, dim, data_seed):
    """(n, dim) points of a built-in set."""
    gen = stream(data_seed, DATA)
    if name == "uniform":  # the square (cube) [-1, 1)^dim
        return gen.uniform(-1.0, 1.0, (n, dim))
    if name == "ring":  # the annulus 0.5 <= r <= 1, uniform in area
        theta = gen.uniform(0.0, 2 * np.pi, n)
        r = np.sqrt(gen.uniform(0.25, 1.0, n))
        return np.stack([r * np.cos(theta), r * np.sin(theta)], 1)
    if name == "blobs":  # 5 gaussian blobs (sd 0.1) centred on the circle of radius 0.7 in the first two dims
        angle = 2 * np.pi * np.arange(5) / 5
        centres = np.zeros((5, dim))
        centres[:, 0] = 0.7 * np.cos(angle)
        if dim > 1:
            centres[:, 1] = 0.7 * np.sin(angle)
        return centres[np.arange(n) % 5] + 0.1 * gen.standard_normal((n, dim))
    if name == "sphere":  # the forum's inputs z ~ U[0, 1)^dim, L2-normalised
        z = gen.random((n, dim))
        return z / np.linalg.norm(z, axis=1, keepdims=True)
    if name == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise UsageError("data 'digits' needs scikit-learn: pip install 'dyn[data]'") from None
        return load_digits().data / 16.0  # 1,797 images of 8 x 8 pixels, scaled to [0, 1]
    raise UsageError(f"unknown data set {name!r}")


def data_of(cfg, data=None):
    """The (n, D) data of the run: the user's array, a file, or a built-in set."""
    if data is not None:
        return as_samples(data, column=True)
    if cfg.data == "array":
        raise UsageError("data 'array' means the data= array given in Python: pass one")
    elif cfg.data.lower().endswith((".npy", ".csv")):
        x = as_samples(read_numbers(cfg.data), cfg.data, column=True)
    else:
        x = builtin(cfg.data, cfg.n, cfg.dim, cfg.data_seed)
    if cfg.dim is not None and x.shape[1] != cfg.dim:
        raise UsageError(f"the data have {x.shape[1]} dimensions but dim = {cfg.dim}")
    return x


def initial_weights(cfg, x, init=None):
    """(R, K, D) initial weights: the user's, or drawn per replica from (seed + r, INIT)."""
    K, D, R = cfg.units, x.shape[1], cfg.replicas
    if init is not None:
        w = np.asarray(init, dtype=np.float64)
        if w.ndim == 2:
            w = np.repeat(w[None], R, axis=0)
        if w.shape != (R, K, D):
            raise UsageError(f"init must have shape ({K}, {D}) or ({R}, {K}, {D}) (rows*cols, D); got {np.shape(init)}")
        if not np.all(np.isfinite(w)):
            raise UsageError("init contains NaN or inf")
        return np.ascontiguousarray(w)
    w = np.empty((R, K, D))
    for r in range(R):
        gen = stream(cfg.seed + r, INIT)
        if cfg.weights_init == "normal":  # the forum's N(0, 1/D)
            w[r] = gen.normal(0.0, 1.0 / np.sqrt(D), (K, D))
        elif cfg.weights_init == "sample":  # random data points
            w[r] = x[gen.integers(0, len(x), K)]
        else:  # MiniSom's random init: U[-1, 1)^D, normalised
            u = gen.random((K, D)) * 2 - 1
            w[r] = u / np.linalg.norm(u, axis=-1, keepdims=True)
    return w


class Order:
    """Sample indices: data in order, cycling, or a fresh permutation each epoch (``shuffle``)."""

    def __init__(self, n, per_step, shuffle, seeds):
        self.n, self.per_step, self.shuffle, self.seeds = n, per_step, shuffle, list(seeds)

    def block(self, step_lo, steps):
        """(R or 1, steps * per_step) int64: the samples of global steps step_lo .. step_lo + steps - 1."""
        pos = np.arange(step_lo * self.per_step, (step_lo + steps) * self.per_step, dtype=np.int64)
        if not self.shuffle:
            return (pos % self.n)[None]
        epoch, where = np.divmod(pos, self.n)
        out = np.empty((len(self.seeds), len(pos)), np.int64)
        # positions are consecutive: each epoch is one slice of them (linear in the block's length)
        cuts = np.concatenate([[0], np.flatnonzero(np.diff(epoch)) + 1, [len(pos)]])
        for r, seed in enumerate(self.seeds):
            for a, b in zip(cuts[:-1], cuts[1:]):
                out[r, a:b] = stream(seed, ORDER, int(epoch[a])).permutation(self.n)[where[a:b]]
        return out
