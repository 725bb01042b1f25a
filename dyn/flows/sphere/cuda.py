"""CUDA kernels of the sphere flow (numba-cuda; imported only for ``device="cuda"``).

One CUDA block a replica, its threads over the vectors (vector j on thread j mod T). A pair force is
computed on each side of the pair: the thread of vector i loops over every other vector j in the CPU's
order and adds only into g[i] (a scatter into g[j] would race), so it computes each pair twice and each
vector's gradient holds the CPU's terms in the CPU's order (below 32 vectors: above, the CPU sums
them in SIMD lanes). The seed's backward first projects the data
points (threads over point x coordinate), then goes back to the vectors. The loss is each thread's share,
summed in shared memory in thread order by thread 0, so a run is reproducible; it differs from the CPU's
only by rounding (the CPU's dot products are reassociated into SIMD lanes, these are sequential).

The per-pair and per-coordinate math is the CPU kernels' scalar helpers; the frame loop is the engine's
(:func:`dyn.engine.loop.define_cuda_frame_loop`).
"""

import math
import sys
from typing import NamedTuple

import numpy as np
from numba import cuda

from dyn.engine.loop import cuda_kernel, define_cuda_frame_loop, launch_cuda
from dyn.engine.precision import like
from dyn.flows.sphere import kernels as cpu
from dyn.flows.sphere.kernels import (ANGULAR, BEFORE, EXPONENTIAL, RIESZ, SEED, angular_term, great_circle,
                                      heavy_ball, seed_term, tangent)
from dyn.flows.sphere.pairs import riesz_pair, riesz_pair_slope

THREADS = 256  # at most this many threads a block (256 x 255 registers fit any GPU's register file)
LOSS = THREADS  # shared slot of the step's loss, after the threads' shares
SHARED = THREADS + 1


def threads_for(vectors):
    """Threads a block for ``vectors`` vectors."""
    return max(1, min(THREADS, int(vectors)))


class State(NamedTuple):
    """The CPU's state (w, v, acc: replica, vector, dim) and ``norm`` (replica, vector): each vector's norm
    before it was put back on the sphere in the last step (the snapshot's ``norm_before``)."""

    w: np.ndarray
    v: np.ndarray
    acc: np.ndarray
    norm: np.ndarray


class Work(NamedTuple):
    """Per replica: gradient ``g`` and directions ``u`` (vector, dim), the seed's projected points ``p``
    (sample, dim), ``xtw`` (sample, vector), ``nw2`` (vector,); ``xn`` (replica or 1, sample): |x_n|."""

    g: np.ndarray
    u: np.ndarray
    p: np.ndarray
    xtw: np.ndarray
    nw2: np.ndarray
    xn: np.ndarray


@cuda.jit(device=True)
def dot(a, b):
    total = like(a[0], 0.0)  # a row of the state or the data: d >= 2 elements
    for q in range(a.shape[0]):
        total += a[q] * b[q]
    return total


@cuda.jit(device=True)
def pair_forces(w, s, g, t, T):
    """Gradient of the Riesz energy on this thread's vectors into ``g``; its share of the energy (its pairs i < j)."""
    M, d = w.shape
    zero = like(w[0, 0], 0.0)
    part = zero
    for i in range(t, M, T):
        for q in range(d):
            g[i, q] = 0.0
        for j in range(M):
            if j == i:
                continue
            r2 = zero
            for q in range(d):
                dq = w[i, q] - w[j, q]
                r2 += dq * dq
            e = riesz_pair(r2, s)
            if j > i:
                part += e
            c = like(e, 2.0) * riesz_pair_slope(r2, e, s)
            for q in range(d):
                g[i, q] += c * (w[i, q] - w[j, q])
    return part


