"""CPU kernels of the center flow: forward, backward, the optimiser and the centroid update, a block of
steps per call.

The network x (D) -> relu(x W1 + b1) (H) -> h = a W2 + b2 (2) -> logits = h W3 + b3 (K), W as (in, out),
its parameters one flat vector ``theta`` (W1 row-major, b1, W2, b2, W3, b3: :func:`views`). The loss of a
batch of B samples with labels y and centroids c (the ones before this batch's update) is

    L = 1/B sum_i [logsumexp(l_i) - l_i,y_i] + gain / (2B) sum_i |h_i - c_y_i|^2,

so dL/dl_i = (softmax(l_i) - e_y_i) / B and dL/dh_i = dL/dl_i W3^T + gain (h_i - c_y_i) / B (no gradient
flows into the centroids). After the loss, c_j <- c_j - alpha sum_(y_i = j) (c_j - h_i) / (1 + n_j) with
the features of this forward pass (Wen et al. 2016, seed 001). The optimiser is Adam in torch's formulation
(m lerped, bias corrections, eps added after dividing sqrt(v) by sqrt(1 - beta2^t)) or SGD with torch's
momentum (buf <- mu buf + g).

The first layer's two products per step (x W1 and x^T dz) and the probe's features at each snapshot go
through BLAS (``np.dot``) for dense inputs; sparse inputs (MNIST: 81 % of the pixels are 0) take them row by
row over each sample's nonzero inputs (CSR), nnz x H instead of D x H a sample. The rest is loops over
small dims. The block kernels are the engine's frame loop (:mod:`dyn.engine.loop`) over this module's
``replica``, ``scratch``, ``step`` and ``snapshot``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from dyn.engine.loop import define_frame_loop

ADAM, SGD = 0, 1
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # torch's Adam defaults (config.ADAM_BETAS, ADAM_EPS)


@njit(cache=True, error_model="numpy")
def views(theta, D, H, K):
    """W1 (D, H), b1 (H), W2 (H, 2), b2 (2), W3 (2, K), b3 (K): views into the flat ``theta``."""
    o1 = D * H
    o2 = o1 + H
    o3 = o2 + 2 * H
    o4 = o3 + 2
    o5 = o4 + 2 * K
    return (theta[:o1].reshape(D, H), theta[o1:o2], theta[o2:o3].reshape(H, 2), theta[o3:o4],
            theta[o4:o5].reshape(2, K), theta[o5:o5 + K])


@njit(cache=True, error_model="numpy")
def combine_rows(out, src, rows, vals, q, e):
    """out = sum_(q <= s < e) vals[s] src[rows[s]], four rows of ``src`` per pass over ``out`` (in this order:
    the sums are the same whatever the data)."""
    out[:] = 0.0
    n = out.shape[0]
    while q + 4 <= e:
        w0, w1, w2, w3 = src[rows[q]], src[rows[q + 1]], src[rows[q + 2]], src[rows[q + 3]]
        v0, v1, v2, v3 = vals[q], vals[q + 1], vals[q + 2], vals[q + 3]
        for j in range(n):
            out[j] += v0 * w0[j] + v1 * w1[j] + v2 * w2[j] + v3 * w3[j]
        q += 4
    while q < e:
        w, v = src[rows[q]], vals[q]
        for j in range(n):
            out[j] += v * w[j]
        q += 1


@njit(cache=True, error_model="numpy")
def first_layer(xb, data, idx, W1, a):
    """a = x W1 for the samples ``idx`` of the data set: through BLAS on their gathered rows ``xb`` (B, D), or,
    for sparse data (``xb`` empty), as the sum of the rows of W1 of each sample's nonzero inputs (CSR ``data``)."""
    if xb.shape[0] == idx.shape[0]:
        np.dot(xb, W1, a)
        return
    indptr, cols, vals = data
    for i in range(idx.shape[0]):
        combine_rows(a[i], W1, cols, vals, indptr[idx[i]], indptr[idx[i] + 1])


