"""The labelled points a run learns (or moves), and the order its samples are used in.

Generated sets are drawn from the stream (data_seed, DATA), so every replica sees the same points;
the samples a step uses come from (seed + r, ORDER, 0, chunk) (draws with replacement, the seed's) or
(seed + r, ORDER, 2, epoch) (shuffled epochs), keyed by the global step, so that replica r is the single
run with seed + r and a continued run draws what the unbroken run would have drawn. The classifier a
data run fits first draws from (seed + r, ORDER, 1, chunk).
"""

from __future__ import annotations

import numpy as np

from dyn.engine.streams import DATA, ORDER, stream
from dyn.errors import UsageError
from dyn.io.arrays import read_numbers

CHUNK = 4096  # samples drawn per stream of draws with replacement
MAIN, FIT = 0, 1  # the run's order, the order of the fit of a data run's classifier
FAR_CENTRE = (10.0, 25.0)  # outliers: the far +1 cluster


def blobs(gen, n, dim):
    """The seed's blobs: n//2 points N(0, I) labelled -1, then the rest N((3, ..., 3), I) labelled +1."""
    neg, pos = n // 2, n - n // 2
    x = np.vstack([gen.standard_normal((neg, dim)), gen.standard_normal((pos, dim)) + 3.0])
    return x, np.concatenate([-np.ones(neg), np.ones(pos)])


