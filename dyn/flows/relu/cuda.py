"""CUDA kernels of the relu flow (numba-cuda; imported only for ``device="cuda"``).

One CUDA block a replica, its threads over the student's neurons (neuron k on thread k mod T). A sample's
student output is summed in shared memory in a fixed order (each thread's neurons in order, then the
threads in order by thread 0), so a run is reproducible; it differs from the CPU's sum only by rounding.
The per-neuron math is the CPU kernels' scalar helpers (:func:`relu`, :func:`drelu`), and the frame loop
is the engine's (:func:`dyn.engine.loop.define_cuda_frame_loop`). State, inputs and work arrays are the
CPU kernels' NamedTuples, holding device arrays, all of the run's float type: constants are ``like(x, c)``, so
that a float32 run (``advance_cuda_float32``) does float32 arithmetic only, but for the draws of rng="counter":
there the block draws each step's samples itself into ``work.x`` with the counter's scalar helpers (float64
normals, stored in the run's type: a CPU run's numbers), and no input array goes to the device.
"""

import numpy as np
from numba import config, cuda
from numba.extending import overload

from dyn.engine.counter import normal_pair
from dyn.engine.loop import define_cuda_frame_loop
from dyn.engine.precision import like
from dyn.engine.streams import DATA
from dyn.flows.relu.kernels import drelu, relu

THREADS = 128  # at most this many threads a block
ERR, LOSS = THREADS, THREADS + 1  # shared slots: the sample's error, the batch's summed loss
SHARED = THREADS + 2


def threads_for(width):
    """Threads a block for a student of ``width`` neurons."""
    return max(1, min(THREADS, int(width)))


@cuda.jit(device=True)
def given_samples(inputs, r, s):
    """Step s's samples from the inputs: rows i0 : i0 + sizes[s] of the array returned, (x, i0)."""
    return (inputs.x[r] if inputs.x.shape[0] > 1 else inputs.x[0]), inputs.starts[s]


@cuda.jit(device=True)
def drawn_samples(inputs, work, r, s):
    """Step s's samples drawn by the block into ``work.x[r]`` (batch, d), as :func:`dyn.engine.counter.fill_normals`
    draws them on the CPU: coordinates 2 lane, 2 lane + 1 of sample j are ``normal_pair(seed + r, DATA, 0,
    step0 + s, j, lane)`` (float64, stored in the run's float type); thread t draws the pairs t, t + T, ..."""
    x = work.x[r]
    d = x.shape[1]
    lanes = (d + 1) // 2
    for pair in range(cuda.threadIdx.x, inputs.sizes[s] * lanes, cuda.blockDim.x):
        j, lane = pair // lanes, pair % lanes
        z0, z1 = normal_pair(inputs.seed + r, DATA, 0, inputs.step0 + s, j, lane)
        x[j, 2 * lane] = z0
        if 2 * lane + 1 < d:
            x[j, 2 * lane + 1] = z1
    cuda.syncthreads()
    return x, 0


def step_samples(inputs, work, r, s):
    """Step s's samples (x, i0): drawn in the kernel where the work arrays hold room for them (``work.x`` (R, batch,
    d), a rng="counter" run), else the inputs' (``work.x`` an empty placeholder (0,)). On a GPU the choice is made
    when the kernel is compiled (``work.x``'s number of dimensions), so that a run on given samples compiles no
    draws (a placeholder, not None: a kernel launch takes no None)."""
    if work.x.ndim < 3:
        return given_samples(inputs, r, s)
    return drawn_samples(inputs, work, r, s)


if not config.ENABLE_CUDASIM:  # the simulator runs step_samples as it is
    @overload(step_samples, target="cuda")
    def _step_samples(inputs, work, r, s):
        if work[work.fields.index("x")].ndim < 3:
            return lambda inputs, work, r, s: given_samples(inputs, r, s)
        return lambda inputs, work, r, s: drawn_samples(inputs, work, r, s)


