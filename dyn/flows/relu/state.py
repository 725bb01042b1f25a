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


def draw_neurons_without_bias(gen, n, d, radius=1.0):
    """a ~ N(0, 1); w ~ N(0, I_d) rescaled to norm ``radius``; b = 0."""
    a = gen.standard_normal(n)
    w = gen.standard_normal((n, d))
    w *= radius / np.linalg.norm(w, axis=1, keepdims=True)
    return Neurons(a, w, np.zeros(n))


def draw_xavier(gen, n, d):
    """Glorot & Bengio's uniform init of the first layer (fan in d, fan out n): w ~ U(-r, r), r = sqrt(6 / (d + n));
    a = 1 and b = 0 (Safran & Shamir's student)."""
    r = np.sqrt(6.0 / (d + n))
    return Neurons(np.ones(n), gen.uniform(-r, r, (n, d)), np.zeros(n))


def orthogonal_teacher(n, d):
    """Safran & Shamir's teacher: w_j = e_j (unit norm, orthogonal), a = 1, b = 0 (n <= d)."""
    return Neurons(np.ones(n), np.eye(n, d), np.zeros(n))


def draw_teacher(cfg):
    if cfg.teacher == "orthogonal":
        return orthogonal_teacher(cfg.teacher_width, cfg.dim)
    gen = stream(cfg.teacher_seed, TEACHER)
    if not cfg.bias:
        return draw_neurons_without_bias(gen, cfg.teacher_width, cfg.dim)
    return draw_neurons(gen, cfg.teacher_width, cfg.dim)


def draw_student(cfg, gen):
    if cfg.init == "xavier":
        return draw_xavier(gen, cfg.width, cfg.dim)
    if not cfg.bias:
        return draw_neurons_without_bias(gen, cfg.width, cfg.dim, cfg.radius)
    return draw_neurons(gen, cfg.width, cfg.dim, cfg.radius)


def draw_students(cfg):
    """Replica r starts from the stream (seed + r, INIT): the same as a single run with seed + r."""
    drawn = [draw_student(cfg, stream(cfg.seed + r, INIT)) for r in range(cfg.replicas)]
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