def builtin(name, n, dim, noise, data_seed):
    """(x (n, D), t (n,)) of a generated set, labels in {-1, +1}."""
    gen = stream(data_seed, DATA)
    if name == "blobs":
        return blobs(gen, n, dim)
    if name == "outliers":  # the blobs and n // 20 more +1 points far away, on the right side of any sane boundary
        x, t = blobs(gen, n, dim)
        far = gen.standard_normal((n // 20, dim))
        far[:, :2] += FAR_CENTRE[:dim] if dim >= 2 else FAR_CENTRE[:1]
        return np.vstack([x, far]), np.concatenate([t, np.ones(n // 20)])
    try:
        from sklearn.datasets import make_circles, make_moons
    except ImportError:
        raise UsageError(f"data {name!r} needs scikit-learn: pip install 'dyn[data]'") from None
    seed = int(gen.integers(2**31 - 1))
    if name == "moons":
        x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    else:
        x, y = make_circles(n_samples=n, noise=noise, factor=0.5, random_state=seed)
    return np.ascontiguousarray(x, dtype=np.float64), 2.0 * y - 1.0


def load_file(path):
    """(x, t) from a .npy or .csv file of rows x_1..x_D, label; one clear line for every bad file."""
    a = read_numbers(path)
    if a.ndim != 2 or a.shape[1] < 2:
        raise UsageError(f"{path} must hold rows x_1..x_D, label (at least 2 columns); got shape {a.shape}")
    return checked(a[:, :-1], a[:, -1], str(path))


def checked(x, t, what="data"):
    """(x (n, D), t (n,)) as float64, refused in one line: wrong shapes, NaN, labels outside {-1, +1}, one class."""
    if np.iscomplexobj(x) or np.iscomplexobj(t):
        raise UsageError(f"{what} must be real numbers")
    try:
        x, t = np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError):
        raise UsageError(f"{what} must be numbers: points (n, D) and labels (n,)") from None
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise UsageError(f"{what}: the points must have shape (n, D) with n >= 2; got {x.shape}")
    if t.shape != (x.shape[0],):
        raise UsageError(f"{what}: {x.shape[0]} points but labels of shape {t.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t))):
        raise UsageError(f"{what} contains NaN or inf")
    bad = np.setdiff1d(np.unique(t), [-1.0, 1.0])
    if len(bad):
        raise UsageError(f"{what}: labels must be -1 or +1; got {bad[:3].tolist()}")
    if len(np.unique(t)) < 2:
        raise UsageError(f"{what} holds one class only (every label is {t[0]:+g}): a classifier needs both")
    return np.ascontiguousarray(x), np.ascontiguousarray(t)


def data_of(cfg, data=None, labels=None):
    """(x (n, D), t (n,)): the user's arrays, a file, or a generated set."""
    if data is not None:
        if labels is None:
            raise UsageError("data= needs labels= (n,) in {-1, +1} beside the points (n, D)")
        x, t = checked(data, labels)
    elif labels is not None:
        raise UsageError("labels= goes with data= (the points they label)")
    elif cfg.data == "array":
        raise UsageError("data 'array' means the data= and labels= arrays given in Python: pass them")
    elif cfg.data.lower().endswith((".npy", ".csv")):
        x, t = load_file(cfg.data)
    else:
        x, t = builtin(cfg.data, cfg.n, cfg.dim, cfg.noise, cfg.data_seed)
    if cfg.dim is not None and x.shape[1] != cfg.dim:
        raise UsageError(f"the data have {x.shape[1]} dimensions but dim = {cfg.dim}")
    return x, t


def order_of(cfg, given, n, replicas):
    """An explicit sample order (R or 1, steps * batch) int64: the array, or the cfg.order file; None: drawn."""
    if given is None and cfg.order in (None, "array"):
        if cfg.order == "array":
            raise UsageError("order 'array' means the order= array given in Python: pass one")
        return None
    if given is None:
        given = read_numbers(cfg.order, ndmin=1, kind="sample indices")
    a = np.asarray(given)
    need = cfg.steps * cfg.batch
    if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        a = a.astype(np.int64)
    if a.dtype.kind not in "iu":
        raise UsageError(f"order must be integer sample indices; got {a.dtype}")
    a = a.astype(np.int64).reshape((1, -1) if a.ndim == 1 else a.shape)
    if a.ndim != 2 or a.shape[0] not in (1, replicas) or a.shape[1] < need:
        raise UsageError(f"order must hold steps x batch = {need:,} sample indices, or ({replicas}, {need:,}) "
                         f"with replicas; got shape {np.shape(given)}")
    a = a[:, :need]
    if a.min() < 0 or a.max() >= n:
        bad = int(a.min()) if a.min() < 0 else int(a.max())
        raise UsageError(f"order indices must be in 0..{n - 1} (the data hold {n} points); got {bad}")
    return np.ascontiguousarray(a)


class Order:
    """Sample indices of global steps, per replica: drawn with replacement (the seed), shuffled epochs, or given."""

    def __init__(self, n, batch, shuffle, seeds, given=None, step0=0, purpose=MAIN):
        self.n, self.batch, self.shuffle, self.seeds = n, batch, shuffle, list(seeds)
        self.given, self.step0, self.purpose = given, int(step0), purpose

    def block(self, step_lo, steps):
        """(R or 1, steps * batch) int64: the samples of global steps step_lo .. step_lo + steps - 1."""
        lo, hi = step_lo * self.batch, (step_lo + steps) * self.batch
        if self.given is not None:
            off = self.step0 * self.batch
            return np.ascontiguousarray(self.given[:, lo - off:hi - off])
        out = np.empty((len(self.seeds), hi - lo), np.int64)
        for r, seed in enumerate(self.seeds):
            out[r] = self.shuffled(seed, lo, hi) if self.shuffle else self.drawn(seed, lo, hi)
        return out

    def drawn(self, seed, lo, hi):
        """Positions lo:hi of the draws with replacement: chunks of CHUNK from their own streams."""
        parts = []
        for c in range(lo // CHUNK, (hi - 1) // CHUNK + 1):
            chunk = stream(seed, ORDER, self.purpose, c).integers(0, self.n, CHUNK)
            parts.append(chunk[max(lo - c * CHUNK, 0):min(hi - c * CHUNK, CHUNK)])
        return np.concatenate(parts)

    def shuffled(self, seed, lo, hi):
        """Positions lo:hi of consecutive epochs, each a permutation from (seed, ORDER, purpose, epoch)."""
        pos = np.arange(lo, hi, dtype=np.int64)
        epoch, where = np.divmod(pos, self.n)
        out = np.empty(len(pos), np.int64)
        cuts = np.concatenate([[0], np.flatnonzero(np.diff(epoch)) + 1, [len(pos)]])
        for a, b in zip(cuts[:-1], cuts[1:]):
            out[a:b] = stream(seed, ORDER, self.purpose + 2, int(epoch[a])).permutation(self.n)[where[a:b]]
        return out
