"""A counter-based generator: Philox4x32-10 (Salmon et al., SC'11, "Parallel random numbers: as easy
as 1, 2, 3"), as scalar ``@njit`` helpers that CPU kernels and ``@cuda.jit`` kernels call alike.

A number is a pure function of its name, with no state to carry or split:

    key     = (seed, purpose)                       two 32-bit words
    counter = (lane, sample, step, replica)         four 32-bit words
    block   = philox4x32(counter, key)              four 32-bit words, i.e. two doubles

so a kernel draws the ``index``-th coordinate of sample ``sample`` of step ``step`` of replica
``replica`` wherever and in whatever order its threads run, and a CPU run and a CUDA run of the same
names draw the same numbers. Every name part must lie in [0, 2**32); purposes are the small integers
of :mod:`dyn.engine.streams` (DATA, TRAIN, ...). Distinct purposes use distinct keys (independent
streams in Philox's design); the counter enumerates the draws of one stream.

Uniforms. A block's words (w0, w1) give k = (w0 << 20) | (w1 >> 12), 52 random bits, and
u = (2k + 1) / 2**53: the centres of 2**52 equal cells of (0, 1), every value an exact double with 53
significant bits, never 0 or 1, symmetric about 1/2 (mean exactly 1/2). Words (w2, w3) give the
second uniform of the block the same way.

Normals. Box-Muller on the block's two uniforms, both outputs used:
z0 = r cos(2 pi u1), z1 = r sin(2 pi u1), r = sqrt(-2 log u0). Exact in distribution (no
approximation beyond the uniforms' 2**-52 grid, which cuts the tails at |z| <= 8.57). Coordinate
``index`` of a sample is output ``index % 2`` of the block at lane ``index // 2``, so a
d-dimensional sample takes ceil(d / 2) blocks and ``normal_pair`` serves two coordinates at once.

Across devices: the integer words and the uniforms are bit-identical (integer arithmetic, exact
conversions); the normals go through log, sqrt, cos and sin, which CUDA takes from libdevice and the
CPU from libm, so on a real GPU they may differ in the last bit or two (relative 1e-16), and runs
that feed them through many steps agree to the tolerance of the CUDA tests (1e-12), not bitwise.

Helpers take and return scalars only (numba-cuda's simulator cannot pass arrays to shared
helpers), use uint64 arithmetic masked to 32 bits (typed the same on both targets), and have no
fastmath. On the host, :func:`uniforms` and :func:`normals` draw whole blocks of named samples
(broadcast integer arrays of names, ``dim`` coordinates each) through the same helpers;
:func:`philox4x32_numpy` is an independent plain numpy implementation of the block function, used to
check the helpers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, uint64

M32 = np.uint64(0xFFFFFFFF)
PHILOX_M0 = np.uint64(0xD2511F53)
PHILOX_M1 = np.uint64(0xCD9E8D57)
PHILOX_W0 = np.uint64(0x9E3779B9)
PHILOX_W1 = np.uint64(0xBB67AE85)
ROUNDS = 10
SHIFT32 = np.uint64(32)
SHIFT20 = np.uint64(20)
SHIFT12 = np.uint64(12)
ONE = np.uint64(1)
TWO_PI = 2.0 * math.pi
INV_2_53 = 2.0 ** -53


@njit(cache=True)
def word(x):
    """``x`` as an unsigned 32-bit word held in a uint64 (the low 32 bits of ``x``)."""
    return uint64(x) & M32


@njit(cache=True)
def philox_round(c0, c1, c2, c3, k0, k1):
    """One Philox4x32 round: two 32x32 -> 64-bit products, their halves mixed with the key."""
    p0 = PHILOX_M0 * c0
    p1 = PHILOX_M1 * c2
    return ((p1 >> SHIFT32) ^ c1 ^ k0, p1 & M32, (p0 >> SHIFT32) ^ c3 ^ k1, p0 & M32)


@njit(cache=True)
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of the counter (c0, c1, c2, c3) under the key (k0, k1): four 32-bit words.

    Arguments and results are uint64 values below 2**32 (other integers are reduced mod 2**32).
    """
    c0, c1, c2, c3, k0, k1 = word(c0), word(c1), word(c2), word(c3), word(k0), word(k1)
    for r in range(ROUNDS):
        if r > 0:
            k0 = (k0 + PHILOX_W0) & M32
            k1 = (k1 + PHILOX_W1) & M32
        c0, c1, c2, c3 = philox_round(c0, c1, c2, c3, k0, k1)
    return c0, c1, c2, c3


@njit(cache=True)
def open_unit(hi, lo):
    """The uniform double (2k + 1) / 2**53 of k = (hi << 20) | (lo >> 12), two 32-bit words."""
    k = (hi << SHIFT20) | (lo >> SHIFT12)
    return float((k << ONE) | ONE) * INV_2_53


@njit(cache=True)
def uniform_pair(seed, purpose, replica, step, sample, lane):
    """The two uniforms in (0, 1) of the block (lane, sample, step, replica) under (seed, purpose)."""
    w0, w1, w2, w3 = philox4x32(lane, sample, step, replica, seed, purpose)
    return open_unit(w0, w1), open_unit(w2, w3)


