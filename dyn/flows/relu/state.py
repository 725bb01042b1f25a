"""Teacher and student neurons: drawing them, and the arrays a user may pass instead."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dyn.engine.streams import INIT, TEACHER, stream
from dyn.errors import UsageError


class Neurons(NamedTuple):
    """Parameters of f(x) = 1/n sum_k a_k relu(w_k . x + b_k): a (..., n), w (..., n, d), b (..., n)."""

    a: np.ndarray
    w: np.ndarray
    b: np.ndarray


def draw_neurons(gen, n, d, radius=1.0):
    """a ~ N(0, 1); (w, b) ~ N(0, I) rescaled to norm ``radius`` (a is not rescaled, as in the seed)."""
    a = gen.standard_normal(n)
    wb = gen.standard_normal((n, d + 1))
    wb *= radius / np.linalg.norm(wb, axis=1, keepdims=True)
    return Neurons(a, wb[:, :d].copy(), wb[:, d].copy())


def draw_teacher(cfg):
    return draw_neurons(stream(cfg.teacher_seed, TEACHER), cfg.teacher_width, cfg.dim)


def draw_students(cfg):
    """Replica r starts from the stream (seed + r, INIT): the same as a single run with seed + r."""
    drawn = [draw_neurons(stream(cfg.seed + r, INIT), cfg.width, cfg.dim, cfg.radius) for r in range(cfg.replicas)]
    return Neurons(*(np.stack(x) for x in zip(*drawn)))


def as_neurons(given, n, d, what, replicas=None):
    """Check a user's {"a", "w", "b"} against n neurons in d dimensions; add a replica axis if asked."""
    if isinstance(given, Neurons):
        given = given._asdict()
    if not isinstance(given, dict) or set(given) != {"a", "w", "b"}:
        raise UsageError(f"{what} must be a dict with keys 'a', 'w', 'b'")
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in given.items()}
    lead = arrays["a"].shape[:-1] if arrays["a"].ndim else ()
    want = {"a": lead + (n,), "w": lead + (n, d), "b": lead + (n,)}
    if replicas is None and lead:
        raise UsageError(f"{what} takes shapes (n,), (n, d), (n,) with n = {n}, d = {d}")
    if replicas is not None and lead not in ((), (replicas,)):
        raise UsageError(f"{what}: leading axis {lead[0]} does not match replicas = {replicas}")
    for key, shape in want.items():
        if arrays[key].shape != shape:
            raise UsageError(f"{what}['{key}'] has shape {arrays[key].shape}, expected {shape} "
                             f"(width/dim set to n = {n}, d = {d})")
        if not np.all(np.isfinite(arrays[key])):
            raise UsageError(f"{what}['{key}'] contains NaN or inf")
    if replicas is not None and not lead:
        arrays = {k: np.repeat(v[None], replicas, axis=0) for k, v in arrays.items()}
    return Neurons(arrays["a"], arrays["w"], arrays["b"])


def shape_options(options, arrays):
    """The config fields the arrays' shapes imply: ``width`` and ``dim`` from ``init`` ({"a": (m,), "w":
    (m, d), "b": (m,)}, a replica axis allowed), ``teacher_width`` and ``dim`` from ``teacher``, ``dim``
    from ``inputs`` (n, d). The caller's own values win (and are checked against the arrays later)."""
    out = {}
    for name, width in (("init", "width"), ("teacher", "teacher_width")):
        given = arrays.get(name)
        if isinstance(given, Neurons):
            given = given._asdict()
        if isinstance(given, dict) and np.ndim(given.get("w")) >= 2:
            shape = np.shape(given["w"])
            out.setdefault(width, int(shape[-2]))
            out.setdefault("dim", int(shape[-1]))
    if arrays.get("inputs") is not None and np.ndim(arrays["inputs"]) in (2, 3):
        out.setdefault("dim", int(np.shape(arrays["inputs"])[-1]))
    return out
