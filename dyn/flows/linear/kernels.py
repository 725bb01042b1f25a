"""CPU kernels of the linear flow: a small ReLU network's forward and backward passes, SGD on its
weights or on the data, and what is measured at each snapshot.

A model is a stack of layers: ``sizes`` (L + 1,) = [D, h_1, ..., h_{L-1}, 1]; layer l maps sizes[l]
inputs to sizes[l + 1] units with the matrix W_l (sizes[l] + 1, sizes[l + 1]), its bias row last (the
seed's layout: z = [a, 1] W_l), stored row-major from ``offs[l]`` in the flat parameter vector ``theta``.
Hidden layers apply ReLU, the output layer is linear. The linear model is the case L = 1: theta = [w, b].

Losses on targets t in {-1, +1} (dL/dy in ``loss_slope``): squared (t - y)^2 (the seed's, no 1/2),
hinge max(0, 1 - t y) (subgradient -t while 1 - t y > 0, as the seed), logistic log(1 + exp(-t y)).

Gradients: ``EXACT`` backpropagation; ``SEED`` the seed's second MLP as written: a ReLU layer's update
``np.dot(dLdx, layer.gradient()).T`` is (in + 1, 1) and broadcast over the units, so every unit j of a
hidden layer receives [a, 1]_k * sum_j' dL/dz_j' (the sum over the layer's units of the per-unit
gradient); the output layer's update and every backward pass are right.

A step draws ``batch`` samples (the order is given, drawn outside the kernels) and applies the mean of
their gradients: theta -= lr * mean_b dL_b/dtheta, or (train data) x_i -= lr / batch * dL_i/dx_i for each
sampled i, all taken at the step's starting point. Kernels use numpy's error model: an overflow gives
inf or NaN, which stops the replica as diverged instead of raising. The frame loop is the engine's
(:mod:`dyn.engine.loop`) around :func:`step`; the linear model runs it around its own step
(:mod:`dyn.flows.linear.fast`). The per-step helpers are inlined (``inline="always"``) and take rows as
(X, k): a real call that passes a dozen arrays, or a view such as X[k], costs reference counting that is
several times a linear model's whole step.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from dyn.engine.loop import define_frame_loop

SQUARED, HINGE, LOGISTIC = 0, 1, 2
EXACT, SEED = 0, 1


@njit(cache=True, error_model="numpy")
def loss_value(code, y, t):
    if code == SQUARED:
        d = t - y
        return d * d
    if code == HINGE:
        return max(0.0, 1.0 - t * y)
    m = -t * y  # log(1 + exp(m)), without overflow
    if m > 0.0:
        return m + math.log1p(math.exp(-m))
    return math.log1p(math.exp(m))


@njit(cache=True, error_model="numpy")
def loss_slope(code, y, t):
    """dL/dy."""
    if code == SQUARED:
        return -2.0 * (t - y)
    if code == HINGE:
        return -t if 1.0 - t * y > 0.0 else 0.0
    m = t * y  # -t sigmoid(-t y)
    if m > 0.0:
        e = math.exp(-m)
        return -t * e / (1.0 + e)
    return -t / (1.0 + math.exp(m))


@njit(cache=True, error_model="numpy")
def act_offsets(sizes):
    """Where each layer's activations start in one buffer of sum(sizes) values."""
    out = np.zeros(sizes.shape[0] + 1, np.int64)
    for l in range(sizes.shape[0]):
        out[l + 1] = out[l] + sizes[l]
    return out


@njit(cache=True, error_model="numpy", inline="always")
def forward(theta, sizes, offs, aoff, act, X, k):
    """f(X[k]); ``act`` holds every layer's activations afterwards (the input first). ReLU'(z) = [act > 0]."""
    L = sizes.shape[0] - 1
    for i in range(sizes[0]):
        act[i] = X[k, i]
    for l in range(L):
        nin, nout, base, ain, aout = sizes[l], sizes[l + 1], offs[l], aoff[l], aoff[l + 1]
        for j in range(nout):
            z = 0.0
            for i in range(nin):
                z += act[ain + i] * theta[base + i * nout + j]
            z += theta[base + nin * nout + j]
            act[aout + j] = z if l == L - 1 or z > 0.0 else 0.0
    return act[aoff[L]]


