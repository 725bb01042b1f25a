"""Plain-numpy references for the relu kernels, shared by the tests."""

import numpy as np

from dyn.flows.relu import kernels


def numpy_run(a, w, b, ta, tw, tb, x, lr, batches):
    """Plain-numpy SGD as the seed's batch_step does it: mean of per-sample gradients, one update."""
    a, w, b = a.copy(), w.copy(), b.copy()
    m, M = len(a), len(ta)
    out, pos = [], 0
    for sizes in batches:  # one list of batch sizes per frame
        for n in sizes:
            X = x[pos:pos + n]
            pos += n
            y = (ta * np.maximum(X @ tw.T + tb, 0)).sum(1) / M
            z = X @ w.T + b
            err = (a * np.maximum(z, 0)).sum(1) / m - y
            ga = (err[:, None] / m * np.maximum(z, 0)).mean(0)
            gb_i = err[:, None] / m * a * (z >= 0)
            gw = (gb_i[:, :, None] * X[:, None, :]).mean(0)
            a, w, b = a - lr * ga, w - lr * gw, b - lr * gb_i.mean(0)
        out.append((a.copy(), w.copy(), b.copy()))
    return out


def small_problem(seed=3, m=5, M=3, d=3, n=400):
    g = np.random.default_rng(seed)
    init = {"a": g.standard_normal(m), "w": 0.3 * g.standard_normal((m, d)), "b": 0.3 * g.standard_normal(m)}
    teacher = {"a": g.standard_normal(M), "w": g.standard_normal((M, d)), "b": g.standard_normal(M)}
    return init, teacher, g.standard_normal((n, d))


def batch_loss(init, teacher, x):
    """1/2 mean over x of (f(x) - f*(x))^2, in numpy."""
    a, w, b = (np.asarray(init[k], float) for k in "awb")
    ta, tw, tb = (np.asarray(teacher[k], float) for k in "awb")
    y = (ta * np.maximum(x @ tw.T + tb, 0)).sum(1) / len(ta)
    return 0.5 * np.mean(((a * np.maximum(x @ w.T + b, 0)).sum(1) / len(a) - y) ** 2)


def kernel_gradient(init, teacher, x):
    """The gradient the kernel applies: one step with lr = 1 on the batch x (all of it)."""
    a, w, b = (np.array(init[k], float) for k in "awb")
    m, d = w.shape
    state = [a[None].copy(), np.ascontiguousarray(w.T[None]), b[None].copy()]
    recs = [np.zeros((1, 1, m)), np.zeros((1, 1, m, d)), np.zeros((1, 1, m)), np.zeros((1, 1))]
    one = np.array([1], np.int64)
    kernels.advance_serial(kernels.State(*state), kernels.Consts(*(np.asarray(teacher[k], float) for k in "awb"), 1.0),
                           kernels.Inputs(x[None], np.array([0]), np.array([len(x)])), one, 0, kernels.Snaps(*recs),
                           0, np.array([-1]))
    return {"a": a - state[0][0], "w": w - state[1][0].T, "b": b - state[2][0]}


def numpy_run_in(dtype, a, w, b, ta, tw, tb, x, lr, batches):
    """:func:`numpy_run` in ``dtype`` arithmetic (float32: every operation rounded to float32), its operations
    grouped as the kernels' are (a batch's gradients summed sample after sample, then moved by lr / n times the
    sum; pre-activations b + w_1 x_1 + w_2 x_2 ...), so that a kernel computing in ``dtype`` matches it to a few
    units in the last place and one computing in another precision does not. Snapshots after each frame."""
    f = np.dtype(dtype).type
    a, w, b, ta, tw, tb, x = (np.array(v, dtype) for v in (a, w, b, ta, tw, tb, x))
    m, M, d = len(a), len(ta), w.shape[1]
    inv_m = f(1) / f(m)
    relu = lambda z: np.maximum(z, f(0))  # noqa: E731
    out, pos = [], 0
    for sizes in batches:
        for n in sizes:
            X = x[pos:pos + n]
            pos += n
            z, u = np.tile(b, (n, 1)), np.tile(tb, (n, 1))
            for q in range(d):
                z += X[:, q:q + 1] * w[:, q]
                u += X[:, q:q + 1] * tw[:, q]
            y = np.zeros(n, dtype)
            for j in range(M):
                y += ta[j] * relu(u[:, j])
            c = inv_m * ((a * relu(z)).sum(1) * inv_m - y / f(M))
            ga, gb, gw = np.zeros(m, dtype), np.zeros(m, dtype), np.zeros((m, d), dtype)
            for i in range(n):
                ga += c[i] * relu(z[i])
                v = c[i] * (a * (z[i] >= 0).astype(dtype))
                gb += v
                gw += v[:, None] * X[i]
            h = f(lr) / f(n)
            a, w, b = a - h * ga, w - h * gw, b - h * gb
        out.append((a.copy(), w.copy(), b.copy()))
    return out
