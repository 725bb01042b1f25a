"""CPU kernels of the sphere flow: objectives, their gradients, and the projected/Riemannian steps.

In order: scalar helpers (the per-element math), objectives and gradients of one replica, the step,
the block kernels.

Vectors are rows: ``w`` (replica, vector, dim), data ``x`` (replica or 1, sample, dim). Objectives:

- angular: L = sum_nk g(theta_nk)^2, cos theta_nk = x_n . w_k / (|x_n| |w_k|); the exact gradient is
  dL/dw_k = sum_n 2 g g_c (x_n / (|x_n| |w_k|) - c w_k / |w_k|^2), g_c = dg/dc. The seed's
  ``AngleFunction.backward`` ("seed") is, as written with its matrix products,
  dL/dw_k = sum_n gy_nk / sqrt(|x_n|^2 |w_k|^2 - (x_n . w_k)^2) (x_n - sum_j w_j (x_n . w_j) / |w_j|^2),
  gy_nk = 2 g g_c: the inner sum runs over every column j, not only k (SEED-NOTES.md).
- riesz: E = sum_{i<j} |w_i - w_j|^-s (s > 0), -sum_{i<j} log |w_i - w_j| (s = 0), at the vectors as they are.
- mhe: E = 1/(M(M-1)) sum_{i != j} f_s(|u_i - u_j|), u = w/|w|, f_s(z) = z^-s (s > 0), log(1/z) (s = 0)
  (Liu et al. 2018, the regulariser's normalisation), so E = 2/(M(M-1)) times the Riesz energy of u.

The Riesz energy's pair pass is :mod:`dyn.flows.sphere.pairs`; the snapshots' measures
:mod:`dyn.flows.sphere.measure`. The kernels are generic over the run's float type (float64 or float32,
:mod:`dyn.engine.precision`): constants are ``like(x, c)``, accumulators start at ``like(x, 0.0)``, work arrays take
the state's dtype, and the scalar helpers (shared with the CUDA kernels) return their data argument's type.

Kernels use numpy's error model: a division by zero (two vectors at the same point, a zero vector)
gives inf or NaN, which stops the replica as diverged, instead of raising.

Step rules (``rule``): 0 projected, step then normalise; 1 projected, normalise then step (the seed's
hook: the gradient was taken at the unnormalised vectors); 2 Riemannian, tangent step then normalise;
3 Riemannian, exponential map (exact great-circle step). With ``accumulate`` the step applies the sum
of all gradients so far (the seed never clears them); momentum mu: v <- mu v + g (Riemannian: both
projected onto the tangent space at the current point).
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from dyn.engine.loop import define_frame_loop
from dyn.engine.precision import like
from dyn.flows.sphere.pairs import Pairs, pair_scratch, riesz

ANGULAR, RIESZ, MHE = 0, 1, 2
COSINE, LINEAR, SIGMOID = 0, 1, 2
EXACT, SEED = 0, 1
AFTER, BEFORE, TANGENT, EXPONENTIAL = 0, 1, 2, 3


@njit(cache=True, error_model="numpy")
def g_theta(op, t, k):
    """The SphereConv operator g(theta): cos, 1 - 2 theta / pi, or the seed's g_sigmoid with steepness k."""
    if op == COSINE:
        return math.cos(t)
    one = like(t, 1.0)
    if op == LINEAR:
        return one - like(t, 2.0) * t / like(t, math.pi)
    k = like(t, k)
    etk = math.exp((t - like(t, math.pi / 2)) / k)
    e0k = math.exp(like(t, -math.pi / 2) / k)
    return ((one - etk) * (one + e0k)) / ((one + etk) * (one - e0k))


@njit(cache=True, error_model="numpy")
def dg_theta(op, t, k):
    """g'(theta) (the seed's g_sigmoid_grad for the sigmoid)."""
    if op == COSINE:
        return -math.sin(t)
    if op == LINEAR:
        return like(t, -2.0 / math.pi)
    one, k = like(t, 1.0), like(t, k)
    etk = math.exp((t - like(t, math.pi / 2)) / k)
    e0k = math.exp(like(t, -math.pi / 2) / k)
    return like(t, -2.0) * (one + e0k) * etk / (one - e0k) / (one + etk) ** 2 / k


