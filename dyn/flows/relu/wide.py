"""The relu step for wide students: every sample of a step against tiles of neurons, tiles on idle cores.

The per-sample kernel (:mod:`dyn.flows.relu.kernels`) sweeps the whole student once per sample: at
m = 1e5 that is nine arrays of length m streamed from L3 twenty times a step. Here a step is one sweep
over tiles of ``TILE`` neurons (held in L1 while they are worked on): a tile takes its neurons' gradient
over all the step's samples, moves them, and at once computes its share of the next step's student
outputs, sum over the tile of a_k relu(w_k . x + b_k) for each of the next step's samples. Between two
sweeps the student outputs are the per-tile partial sums added in tile order, the errors and the loss
come from them (the loss of a step is known before its update, so a non-finite loss stops the replica at
that step, as in the frame loop of :mod:`dyn.engine.loop`).

Where :func:`split_tiles` (wide students, idle cores) one replica's tiles run in ``prange`` and the
replicas one after the other; otherwise the replicas run in ``prange``, each one's tiles on its thread.
The tiles are fixed (``TILE`` neurons each, the last one shorter), each tile's partial sums are written to
its own row and summed in tile order, and every neuron's gradient is a sum over the step's samples in
sample order: the numbers do not depend on the thread count nor on the split. The per-neuron arithmetic
is the per-sample kernel's, but for the student output's summation order (per tile, then over tiles) and,
in two dimensions, products contracted into FMAs: the two agree to rounding (~3e-16 relative after a seed
run) but not bit for bit. The job uses this kernel from ``WIDE_FROM`` neurons only
(:class:`dyn.flows.relu.job.ReluJob`), and every narrower run keeps the per-sample kernel's numbers.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numba
import numpy as np
from numba import get_thread_id, njit, prange

from dyn.engine.precision import like
from dyn.flows.relu.kernels import drelu, relu, replica, teacher_output

TILE = 256  # neurons a tile: weights and gradient buffers of a tile take ~20 KB of L1 at d = 2
WIDE_FROM = 256  # widths from which ReluJob uses this kernel (measured: studies/benchmarks/relu_wide.py)
THREADS_FROM = 4096  # widths from which (measured on a quiet machine: split 1.2x faster at m = 1e3, 1.7x at 1e4) a student's tiles are split across idle cores (see split_tiles)


class Scratch(NamedTuple):
    """A thread's work arrays for one tile: pre-activations ``z``, per-sample e/m a_k relu'(z_k) ``v``, and
    the gradient sums ``ga``, ``gb`` (TILE,) and ``gw`` (d, TILE). With a leading thread axis in :func:`sweep`."""

    z: np.ndarray
    v: np.ndarray
    ga: np.ndarray
    gb: np.ndarray
    gw: np.ndarray


# The tile functions index the tile through views (a[lo:lo + T], wt[q, lo:lo + T]): an index lo + kk is not
# known to be non-negative, and its wrap-around check turns every load into a gather (4x slower).


@njit(cache=True)
def preactivations(wt, b, x, lo, T, z):
    """z[:T] = w_k . x + b_k for the tile's neurons k = lo..lo+T-1 (the per-sample kernel's order)."""
    bt = b[lo:lo + T]
    for kk in range(T):
        z[kk] = bt[kk]
    for q in range(x.shape[0]):
        xq = x[q]
        wq = wt[q, lo:lo + T]
        for kk in range(T):
            z[kk] += wq[kk] * xq


@njit(cache=True, fastmath={"reassoc"})
def tile_output(a, lo, T, z):
    """sum over the tile of a_k relu(z_k): reassociated into SIMD lanes in an order fixed by the code (as
    :func:`dyn.flows.relu.kernels.student_output`)."""
    at = a[lo:lo + T]
    out = like(z[0], 0.0)
    for kk in range(T):
        out += at[kk] * relu(z[kk])
    return out


@njit(cache=True, error_model="numpy")
def update_any_dim(a, wt, b, x, coef, i0, n, h, train_a, bias, lo, T, work):
    z, v, ga, gb, gw = work
    at, bt = a[lo:lo + T], b[lo:lo + T]
    d = wt.shape[0]
    ga[:] = 0.0
    gb[:] = 0.0
    gw[:, :] = 0.0
    for i in range(n):
        xi = x[i0 + i]
        c = coef[i]
        preactivations(wt, b, xi, lo, T, z)
        for kk in range(T):
            ga[kk] += c * relu(z[kk])
            v[kk] = c * (at[kk] * drelu(z[kk]))
            gb[kk] += v[kk]
        for q in range(d):
            xq = xi[q]
            gq = gw[q]
            for kk in range(T):
                gq[kk] += v[kk] * xq
    if train_a:
        for kk in range(T):
            at[kk] -= h * ga[kk]
    if bias:
        for kk in range(T):
            bt[kk] -= h * gb[kk]
    for q in range(d):
        wq, gq = wt[q, lo:lo + T], gw[q]
        for kk in range(T):
            wq[kk] -= h * gq[kk]


@njit(cache=True)
def outputs_any_dim(a, wt, b, x, i0, n, lo, T, z, part, t):
    for i in range(n):
        preactivations(wt, b, x[i0 + i], lo, T, z)
        part[t, i] = tile_output(a, lo, T, z)


# In two dimensions (the seed's) the tile's loops are fused and blocked by four samples: z stays in registers,
# each neuron's weights and gradient sums are loaded and stored once per four samples (the store port is the
# limit of the general loops), and products are contracted into FMAs: ~3.5x faster than the general loops
# (0.46 against 1.6 ns a sample and neuron on one core). The sums still run over samples in sample order.


@njit(cache=True, fastmath={"contract"})
def preactivation2(b, w0, w1, x0, x1):
    """w . x + b in two dimensions (contracted: fma(w1, x1, fma(w0, x0, b)))."""
    return b + w0 * x0 + w1 * x1


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def gradient_2d(at, bt, w0, w1, x, c, lo_i, hi_i, T, ga, gb, g0, g1):
    """Add samples lo_i..hi_i-1 (fewer than 4) to the tile's gradient sums, one at a time."""
    for i in range(lo_i, hi_i):
        x0, x1, ci = x[i, 0], x[i, 1], c[i - lo_i]
        for kk in range(T):
            z = preactivation2(bt[kk], w0[kk], w1[kk], x0, x1)
            ga[kk] += ci * relu(z)
            v = ci * (at[kk] * drelu(z))
            gb[kk] += v
            g0[kk] += v * x0
            g1[kk] += v * x1


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def update_2d(a, wt, b, x, coef, i0, n, h, train_a, bias, lo, T, work):
    at, bt, w0, w1 = a[lo:lo + T], b[lo:lo + T], wt[0, lo:lo + T], wt[1, lo:lo + T]
    ga, gb, g0, g1 = work.ga, work.gb, work.gw[0], work.gw[1]
    ga[:] = 0.0
    gb[:] = 0.0
    g0[:] = 0.0
    g1[:] = 0.0
    full = n - n % 4
    for i in range(0, full, 4):
        j = i0 + i
        p0, p1, q0, q1, r0, r1, s0, s1 = x[j, 0], x[j, 1], x[j + 1, 0], x[j + 1, 1], x[j + 2, 0], x[j + 2, 1], \
            x[j + 3, 0], x[j + 3, 1]
        cp, cq, cr, cs = coef[i], coef[i + 1], coef[i + 2], coef[i + 3]
        for kk in range(T):
            bk, u0, u1, ak = bt[kk], w0[kk], w1[kk], at[kk]
            zp, zq = preactivation2(bk, u0, u1, p0, p1), preactivation2(bk, u0, u1, q0, q1)
            zr, zs = preactivation2(bk, u0, u1, r0, r1), preactivation2(bk, u0, u1, s0, s1)
            vp, vq = cp * (ak * drelu(zp)), cq * (ak * drelu(zq))
            vr, vs = cr * (ak * drelu(zr)), cs * (ak * drelu(zs))
            ga[kk] = ga[kk] + cp * relu(zp) + cq * relu(zq) + cr * relu(zr) + cs * relu(zs)
            gb[kk] = gb[kk] + vp + vq + vr + vs
            g0[kk] = g0[kk] + vp * p0 + vq * q0 + vr * r0 + vs * s0
            g1[kk] = g1[kk] + vp * p1 + vq * q1 + vr * r1 + vs * s1
    gradient_2d(at, bt, w0, w1, x, coef[full:n], i0 + full, i0 + n, T, ga, gb, g0, g1)
    for kk in range(T):
        if train_a:
            at[kk] -= h * ga[kk]
        if bias:
            bt[kk] -= h * gb[kk]
        w0[kk] -= h * g0[kk]
        w1[kk] -= h * g1[kk]