@njit(cache=True)
def box_muller(u0, u1):
    """Two independent standard normals from two uniforms in (0, 1]."""
    r = math.sqrt(-2.0 * math.log(u0))
    theta = TWO_PI * u1
    return r * math.cos(theta), r * math.sin(theta)


@njit(cache=True)
def normal_pair(seed, purpose, replica, step, sample, lane):
    """Coordinates 2 lane and 2 lane + 1 of a sample: two independent standard normals."""
    u0, u1 = uniform_pair(seed, purpose, replica, step, sample, lane)
    return box_muller(u0, u1)


@njit(cache=True)
def uniform(seed, purpose, replica, step, sample, index):
    """Uniform number ``index`` of a sample (in (0, 1)); ``uniform_pair`` at lane index // 2."""
    u0, u1 = uniform_pair(seed, purpose, replica, step, sample, index // 2)
    return u0 if index % 2 == 0 else u1


@njit(cache=True)
def normal(seed, purpose, replica, step, sample, index):
    """Coordinate ``index`` of a sample, a standard normal; ``normal_pair`` at lane index // 2."""
    z0, z1 = normal_pair(seed, purpose, replica, step, sample, index // 2)
    return z0 if index % 2 == 0 else z1


@njit(cache=True)
def fill_sample(row, seed, purpose, replica, step, sample, gaussian):
    """row[:] = the coordinates of the named sample: normals, or uniforms if not ``gaussian`` (CPU kernels)."""
    dim = row.shape[0]
    for lane in range((dim + 1) // 2):
        if gaussian:
            a, b = normal_pair(seed, purpose, replica, step, sample, lane)
        else:
            a, b = uniform_pair(seed, purpose, replica, step, sample, lane)
        row[2 * lane] = a
        if 2 * lane + 1 < dim:
            row[2 * lane + 1] = b


@njit(cache=True)
def fill_normals(out, seed, purpose, replica, step, n):
    """out[j, :] = sample j of (seed, purpose, replica, step) for j < n: a step's inputs, drawn inside a CPU
    kernel (the same numbers as :func:`normals`)."""
    for j in range(n):
        fill_sample(out[j], seed, purpose, replica, step, j, True)


@njit(cache=True, parallel=True)
def _fill(out, seed, purpose, replica, step, sample, gaussian):
    """out[i, :] = the coordinates of named sample i (flat name arrays); each row its own pure function."""
    for i in prange(out.shape[0]):
        fill_sample(out[i], seed[i], purpose[i], replica[i], step[i], sample[i], gaussian)


def _draw(names, dim, gaussian):
    parts = np.broadcast_arrays(*[np.asarray(n) for n in names])
    for p in parts:
        if not np.issubdtype(p.dtype, np.integer) or (p.size and (p.min() < 0 or p.max() > 0xFFFFFFFF)):
            raise ValueError("counter names (seed, purpose, replica, step, sample) are integers in [0, 2**32)")
    if int(dim) != dim or not 0 < dim < 2**33:
        raise ValueError(f"dim must be a positive integer; got {dim!r}")
    flat = [np.ascontiguousarray(p, dtype=np.int64).ravel() for p in parts]
    out = np.empty((flat[0].size, int(dim)))
    _fill(out, *flat, gaussian)
    return out.reshape(parts[0].shape + (int(dim),))


def uniforms(seed, purpose, replica, step, sample, dim):
    """Uniforms 0 .. dim - 1 of the named samples (broadcast integer arrays): shape names + (dim,).

    Element [..., j] is ``uniform(seed, purpose, replica, step, sample, j)``; drawn in parallel, each
    block once.
    """
    return _draw((seed, purpose, replica, step, sample), dim, False)


def normals(seed, purpose, replica, step, sample, dim):
    """Coordinates 0 .. dim - 1 of the named samples (broadcast integer arrays): shape names + (dim,).

    Element [..., j] is ``normal(seed, purpose, replica, step, sample, j)``, e.g.
    ``normals(s, DATA, r, steps[:, None], np.arange(batch), d)`` is the (len(steps), batch, d) block of
    inputs a kernel would draw for those steps.
    """
    return _draw((seed, purpose, replica, step, sample), dim, True)


def philox4x32_numpy(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 in plain numpy over broadcast arrays: a second, independent implementation."""
    m = np.uint64(0xFFFFFFFF)
    c = [np.asarray(x, dtype=np.uint64) & m for x in (c0, c1, c2, c3)]
    k = [np.asarray(x, dtype=np.uint64) & m for x in (k0, k1)]
    for r in range(ROUNDS):
        if r:
            k = [(k[0] + PHILOX_W0) & m, (k[1] + PHILOX_W1) & m]
        p0, p1 = PHILOX_M0 * c[0], PHILOX_M1 * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k[0], p1 & m, (p0 >> np.uint64(32)) ^ c[3] ^ k[1], p0 & m]
    return tuple(np.broadcast_arrays(*c))