@njit(cache=True, error_model="numpy")
def op_value(op, c, k):
    """g as a function of c = cos theta (cosine: c itself, as the seed's forward)."""
    if op == COSINE:
        return c
    return g_theta(op, math.acos(min(like(c, 1.0), max(like(c, -1.0), c))), k)


@njit(cache=True, error_model="numpy")
def op_slope(op, c, k):
    """dg/dc = -g'(theta) / sin theta (cosine: 1)."""
    if op == COSINE:
        return like(c, 1.0)
    t = math.acos(min(like(c, 1.0), max(like(c, -1.0), c)))
    return -dg_theta(op, t, k) / math.sin(t)


@njit(cache=True, error_model="numpy")
def angular_term(op, xw, xn, nw, nw2, k):
    """Data point n and vector j, exact gradient: (g^2, aw, ax) from xw = x_n . w_j, xn = |x_n|, nw = |w_j| and
    nw2 = |w_j|^2; the gradient of vector j is sum_n (ax x_n - aw w_j)."""
    c = xw / (xn * nw)
    gv = op_value(op, c, k)
    a = like(c, 2.0) * gv * op_slope(op, c, k)
    return gv * gv, a * c / nw2, a / (xn * nw)


@njit(cache=True, error_model="numpy")
def seed_term(op, xw, xn, nw, nw2, k):
    """Data point n and vector j, the seed's backward: (g^2, the factor of its row p_n)."""
    c = xw / (xn * nw)
    gv = op_value(op, c, k)
    return gv * gv, like(c, 2.0) * gv * op_slope(op, c, k) / math.sqrt(xn * xn * nw2 - xw * xw)


@njit(cache=True, error_model="numpy")
def heavy_ball(mu, v, g):
    """One coordinate of the momentum buffer: mu v + g."""
    return like(v, mu) * v + g


@njit(cache=True, error_model="numpy")
def tangent(a, c, u):
    """One coordinate of a - c u: with c = a . u, the part of a orthogonal to the unit vector u."""
    return a - c * u


@njit(cache=True, error_model="numpy")
def great_circle(lr, vn):
    """The exponential map's step along -v, |v| = vn: (cos a, sin a / vn, sqrt(1 + a^2)), a = lr vn; the last is
    the norm the normalising retraction would see. (1, 0, 1) for v = 0: no move."""
    a = like(vn, lr) * vn
    one = like(vn, 1.0)
    if vn > 0.0:
        return math.cos(a), math.sin(a) / vn, math.sqrt(one + a * a)
    return one, like(vn, 0.0), math.sqrt(one + a * a)


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def dot(a, b):
    """a . b of two rows. Reassociation lets the sum run in SIMD lanes (8x faster at d = 1000); the order
    is fixed by the code, so results are reproducible and independent of the thread count."""
    total = like(a[0], 0.0)  # a row of the state or the data: d >= 2 elements
    for q in range(a.shape[0]):
        total += a[q] * b[q]
    return total


@njit(cache=True, error_model="numpy")
def row_norms(x):
    out = np.empty(x.shape[0], x.dtype)
    for n in range(x.shape[0]):
        out[n] = math.sqrt(dot(x[n], x[n]))
    return out


@njit(cache=True, error_model="numpy")
def dots(w, x, j, xtw):
    """|w_j|^2, and x_n . w_j into xtw[:, j]."""
    for n in range(x.shape[0]):
        xtw[n, j] = dot(x[n], w[j])
    return dot(w[j], w[j])


@njit(cache=True, error_model="numpy")
def angular_exact(w, x, xn, op, k, g, xtw):
    """``xtw`` (N, M) is scratch."""
    loss = like(w[0, 0], 0.0)
    for j in range(w.shape[0]):
        nw2 = dots(w, x, j, xtw)
        nw = math.sqrt(nw2)
        aw = like(nw, 0.0)
        for q in range(w.shape[1]):
            g[j, q] = 0.0
        for n in range(x.shape[0]):
            gv2, awn, ax = angular_term(op, xtw[n, j], xn[n], nw, nw2, k)
            loss += gv2
            aw += awn
            for q in range(w.shape[1]):
                g[j, q] += ax * x[n, q]
        for q in range(w.shape[1]):
            g[j, q] -= aw * w[j, q]
    return loss