@njit(cache=True, fastmath={"reassoc", "contract"})
def outputs_2d(a, wt, b, x, i0, n, lo, T, z, part, t):
    at, bt, w0, w1 = a[lo:lo + T], b[lo:lo + T], wt[0, lo:lo + T], wt[1, lo:lo + T]
    full = n - n % 4
    for i in range(0, full, 4):
        j = i0 + i
        p0, p1, q0, q1, r0, r1, s0, s1 = x[j, 0], x[j, 1], x[j + 1, 0], x[j + 1, 1], x[j + 2, 0], x[j + 2, 1], \
            x[j + 3, 0], x[j + 3, 1]
        op = oq = orr = os = like(x[j, 0], 0.0)
        for kk in range(T):
            bk, u0, u1, ak = bt[kk], w0[kk], w1[kk], at[kk]
            op += ak * relu(preactivation2(bk, u0, u1, p0, p1))
            oq += ak * relu(preactivation2(bk, u0, u1, q0, q1))
            orr += ak * relu(preactivation2(bk, u0, u1, r0, r1))
            os += ak * relu(preactivation2(bk, u0, u1, s0, s1))
        part[t, i], part[t, i + 1], part[t, i + 2], part[t, i + 3] = op, oq, orr, os
    for i in range(full, n):
        x0, x1 = x[i0 + i, 0], x[i0 + i, 1]
        out = like(x0, 0.0)
        for kk in range(T):
            out += at[kk] * relu(preactivation2(bt[kk], w0[kk], w1[kk], x0, x1))
        part[t, i] = out


