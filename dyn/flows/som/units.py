"""What every som rule's kernels share: the NamedTuples they take and the per-unit math, as scalar helpers.

The helpers take and return numbers only, so that the CPU kernels (``kernels.py``: online and heskes,
``batch.py``, ``topographic.py``) and the CUDA kernels (``cuda.py``, threads over units) call the same
code; none uses ``fastmath``. They are generic over the run's float type (:mod:`dyn.engine.precision`): a
float32 run's arithmetic stays float32, a float64 run's is what the literals gave. The decays, neighbourhoods
and torus wrap they build on are :mod:`dyn.flows.som.neighbourhood`'s.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.extending import overload

from dyn.engine.precision import like
from dyn.flows.som.neighbourhood import axis_factor, decay, neighbourhood

NORM_EPS = 1e-12  # torch.nn.functional.normalize's eps
ONLINE, BATCH, TOPOGRAPHIC = 0, 1, 2  # Consts.rule (online and heskes are ONLINE: Consts.heskes tells them apart)
RULE_CODES = {"online": ONLINE, "heskes": ONLINE, "batch": BATCH, "topographic": TOPOGRAPHIC}
# 1 + the relative margin within which two squared distances may share a norm: about 4.5 units in the last place of
# the float type (float32 epsilon 1.19e-7; float64's 1e-15 as ever)
NEAR = {"float64": 1.0 + 1e-15, "float32": np.float32(1.0 + 6e-7)}


class State(NamedTuple):
    """The maps, (replica, unit, dim), or (replica, dim, unit) for the online rules (their loops over units are
    then contiguous), and the topographic rule's momentum buffer (replica, unit, dim; unused by the others)."""

    w: np.ndarray
    buf: np.ndarray


class Consts(NamedTuple):
    """The grid (``gi``, ``gj`` row and column indices, ``gx``, ``gy`` plane positions, ``periods`` of the torus,
    ``rows``, ``cols``), the neighbourhood (``code``, ``sep``: a product of row and column factors), the schedules
    (decay codes and initial values, over ``T`` steps), the rule (``RULE_CODES``) and its switches."""

    gi: np.ndarray
    gj: np.ndarray
    gx: np.ndarray
    gy: np.ndarray
    periods: np.ndarray
    rows: int
    cols: int
    code: int
    sep: bool
    T: int
    lr0: float
    lr_code: int
    sigma0: float
    sigma_code: int
    rule: int = ONLINE
    heskes: bool = False
    momentum: float = 0.0
    batch: int = 1
    normalize: bool = False
    project: bool = False


class Inputs(NamedTuple):
    """The data ``x`` (n, dim), the sample order ``order`` (replica or 1, steps * samples per step; unused by the
    batch rule, which takes every sample each epoch) and ``step0``, the global step before the block."""

    x: np.ndarray
    order: np.ndarray
    step0: int


class Snaps(NamedTuple):
    """Records (replica, time, ...): the weights (unit, dim), and the frame's mean minibatch loss (topographic)."""

    w: np.ndarray
    loss: np.ndarray


@njit(cache=True)
def replica(states, inputs, snaps, r):
    """Replica ``r``'s views for the frame loop of the rules that walk a sample order (online, heskes,
    topographic): its order, or the one every replica shares."""
    order = inputs.order[r] if inputs.order.shape[0] > 1 else inputs.order[0]
    return (State(states.w[r], states.buf[r]), Inputs(inputs.x, order, inputs.step0),
            Snaps(snaps.w[r], snaps.loss[r]))


@njit(cache=True)
def rates(lr_code, lr0, sigma_code, sigma0, t, T):
    """(lr, sigma) at global step ``t`` of schedules over ``T`` steps, in the float type of ``lr0`` and ``sigma0``."""
    return decay(lr_code, lr0, t, T), decay(sigma_code, sigma0, t, T)


@njit(cache=True)
def sq_diff(x, w):
    """One coordinate's term of a squared distance."""
    d = x - w
    return d * d


@njit(cache=True)
def expanded_sq(xsq, wsq, dot):
    """|x - w|^2 expanded as MiniSom's batch map ranks units: |x|^2 + |w|^2 - 2 x.w."""
    return xsq + wsq - like(dot, 2.0) * dot


def near_factor(d2):
    """1 + the margin of :func:`same_norm` in the float type of ``d2`` (``NEAR``)."""
    return NEAR["float32"] if isinstance(d2, np.float32) else NEAR["float64"]


@overload(near_factor, target="generic")
def _near_factor(d2):
    if isinstance(d2, types.Float):
        float_type, value = d2, float(NEAR["float32"] if d2 == types.float32 else NEAR["float64"])

        def impl(d2):
            return float_type(value)

        return impl
    return None


@njit(cache=True)
def same_norm(d2, best):
    """MiniSom takes the first argmin of the norms sqrt(d2): a unit whose squared distance ``d2`` exceeds the best
    one by rounding only may share its norm, and then wins if it comes first."""
    near = best * near_factor(best)
    return near > best and d2 <= near and math.sqrt(d2) == math.sqrt(best)


@njit(cache=True)
def unit_neighbourhood(code, sep, di, dj, dx, dy, sigma):
    """h(c, k) from the (wrapped) index differences (di, dj) and plane differences (dx, dy) of units c and k:
    the product of a row and a column factor when ``sep`` (as the CPU's factor tables hold them), else
    :func:`~dyn.flows.som.neighbourhood.neighbourhood` (as its matrix H holds it)."""
    if sep:
        return axis_factor(code, di, sigma) * axis_factor(code, dj, sigma)
    return neighbourhood(code, dx, dy, di, dj, sigma)


@njit(cache=True)
def moved(w, h, x):
    """The online update of one coordinate: w + h (x - w), ``h`` the neighbourhood times the learning rate."""
    return w + h * (x - w)


@njit(cache=True)
def blended(w, lr, num, den):
    """The batch map's update of one coordinate: (1 - lr) w + lr times the neighbourhood mean num / den."""
    return (like(lr, 1.0) - lr) * w + lr * (num / den)
