"""CPU kernels of the relu flow: minibatch SGD on 1/2 (f(x) - f*(x))^2, many steps per call.

State layout inside the kernels: ``a`` (replica, neuron), ``wt`` (replica, dim, neuron) (w transposed,
so that the loops over neurons are contiguous and vectorise), ``b`` (replica, neuron). The gradient
of one sample, for neuron k, with z_k = w_k . x + b_k and e = f(x) - y:

    da_k = e/m relu(z_k),   db_k = e/m a_k relu'(z_k),   dw_k = db_k x

(relu'(0) = 1, as in the seed). A step averages these over its batch and moves by ``lr * scale``
times the average; ``scale`` is 1 (the seed) or m (mean-field time scale).
"""

import numpy as np
from numba import njit, prange


@njit(cache=True)
def relu(z):
    return z if z >= 0.0 else 0.0


@njit(cache=True)
def drelu(z):
    return 1.0 if z >= 0.0 else 0.0


@njit(cache=True, fastmath={"reassoc"})
def student_output(a, z):
    """sum_k a_k relu(z_k). Reassociation lets the sum run in SIMD lanes (a serial chain of m dependent
    additions otherwise); the order is fixed by the code, so results are reproducible and do not depend
    on the thread count."""
    out = 0.0
    for k in range(a.shape[0]):
        out += a[k] * relu(z[k])
    return out


@njit(cache=True)
def teacher_output(ta, tw, tb, x):
    """f*(x) = 1/M sum_j ta_j relu(tw_j . x + tb_j) for one sample x (d,)."""
    y = 0.0
    for j in range(ta.shape[0]):
        t = tb[j]
        for q in range(x.shape[0]):
            t += tw[j, q] * x[q]
        y += ta[j] * relu(t)
    return y / ta.shape[0]


@njit(cache=True, nogil=True)
def run_replica(a, wt, b, ta, tw, tb, x, starts, sizes, frame_steps, lr, scale, step0,
                snap_a, snap_w, snap_b, snap_loss, slot0):
    """Advance one replica through the frames of a block; snapshot after each frame.

    ``x`` (n, d) holds the block's inputs; step s uses rows starts[s] : starts[s] + sizes[s].
    Returns -1, or the global step whose loss was not finite (the replica stops there).
    """
    m = a.shape[0]
    d = wt.shape[0]
    z = np.empty(m)
    ga = np.empty(m)
    gb = np.empty(m)
    gw = np.empty((d, m))
    inv_m = 1.0 / m
    s = 0
    for f in range(frame_steps.shape[0]):
        frame_loss = 0.0
        for _ in range(frame_steps[f]):
            ga[:] = 0.0
            gb[:] = 0.0
            gw[:, :] = 0.0
            loss = 0.0
            n = sizes[s]
            for i in range(starts[s], starts[s] + n):
                xi = x[i]
                for k in range(m):
                    z[k] = b[k]
                for q in range(d):
                    xq = xi[q]
                    for k in range(m):
                        z[k] += wt[q, k] * xq
                err = student_output(a, z) * inv_m - teacher_output(ta, tw, tb, xi)
                loss += 0.5 * err * err
                c = inv_m * err
                for k in range(m):
                    ga[k] += c * relu(z[k])
                    gb[k] += c * (a[k] * drelu(z[k]))
                for q in range(d):
                    xq = xi[q]
                    for k in range(m):
                        gw[q, k] += c * (a[k] * drelu(z[k])) * xq
            loss /= n
            if not np.isfinite(loss):
                return step0 + s + 1
            frame_loss += loss
            step = lr * scale / n
            for k in range(m):
                a[k] -= step * ga[k]
                b[k] -= step * gb[k]
            for q in range(d):
                for k in range(m):
                    wt[q, k] -= step * gw[q, k]
            s += 1
        slot = slot0 + f
        for k in range(m):
            snap_a[slot, k] = a[k]
            snap_b[slot, k] = b[k]
            for q in range(d):
                snap_w[slot, k, q] = wt[q, k]
        snap_loss[slot] = frame_loss / frame_steps[f]
    return -1


@njit(cache=True, nogil=True)
def advance_replica(r, a, wt, b, ta, tw, tb, x, starts, sizes, frame_steps, lr, scale, step0,
                    snap_a, snap_w, snap_b, snap_loss, slot0, diverged_at):
    if diverged_at[r] < 0:
        xr = x[r] if x.shape[0] > 1 else x[0]
        diverged_at[r] = run_replica(a[r], wt[r], b[r], ta, tw, tb, xr, starts, sizes, frame_steps, lr, scale,
                                     step0, snap_a[r], snap_w[r], snap_b[r], snap_loss[r], slot0)


@njit(cache=True, parallel=True, nogil=True)
def advance(a, wt, b, ta, tw, tb, x, starts, sizes, frame_steps, lr, scale, step0,
            snap_a, snap_w, snap_b, snap_loss, slot0, diverged_at):
    """Advance every live replica (``diverged_at[r] < 0``) through one block of frames.

    ``x`` is (R, n, d), or (1, n, d) for inputs shared by every replica. Replicas run in parallel;
    each one's arithmetic is sequential, so results do not depend on the thread count.
    """
    for r in prange(a.shape[0]):
        advance_replica(r, a, wt, b, ta, tw, tb, x, starts, sizes, frame_steps, lr, scale, step0,
                        snap_a, snap_w, snap_b, snap_loss, slot0, diverged_at)


@njit(cache=True, nogil=True)
def advance_serial(a, wt, b, ta, tw, tb, x, starts, sizes, frame_steps, lr, scale, step0,
                   snap_a, snap_w, snap_b, snap_loss, slot0, diverged_at):
    """:func:`advance` on the calling thread: for one replica, where a parallel region only costs."""
    for r in range(a.shape[0]):
        advance_replica(r, a, wt, b, ta, tw, tb, x, starts, sizes, frame_steps, lr, scale, step0,
                        snap_a, snap_w, snap_b, snap_loss, slot0, diverged_at)
