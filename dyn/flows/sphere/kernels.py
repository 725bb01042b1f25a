"""CPU kernels of the sphere flow: objectives, their gradients, and the projected/Riemannian steps.

In order: scalar helpers (the per-element math), objectives and gradients of one replica, the step,
the block kernels, and what is measured at each snapshot.

Vectors are rows: ``w`` (replica, vector, dim), data ``x`` (replica or 1, sample, dim). Objectives:

- angular: L = sum_nk g(theta_nk)^2, cos theta_nk = x_n . w_k / (|x_n| |w_k|); the exact gradient is
  dL/dw_k = sum_n 2 g g_c (x_n / (|x_n| |w_k|) - c w_k / |w_k|^2), g_c = dg/dc. The seed's
  ``AngleFunction.backward`` ("seed") is, as written with its matrix products,
  dL/dw_k = sum_n gy_nk / sqrt(|x_n|^2 |w_k|^2 - (x_n . w_k)^2) (x_n - sum_j w_j (x_n . w_j) / |w_j|^2),
  gy_nk = 2 g g_c: the inner sum runs over every column j, not only k (SEED-NOTES.md).
- riesz: E = sum_{i<j} |w_i - w_j|^-s (s > 0), -sum_{i<j} log |w_i - w_j| (s = 0), at the vectors as they are.
- mhe: E = 1/(M(M-1)) sum_{i != j} f_s(|u_i - u_j|), u = w/|w|, f_s(z) = z^-s (s > 0), log(1/z) (s = 0)
  (Liu et al. 2018, the regulariser's normalisation), so E = 2/(M(M-1)) times the Riesz energy of u.

The Riesz energy's pair pass (``riesz``, also under mhe and the measures) takes each pair (i, j > i) once;
from 32 vectors on (``SIMD_VECTORS``; fewer: a pair at a time), a row i at a time vectorised over j (``pair_row``): the pair's force is subtracted from w_j's gradient and
summed into w_i's, those sums over j in SIMD lanes (reassociated, in an order fixed by the code). The rows
are cut into ``PAIR_TILES`` fixed tiles of about equal pair counts, each with a gradient of its own, added in
tile order: one replica of many vectors runs its tiles on all cores (``Consts.split``), with the same bits
as in turn on one.

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
from numba import njit, prange

from dyn.engine.loop import define_frame_loop

ANGULAR, RIESZ, MHE = 0, 1, 2
COSINE, LINEAR, SIGMOID = 0, 1, 2
EXACT, SEED = 0, 1
AFTER, BEFORE, TANGENT, EXPONENTIAL = 0, 1, 2, 3


@njit(cache=True, error_model="numpy")
def g_theta(op, t, k):
    """The SphereConv operator g(theta): cos, 1 - 2 theta / pi, or the seed's g_sigmoid with steepness k."""
    if op == COSINE:
        return math.cos(t)
    if op == LINEAR:
        return 1.0 - 2.0 * t / math.pi
    etk = math.exp((t - math.pi / 2) / k)
    e0k = math.exp(-math.pi / 2 / k)
    return ((1.0 - etk) * (1.0 + e0k)) / ((1.0 + etk) * (1.0 - e0k))


@njit(cache=True, error_model="numpy")
def dg_theta(op, t, k):
    """g'(theta) (the seed's g_sigmoid_grad for the sigmoid)."""
    if op == COSINE:
        return -math.sin(t)
    if op == LINEAR:
        return -2.0 / math.pi
    etk = math.exp((t - math.pi / 2) / k)
    e0k = math.exp(-math.pi / 2 / k)
    return -2.0 * (1.0 + e0k) * etk / (1.0 - e0k) / (1.0 + etk) ** 2 / k


@njit(cache=True, error_model="numpy")
def op_value(op, c, k):
    """g as a function of c = cos theta (cosine: c itself, as the seed's forward)."""
    if op == COSINE:
        return c
    return g_theta(op, math.acos(min(1.0, max(-1.0, c))), k)


@njit(cache=True, error_model="numpy")
def op_slope(op, c, k):
    """dg/dc = -g'(theta) / sin theta (cosine: 1)."""
    if op == COSINE:
        return 1.0
    t = math.acos(min(1.0, max(-1.0, c)))
    return -dg_theta(op, t, k) / math.sin(t)


@njit(cache=True, error_model="numpy")
def riesz_pair(r2, s):
    """Pair energy at squared distance r2: r^-s, or -log r for s = 0."""
    if s == 0.0:
        return -0.5 * math.log(r2)
    if s == 1.0:
        return math.sqrt(1.0 / r2)
    if s == 2.0:
        return 1.0 / r2
    return r2 ** (-0.5 * s)


