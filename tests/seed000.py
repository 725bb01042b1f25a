"""Seed 000's training loop, ported from Chainer to plain numpy (float64): the oracle for as_seed.

Kept as written: ``AngleFunction.forward``/``backward`` with their matrix products, W as columns
(d, M), the hook that renormalises W's columns before each update, and Chainer's SGD update
``W -= lr * W.grad`` with a gradient that is never cleared (it accumulates).
"""

import numpy as np

norm = np.linalg.norm


def forward(x, w):
    nx = norm(x, axis=1)[:, None]
    nw = norm(w, axis=0)[None, :]
    return np.dot(x, w) / (nx * nw)


def backward(x, w, gy):
    nx = norm(x, axis=1)[:, None]
    nw = norm(w, axis=0)[None, :]
    xtw = np.dot(x, w)
    xtx = nx ** 2
    wtw = nw ** 2
    inv = gy / np.sqrt(xtx * wtw - xtw ** 2)
    gx = inv.dot((w - x.T.dot(xtw / xtx)).T)
    gw = (x.T - w.dot((xtw / wtw).T)).dot(inv)
    return gx, gw


def projection_onto_hypersphere(w):
    nw = norm(w, axis=0)[None, :]
    w /= nw


def seed_loop(x, W, steps, lr=0.01):
    """The notebook's loop: returns the loss of every step and the final W (d, M)."""
    W = W.copy()
    grad = np.zeros_like(W)  # W.grad: l1.cleargrads() is never called
    L = np.zeros(steps)
    for n in range(steps):
        z = forward(x, W)
        l = np.sum(z ** 2)
        grad += backward(x, W, 2 * z)[1]
        projection_onto_hypersphere(W)  # the update rule's hook runs before the update
        W -= lr * grad
        L[n] = l
    return L, W
