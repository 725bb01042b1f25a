"""The linear model's frame loop: the engine's loop (:mod:`dyn.engine.loop`) around a step that handles
only f(x) = w . x + b, on the weights or on the points.

The network step of :mod:`dyn.flows.linear.kernels` covers the linear model too, with the same arithmetic;
this one exists for speed: it hands its helpers only the five arrays they use (every array a step passes on
costs reference counting, which is more than a linear step: 30 ns a step through the network's step, 10-16 ns
here). The records, replicas and scratch are the network kernels' own.
"""

from numba import njit

from dyn.engine.loop import define_frame_loop
from dyn.flows.linear.kernels import (Consts, Inputs, Snaps, State, Work, linear_output, loss_slope,  # noqa: F401
                                      loss_value, replica, scratch, snapshot)


@njit(cache=True, error_model="numpy", inline="always")
def linear_weights(theta, X, t, order, grad, i, batch, loss, lr):
    """One step on the weights of the linear model (the arithmetic of the network step with L = 1)."""
    P, inv, total = theta.shape[0], 1.0 / batch, 0.0
    for p in range(P):
        grad[p] = 0.0
    for b in range(batch):
        k = order[i * batch + b]
        y = linear_output(theta, X, k)
        s = loss_slope(loss, y, t[k])
        total += loss_value(loss, y, t[k])
        for q in range(P - 1):
            grad[q] += inv * (X[k, q] * s)
        grad[P - 1] += inv * s
    for p in range(P):
        theta[p] -= lr * grad[p]
    return total * inv


@njit(cache=True, error_model="numpy", inline="always")
def linear_data(theta, X, t, order, dx, i, batch, loss, lr):
    """One step on the points, the linear model fixed: dL/dx_k = dL/dy w."""
    D, inv, total = X.shape[1], 1.0 / batch, 0.0
    for b in range(batch):
        k = order[i * batch + b]
        y = linear_output(theta, X, k)
        s = loss_slope(loss, y, t[k])
        total += loss_value(loss, y, t[k])
        for q in range(D):
            dx[b, q] = theta[q] * s
    for b in range(batch):
        k = order[i * batch + b]
        for q in range(D):
            X[k, q] -= lr * inv * dx[b, q]
    return total * inv


@njit(cache=True, error_model="numpy", inline="always")
def step(state, c, inputs, work, i):
    """:func:`dyn.flows.linear.kernels.step` for the linear model."""
    if c.train_data:
        return linear_data(state.theta, state.X, inputs.t, inputs.order, work.dx, i, c.batch, c.loss, c.lr)
    return linear_weights(state.theta, state.X, inputs.t, inputs.order, work.grad, i, c.batch, c.loss, c.lr)


define_frame_loop(globals())
