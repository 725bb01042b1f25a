"""CUDA kernels of the som flow's online, heskes and batch rules (numba-cuda; imported only for ``device="cuda"``).

One CUDA block a replica, its threads over the map's units (unit k on thread k mod T, T <= units). The best
unit is found by a fixed-order argmin in shared memory: each thread keeps the first of its units with the
smallest value, then thread 0 takes the smallest (value, unit) pair over the threads in order, which is the
first argmin, as the CPU's loops find it; MiniSom's ties of equal norms (:func:`~dyn.flows.som.units.same_norm`)
are resolved the same way. The per-unit math (distance, neighbourhood, update) is the CPU kernels' scalar
helpers (:mod:`dyn.flows.som.units`), and the frame loop is the engine's
(:func:`dyn.engine.loop.define_cuda_frame_loop`). The weights are held as (replica, dim, unit) for every rule,
so that the threads of a block read neighbouring units. Differences from the CPU are of rounding only: the
batch rule's x.w and the Heskes rule's sum_c h(c, k) |x - w_c|^2 are summed unit by unit here, by BLAS or
by row and column factors there.

The kernels are generic over the run's float type: a float32 run (``advance_cuda_float32``, float32 arrays and
shared memory, constants ``like`` them) does its arithmetic in float32 throughout, schedules included.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import cuda

from dyn.engine.loop import define_cuda_frame_loop
from dyn.engine.precision import like
from dyn.flows.som.neighbourhood import decay, wrap
from dyn.flows.som.units import BATCH, blended, expanded_sq, moved, same_norm, sq_diff, unit_neighbourhood

THREADS = 128  # at most this many threads a block
IDX, PART = THREADS, 2 * THREADS  # shared: values [0, T), their units [IDX, IDX + T), partial sums [PART, ...)
WIN, BEST, TOTAL = 3 * THREADS, 3 * THREADS + 1, 3 * THREADS + 2
SHARED = 3 * THREADS + 3


class Work(NamedTuple):
    """Per replica: ``d2`` (unit,) the step's squared distances, ``wsq`` (unit,) |w_k|^2, ``xsum`` (dim, unit) and
    ``cnt`` (unit,) the epoch's samples by winner, ``num`` (dim, unit) their neighbourhood sums."""

    d2: np.ndarray
    wsq: np.ndarray
    xsum: np.ndarray
    cnt: np.ndarray
    num: np.ndarray


def threads_for(units):
    """Threads a block for a map of ``units`` units."""
    return max(1, min(THREADS, int(units)))


@cuda.jit(device=True)
def block_argmin(shared, value, unit, part):
    """(unit, value, sum of the parts) of the block: the smallest (value, unit) pair over its threads, each
    giving the first of its units with its smallest value; the threads' ``part`` summed in thread order."""
    t = cuda.threadIdx.x
    shared[t] = value
    shared[IDX + t] = unit  # exact in float32 up to 2**24 units
    shared[PART + t] = part
    cuda.syncthreads()
    if t == 0:
        bv, bu, total = shared[0], shared[IDX], shared[PART]
        for j in range(1, cuda.blockDim.x):
            v, u = shared[j], shared[IDX + j]
            if v < bv or (v == bv and u < bu):
                bv, bu = v, u
            total += shared[PART + j]
        shared[WIN], shared[BEST], shared[TOTAL] = bu, bv, total
    cuda.syncthreads()
    return int(shared[WIN]), shared[BEST], shared[TOTAL]


@cuda.jit(device=True)
def unit_h(consts, c, k, sigma):
    """h(c, k): the wrapped index and plane differences of units c and k, then the shared scalar helper."""
    p = consts.periods
    return unit_neighbourhood(consts.code, consts.sep, wrap(like(sigma, consts.gi[k] - consts.gi[c]), p[2]),
                              wrap(like(sigma, consts.gj[k] - consts.gj[c]), p[3]),
                              wrap(consts.gx[k] - consts.gx[c], p[0]), wrap(consts.gy[k] - consts.gy[c], p[1]), sigma)