@njit(cache=True, error_model="numpy")
def riesz_pair_slope(r2, e, s):
    """d(pair energy)/d(r2) = -s/2 r^-(s+2), or -1/(2 r2) for s = 0, given the pair energy e (no new root)."""
    if s == 0.0:
        return -0.5 / r2
    if s == 1.0:
        return -0.5 * e * e * e
    if s == 2.0:
        return -e * e
    return -0.5 * s * e / r2


@njit(cache=True, error_model="numpy")
def angular_term(op, xw, xn, nw, nw2, k):
    """Data point n and vector j, exact gradient: (g^2, aw, ax) from xw = x_n . w_j, xn = |x_n|, nw = |w_j| and
    nw2 = |w_j|^2; the gradient of vector j is sum_n (ax x_n - aw w_j)."""
    c = xw / (xn * nw)
    gv = op_value(op, c, k)
    a = 2.0 * gv * op_slope(op, c, k)
    return gv * gv, a * c / nw2, a / (xn * nw)


@njit(cache=True, error_model="numpy")
def seed_term(op, xw, xn, nw, nw2, k):
    """Data point n and vector j, the seed's backward: (g^2, the factor of its row p_n)."""
    c = xw / (xn * nw)
    gv = op_value(op, c, k)
    return gv * gv, 2.0 * gv * op_slope(op, c, k) / math.sqrt(xn * xn * nw2 - xw * xw)


@njit(cache=True, error_model="numpy")
def heavy_ball(mu, v, g):
    """One coordinate of the momentum buffer: mu v + g."""
    return mu * v + g


@njit(cache=True, error_model="numpy")
def tangent(a, c, u):
    """One coordinate of a - c u: with c = a . u, the part of a orthogonal to the unit vector u."""
    return a - c * u


@njit(cache=True, error_model="numpy")
def great_circle(lr, vn):
    """The exponential map's step along -v, |v| = vn: (cos a, sin a / vn, sqrt(1 + a^2)), a = lr vn; the last is
    the norm the normalising retraction would see. (1, 0, 1) for v = 0: no move."""
    a = lr * vn
    if vn > 0.0:
        return math.cos(a), math.sin(a) / vn, math.sqrt(1.0 + a * a)
    return 1.0, 0.0, math.sqrt(1.0 + a * a)


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def dot(a, b):
    """a . b of two rows. Reassociation lets the sum run in SIMD lanes (8x faster at d = 1000); the order
    is fixed by the code, so results are reproducible and independent of the thread count."""
    total = 0.0
    for q in range(a.shape[0]):
        total += a[q] * b[q]
    return total


@njit(cache=True, error_model="numpy")
def row_norms(x):
    out = np.empty(x.shape[0])
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
    loss = 0.0
    for j in range(w.shape[0]):
        nw2 = dots(w, x, j, xtw)
        nw = math.sqrt(nw2)
        aw = 0.0
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
    loss = 0.0
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
def riesz_coefficient(r2, s):
    """(pair energy, 2 d(pair energy)/d(r2)) at squared distance r2: the pair adds coefficient * (w_i - w_j)
    to the gradient of w_i, and its negative to that of w_j."""
    e = riesz_pair(r2, s)
    return e, 2.0 * riesz_pair_slope(r2, e, s)


SIMD_VECTORS = 32  # fewer vectors: the pairs one at a time (rows too short for SIMD to pay, and the sums in the
# order of the CUDA kernels' pair loop, which then agree with these to the rounding of a few dot products)
PAIR_TILES = 4  # row tiles of the pair pass, fixed: the sums and so the results do not depend on the threads
SPLIT_VECTORS = 2000  # one replica of at least this many vectors splits its pair pass across the threads (below,
# a parallel region a step costs more than it saves on a busy machine: see the README's sphere speed)


class Pairs(NamedTuple):
    """Scratch of the pair pass: the vectors transposed (d, M); per row tile its gradient (tile, d, M), a row of
    squared distances (tile, M) and its energy (tile,); the tiles' first rows (tile + 1,); whether the tiles run
    in parallel (one replica, many vectors) or in turn."""

    wt: np.ndarray
    gt: np.ndarray
    r2: np.ndarray
    energy: np.ndarray
    bounds: np.ndarray
    split: bool