@njit(cache=True, error_model="numpy")
def angular_seed(w, x, xn, op, k, g, p, xtw):
    """The seed's backward as written; ``p`` (N, d) and ``xtw`` (N, M) are scratch."""
    M, d = w.shape
    N = x.shape[0]
    for n in range(N):
        for q in range(d):
            p[n, q] = x[n, q]
    loss = like(w[0, 0], 0.0)
    for j in range(M):
        nw2 = dots(w, x, j, xtw)
        for n in range(N):
            r = xtw[n, j] / nw2
            for q in range(d):
                p[n, q] -= w[j, q] * r
    for j in range(M):
        nw2 = dot(w[j], w[j])
        nw = math.sqrt(nw2)
        for q in range(d):
            g[j, q] = 0.0
        for n in range(N):
            gv2, inv = seed_term(op, xtw[n, j], xn[n], nw, nw2, k)
            loss += gv2
            for q in range(d):
                g[j, q] += inv * p[n, q]
    return loss


@njit(cache=True, error_model="numpy")
def normalise_rows(w, u):
    """u = w / |w| row by row."""
    for i in range(w.shape[0]):
        n = math.sqrt(dot(w[i], w[i]))
        inv = like(n, 1.0) / n
        for q in range(w.shape[1]):
            u[i, q] = w[i, q] * inv


@njit(cache=True, error_model="numpy")
def mhe(w, s, g, u, pairs):
    """The MHE energy of the directions; the chain rule through u = w/|w| projects and divides by |w|."""
    M, d = w.shape
    normalise_rows(w, u)
    zero = like(w[0, 0], 0.0)
    scale = like(zero, 2.0) / like(zero, M * (M - 1))
    energy = scale * riesz(u, s, g, pairs)
    for i in range(M):
        n2, dot = zero, zero
        for q in range(d):
            n2 += w[i, q] * w[i, q]
            dot += g[i, q] * u[i, q]
        inv = scale / math.sqrt(n2)
        for q in range(d):
            g[i, q] = inv * tangent(g[i, q], dot, u[i, q])
    return energy


@njit(cache=True, error_model="numpy")
def objective_in(w, x, xn, obj, op, k, s, grad, g, u, p, xtw, pairs):
    """The objective at ``w`` (M, d); its gradient (exact, or the seed's formula) into ``g``. ``pairs``
    (:func:`pair_scratch`) is the energies' scratch, ``u``, ``p``, ``xtw`` the others'."""
    if obj == ANGULAR:
        if grad == SEED:
            return angular_seed(w, x, xn, op, k, g, p, xtw)
        return angular_exact(w, x, xn, op, k, g, xtw)
    if obj == RIESZ:
        return riesz(w, s, g, pairs)
    return mhe(w, s, g, u, pairs)


@njit(cache=True, error_model="numpy")
def objective(w, x, xn, obj, op, k, s, grad, g, u, p, xtw):
    """:func:`objective_in` with the energies' scratch of its own (a step keeps its scratch in ``Work``)."""
    return objective_in(w, x, xn, obj, op, k, s, grad, g, u, p, xtw,
                        pair_scratch(0 if obj == ANGULAR else w.shape[0], w.shape[1], False, w.dtype))