@cuda.jit(device=True)
def online_step(w, consts, x, d2, shared, eta, sig):
    """One sample: the best unit (Heskes': of the spread distances), then every unit moves towards x."""
    t, T = cuda.threadIdx.x, cuda.blockDim.x
    D, K = w.shape
    zero = like(eta, 0.0)
    best, win, part = like(eta, math.inf), K, zero
    for k in range(t, K, T):
        acc = zero
        for q in range(D):
            acc += sq_diff(x[q], w[q, k])
        d2[k] = acc
        part += acc
        if acc < best:
            best, win = acc, k
    c, best, total = block_argmin(shared, best, win, part)
    if not math.isfinite(total):
        return total
    first = K
    for k in range(t, c, T):  # MiniSom's argmin of norms: an earlier unit of the same norm
        if same_norm(d2[k], best):
            first = k
            break
    c2, _, _ = block_argmin(shared, like(eta, first), first, zero)
    if c2 < K:
        c = c2
    if consts.heskes:  # the winner minimises sum_j h(k, j) |x - w_j|^2
        low, win = like(eta, math.inf), K
        for k in range(t, K, T):
            acc = zero
            for j in range(K):
                acc += unit_h(consts, j, k, sig) * d2[j]
            if acc < low:
                low, win = acc, k
        c, _, _ = block_argmin(shared, low, win, zero)
    for k in range(t, K, T):
        h = unit_h(consts, c, k, sig) * eta
        for q in range(D):
            w[q, k] = moved(w[q, k], h, x[q])
    return total


@cuda.jit(device=True)
def batch_step(w, consts, X, work_r, shared, eta, sig):
    """One epoch of MiniSom's batch map: every sample's best unit, then each unit to the neighbourhood mean."""
    t, T = cuda.threadIdx.x, cuda.blockDim.x
    D, K = w.shape
    wsq, xsum, cnt, num = work_r
    zero, one = like(eta, 0.0), like(eta, 1.0)
    for k in range(t, K, T):
        acc = zero
        for q in range(D):
            acc += w[q, k] * w[q, k]
        wsq[k] = acc
        cnt[k] = zero
        for q in range(D):
            xsum[q, k] = zero
    cuda.syncthreads()
    for b in range(X.shape[0]):
        xsq = zero
        for q in range(D):
            xsq += X[b, q] * X[b, q]
        best, win = like(eta, math.inf), K
        for k in range(t, K, T):
            dot = zero
            for q in range(D):
                dot += X[b, q] * w[q, k]
            v = expanded_sq(xsq, wsq[k], dot)
            if v < best:
                best, win = v, k
        c, _, _ = block_argmin(shared, best, win, zero)
        if c == K:  # no finite value (the CPU takes unit 0 then)
            c = 0
        for q in range(t, D, T):
            xsum[q, c] += X[b, q]
        if t == 0:
            cnt[c] += one
    cuda.syncthreads()
    bad = zero
    for k in range(t, K, T):
        den = zero
        for c in range(K):
            den += unit_h(consts, c, k, sig) * cnt[c]
        for q in range(D):
            acc = zero
            for c in range(K):
                acc += unit_h(consts, c, k, sig) * xsum[q, c]
            num[q, k] = acc
        if den > zero:
            for q in range(D):
                w[q, k] = blended(w[q, k], eta, num[q, k], den)
        for q in range(D):
            if not math.isfinite(w[q, k]):
                bad = one
    _, _, bad = block_argmin(shared, zero, 0, bad)
    return like(eta, math.nan) if bad > zero else zero


@cuda.jit(device=True)
def step_cuda(r, states, consts, inputs, work, shared, s):
    t = inputs.step0 + s
    eta = decay(consts.lr_code, consts.lr0, t, consts.T)
    sig = decay(consts.sigma_code, consts.sigma0, t, consts.T)
    w = states.w[r]
    if consts.rule == BATCH:  # else an online rule, Heskes' when consts.heskes
        loss = batch_step(w, consts, inputs.x, (work.wsq[r], work.xsum[r], work.cnt[r], work.num[r]), shared, eta,
                          sig)
    else:
        order = inputs.order[r] if inputs.order.shape[0] > 1 else inputs.order[0]
        loss = online_step(w, consts, inputs.x[order[s]], work.d2[r], shared, eta, sig)
    cuda.syncthreads()
    return loss


@cuda.jit(device=True)
def snapshot_cuda(r, states, snaps, f, loss):
    t = cuda.threadIdx.x
    w = states.w[r]
    for k in range(t, w.shape[1], cuda.blockDim.x):
        for q in range(w.shape[0]):
            snaps.w[r, f, k, q] = w[q, k]
    if t == 0:
        snaps.loss[r, f] = loss


define_cuda_frame_loop(globals())


def work_arrays(replicas, units, dim, batch, dtype=np.float64):
    """The device work arrays of ``replicas`` maps, of the run's ``dtype`` (the other rule's are 1-element
    placeholders)."""
    R, K, D = replicas, units, dim
    one, big = (R, 1) if batch else (R, K), (R, K) if batch else (R, 1)
    return Work(cuda.device_array(one, dtype), cuda.device_array(big, dtype),
                cuda.device_array((R, D, K) if batch else (R, 1, 1), dtype), cuda.device_array(big, dtype),
                cuda.device_array((R, D, K) if batch else (R, 1, 1), dtype))