@njit(cache=True, error_model="numpy")
def tile_update(a, wt, b, x, coef, i0, n, h, train_a, bias, lo, T, work):
    """Move neurons lo..lo+T-1 by ``h`` times their gradient summed over samples x[i0:i0 + n] with error
    coefficients ``coef[:n]`` (e/m of each sample); ``work`` is the thread's :class:`Scratch`."""
    if wt.shape[0] == 2:
        update_2d(a, wt, b, x, coef, i0, n, h, train_a, bias, lo, T, work)
    else:
        update_any_dim(a, wt, b, x, coef, i0, n, h, train_a, bias, lo, T, work)


@njit(cache=True)
def tile_outputs(a, wt, b, x, i0, n, lo, T, z, part, t):
    """part[t, i] = sum over the tile's neurons of a_k relu(w_k . x_i + b_k), for samples x[i0:i0 + n]."""
    if wt.shape[0] == 2:
        outputs_2d(a, wt, b, x, i0, n, lo, T, z, part, t)
    else:
        outputs_any_dim(a, wt, b, x, i0, n, lo, T, z, part, t)


@njit(cache=True, error_model="numpy")
def tile_sweep(state, consts, inputs, coef, s, nxt, work, part, t):
    """Tile ``t``'s share of :func:`sweep`, with the calling thread's row of ``work``."""
    a, wt, b = state
    x = inputs.x
    lo = t * TILE
    T = min(a.shape[0], lo + TILE) - lo
    tid = get_thread_id()
    buf = Scratch(work.z[tid], work.v[tid], work.ga[tid], work.gb[tid], work.gw[tid])
    if s >= 0:
        n = inputs.sizes[s]
        h = like(a[lo], consts.lr) / like(a[lo], n)
        tile_update(a, wt, b, x, coef, inputs.starts[s], n, h, consts.train_a, consts.bias, lo, T, buf)
    if nxt >= 0:
        tile_outputs(a, wt, b, x, inputs.starts[nxt], inputs.sizes[nxt], lo, T, buf.z, part, t)


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def sweep(state, consts, inputs, coef, s, nxt, work, part, threads):
    """Step ``s`` on every tile (none if s < 0), then each tile's partial outputs for step ``nxt`` (none
    if nxt < 0) into ``part[tile]``; tiles in parallel if ``threads`` (a parallel region costs ~10-50 us
    on this machine: too much for a step of a narrow student), on the calling thread otherwise."""
    tiles = part.shape[0]
    if threads:
        for t in prange(tiles):
            tile_sweep(state, consts, inputs, coef, s, nxt, work, part, t)
    else:
        for t in range(tiles):
            tile_sweep(state, consts, inputs, coef, s, nxt, work, part, t)


