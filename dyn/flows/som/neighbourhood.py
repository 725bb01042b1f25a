"""The som flow's per-element math, as MiniSom 2.3.6 writes it: decays of ``t`` over ``max_iter`` =
``steps``, neighbourhoods (the gaussian as a product of two exponentials; bubble and triangle on index
distances; 4: the forum's gaussian exp(-d^2 / (2 sigma^2 + 1e-5))), the torus wrap, and the tables
and products built from them. Codes are config.DECAY_CODES and config.NEIGHBOURHOOD_CODES.

On a rectangular grid every neighbourhood but the mexican hat is a product of a row factor and a
column factor (``sep``): a winner's row then costs rows + cols evaluations, and spreading unit sums
over the map (sum_c h(c, k) Z_c, the batch rules' one product) is two small products instead of one
K x K product. Otherwise the K x K matrix H is built.

Every helper is generic over the float type (:mod:`dyn.engine.precision`): its constants are
``like(x, c)``, so that a float32 run computes in float32 (on the CPU and on CUDA) and a float64 run
exactly as the literals did. A decay's value is of the type of ``v0``; the tables' of ``sigma``.
"""

import math

import numpy as np
from numba import njit

from dyn.engine.precision import like


@njit(cache=True)
def decay(code, v0, t, T):
    """MiniSom 2.3.6's decay functions of the initial value v0 at iteration t of T (0: constant), in v0's float
    type (the integers t and T as numbers of it, as the literals' arithmetic converted them)."""
    one, t, T = like(v0, 1.0), like(v0, t), like(v0, T)
    if code == 1:  # asymptotic_decay
        return v0 / (one + t / (T / like(v0, 2.0)))
    if code == 2:  # inverse_decay_to_zero
        C = T / like(v0, 100.0)
        return v0 * C / (C + t)
    if code == 3:  # linear_decay_to_zero
        return v0 * (one - t / T)
    if code == 4:  # inverse_decay_to_one
        C = (v0 - one) / T
        return v0 / (one + (t * C))
    if code == 5:  # linear_decay_to_one
        return v0 + (t * (one - v0) / T)
    return v0


@njit(cache=True)
def decays(code, v0, steps, T):
    """:func:`decay` at every step of ``steps`` (int64 array)."""
    out = np.empty(steps.shape[0])
    for i in range(steps.shape[0]):
        out[i] = decay(code, v0, steps[i], T)
    return out


@njit(cache=True)
def wrap(delta, period):
    """The difference on a circle of ``period``; period 0 leaves it as it is."""
    if period <= like(period, 0.0):
        return delta
    a = abs(delta) % period
    return min(a, period - a)


@njit(cache=True)
def axis_factor(code, delta, sigma):
    """One axis' factor of a separable neighbourhood (gaussian, bubble, triangle, forum gaussian)."""
    zero = like(sigma, 0.0)
    if code == 0:
        return math.exp(-(delta * delta) / (like(sigma, 2.0) * sigma * sigma))
    if code == 2:
        return like(sigma, 1.0) if (delta > -sigma and delta < sigma) else zero
    if code == 3:
        t = (-abs(delta)) + sigma
        return t if t > zero else zero
    return math.exp(-(delta * delta) / (like(sigma, 2.0) * sigma * sigma + like(sigma, 1e-5)))


@njit(cache=True)
def neighbourhood(code, dx, dy, di, dj, sigma):
    """h between two units whose plane positions differ by (dx, dy) and indices by (di, dj)."""
    if code == 1:  # mexican hat
        p = dx * dx + dy * dy
        d = like(sigma, 2.0) * sigma * sigma
        return math.exp(-p / d) * (like(sigma, 1.0) - like(sigma, 2.0) / d * p)
    if code == 4:  # the forum's: exp(-d^2 / (2 sigma^2 + 1e-5))
        return math.exp(-(dx * dx + dy * dy) / (like(sigma, 2.0) * sigma * sigma + like(sigma, 1e-5)))
    if code == 0:
        return axis_factor(0, dx, sigma) * axis_factor(0, dy, sigma)
    return axis_factor(code, di, sigma) * axis_factor(code, dj, sigma)


@njit(cache=True)
def pair(code, a, b, gi, gj, gx, gy, periods, sigma):
    """h(a, b) for units a and b."""
    return neighbourhood(code, wrap(gx[b] - gx[a], periods[0]), wrap(gy[b] - gy[a], periods[1]),
                         wrap(like(sigma, gi[b] - gi[a]), periods[2]), wrap(like(sigma, gj[b] - gj[a]), periods[3]),
                         sigma)


@njit(cache=True)
def neighbour_row(code, c, gi, gj, gx, gy, periods, sep, rows, cols, sigma, fa, fb, h):
    """h[k] = h(c, k) for every unit k around the winner c."""
    if sep:
        for i in range(rows):
            fa[i] = axis_factor(code, wrap(like(sigma, i - gi[c]), periods[2]), sigma)
        for j in range(cols):
            fb[j] = axis_factor(code, wrap(like(sigma, j - gj[c]), periods[3]), sigma)
        for k in range(h.shape[0]):
            h[k] = fa[gi[k]] * fb[gj[k]]
    else:
        for k in range(h.shape[0]):
            h[k] = pair(code, c, k, gi, gj, gx, gy, periods, sigma)


@njit(cache=True)
def neighbour_tables(code, gi, gj, gx, gy, periods, sep, rows, cols, sigma, FA, FB, H):
    """Row and column factor tables (separable) or the K x K matrix H."""
    if sep:
        for a in range(rows):
            for b in range(rows):
                FA[a, b] = axis_factor(code, wrap(like(sigma, b - a), periods[2]), sigma)
        for a in range(cols):
            for b in range(cols):
                FB[a, b] = axis_factor(code, wrap(like(sigma, b - a), periods[3]), sigma)
    else:
        for a in range(H.shape[0]):
            for b in range(H.shape[0]):
                H[a, b] = pair(code, a, b, gi, gj, gx, gy, periods, sigma)


@njit(cache=True)
def neighbourhood_matrix(code, gi, gj, gx, gy, periods, sigma):
    """(K, K) h(a, b): for measurements and tests."""
    K = gi.shape[0]
    H = np.empty((K, K))
    for a in range(K):
        for b in range(K):
            H[a, b] = pair(code, a, b, gi, gj, gx, gy, periods, sigma)
    return H


@njit(cache=True)
def spread(sep, rows, cols, FA, FB, H, Z, out, tmp):
    """out[k] = sum_c h(c, k) Z[c] (Z: (K, m) C-contiguous); tmp: (K, m) scratch for the separable path.

    Separable: along the columns tmp[(a, j)] = sum_b FB[b, j] Z[(a, b)] (one small product per row a),
    then along the rows out[(i, j)] = sum_a FA[a, i] tmp[(a, j)] (one product). The factor tables are
    symmetric (functions of |index difference|), so FB and FA serve as their own transposes.
    """
    m = Z.shape[1]
    if not sep:
        np.dot(H, Z, out)  # H is symmetric
        return
    for a in range(rows):
        np.dot(FB, Z[a * cols:(a + 1) * cols], tmp[a * cols:(a + 1) * cols])
    np.dot(FA, tmp.reshape((rows, cols * m)), out.reshape((rows, cols * m)))
