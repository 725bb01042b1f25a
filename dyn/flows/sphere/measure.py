"""What is measured at a sphere run's snapshots, after the run: the objective, its gradient's radial and tangent
parts, the directions' energy and their minimum angle."""

import math

import numpy as np
from numba import njit, prange

from dyn.flows.sphere.kernels import MHE, dot, normalise_rows, objective, row_norms
from dyn.flows.sphere.pairs import PAIR_TILES, pair_scratch, riesz


@njit(cache=True, error_model="numpy")
def direction_energy(w, energy_kind, s, u, g, pairs):
    """(energy, minimum pairwise angle) of the directions u = w/|w|; energy_kind RIESZ or MHE. ``g`` (M, d) and
    ``pairs`` are scratch. One sweep over the pairs: the largest cosine u_i . u_j is taken with the energy."""
    M = w.shape[0]
    normalise_rows(w, u)
    tops = np.full(PAIR_TILES, -1.0)
    energy = riesz(u, s, g, pairs, tops)
    if energy_kind == MHE:
        energy *= 2.0 / (M * (M - 1))
    angle = math.acos(min(1.0, tops.max())) if M > 1 else np.nan
    return energy, angle


@njit(cache=True, error_model="numpy", parallel=True)
def measure(snap_w, x, obj, op, k, s, grad, energy_kind, loss, radial, tangent, energy, min_angle):
    """Objective, gradient norms (radial and tangent to w/|w|), energy and minimum angle of each snapshot.

    ``snap_w`` (R, T, M, d), of the run's float type: each snapshot is measured in float64; ``x`` float64; outputs
    (R, T) or (R, T, M), NaN left where a snapshot is NaN (diverged).
    """
    R, T, M, d = snap_w.shape
    for job in prange(R * T):  # the snapshots in parallel, each measured on one thread: the same bits on any count
        r, t = job // T, job % T
        if not np.isfinite(snap_w[r, t, 0, 0]):
            continue
        w = np.empty((M, d))  # the snapshot in float64 (a float32 run's: exact)
        w[:, :] = snap_w[r, t]
        xr = x[r] if x.shape[0] > 1 else x[0]
        N = xr.shape[0]
        g, u = np.empty((M, d)), np.empty((M, d))
        loss[r, t] = objective(w, xr, row_norms(xr), obj, op, k, s, grad, g, u, np.empty((N, d)), np.empty((N, M)))
        normalise_rows(w, u)
        for j in range(M):
            a, b = dot(g[j], u[j]), 0.0
            for q in range(d):
                b += (g[j, q] - a * u[j, q]) ** 2
            radial[r, t, j] = abs(a)
            tangent[r, t, j] = math.sqrt(b)
        energy[r, t], min_angle[r, t] = direction_energy(w, energy_kind, s, u, g, pair_scratch(M, d))