@njit(cache=True, error_model="numpy")
def pair_scratch(M, d, split=False):
    """The pair pass's scratch for M vectors in R^d; the tiles hold about equal numbers of pairs (i, j > i)."""
    bounds = np.zeros(PAIR_TILES + 1, dtype=np.int64)
    total, i = M * (M - 1) // 2, 0
    for k in range(1, PAIR_TILES + 1):
        while i < M and i * M - i * (i + 1) // 2 < k * total / PAIR_TILES:
            i += 1
        bounds[k] = i
    bounds[PAIR_TILES] = M
    return Pairs(np.empty((d, M)), np.empty((PAIR_TILES, d, M)), np.empty((PAIR_TILES, M)), np.empty(PAIR_TILES),
                 bounds, split)


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def pair_row(wt, gt, i, s, r2):
    """The pairs (i, j > i), vectorised over j: each one's force goes to w_j in ``gt`` (d, M), their sum to w_i;
    returns their energy. Reassociation lets the sums over j run in SIMD lanes, in an order fixed by the code."""
    d = wt.shape[0]
    n = wt.shape[1] - i - 1
    r = r2[:n]  # loops over slices from 0: numba's index checks would keep range(i + 1, M) from vectorising
    r[:] = 0.0
    for q in range(d):
        a, row = wt[q, i], wt[q, i + 1:]
        for j in range(n):
            t = a - row[j]
            r[j] += t * t
    energy = 0.0
    for j in range(n):
        e, r[j] = riesz_coefficient(r[j], s)
        energy += e
    for q in range(d):
        a, row, out = wt[q, i], wt[q, i + 1:], gt[q, i + 1:]
        total = 0.0
        for j in range(n):
            t = r[j] * (a - row[j])
            total += t
            out[j] -= t
        gt[q, i] += total
    return energy


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def pair_row3(wt, gt, i, s):
    """:func:`pair_row` for d = 3 in one loop (1.3x faster: the Thomson problem)."""
    x, y, z = wt[0, i + 1:], wt[1, i + 1:], wt[2, i + 1:]
    gx, gy, gz = gt[0, i + 1:], gt[1, i + 1:], gt[2, i + 1:]
    a, b, c = wt[0, i], wt[1, i], wt[2, i]
    energy, sx, sy, sz = 0.0, 0.0, 0.0, 0.0
    for j in range(x.shape[0]):
        tx, ty, tz = a - x[j], b - y[j], c - z[j]
        r2 = tx * tx
        r2 += ty * ty
        r2 += tz * tz
        e, f = riesz_coefficient(r2, s)
        energy += e
        tx, ty, tz = f * tx, f * ty, f * tz
        sx += tx
        sy += ty
        sz += tz
        gx[j] -= tx
        gy[j] -= ty
        gz[j] -= tz
    gt[0, i] += sx
    gt[1, i] += sy
    gt[2, i] += sz
    return energy


@njit(cache=True, error_model="numpy")
def pair_tile(pairs, s, k):
    """Row tile k of the pair pass: its rows' pairs into its own gradient ``gt[k]`` and energy."""
    wt, gt = pairs.wt, pairs.gt[k]
    gt[:, :] = 0.0
    energy = 0.0
    for i in range(pairs.bounds[k], pairs.bounds[k + 1]):
        energy += pair_row3(wt, gt, i, s) if wt.shape[0] == 3 else pair_row(wt, gt, i, s, pairs.r2[k])
    pairs.energy[k] = energy


@njit(cache=True, error_model="numpy", parallel=True)
def pair_tiles_split(pairs, s):
    for k in prange(PAIR_TILES):
        pair_tile(pairs, s, k)


@njit(cache=True, error_model="numpy")
def pairs_in_turn(w, s, g):
    """The Riesz energy and its gradient, a pair (i, j > i) at a time, i then j ascending (every sum in that order)."""
    M, d = w.shape
    g[:, :] = 0.0
    energy = 0.0
    for i in range(M):
        for j in range(i + 1, M):
            r2 = 0.0
            for q in range(d):
                t = w[i, q] - w[j, q]
                r2 += t * t
            e, c = riesz_coefficient(r2, s)
            energy += e
            for q in range(d):
                t = c * (w[i, q] - w[j, q])
                g[i, q] += t
                g[j, q] -= t
    return energy


@njit(cache=True, error_model="numpy")
def riesz(w, s, g, pairs):
    """E = sum_{i<j} e(|w_i - w_j|^2); its gradient into ``g``; leaves w transposed in ``pairs.wt``. From
    ``SIMD_VECTORS`` vectors on, each pair is computed once in SIMD rows; the rows go in ``PAIR_TILES`` fixed
    tiles, each with its own gradient, added in tile order: the result is the same whether the tiles run in turn
    or in parallel (``pairs.split``)."""
    M, d = w.shape
    wt = pairs.wt
    for q in range(d):
        for i in range(M):
            wt[q, i] = w[i, q]
    if M < SIMD_VECTORS:
        return pairs_in_turn(w, s, g)
    if pairs.split:
        pair_tiles_split(pairs, s)
    else:
        for k in range(PAIR_TILES):
            pair_tile(pairs, s, k)
    gt, energy = pairs.gt, pairs.energy[0]
    for k in range(1, PAIR_TILES):
        energy += pairs.energy[k]
    for i in range(M):
        for q in range(d):
            total = gt[0, q, i]
            for k in range(1, PAIR_TILES):
                total += gt[k, q, i]
            g[i, q] = total
    return energy