@njit(cache=True, error_model="numpy", inline="always")
def backward(theta, sizes, offs, aoff, act, delta, dy, grad, scale, gradient, weights, inputs):
    """Backpropagate dL/dy from the output. ``weights``: add scale * dL/dtheta to ``grad`` (``gradient``
    EXACT or SEED); ``inputs``: leave dL/dx in delta[:D]. ``delta`` holds dL/dz of every layer's units."""
    L = sizes.shape[0] - 1
    delta[aoff[L]] = dy
    for l in range(L - 1, -1, -1):
        nin, nout, base, ain, aout = sizes[l], sizes[l + 1], offs[l], aoff[l], aoff[l + 1]
        if weights:
            if gradient == SEED and l < L - 1:  # the seed's ReLU layer: one column, broadcast over the units
                for i in range(nin + 1):
                    a = act[ain + i] if i < nin else 1.0
                    s = 0.0
                    for j in range(nout):
                        s += delta[aout + j] * a
                    for j in range(nout):
                        grad[base + i * nout + j] += scale * s
            else:
                for i in range(nin + 1):
                    a = act[ain + i] if i < nin else 1.0
                    for j in range(nout):
                        grad[base + i * nout + j] += scale * (a * delta[aout + j])
        if l > 0 or inputs:
            for i in range(nin):
                s = 0.0
                for j in range(nout):
                    s += theta[base + i * nout + j] * delta[aout + j]
                delta[ain + i] = s if l == 0 or act[ain + i] > 0.0 else 0.0


@njit(cache=True, error_model="numpy", inline="always")
def linear_output(theta, X, k):
    """w . X[k] + b of the linear model (theta = [w, b]): the network's forward pass for L = 1, without its loops."""
    D = X.shape[1]
    z = 0.0
    for q in range(D):
        z += X[k, q] * theta[q]
    return z + theta[D]


class State(NamedTuple):
    """The parameters ``theta`` (replica, P) and the points ``X`` (replica, n, D) when they move, else (1, n, D)."""

    theta: np.ndarray
    X: np.ndarray


class Consts(NamedTuple):
    """The model's layout (``sizes``, ``offs``), loss and gradient codes, what moves, lr, samples a step."""

    sizes: np.ndarray
    offs: np.ndarray
    loss: int
    gradient: int
    train_data: bool
    lr: float
    batch: int


class Inputs(NamedTuple):
    """The block's sample indices ``order`` (replica or 1, steps * batch) and the labels ``t`` (n,)."""

    order: np.ndarray
    t: np.ndarray


class Snaps(NamedTuple):
    """Records (replica, time, ...): ``theta``, the points ``x`` (a (1, 1, 1, 1) placeholder when they do not
    move) and ``loss_train``."""

    theta: np.ndarray
    x: np.ndarray
    loss_train: np.ndarray


class Work(NamedTuple):
    aoff: np.ndarray
    act: np.ndarray
    delta: np.ndarray
    grad: np.ndarray
    dx: np.ndarray


@njit(cache=True)
def replica(states, inputs, snaps, r):
    X = states.X[r] if states.X.shape[0] > 1 else states.X[0]
    order = inputs.order[r] if inputs.order.shape[0] > 1 else inputs.order[0]
    x = snaps.x[r] if snaps.x.shape[0] > 1 else snaps.x[0]
    return State(states.theta[r], X), Inputs(order, inputs.t), Snaps(snaps.theta[r], x, snaps.loss_train[r])


@njit(cache=True, error_model="numpy")
def scratch(state, consts, inputs):
    aoff = act_offsets(consts.sizes)
    return Work(aoff, np.empty(aoff[-1]), np.empty(aoff[-1]), np.zeros(state.theta.shape[0]),
                np.empty((consts.batch, state.X.shape[1])))


@njit(cache=True, error_model="numpy", inline="always")
def step(state, c, inputs, work, i):
    """SGD step ``i`` of the block on the samples order[i * batch:(i + 1) * batch], on the weights
    (theta -= lr * mean gradient) or on the sampled points (x_k -= lr / batch * dL_k/dx_k, every gradient taken
    before any point moves); returns the batch's mean loss. Any network, the linear model included
    (:mod:`dyn.flows.linear.fast` has the linear model's own, twice as fast)."""
    theta, X = state
    order, t = inputs
    sizes, offs, loss, gradient, train_data, lr, batch = c
    aoff, act, delta, grad, dx = work
    P, D = theta.shape[0], X.shape[1]
    inv, total = 1.0 / batch, 0.0
    linear = sizes.shape[0] == 2
    if not train_data:
        for p in range(P):
            grad[p] = 0.0
    for b in range(batch):
        k = order[i * batch + b]
        if linear:
            y = linear_output(theta, X, k)
        else:
            y = forward(theta, sizes, offs, aoff, act, X, k)
        s = loss_slope(loss, y, t[k])
        total += loss_value(loss, y, t[k])
        if linear:
            if train_data:
                for q in range(D):
                    dx[b, q] = theta[q] * s
            else:
                for q in range(D):
                    grad[q] += inv * (X[k, q] * s)
                grad[D] += inv * s
        else:
            backward(theta, sizes, offs, aoff, act, delta, s, grad, inv, gradient, not train_data, train_data)
            if train_data:
                for q in range(D):
                    dx[b, q] = delta[q]
    if train_data:
        for b in range(batch):
            k = order[i * batch + b]
            for q in range(D):
                X[k, q] -= lr * inv * dx[b, q]
    else:
        for p in range(P):
            theta[p] -= lr * grad[p]
    return total * inv


