from typing import NamedTuple

import numpy as np
from numba import njit

from dyn.engine.loop import define_frame_loop


class State(NamedTuple):
    x: np.ndarray


class Consts(NamedTuple):
    k: float
    lr: float


class Snaps(NamedTuple):
    x: np.ndarray
    loss: np.ndarray


@njit(cache=True)
def moved(x, k, lr):
    """One particle's step: x - lr * dL/dx."""
    return x - lr * k * x


@njit(cache=True)
def replica(states, inputs, snaps, r):
    return State(states.x[r]), inputs, Snaps(snaps.x[r], snaps.loss[r])


@njit(cache=True)
def scratch(state, consts, inputs):
    return 0


@njit(cache=True)
def step(state, consts, inputs, work, s):
    x = state.x
    loss = 0.0
    for i in range(x.shape[0]):
        loss += 0.5 * consts.k * x[i] * x[i]
        x[i] = moved(x[i], consts.k, consts.lr)
    return loss


@njit(cache=True)
def snapshot(state, consts, work, snaps, slot, loss):
    snaps.x[slot, :] = state.x
    snaps.loss[slot] = loss


define_frame_loop(globals())
