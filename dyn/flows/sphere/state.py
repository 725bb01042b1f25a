"""The vectors and data points: drawing them, and the arrays a user may pass instead."""

from __future__ import annotations

import numpy as np

from dyn.engine.streams import DATA, INIT, stream
from dyn.errors import UsageError


def draw_points(gen, n, d, law):
    """``sphere``: uniform on S^{d-1} (normalised Gaussians); ``cube``: U[0,1)^d as the seed (not normalised)."""
    if law == "cube":
        return gen.random((n, d))
    z = gen.standard_normal((n, d))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def draw_vectors(cfg):
    """Replica r draws from the stream (seed + r, INIT): the same as a single run with seed + r."""
    return np.stack([draw_points(stream(cfg.seed + r, INIT), cfg.vectors, cfg.dim, cfg.draw)
                     for r in range(cfg.replicas)])


def draw_data(cfg):
    """(R, N, d) from the streams (seed + r, DATA); (1, 0, d) for the energies, which use no data."""
    if cfg.samples == 0:
        return np.zeros((1, 0, cfg.dim))
    return np.stack([draw_points(stream(cfg.seed + r, DATA), cfg.samples, cfg.dim, cfg.draw)
                     for r in range(cfg.replicas)])


def as_points(given, n, d, what, replicas, names):
    """A user's (n, d) array, or (replicas, n, d), checked; returned as (R or 1, n, d) float64."""
    a = np.array(given, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[1:] != (n, d) or a.shape[0] not in (1, replicas):
        raise UsageError(f"{what} must have shape ({n}, {d}) or ({replicas}, {n}, {d}) ({names}); "
                         f"got {np.shape(given)}")
    if not np.all(np.isfinite(a)):
        raise UsageError(f"{what} contains NaN or inf")
    if (np.linalg.norm(a, axis=2) == 0).any():
        raise UsageError(f"{what} has a zero row: its direction is undefined")
    return np.ascontiguousarray(a)


def shape_options(options, arrays):
    """The config fields the arrays' shapes imply: ``vectors`` and ``dim`` from ``init`` (vector, dim),
    ``dim`` (and ``samples`` for the angular objective) from ``data`` (sample, dim); a leading replica
    axis is allowed. The caller's own values win (and are checked against the arrays later)."""
    out = {}
    angular = options.get("objective") == "angular" or (options.get("as_seed") and options.get("objective") is None)
    for name, first in (("init", "vectors"), ("data", "samples" if angular else None)):
        shape = np.shape(arrays[name]) if arrays.get(name) is not None else ()
        if len(shape) in (2, 3):
            if first is not None:
                out.setdefault(first, int(shape[-2]))
            out.setdefault("dim", int(shape[-1]))
    return out
