"""CPU kernels of the relu flow: minibatch SGD on 1/2 (f(x) - f*(x))^2, many steps per call.

State layout inside the kernels: ``a`` (replica, neuron), ``wt`` (replica, dim, neuron) (w transposed,
so that the loops over neurons are contiguous and vectorise), ``b`` (replica, neuron). The gradient
of one sample, for neuron k, with z_k = w_k . x + b_k and e = f(x) - y:

    da_k = e/m relu(z_k),   db_k = e/m a_k relu'(z_k),   dw_k = db_k x

(relu'(0) = 1, as in the seed). A step averages these over its batch and moves by ``lr * scale``
times the average; ``scale`` is 1 (the seed) or m (mean-field time scale).

The kernels are generic over the float type (:mod:`dyn.engine.precision`): a float32 state, teacher and inputs
compile a float32 specialisation; constants are written ``like(x, c)`` (float64 bit for bit the literal).
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from dyn.engine.counter import fill_normals
from dyn.engine.loop import define_frame_loop
from dyn.engine.precision import like
from dyn.engine.streams import DATA


@njit(cache=True)
def relu(z):
    zero = like(z, 0.0)
    return z if z >= zero else zero  # NaN -> 0


@njit(cache=True)
def drelu(z):
    return like(z, 1.0) if z >= like(z, 0.0) else like(z, 0.0)


@njit(cache=True, fastmath={"reassoc"})
def student_output(a, z):
    """sum_k a_k relu(z_k). Reassociation lets the sum run in SIMD lanes (a serial chain of m dependent
    additions otherwise); the order is fixed by the code, so results are reproducible and do not depend
    on the thread count."""
    out = like(a[0], 0.0)
    for k in range(a.shape[0]):
        out += a[k] * relu(z[k])
    return out


@njit(cache=True)
def teacher_output(ta, tw, tb, x):
    """f*(x) = 1/M sum_j ta_j relu(tw_j . x + tb_j) for one sample x (d,)."""
    y = like(ta[0], 0.0)
    for j in range(ta.shape[0]):
        t = tb[j]
        for q in range(x.shape[0]):
            t += tw[j, q] * x[q]
        y += ta[j] * relu(t)
    return y / like(y, ta.shape[0])


class State(NamedTuple):
    """The students: ``a`` (replica, neuron), ``wt`` (replica, dim, neuron), ``b`` (replica, neuron)."""

    a: np.ndarray
    wt: np.ndarray
    b: np.ndarray


class Consts(NamedTuple):
    """The teacher (``ta`` (M,), ``tw`` (M, d), ``tb`` (M,)), the step size ``lr * scale`` and which parameters
    move: ``train_a`` (else a stays as it is) and ``bias`` (else b stays as it is: 0 without biases)."""

    ta: np.ndarray
    tw: np.ndarray
    tb: np.ndarray
    lr: float
    train_a: bool = True
    bias: bool = True


class Inputs(NamedTuple):
    """A block's samples ``x`` (replica or 1, n, d); step s uses rows starts[s] : starts[s] + sizes[s].

    With ``seed >= 0`` (rng="counter") ``x`` is empty and the kernel draws step s's samples itself,
    sample j of replica r being ``normals(seed + r, DATA, 0, step0 + s, j, d)`` (:mod:`dyn.engine.counter`):
    a replica's inputs never go through memory."""

    x: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray
    seed: int = -1
    step0: int = 0


class Snaps(NamedTuple):
    """Records (replica, time, ...): a, w (neuron, dim), b, and the frame's mean minibatch loss."""

    a: np.ndarray
    w: np.ndarray
    b: np.ndarray
    loss: np.ndarray


class Work(NamedTuple):
    z: np.ndarray
    ga: np.ndarray
    gb: np.ndarray
    gw: np.ndarray
    x: np.ndarray = None  # (batch, d): a step's samples drawn in the kernel (Inputs.seed >= 0); on CUDA (R, batch, d)


@njit(cache=True)
def replica(states, inputs, snaps, r):
    x = inputs.x[r] if inputs.x.shape[0] > 1 else inputs.x[0]
    seed = inputs.seed + r if inputs.seed >= 0 else inputs.seed
    return (State(states.a[r], states.wt[r], states.b[r]), Inputs(x, inputs.starts, inputs.sizes, seed, inputs.step0),
            Snaps(snaps.a[r], snaps.w[r], snaps.b[r], snaps.loss[r]))


@njit(cache=True)
def scratch(state, consts, inputs):
    m, d, dtype = state.a.shape[0], state.wt.shape[0], state.a.dtype
    drawn = inputs.sizes.max() if inputs.seed >= 0 and inputs.sizes.shape[0] else 0
    return Work(np.empty(m, dtype), np.empty(m, dtype), np.empty(m, dtype), np.empty((d, m), dtype),
                np.empty((drawn, d), dtype))


@njit(cache=True)
def samples(inputs, work, s):
    """Step s's samples: rows i0 : i0 + sizes[s] of the array returned, (x, i0); drawn into the work array
    here when the inputs carry a counter seed."""
    if inputs.seed < 0:
        return inputs.x, inputs.starts[s]
    fill_normals(work.x, inputs.seed, DATA, 0, inputs.step0 + s, inputs.sizes[s])
    return work.x, 0


@njit(cache=True, error_model="numpy")
def step(state, consts, inputs, work, s):
    """One minibatch step: the batch's mean gradient, then the update; returns the batch's mean loss."""
    a, wt, b = state
    z, ga, gb, gw = work.z, work.ga, work.gb, work.gw
    ta, tw, tb, lr, train_a, bias = consts
    m = a.shape[0]
    d = wt.shape[0]
    one = like(a[0], 1.0)  # the run's float type
    inv_m = one / like(one, m)
    ga[:] = 0.0
    gb[:] = 0.0
    gw[:, :] = 0.0
    loss = like(one, 0.0)
    n = inputs.sizes[s]
    x, i0 = samples(inputs, work, s)
    for i in range(i0, i0 + n):
        xi = x[i]
        for k in range(m):
            z[k] = b[k]
        for q in range(d):
            xq = xi[q]
            for k in range(m):
                z[k] += wt[q, k] * xq
        err = student_output(a, z) * inv_m - teacher_output(ta, tw, tb, xi)
        loss += like(one, 0.5) * err * err
        c = inv_m * err
        for k in range(m):
            ga[k] += c * relu(z[k])
            gb[k] += c * (a[k] * drelu(z[k]))
        for q in range(d):
            xq = xi[q]
            for k in range(m):
                gw[q, k] += c * (a[k] * drelu(z[k])) * xq
    loss /= like(one, n)
    if not np.isfinite(loss):
        return loss
    h = like(one, lr) / like(one, n)
    if train_a:
        for k in range(m):
            a[k] -= h * ga[k]
    if bias:
        for k in range(m):
            b[k] -= h * gb[k]
    for q in range(d):
        for k in range(m):
            wt[q, k] -= h * gw[q, k]
    return loss


@njit(cache=True)
def snapshot(state, consts, work, snaps, slot, loss):
    a, wt, b = state
    for k in range(a.shape[0]):
        snaps.a[slot, k] = a[k]
        snaps.b[slot, k] = b[k]
        for q in range(wt.shape[0]):
            snaps.w[slot, k, q] = wt[q, k]
    snaps.loss[slot] = loss


define_frame_loop(globals())
