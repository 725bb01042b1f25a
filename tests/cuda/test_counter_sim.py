"""Under the CUDA simulator: ``@cuda.jit`` kernels calling dyn.engine.counter's scalar helpers draw
exactly what CPU ``@njit`` kernels and the host draw; what numba-cuda's simulator offers a kernel
(local arrays, shared memory, syncthreads) works as dyn.engine.device records."""

import math

import numpy as np
import pytest
from numba import config, cuda, njit
from scipy import stats

from dyn.engine.counter import normal, normal_pair, normals, philox4x32, uniform
from dyn.engine.device import resolve_device

assert config.ENABLE_CUDASIM, "run these tests with NUMBA_ENABLE_CUDASIM=1 (tests/test_cuda.py does)"

DATA = 3
F = 0xFFFFFFFF
KAT = np.array([
    [0, 0, 0, 0, 0, 0, 0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8],
    [F, F, F, F, F, F, 0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD],
    [0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344, 0xA4093822, 0x299F31D0,
     0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1],
], dtype=np.int64)


@cuda.jit
def philox_kernel(kat, out):
    i = cuda.grid(1)
    if i < kat.shape[0]:
        w0, w1, w2, w3 = philox4x32(kat[i, 0], kat[i, 1], kat[i, 2], kat[i, 3], kat[i, 4], kat[i, 5])
        out[i, 0] = w0
        out[i, 1] = w1
        out[i, 2] = w2
        out[i, 3] = w3


@cuda.jit
def draw_kernel(seed, out, unif):
    """Replica = block, sample = thread; each thread walks the steps and draws its coordinates."""
    r = cuda.blockIdx.x
    i = cuda.threadIdx.x
    for s in range(out.shape[1]):
        for j in range(out.shape[3]):
            out[r, s, i, j] = normal(seed, DATA, r, s, i, j)
            unif[r, s, i, j] = uniform(seed, DATA, r, s, i, j)


@njit(cache=True)
def draw_cpu(seed, replicas, steps, batch, dim):
    """The same draws in a CPU kernel, in another order (coordinates outermost)."""
    out = np.empty((replicas, steps, batch, dim))
    unif = np.empty((replicas, steps, batch, dim))
    for j in range(dim):
        for r in range(replicas):
            for s in range(steps - 1, -1, -1):
                for i in range(batch):
                    out[r, s, i, j] = normal(seed, DATA, r, s, i, j)
                    unif[r, s, i, j] = uniform(seed, DATA, r, s, i, j)
    return out, unif


THREADS = 32


@cuda.jit
def block_sum_kernel(seed, draws, out):
    """Each thread sums its draws in a local array, then the block reduces them in shared memory."""
    acc = cuda.local.array(2, dtype=np.float64)
    part = cuda.shared.array(THREADS, dtype=np.float64)
    r = cuda.blockIdx.x
    t = cuda.threadIdx.x
    acc[0] = 0.0
    acc[1] = 0.0
    for k in range(draws):
        z0, z1 = normal_pair(seed, DATA, r, k, t, 0)
        acc[0] += z0
        acc[1] += z1
    part[t] = acc[0] + acc[1]
    cuda.syncthreads()
    half = THREADS // 2
    while half > 0:  # fixed-order tree: part[t] += part[t + half]
        if t < half:
            part[t] += part[t + half]
        cuda.syncthreads()
        half //= 2
    if t == 0:
        out[r] = part[0]


def tree_sum(x):
    """The kernel's reduction order, in numpy."""
    x = x.copy()
    half = x.size // 2
    while half > 0:
        x[:half] += x[half:2 * half]
        half //= 2
    return x[0]


def test_kernel_philox_known_answers():
    out = np.zeros((3, 4), dtype=np.int64)
    philox_kernel[1, 4](KAT, out)
    assert np.array_equal(out, KAT[:, 6:])


def test_kernel_draws_equal_cpu_kernel_and_host():
    replicas, steps, batch, dim = 3, 4, 8, 3
    out = np.zeros((replicas, steps, batch, dim))
    unif = np.zeros_like(out)
    draw_kernel[replicas, batch](11, out, unif)
    cpu, cpu_unif = draw_cpu(11, replicas, steps, batch, dim)
    assert np.array_equal(out, cpu) and np.array_equal(unif, cpu_unif)
    host = normals(11, DATA, np.arange(replicas)[:, None, None], np.arange(steps)[:, None], np.arange(batch), dim)
    assert np.array_equal(out, host)
    assert np.unique(out).size == out.size


def test_shared_memory_reduction_and_local_arrays():
    blocks, draws = 4, 5
    out = np.zeros(blocks)
    block_sum_kernel[blocks, THREADS](9, draws, out)
    for r in range(blocks):
        per_thread = np.array([_thread_sum(9, r, t, draws) for t in range(THREADS)])
        assert out[r] == tree_sum(per_thread)
        assert out[r] == pytest.approx(per_thread.sum(), abs=1e-12)


def _thread_sum(seed, r, t, draws):
    """A thread's two accumulators, as the kernel adds them."""
    a0 = a1 = 0.0
    for k in range(draws):
        z0, z1 = normal_pair(seed, DATA, r, k, t, 0)
        a0 += z0
        a1 += z1
    return a0 + a1


def test_kernel_normals_moments():
    replicas, steps, batch, dim = 16, 32, 32, 2
    out = np.zeros((replicas, steps, batch, dim))
    unif = np.zeros_like(out)
    draw_kernel[replicas, batch](2024, out, unif)
    z = out.ravel()
    n = z.size
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1.0) < 5 * math.sqrt(2 / n)
    assert abs(stats.skew(z)) < 5 * math.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < 5 * math.sqrt(24 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-3


def test_resolve_device_finds_the_simulator():
    assert cuda.is_available()
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cuda") == "cuda"
    assert resolve_device("cpu") == "cpu"