@njit(cache=True, error_model="numpy")
def first_layer_grad(xb, data, idx, dz, gW1):
    """gW1 = x^T dz: BLAS on the gathered rows, or for sparse data, each input's row as the sum of the rows of dz
    of the batch's samples where that input is nonzero (the batch's CSR transposed)."""
    if xb.shape[0] == idx.shape[0]:
        np.dot(xb.T, dz, gW1)
        return
    indptr, cols, vals = data
    D = gW1.shape[0]
    start = np.zeros(D + 1, np.int64)
    for i in range(idx.shape[0]):
        for q in range(indptr[idx[i]], indptr[idx[i] + 1]):
            start[cols[q] + 1] += 1
    for p in range(D):
        start[p + 1] += start[p]
    fill = start[:D].copy()
    rows = np.empty(start[D], np.int64)
    tvals = np.empty(start[D])
    for i in range(idx.shape[0]):
        for q in range(indptr[idx[i]], indptr[idx[i] + 1]):
            p = cols[q]
            rows[fill[p]] = i
            tvals[fill[p]] = vals[q]
            fill[p] += 1
    for p in range(D):
        combine_rows(gW1[p], dz, rows, tvals, start[p], start[p + 1])


@njit(cache=True, error_model="numpy")
def hidden_layer(b1, W2, b2, a, h):
    """a <- relu(a + b1) (``a`` holds x W1) and h = a W2 + b2."""
    B, H = a.shape
    for i in range(B):
        h0, h1 = b2[0], b2[1]
        for j in range(H):
            z = a[i, j] + b1[j]
            z = z if z > 0.0 else 0.0
            a[i, j] = z
            h0 += z * W2[j, 0]
            h1 += z * W2[j, 1]
        h[i, 0] = h0
        h[i, 1] = h1


@njit(cache=True, error_model="numpy")
def batch_rows(x, data, idx):
    """The rows of the samples ``idx`` gathered (B, D) for BLAS, or an empty (0, D) for sparse data."""
    if data[0].shape[0] > 0:
        return np.empty((0, x.shape[1]))
    out = np.empty((idx.shape[0], x.shape[1]))
    for i in range(idx.shape[0]):
        out[i] = x[idx[i]]
    return out


@njit(cache=True, error_model="numpy")
def logits_row(h0, h1, W3, b3, out):
    """out = (h0, h1) W3 + b3; returns its maximum."""
    top = -np.inf
    for k in range(out.shape[0]):
        v = b3[k] + h0 * W3[0, k] + h1 * W3[1, k]
        out[k] = v
        top = max(top, v)
    return top


@njit(cache=True, error_model="numpy")
def softmax_ce(logits, top, label, p):
    """Cross-entropy logsumexp(l) - l_label of one row, and its softmax in ``p``."""
    s = 0.0
    for k in range(logits.shape[0]):
        e = math.exp(logits[k] - top)
        p[k] = e
        s += e
    for k in range(logits.shape[0]):
        p[k] /= s
    return top + math.log(s) - logits[label]


@njit(cache=True, error_model="numpy")
def loss_and_gradient(theta, c, x, data, idx, y, D, H, K, gain, g, h):
    """(cross-entropy, center loss) of the batch of samples ``idx`` of ``x`` (n, D) (``data``: its CSR form
    (indptr, cols, values), or empty arrays for the dense path), labels ``y`` (B,), at ``theta`` and centroids
    ``c`` (K, 2): means over the batch (and the 2 feature dims); the gradient of CE + gain x center in ``g``
    (the flat layout of ``theta``) and the features in ``h`` (B, 2)."""
    W1, b1, W2, b2, W3, b3 = views(theta, D, H, K)
    gW1, gb1, gW2, gb2, gW3, gb3 = views(g, D, H, K)
    B = idx.shape[0]
    a = np.empty((B, H))
    xb = batch_rows(x, data, idx)
    first_layer(xb, data, idx, W1, a)
    hidden_layer(b1, W2, b2, a, h)
    dz = np.empty((B, H))
    logits, p = np.empty(K), np.empty(K)
    for q in range(g.shape[0] - D * H):  # everything but gW1 (written whole by the product below)
        g[D * H + q] = 0.0
    ce, center = 0.0, 0.0
    for i in range(B):
        yi = y[i]
        ce += softmax_ce(logits, logits_row(h[i, 0], h[i, 1], W3, b3, logits), yi, p)
        d0, d1 = h[i, 0] - c[yi, 0], h[i, 1] - c[yi, 1]
        center += d0 * d0 + d1 * d1
        dh0, dh1 = gain * d0 / B, gain * d1 / B
        for k in range(K):
            dl = (p[k] - (1.0 if k == yi else 0.0)) / B
            gW3[0, k] += h[i, 0] * dl
            gW3[1, k] += h[i, 1] * dl
            gb3[k] += dl
            dh0 += dl * W3[0, k]
            dh1 += dl * W3[1, k]
        gb2[0] += dh0
        gb2[1] += dh1
        for j in range(H):
            aij = a[i, j]
            gW2[j, 0] += aij * dh0
            gW2[j, 1] += aij * dh1
            dzij = dh0 * W2[j, 0] + dh1 * W2[j, 1] if aij > 0.0 else 0.0  # relu'(0) = 0, as torch
            dz[i, j] = dzij
            gb1[j] += dzij
    first_layer_grad(xb, data, idx, dz, gW1)
    return ce / B, center / (2 * B)