@njit(cache=True, error_model="numpy")
def step_errors(consts, inputs, part, coef, s, inv_m):
    """The student outputs of step ``s`` (partial sums in tile order), its error coefficients e/m into
    ``coef`` and its mean loss."""
    ta, tw, tb = consts.ta, consts.tw, consts.tb
    n = inputs.sizes[s]
    i0 = inputs.starts[s]
    loss = like(inv_m, 0.0)
    for i in range(n):
        out = like(inv_m, 0.0)
        for t in range(part.shape[0]):
            out += part[t, i]
        err = out * inv_m - teacher_output(ta, tw, tb, inputs.x[i0 + i])
        loss += like(inv_m, 0.5) * err * err
        coef[i] = inv_m * err
    return loss / like(inv_m, n)


@njit(cache=True, nogil=True)
def snapshot(state, snaps, slot, loss):
    a, wt, b = state
    for k in range(a.shape[0]):
        snaps.a[slot, k] = a[k]
        snaps.b[slot, k] = b[k]
        for q in range(wt.shape[0]):
            snaps.w[slot, k, q] = wt[q, k]
    snaps.loss[slot] = loss


@njit(cache=True, nogil=True, error_model="numpy")
def run_frames(state, consts, inputs, frame_steps, step0, snaps, slot0, work, threads):
    """One replica through a block of frames; returns the step it diverged at, or -1."""
    m = state.a.shape[0]
    steps = frame_steps.sum()
    one = like(state.a[0], 1.0)  # the run's float type
    part = np.empty(((m + TILE - 1) // TILE, max(1, inputs.sizes.max())), state.a.dtype)
    coef = np.empty(part.shape[1], state.a.dtype)
    inv_m = one / like(one, m)
    sweep(state, consts, inputs, coef, -1, 0 if steps > 0 else -1, work, part, threads)
    s = 0
    for f in range(frame_steps.shape[0]):
        total = one - one  # in the run's float type, as the engine's frame loop sums
        for _ in range(frame_steps[f]):
            loss = step_errors(consts, inputs, part, coef, s, inv_m)
            if not np.isfinite(loss):
                return step0 + s + 1
            total += loss
            sweep(state, consts, inputs, coef, s, s + 1 if s + 1 < steps else -1, work, part, threads)
            s += 1
        snapshot(state, snaps, slot0 + f, total / like(one, frame_steps[f]))
    return -1


@njit(cache=True, nogil=True, error_model="numpy")
def advance_replica(r, states, consts, inputs, frame_steps, step0, snaps, slot0, diverged_at, work, threads):
    if diverged_at[r] < 0:
        state, inp, snap = replica(states, inputs, snaps, r)
        diverged_at[r] = run_frames(state, consts, inp, frame_steps, step0, snap, slot0, work, threads)


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def advance_replicas(states, consts, inputs, frame_steps, step0, snaps, slot0, diverged_at, work, threads):
    """Replicas one after the other, each one's tiles across the cores (``threads``), or replicas in
    parallel, each one's tiles on its thread."""
    if threads:
        for r in range(diverged_at.shape[0]):
            advance_replica(r, states, consts, inputs, frame_steps, step0, snaps, slot0, diverged_at, work, True)
    else:
        for r in prange(diverged_at.shape[0]):
            advance_replica(r, states, consts, inputs, frame_steps, step0, snaps, slot0, diverged_at, work, False)


def cores_idle():
    """Whether the other cores are free: the 1-minute load average (this process included) below the
    threads' count less a half. A step split across the cores waits at its end for every thread, so a thread
    the system has descheduled stalls each step for a time slice: on this machine, shared at load ~10, the
    seed's run took 6x (m = 1e5) to 57x (m = 1e3) longer split across two threads than on one."""
    return os.getloadavg()[0] < numba.get_num_threads() - 0.5


def split_tiles(width):
    """Whether a student's tiles run across the cores: from ``THREADS_FROM`` neurons (a step's work, ~150 us,
    well above a parallel region's cost), when :func:`cores_idle`. The numbers are the same either way."""
    return width >= THREADS_FROM and numba.get_num_threads() > 1 and cores_idle()


def advance(states, consts, inputs, frame_steps, step0, snaps, slot0, diverged_at):
    """The frame loop's ``advance`` (same arguments, :mod:`dyn.engine.loop`). Where :func:`split_tiles`, the
    replicas run one after the other, each one's tiles split across the cores; otherwise one replica a
    thread."""
    P, d, dtype = numba.config.NUMBA_NUM_THREADS, states.wt.shape[1], states.a.dtype
    work = Scratch(*(np.empty((P, TILE), dtype) for _ in range(4)), np.empty((P, d, TILE), dtype))
    threads = split_tiles(states.a.shape[1])
    advance_replicas(states, consts, inputs, frame_steps, step0, snaps, slot0, diverged_at, work, threads)
