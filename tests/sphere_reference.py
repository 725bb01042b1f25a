"""Plain-numpy references of the sphere flow's objectives and steps (vectorised, small sizes): test oracles."""

import numpy as np


def unit(a):
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def g_of_theta(op, t, k=1.0):
    if op == "cosine":
        return np.cos(t)
    if op == "linear":
        return 1 - 2 * t / np.pi
    etk, e0k = np.exp((t - np.pi / 2) / k), np.exp(-np.pi / 2 / k)  # the seed's g_sigmoid
    return ((1 - etk) * (1 + e0k)) / ((1 + etk) * (1 - e0k))


def angular(w, x, op="cosine", k=1.0):
    c = unit(x) @ unit(w).T
    g = c if op == "cosine" else g_of_theta(op, np.arccos(np.clip(c, -1, 1)), k)
    return np.sum(g ** 2)


def pair_energy(r, s):
    return -np.log(r) if s == 0 else r ** -s


def riesz(w, s):
    i, j = np.triu_indices(len(w), 1)
    return np.sum(pair_energy(np.linalg.norm(w[i] - w[j], axis=1), s))


def mhe(w, s):
    """1/(M(M-1)) sum over ordered pairs i != j of f_s(|u_i - u_j|), u = w/|w| (Liu et al. 2018)."""
    u = unit(w)
    M = len(u)
    r = np.linalg.norm(u[:, None] - u[None], axis=2)[~np.eye(M, dtype=bool)]
    return np.sum(pair_energy(r, s)) / (M * (M - 1))


def riesz_grad(w, s):
    diff = w[:, None] - w[None]
    r2 = np.sum(diff ** 2, axis=2) + np.eye(len(w), dtype=w.dtype)
    slope = -0.5 / r2 if s == 0 else -0.5 * s * r2 ** (-0.5 * s - 1)
    np.fill_diagonal(slope, 0.0)
    return np.sum(2 * slope[:, :, None] * diff, axis=1)


def step(w, g, v, rule, lr, mu):
    """One step of every vector (rows), as dyn's rules: 'after', 'before', 'tangent', 'exponential'.

    Returns the new (w, v) and the norm before renormalisation.
    """
    if rule in ("after", "before"):
        v = mu * v + g
        if rule == "before":
            n = np.linalg.norm(w, axis=1)
            return w / n[:, None] - lr * v, v, n
        y = w - lr * v
        n = np.linalg.norm(y, axis=1)
        return y / n[:, None], v, n
    u = unit(w)

    def tangent(a):
        return a - np.sum(a * u, axis=1, keepdims=True) * u

    v = mu * tangent(v) + tangent(g)
    if rule == "exponential":
        vn = np.linalg.norm(v, axis=1, keepdims=True)
        a = lr * vn
        return np.cos(a) * u - np.sin(a) * v / vn, v, np.sqrt(1 + a[:, 0] ** 2)
    y = u - lr * v
    n = np.linalg.norm(y, axis=1)
    return y / n[:, None], v, n