@njit(cache=True, error_model="numpy")
def update_centers(c, h, y, alpha):
    """c_j <- c_j - alpha sum_(y_i = j) (c_j - h_i) / (1 + n_j); classes absent from the batch stay."""
    K = c.shape[0]
    delta = np.zeros((K, 2))
    count = np.zeros(K)
    for i in range(h.shape[0]):
        j = y[i]
        count[j] += 1.0
        delta[j, 0] += c[j, 0] - h[i, 0]
        delta[j, 1] += c[j, 1] - h[i, 1]
    for j in range(K):
        c[j, 0] -= alpha * (delta[j, 0] / (1.0 + count[j]))
        c[j, 1] -= alpha * (delta[j, 1] / (1.0 + count[j]))


@njit(cache=True, error_model="numpy")
def adam_step(theta, m, v, g, lr, t):
    """torch.optim.Adam's step t (1-based) with its default betas and eps, no weight decay."""
    step = lr / (1.0 - BETA1 ** t)
    root = math.sqrt(1.0 - BETA2 ** t)
    for q in range(theta.shape[0]):
        gq = g[q]
        m[q] += (1.0 - BETA1) * (gq - m[q])
        v[q] = v[q] * BETA2 + (1.0 - BETA2) * gq * gq
        theta[q] += -step * (m[q] / (math.sqrt(v[q]) / root + EPS))


@njit(cache=True, error_model="numpy")
def sgd_step(theta, buf, g, lr, mu):
    """torch.optim.SGD: buf <- mu buf + g (buf = g at the first step), theta <- theta - lr buf."""
    for q in range(theta.shape[0]):
        b = mu * buf[q] + g[q]
        buf[q] = b
        theta[q] -= lr * b


@njit(cache=True, error_model="numpy")
def train_step(theta, m, v, c, x, data, idx, y, D, H, K, gain, alpha, opt, lr, mu, t, g):
    """One step (t, 1-based, the optimiser's count) on the samples ``idx`` (labels ``y``): the loss at the
    parameters and centroids before it, then the centroid update and the optimiser step. Returns (ce, center);
    the state is left untouched when the loss is not finite."""
    h = np.empty((idx.shape[0], 2))
    ce, center = loss_and_gradient(theta, c, x, data, idx, y, D, H, K, gain, g, h)
    if not math.isfinite(ce + gain * center) or not math.isfinite(center):
        return ce, center
    update_centers(c, h, y, alpha)
    if opt == ADAM:
        adam_step(theta, m, v, g, lr, t)
    else:
        sgd_step(theta, m, g, lr, mu)
    return ce, center


@njit(cache=True, error_model="numpy")
def features(theta, x, data, D, H, K, h):
    """The features h (n, 2) of the samples ``x`` (n, D) (``data``: their CSR form, or empty arrays)."""
    W1, b1, W2, b2, _, _ = views(theta, D, H, K)
    a = np.empty((x.shape[0], H))
    xb = x if data[0].shape[0] == 0 else np.empty((0, D))
    first_layer(xb, data, np.arange(x.shape[0]), W1, a)
    hidden_layer(b1, W2, b2, a, h)