@cuda.jit(device=True)
def mhe_forces(w, s, g, u, t, T):
    """The MHE gradient on this thread's vectors; its share of the Riesz energy of u (the caller scales the sum)."""
    M, d = w.shape
    zero = like(w[0, 0], 0.0)
    for i in range(t, M, T):
        n = math.sqrt(dot(w[i], w[i]))
        inv = like(n, 1.0) / n
        for q in range(d):
            u[i, q] = w[i, q] * inv
    cuda.syncthreads()  # every direction is written before any pair is read
    part = pair_forces(u, s, g, t, T)
    scale = like(zero, 2.0) / like(zero, M * (M - 1))
    for i in range(t, M, T):
        n2, radial = zero, zero
        for q in range(d):
            n2 += w[i, q] * w[i, q]
            radial += g[i, q] * u[i, q]
        inv = scale / math.sqrt(n2)
        for q in range(d):
            g[i, q] = inv * tangent(g[i, q], radial, u[i, q])
    return part


@cuda.jit(device=True)
def angular_exact(w, x, xn, op, k, g, t, T):
    M, d = w.shape
    part = like(w[0, 0], 0.0)
    for j in range(t, M, T):
        nw2 = dot(w[j], w[j])
        nw = math.sqrt(nw2)
        aw = like(nw, 0.0)
        for q in range(d):
            g[j, q] = 0.0
        for n in range(x.shape[0]):
            gv2, awn, ax = angular_term(op, dot(x[n], w[j]), xn[n], nw, nw2, k)
            part += gv2
            aw += awn
            for q in range(d):
                g[j, q] += ax * x[n, q]
        for q in range(d):
            g[j, q] -= aw * w[j, q]
    return part


@cuda.jit(device=True)
def angular_seed(w, x, xn, op, k, g, p, xtw, nw2, t, T):
    """The seed's backward: p_n = x_n - sum_j w_j (x_n . w_j) / |w_j|^2 needs every vector, so it runs
    between two barriers, threads over (n, q)."""
    M, d = w.shape
    N = x.shape[0]
    for j in range(t, M, T):
        nw2[j] = dot(w[j], w[j])
        for n in range(N):
            xtw[n, j] = dot(x[n], w[j])
    cuda.syncthreads()
    for e in range(t, N * d, T):
        n = e // d
        q = e - n * d
        pq = x[n, q]
        for j in range(M):
            pq -= w[j, q] * (xtw[n, j] / nw2[j])
        p[n, q] = pq
    cuda.syncthreads()
    part = like(w[0, 0], 0.0)
    for j in range(t, M, T):
        nw = math.sqrt(nw2[j])
        for q in range(d):
            g[j, q] = 0.0
        for n in range(N):
            gv2, inv = seed_term(op, xtw[n, j], xn[n], nw, nw2[j], k)
            part += gv2
            for q in range(d):
                g[j, q] += inv * p[n, q]
    return part


@cuda.jit(device=True)
def step_vector(w, src, v, rule, lr, mu):
    """The CPU's ``step_vector`` on one vector (d,), its coordinates by the same scalar helpers."""
    d = w.shape[0]
    lr = like(w[0], lr)
    if rule <= BEFORE:
        for q in range(d):
            v[q] = heavy_ball(mu, v[q], src[q])
        if rule == BEFORE:
            n = math.sqrt(dot(w, w))
            for q in range(d):
                w[q] = w[q] / n - lr * v[q]
            return n
    else:
        n = math.sqrt(dot(w, w))
        inv = like(n, 1.0) / n
        for q in range(d):
            w[q] *= inv
        dv, ds = dot(v, w), dot(src, w)
        for q in range(d):
            v[q] = heavy_ball(mu, tangent(v[q], dv, w[q]), tangent(src[q], ds, w[q]))
        if rule == EXPONENTIAL:
            vn = math.sqrt(dot(v, v))
            ca, sa, n = great_circle(lr, vn)
            if vn > 0.0:
                for q in range(d):
                    w[q] = ca * w[q] - sa * v[q]
            return n
    for q in range(d):
        w[q] -= lr * v[q]
    n = math.sqrt(dot(w, w))
    for q in range(d):
        w[q] /= n
    return n


