"""CPU kernels of the relu flow on the exact population loss (x ~ N(0, I_d)), many steps per call.

The gradient is the closed form of :mod:`dyn.flows.relu.population_grad`; the trained parameters are packed
(:func:`~dyn.flows.relu.population_grad.pack`: a if ``train_a``, w, b if ``bias``) so that the parameters
not trained are never written. A step is either

- ``euler``: theta <- theta - dt grad L(theta) (plain gradient descent, dt = lr x scale), or
- ``dopri5``: the gradient flow d theta / dt = -grad L over a flow time dt, by Dormand & Prince's
  5(4) pair with error control (substeps accepted when the RMS of the embedded error estimate over
  atol + rtol |theta| is <= 1, atol = rtol; first-same-as-last; the substep carries over to the next step).

Either way step N holds the state at flow time N dt. With ``tol`` > 0 a replica whose gradient norm (over
the trained parameters) is below tol at the start of a step stops there: ``converged_at`` holds that step
and later steps leave it as it is.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from dyn.engine.loop import define_frame_loop
from dyn.flows.relu.population_grad import pack, population_grad, population_grad_parallel, unpack

EULER, DOPRI5 = 0, 1
MIN_SUBSTEP = 1e-13  # relative to dt: a smaller dopri5 substep means the flow blew up (the step returns NaN)

# Dormand & Prince (1980): stages c, the matrix A (row 6 = the 5th-order weights), the error weights E
C = np.array([0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0])
A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0.0, 0.0],
    [9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0, 0.0],
    [35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0],
])
E = np.array([71.0 / 57600.0, 0.0, -71.0 / 16695.0, 71.0 / 1920.0, -17253.0 / 339200.0, 22.0 / 525.0, -1.0 / 40.0])


class State(NamedTuple):
    """The students a (replica, neuron), w (replica, neuron, dim), b (replica, neuron), and per replica: the
    dopri5 substep ``h`` to try next, ``converged_at`` (-1 while running), the ``loss`` and ``grad_norm`` at
    the last gradient taken, ``evals`` (gradient evaluations so far)."""

    a: np.ndarray
    w: np.ndarray
    b: np.ndarray
    h: np.ndarray
    converged_at: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    evals: np.ndarray


class Consts(NamedTuple):
    """The teacher (ta, tw, tb, its norms nt and self term), what is trained, the flow time ``dt`` a step,
    ``tol`` (0: no stop), dopri5's ``rtol``, the ``method`` (EULER or DOPRI5) and whether the gradient's rows
    run in parallel (one replica of many neurons)."""

    ta: np.ndarray
    tw: np.ndarray
    tb: np.ndarray
    nt: np.ndarray
    teacher_term: float
    bias: bool
    train_a: bool
    dt: float
    tol: float
    rtol: float
    method: int
    parallel: bool


class Inputs(NamedTuple):
    """``step0`` (1,): the global step before the block (for ``converged_at``)."""

    step0: np.ndarray


class Snaps(NamedTuple):
    a: np.ndarray
    w: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray


class Work(NamedTuple):
    theta: np.ndarray  # (n,) the packed trained parameters
    y: np.ndarray  # (n,) a stage's point
    k: np.ndarray  # (7, n) gradients at the stages; k[0] at theta when fresh[0]
    ga: np.ndarray
    gw: np.ndarray
    gb: np.ndarray
    fresh: np.ndarray  # (1,) int64: k[0] and k_loss hold the gradient and loss at theta
    k_loss: np.ndarray  # (1,)


@njit(cache=True)
def trained_size(m, d, train_a, bias):
    return m * d + (m if train_a else 0) + (m if bias else 0)


@njit(cache=True)
def gradient(theta, state, consts, work, out):
    """The loss at the packed parameters theta (written into the state) and its gradient, packed into out."""
    unpack(theta, consts.train_a, consts.bias, state.a, state.w, state.b)
    args = (state.a, state.w, state.b, consts.ta, consts.tw, consts.tb, consts.nt, consts.teacher_term, consts.bias,
            work.ga, work.gw, work.gb)
    loss = population_grad_parallel(*args) if consts.parallel else population_grad(*args)
    pack(work.ga, work.gw, work.gb, consts.train_a, consts.bias, out)
    state.evals[0] += 1
    return loss


@njit(cache=True)
def norm(v):
    acc = 0.0
    for i in range(v.shape[0]):
        acc += v[i] * v[i]
    return math.sqrt(acc)


@njit(cache=True)
def stage_point(theta, k, j, h, y):
    """y = theta - h sum_{l < j} A[j, l] k[l] (the flow runs down the gradient)."""
    for i in range(theta.shape[0]):
        acc = 0.0
        for l in range(j):
            acc += A[j, l] * k[l, i]
        y[i] = theta[i] - h * acc


@njit(cache=True)
def error_norm(theta, y, k, h, rtol):
    """RMS over the parameters of h |sum_l E[l] k[l]| / (rtol (1 + max(|theta|, |y|)))."""
    n = theta.shape[0]
    acc = 0.0
    for i in range(n):
        e = 0.0
        for l in range(7):
            e += E[l] * k[l, i]
        scale = rtol * (1.0 + max(abs(theta[i]), abs(y[i])))
        r = h * e / scale
        acc += r * r
    return math.sqrt(acc / max(n, 1))


@njit(cache=True)
def dopri5(state, consts, work):
    """Integrate the gradient flow over consts.dt from theta (k[0] fresh); False if the substep collapsed."""
    theta, y, k = work.theta, work.y, work.k
    dt = consts.dt
    t = 0.0
    proposal = min(state.h[0], dt)
    while t < dt:
        h = proposal
        last = t + h >= dt * (1.0 - 1e-12)
        if last:
            h = dt - t
        loss = 0.0
        for j in range(1, 7):
            stage_point(theta, k, j, h, y)
            loss = gradient(y, state, consts, work, k[j])
        err = error_norm(theta, y, k, h, consts.rtol)
        if math.isfinite(err) and math.isfinite(loss) and err <= 1.0:
            t = dt if last else t + h
            for i in range(theta.shape[0]):
                theta[i] = y[i]
                k[0, i] = k[6, i]  # first same as last
            work.k_loss[0] = loss
            state.loss[0] = loss
            state.grad_norm[0] = norm(k[0])
            grow = 5.0 if err == 0.0 else min(5.0, 0.9 * err ** -0.2)
            proposal = max(proposal, h * grow) if last else h * grow
        else:
            shrink = 0.2 if not math.isfinite(err) else max(0.2, 0.9 * err ** -0.2)
            proposal = h * shrink
            if proposal < MIN_SUBSTEP * dt:
                return False
    state.h[0] = proposal
    unpack(theta, consts.train_a, consts.bias, state.a, state.w, state.b)
    return True


@njit(cache=True)
def fresh_gradient(state, consts, work):
    """Make k[0], k_loss the gradient and loss at the current state (taken once per state), and the state's
    loss and grad_norm theirs."""
    if work.fresh[0] == 0:
        pack(state.a, state.w, state.b, consts.train_a, consts.bias, work.theta)
        work.k_loss[0] = gradient(work.theta, state, consts, work, work.k[0])
        work.fresh[0] = 1
        state.loss[0] = work.k_loss[0]
        state.grad_norm[0] = norm(work.k[0])


@njit(cache=True)
def replica(states, inputs, snaps, r):
    return (State(states.a[r], states.w[r], states.b[r], states.h[r:r + 1], states.converged_at[r:r + 1],
                  states.loss[r:r + 1], states.grad_norm[r:r + 1], states.evals[r:r + 1]),
            inputs, Snaps(snaps.a[r], snaps.w[r], snaps.b[r], snaps.loss[r], snaps.grad_norm[r]))


@njit(cache=True)
def scratch(state, consts, inputs):
    m, d = state.w.shape
    n = trained_size(m, d, consts.train_a, consts.bias)
    return Work(np.empty(n), np.empty(n), np.empty((7, n)), np.empty(m), np.empty((m, d)), np.empty(m),
                np.zeros(1, np.int64), np.empty(1))


@njit(cache=True, error_model="numpy")
def step(state, consts, inputs, work, s):
    """One step (euler or dopri5 over dt) from the current state; the loss at its start."""
    if state.converged_at[0] >= 0:
        return state.loss[0]
    theta, k = work.theta, work.k
    fresh_gradient(state, consts, work)
    loss = work.k_loss[0]
    if not math.isfinite(loss):
        return loss
    if state.grad_norm[0] < consts.tol:
        state.converged_at[0] = inputs.step0[0] + s
        unpack(theta, consts.train_a, consts.bias, state.a, state.w, state.b)
        return loss
    if consts.method == EULER:
        for i in range(theta.shape[0]):
            theta[i] -= consts.dt * k[0, i]
        unpack(theta, consts.train_a, consts.bias, state.a, state.w, state.b)
        work.fresh[0] = 0
        return loss
    if not dopri5(state, consts, work):
        return np.nan
    return loss


@njit(cache=True)
def snapshot(state, consts, work, snaps, slot, loss):
    """The state, the frame's mean loss and the gradient norm at the state (the gradient the next step takes)."""
    if state.converged_at[0] < 0:
        fresh_gradient(state, consts, work)
    m, d = state.w.shape
    for k in range(m):
        snaps.a[slot, k] = state.a[k]
        snaps.b[slot, k] = state.b[k]
        for q in range(d):
            snaps.w[slot, k, q] = state.w[k, q]
    snaps.loss[slot] = loss
    snaps.grad_norm[slot] = state.grad_norm[0]


define_frame_loop(globals())