@njit(cache=True)
def snapshot(state, c, work, snaps, slot, loss):
    theta, X = state
    for p in range(theta.shape[0]):
        snaps.theta[slot, p] = theta[p]
    if c.train_data:
        for k in range(X.shape[0]):
            for q in range(X.shape[1]):
                snaps.x[slot, k, q] = X[k, q]
    snaps.loss_train[slot] = loss


define_frame_loop(globals())


@njit(cache=True, error_model="numpy")
def measure(snap_theta, snap_x, t, sizes, offs, loss, n_first, out_loss, out_first, out_acc, out_margin,
            out_active):
    """Over all data at each snapshot: mean loss, the seed's monitor (the loss summed over the first
    ``n_first`` points), accuracy (t f(x) > 0), margin min t f(x), active hinges #(1 - t f(x) > 0).

    snap_theta (R, T, P); snap_x (R or 1, T or 1, n, D); outputs (R, T), NaN left at NaN snapshots."""
    R, T = snap_theta.shape[0], snap_theta.shape[1]
    aoff = act_offsets(sizes)
    act = np.empty(aoff[-1])
    n = t.shape[0]
    for job in range(R * T):
        r, s = job // T, job % T
        theta = snap_theta[r, s]
        if not np.all(np.isfinite(theta)):
            continue
        xs = snap_x[r if snap_x.shape[0] > 1 else 0, s if snap_x.shape[1] > 1 else 0]
        total, first, right, low, active = 0.0, 0.0, 0, np.inf, 0
        for k in range(n):
            y = forward(theta, sizes, offs, aoff, act, xs, k)
            v = loss_value(loss, y, t[k])
            total += v
            if k < n_first:
                first += v
            m = t[k] * y
            right += m > 0.0
            low = min(low, m)
            active += 1.0 - m > 0.0
        out_loss[r, s] = total / n
        out_first[r, s] = first
        out_acc[r, s] = right / n
        out_margin[r, s] = low
        out_active[r, s] = active


@njit(cache=True, error_model="numpy")
def outputs(theta, sizes, offs, x, out):
    """f at each row of ``x`` (m, D) into ``out`` (m,)."""
    aoff = act_offsets(sizes)
    act = np.empty(aoff[-1])
    for k in range(x.shape[0]):
        out[k] = forward(theta, sizes, offs, aoff, act, x, k)


@njit(cache=True, error_model="numpy")
def grid_outputs(theta, sizes, offs, xs, ys, rest, out):
    """f on the grid xs x ys of the plane of the first two coordinates (the others at ``rest``) into
    ``out`` (len(ys), len(xs)); D = 1: f(xs), the same on every row."""
    aoff = act_offsets(sizes)
    act = np.empty(aoff[-1])
    p = rest.copy().reshape(1, rest.shape[0])
    for iy in range(ys.shape[0]):
        if p.shape[1] > 1:
            p[0, 1] = ys[iy]
        for ix in range(xs.shape[0]):
            p[0, 0] = xs[ix]
            out[iy, ix] = forward(theta, sizes, offs, aoff, act, p, 0)


@njit(cache=True, error_model="numpy")
def zero_contour(Z, xs, ys, seg):
    """The zero level of ``Z`` (len(ys), len(xs)) by marching squares: segments into ``seg`` (2 cells, 2, 2);
    returns their number. Saddles are split by the cell's mean."""
    k = 0
    ex = np.empty(4)
    ey = np.empty(4)
    for iy in range(Z.shape[0] - 1):
        for ix in range(Z.shape[1] - 1):
            v = (Z[iy, ix], Z[iy, ix + 1], Z[iy + 1, ix + 1], Z[iy + 1, ix])
            cx = (xs[ix], xs[ix + 1], xs[ix + 1], xs[ix])
            cy = (ys[iy], ys[iy], ys[iy + 1], ys[iy + 1])
            m = 0
            for e in range(4):  # edges 0-1, 1-2, 2-3, 3-0
                a, b = v[e], v[(e + 1) % 4]
                if (a > 0.0) != (b > 0.0):
                    s = a / (a - b)
                    ex[m] = cx[e] + s * (cx[(e + 1) % 4] - cx[e])
                    ey[m] = cy[e] + s * (cy[(e + 1) % 4] - cy[e])
                    m += 1
            if m == 2:
                seg[k, 0, 0], seg[k, 0, 1], seg[k, 1, 0], seg[k, 1, 1] = ex[0], ey[0], ex[1], ey[1]
                k += 1
            elif m == 4:  # a saddle: the centre's sign says which pair of opposite corners is joined
                joined = (v[0] + v[1] + v[2] + v[3] > 0.0) == (v[0] > 0.0)
                for h in range(2):
                    a0, a1 = (2 * h, 2 * h + 1) if joined else ((2 * h + 3) % 4, 2 * h)
                    seg[k, 0, 0], seg[k, 0, 1], seg[k, 1, 0], seg[k, 1, 1] = ex[a0], ey[a0], ex[a1], ey[a1]
                    k += 1
    return k