@njit(cache=True, error_model="numpy")
def step_vector(w, src, v, rule, lr, mu):
    """Move one vector ``w`` (d,) by the gradient ``src``; ``v`` is its momentum buffer.

    Returns the norm of the point just before it is put back on the sphere: |w - lr v| (rules 0, 2,
    and 3, where the exponential map makes it unnecessary), |w| before the seed's normalisation (rule 1).
    """
    d = w.shape[0]
    lr = like(w[0], lr)
    if rule <= BEFORE:
        for q in range(d):
            v[q] = heavy_ball(mu, v[q], src[q])
        if rule == BEFORE:
            n = math.sqrt(dot(w, w))
            for q in range(d):
                w[q] = w[q] / n - lr * v[q]
            return n
    else:
        n = math.sqrt(dot(w, w))
        inv = like(n, 1.0) / n
        for q in range(d):
            w[q] *= inv
        dv, ds = dot(v, w), dot(src, w)
        for q in range(d):  # tangent projections at the current point
            v[q] = heavy_ball(mu, tangent(v[q], dv, w[q]), tangent(src[q], ds, w[q]))
        if rule == EXPONENTIAL:
            vn = math.sqrt(dot(v, v))
            ca, sa, n = great_circle(lr, vn)
            if vn > 0.0:
                for q in range(d):
                    w[q] = ca * w[q] - sa * v[q]
            return n
    for q in range(d):  # rules 0 and 2: step, then normalise
        w[q] -= lr * v[q]
    n = math.sqrt(dot(w, w))
    for q in range(d):
        w[q] /= n
    return n


class State(NamedTuple):
    """The vectors ``w`` (replica, vector, dim), the momentum buffers ``v`` and the gradient sums ``acc``."""

    w: np.ndarray
    v: np.ndarray
    acc: np.ndarray


class Consts(NamedTuple):
    """The objective (codes as the module's constants, k, s), step rule, accumulation, lr, momentum; k, s, lr and
    momentum of the run's float type (the job makes them so: a float32 run's arithmetic stays float32)."""

    obj: int
    op: int
    k: float
    s: float
    grad: int
    rule: int
    accumulate: bool
    lr: float
    mu: float
    split: bool = False  # one replica of many vectors: its pair pass split across the threads (same result)


class Inputs(NamedTuple):
    """The data ``x`` (replica or 1, sample, dim), the per-step losses ``loss_iter`` (replica, steps of the run)
    and ``iter0``: the index there of the block's first step."""

    x: np.ndarray
    loss_iter: np.ndarray
    iter0: int


class Snaps(NamedTuple):
    w: np.ndarray
    norm: np.ndarray


class Work(NamedTuple):
    g: np.ndarray
    u: np.ndarray
    p: np.ndarray
    xtw: np.ndarray
    xn: np.ndarray
    norms: np.ndarray
    pairs: Pairs


@njit(cache=True)
def replica(states, inputs, snaps, r):
    x = inputs.x[r] if inputs.x.shape[0] > 1 else inputs.x[0]
    return (State(states.w[r], states.v[r], states.acc[r]), Inputs(x, inputs.loss_iter[r:r + 1], inputs.iter0),
            Snaps(snaps.w[r], snaps.norm[r]))


@njit(cache=True, error_model="numpy")
def scratch(state, consts, inputs):
    M, d = state.w.shape
    N, f = inputs.x.shape[0], state.w.dtype  # the run's float type
    return Work(np.empty((M, d), f), np.empty((M, d), f), np.empty((N, d), f), np.empty((N, M), f),
                row_norms(inputs.x), np.empty(M, f), pair_scratch(0 if consts.obj == ANGULAR else M, d, consts.split, f))


@njit(cache=True, error_model="numpy")
def step(state, c, inputs, work, i):
    """One step of every vector; the objective where the gradient was taken (stored in ``loss_iter``)."""
    w, v, acc = state
    g = work.g
    M, d = w.shape
    loss = objective_in(w, inputs.x, work.xn, c.obj, c.op, c.k, c.s, c.grad, g, work.u, work.p, work.xtw, work.pairs)
    if not np.isfinite(loss):
        return loss
    inputs.loss_iter[0, inputs.iter0 + i] = loss
    src = g
    if c.accumulate:
        for j in range(M):
            for q in range(d):
                acc[j, q] += g[j, q]
        src = acc
    for j in range(M):
        work.norms[j] = step_vector(w[j], src[j], v[j], c.rule, c.lr, c.mu)
    return loss


@njit(cache=True)
def snapshot(state, consts, work, snaps, slot, loss):
    M, d = state.w.shape
    for j in range(M):
        snaps.norm[slot, j] = work.norms[j]
        for q in range(d):
            snaps.w[slot, j, q] = state.w[j, q]


define_frame_loop(globals())