@njit(cache=True, error_model="numpy")
def normalise_rows(w, u):
    """u = w / |w| row by row."""
    for i in range(w.shape[0]):
        inv = 1.0 / math.sqrt(dot(w[i], w[i]))
        for q in range(w.shape[1]):
            u[i, q] = w[i, q] * inv


@njit(cache=True, error_model="numpy")
def mhe(w, s, g, u, pairs):
    """The MHE energy of the directions; the chain rule through u = w/|w| projects and divides by |w|."""
    M, d = w.shape
    normalise_rows(w, u)
    scale = 2.0 / (M * (M - 1))
    energy = scale * riesz(u, s, g, pairs)
    for i in range(M):
        n2, dot = 0.0, 0.0
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
                        pair_scratch(0 if obj == ANGULAR else w.shape[0], w.shape[1]))


@njit(cache=True, error_model="numpy")
def step_vector(w, src, v, rule, lr, mu):
    """Move one vector ``w`` (d,) by the gradient ``src``; ``v`` is its momentum buffer.

    Returns the norm of the point just before it is put back on the sphere: |w - lr v| (rules 0, 2,
    and 3, where the exponential map makes it unnecessary), |w| before the seed's normalisation (rule 1).
    """
    d = w.shape[0]
    if rule <= BEFORE:
        for q in range(d):
            v[q] = heavy_ball(mu, v[q], src[q])
        if rule == BEFORE:
            n = math.sqrt(dot(w, w))
            for q in range(d):
                w[q] = w[q] / n - lr * v[q]
            return n
    else:
        inv = 1.0 / math.sqrt(dot(w, w))
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
    """The objective (codes as the module's constants, k, s), step rule, accumulation, lr, momentum."""

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
    N = inputs.x.shape[0]
    return Work(np.empty((M, d)), np.empty((M, d)), np.empty((N, d)), np.empty((N, M)), row_norms(inputs.x),
                np.empty(M), pair_scratch(0 if consts.obj == ANGULAR else M, d, consts.split))


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


@njit(cache=True, error_model="numpy")
def largest_cosine(ut, c):
    """max_{i<j} u_i . u_j of the rows of u, given transposed (d, M); ``c`` (M,) scratch."""
    d, M = ut.shape
    top = -1.0
    for i in range(M - 1):
        r = c[:M - i - 1]
        r[:] = 0.0
        for q in range(d):
            a, row = ut[q, i], ut[q, i + 1:]
            for j in range(r.shape[0]):
                r[j] += a * row[j]
        for j in range(r.shape[0]):
            top = max(top, r[j])
    return top


@njit(cache=True, error_model="numpy")
def direction_energy(w, energy_kind, s, u, g, pairs):
    """(energy, minimum pairwise angle) of the directions u = w/|w|; energy_kind RIESZ or MHE. ``g`` (M, d) and
    ``pairs`` are scratch."""
    M = w.shape[0]
    normalise_rows(w, u)
    energy = riesz(u, s, g, pairs)  # leaves u transposed in pairs.wt
    if energy_kind == MHE:
        energy *= 2.0 / (M * (M - 1))
    angle = math.acos(min(1.0, largest_cosine(pairs.wt, pairs.r2[0]))) if M > 1 else np.nan
    return energy, angle


@njit(cache=True, error_model="numpy")
def measure(snap_w, x, obj, op, k, s, grad, energy_kind, loss, radial, tangent, energy, min_angle):
    """Objective, gradient norms (radial and tangent to w/|w|), energy and minimum angle of each snapshot.

    ``snap_w`` (R, T, M, d); outputs (R, T) or (R, T, M), NaN left where a snapshot is NaN (diverged).
    """
    R, T, M, d = snap_w.shape
    for job in range(R * T):  # serial: a tenth of a run's cost, and a parallel twin would double the compile time
        r, t = job // T, job % T
        w = snap_w[r, t]
        if not np.isfinite(w[0, 0]):
            continue
        xr = x[r] if x.shape[0] > 1 else x[0]
        N = xr.shape[0]
        g, u = np.empty((M, d)), np.empty((M, d))
        loss[r, t] = objective(w, xr, row_norms(xr), obj, op, k, s, grad, g, u, np.empty((N, d)), np.empty((N, M)))
        normalise_rows(w, u)
        for j in range(M):
            a, b = dot(g[j], u[j]), 0.0
            for q in range(d):
                b += (g[j, q] - a * u[j, q]) ** 2
            radial[r, t, j] = abs(a)
            tangent[r, t, j] = math.sqrt(b)
        energy[r, t], min_angle[r, t] = direction_energy(w, energy_kind, s, u, g, pair_scratch(M, d))