@cuda.jit(device=True)
def step_cuda(r, states, consts, inputs, work, shared, s):
    t = cuda.threadIdx.x
    T = cuda.blockDim.x
    c = consts
    w, v, acc, norm = states.w[r], states.v[r], states.acc[r], states.norm[r]
    x = inputs.x[r] if inputs.x.shape[0] > 1 else inputs.x[0]
    xn = work.xn[r] if work.xn.shape[0] > 1 else work.xn[0]
    g = work.g[r]
    M = w.shape[0]
    scale = like(w[0, 0], 1.0)
    if c.obj == ANGULAR:
        if c.grad == SEED:
            part = angular_seed(w, x, xn, c.op, c.k, g, work.p[r], work.xtw[r], work.nw2[r], t, T)
        else:
            part = angular_exact(w, x, xn, c.op, c.k, g, t, T)
    elif c.obj == RIESZ:
        part = pair_forces(w, c.s, g, t, T)
    else:
        part = mhe_forces(w, c.s, g, work.u[r], t, T)
        scale = like(scale, 2.0) / like(scale, M * (M - 1))
    shared[t] = part
    cuda.syncthreads()
    if t == 0:
        total = like(scale, 0.0)
        for j in range(T):
            total += shared[j]
        shared[LOSS] = scale * total
    cuda.syncthreads()
    loss = shared[LOSS]  # thread 0 writes it again only after the next step's first barrier
    if not math.isfinite(loss):
        return loss
    if t == 0:
        inputs.loss_iter[r, inputs.iter0 + s] = loss
    src = acc if c.accumulate else g
    for j in range(t, M, T):
        if c.accumulate:
            for q in range(w.shape[1]):
                acc[j, q] += g[j, q]
        norm[j] = step_vector(w[j], src[j], v[j], c.rule, c.lr, c.mu)
    cuda.syncthreads()  # every vector has moved before the next step reads them
    return loss


@cuda.jit(device=True)
def snapshot_cuda(r, states, snaps, f, loss):
    w, norm = states.w[r], states.norm[r]
    for j in range(cuda.threadIdx.x, w.shape[0], cuda.blockDim.x):
        snaps.norm[r, f, j] = norm[j]
        for q in range(w.shape[1]):
            snaps.w[r, f, j, q] = w[j, q]


define_cuda_frame_loop(globals())


class GpuRun:
    """A sphere job's state on the GPU: one launch per block of frames; its records, and the losses of its
    steps, copied back per block; the state copied back by :meth:`fetch`."""

    def __init__(self, job):
        R, M, d = job.w.shape
        f = self.dtype = job.dtype  # the run's float type: every array on the device, and the kernel's
        x = np.ascontiguousarray(job.x, dtype=f)
        N = x.shape[1]
        xn = np.stack([cpu.row_norms(xr) for xr in x])  # the CPU's |x_n|, as its scratch computes them
        self.job = job
        self.state = State(cuda.to_device(job.w), cuda.to_device(job.v), cuda.to_device(job.acc),
                           cuda.to_device(np.full((R, M), np.nan, f)))
        self.x = cuda.to_device(x)
        self.work = Work(cuda.device_array((R, M, d), f), cuda.device_array((R, M, d), f),
                         cuda.device_array((R, N, d), f), cuda.device_array((R, N, M), f), cuda.device_array((R, M), f),
                         cuda.to_device(xn))
        self.kernel = cuda_kernel(sys.modules[__name__], f)  # advance_cuda or advance_cuda_float32
        self.threads = threads_for(M)  # a test may lower it: threads then hold several vectors

    def advance(self, lo, hi, frame_steps, consts):
        job = self.job
        R, M, d = job.w.shape
        F, n, step0 = hi - lo, int(frame_steps.sum()), job.step_at(lo)
        loss = cuda.to_device(np.full((R, n), np.nan, self.dtype))
        snaps = cpu.Snaps(cuda.device_array((R, F, M, d), self.dtype), cuda.device_array((R, F, M), self.dtype))
        launch_cuda(job, self.kernel, self.threads, self.state, consts, cpu.Inputs(self.x, loss, 0), self.work, lo, hi,
                    frame_steps, snaps, (("w", snaps.w), ("norm_before", snaps.norm)))
        i0 = step0 - job.step_at(0)
        job.loss_iter[:, i0:i0 + n] = loss.copy_to_host()

    def fetch(self):
        """Copy the vectors and the optimiser buffers back into the job's arrays."""
        for name in ("w", "v", "acc"):
            getattr(self.state, name).copy_to_host(getattr(self.job, name))