class State(NamedTuple):
    """Flat parameters ``theta`` (replica, P), the optimiser's buffers ``m``, ``v`` (Adam's moments; SGD's
    momentum in ``m``) and the centroids ``c`` (replica, K, 2)."""

    theta: np.ndarray
    m: np.ndarray
    v: np.ndarray
    c: np.ndarray


class Consts(NamedTuple):
    """Sizes, hyper-parameters (``opt``: ADAM or SGD), the training set (``x`` (n, D), its CSR form or empty
    arrays, labels ``y``) and the probe (``probe`` (n_probe, D) and its CSR form)."""

    D: int
    H: int
    K: int
    gain: float
    alpha: float
    opt: int
    lr: float
    mu: float
    x: np.ndarray
    indptr: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    y: np.ndarray
    probe: np.ndarray
    probe_indptr: np.ndarray
    probe_cols: np.ndarray
    probe_vals: np.ndarray


class Inputs(NamedTuple):
    """The block's batches: ``order[offsets[s]:offsets[s + 1]]`` are the samples of its step s (``order``
    (replica or 1, samples)); ``step0`` the global step before the block (Adam's count goes on from it)."""

    order: np.ndarray
    offsets: np.ndarray
    step0: int


class Snaps(NamedTuple):
    """Records (replica, time, ...): probe features, centroids, last layer, the frame's mean losses."""

    h: np.ndarray
    c: np.ndarray
    W3: np.ndarray
    b3: np.ndarray
    ce: np.ndarray
    center: np.ndarray


class Work(NamedTuple):
    g: np.ndarray  # the gradient (P,)
    acc: np.ndarray  # the frame's sums of cross-entropy and center loss, and its steps


@njit(cache=True)
def replica(states, inputs, snaps, r):
    order = inputs.order[r] if inputs.order.shape[0] > 1 else inputs.order[0]
    return (State(states.theta[r], states.m[r], states.v[r], states.c[r]),
            Inputs(order.reshape(1, -1), inputs.offsets, inputs.step0),
            Snaps(snaps.h[r], snaps.c[r], snaps.W3[r], snaps.b3[r], snaps.ce[r], snaps.center[r]))


@njit(cache=True, error_model="numpy")
def scratch(state, consts, inputs):
    return Work(np.empty(state.theta.shape[0]), np.zeros(3))


@njit(cache=True, error_model="numpy")
def step(state, k, inputs, work, s):
    """The block's step s on its batch: the loss CE + gain x center where the gradient was taken (the state is
    left as it was when it is not finite)."""
    idx = inputs.order[0, inputs.offsets[s]:inputs.offsets[s + 1]]
    yb = np.empty(idx.shape[0], np.int64)
    for q in range(idx.shape[0]):
        yb[q] = k.y[idx[q]]
    ce, center = train_step(state.theta, state.m, state.v, state.c, k.x, (k.indptr, k.cols, k.vals), idx, yb,
                            k.D, k.H, k.K, k.gain, k.alpha, k.opt, k.lr, k.mu, inputs.step0 + s + 1, work.g)
    loss = ce + k.gain * center
    if math.isfinite(loss):
        work.acc[0] += ce
        work.acc[1] += center
        work.acc[2] += 1.0
    return loss


@njit(cache=True, error_model="numpy")
def snapshot(state, k, work, snaps, slot, loss):
    """The probe's features, the centroids, the last layer and the frame's mean losses into record ``slot``."""
    snaps.ce[slot] = work.acc[0] / work.acc[2]
    snaps.center[slot] = work.acc[1] / work.acc[2]
    work.acc[:] = 0.0
    features(state.theta, k.probe, (k.probe_indptr, k.probe_cols, k.probe_vals), k.D, k.H, k.K, snaps.h[slot])
    W3, b3 = views(state.theta, k.D, k.H, k.K)[4:]
    snaps.c[slot] = state.c
    snaps.W3[slot] = W3
    snaps.b3[slot] = b3


define_frame_loop(globals())