@cuda.jit(device=True)
def step_cuda(r, states, consts, inputs, work, shared, s):
    t = cuda.threadIdx.x
    T = cuda.blockDim.x
    a, wt, b = states.a[r], states.wt[r], states.b[r]
    x, i0 = step_samples(inputs, work, r, s)
    z, ga, gb, gw = work.z[r], work.ga[r], work.gb[r], work.gw[r]
    ta, tw, tb = consts.ta, consts.tw, consts.tb
    m, d, M = a.shape[0], wt.shape[0], ta.shape[0]
    zero = like(a[0], 0.0)  # the run's float type
    inv_m = like(zero, 1.0) / like(zero, m)
    for k in range(t, m, T):
        ga[k] = zero
        gb[k] = zero
        for q in range(d):
            gw[q, k] = zero
    if t == 0:
        shared[LOSS] = zero
    n = inputs.sizes[s]
    for i in range(i0, i0 + n):
        part = zero
        for k in range(t, m, T):
            zk = b[k]
            for q in range(d):
                zk += wt[q, k] * x[i, q]
            z[k] = zk
            part += a[k] * relu(zk)
        shared[t] = part
        cuda.syncthreads()
        if t == 0:
            f = zero
            for j in range(T):
                f += shared[j]
            y = zero
            for j in range(M):
                u = tb[j]
                for q in range(d):
                    u += tw[j, q] * x[i, q]
                y += ta[j] * relu(u)
            err = f * inv_m - y / like(zero, M)
            shared[ERR] = err
            shared[LOSS] += like(zero, 0.5) * err * err
        cuda.syncthreads()
        c = inv_m * shared[ERR]
        for k in range(t, m, T):
            ga[k] += c * relu(z[k])
            g = c * (a[k] * drelu(z[k]))
            gb[k] += g
            for q in range(d):
                gw[q, k] += g * x[i, q]
    loss = shared[LOSS] / like(zero, n)
    cuda.syncthreads()  # every thread has read the loss before thread 0 resets it
    if loss - loss == zero:  # finite: take the step
        h = like(zero, consts.lr) / like(zero, n)
        for k in range(t, m, T):
            if consts.train_a:
                a[k] -= h * ga[k]
            if consts.bias:
                b[k] -= h * gb[k]
            for q in range(d):
                wt[q, k] -= h * gw[q, k]
    return loss


@cuda.jit(device=True)
def snapshot_cuda(r, states, snaps, f, loss):
    t = cuda.threadIdx.x
    a, wt, b = states.a[r], states.wt[r], states.b[r]
    for k in range(t, a.shape[0], cuda.blockDim.x):
        snaps.a[r, f, k] = a[k]
        snaps.b[r, f, k] = b[k]
        for q in range(wt.shape[0]):
            snaps.w[r, f, k, q] = wt[q, k]
    if t == 0:
        snaps.loss[r, f] = loss


define_cuda_frame_loop(globals())


def work_arrays(replicas, width, dim, dtype="float64", batch=None):
    """The device work arrays (z, ga, gb, gw) of ``replicas`` students, of the run's ``dtype``; and x: (R, batch, d)
    for a kernel that draws its samples (a ``batch`` given), else an empty placeholder (0,)."""
    from dyn.flows.relu.kernels import Work

    R, m, d = replicas, width, dim
    x = cuda.device_array((0,) if batch is None else (R, batch, d), dtype)
    return Work(*(cuda.device_array(shape, dtype) for shape in ((R, m), (R, m), (R, m), (R, d, m))), x)


def block_snaps(replicas, frames, width, dim, dtype="float64"):
    """Device records of one block of frames, of the run's ``dtype``."""
    from dyn.flows.relu.kernels import Snaps

    R, F, m, d = replicas, frames, width, dim
    return Snaps(*(cuda.device_array(shape, dtype) for shape in ((R, F, m), (R, F, m, d), (R, F, m), (R, F))))
