"""The streams of :mod:`dyn.engine.streams`, seeded fast: numpy's SeedSequence and PCG64 seeding, compiled.

``stream(*name)`` builds ``Generator(PCG64(SeedSequence(name)))``: about 30-50 us a stream, most of it
SeedSequence's hashing and PCG64's construction, not drawing. A flow that opens one stream per frame
(relu's fresh samples: 500 a run, 64,000 for 128 replicas) spends more there than on its normals.
:func:`pcg64_states` computes the PCG64 states of many such streams in one ``@njit`` call (the same
integer hashing as numpy's ``SeedSequence.mix_entropy`` and ``generate_state``, then PCG64's
``srandom``: two 128-bit LCG steps), and :class:`FrameStreams` puts each state into ONE Generator
(``bit_generator.state = ...``, ~2 us), so the numbers are numpy's own, bit for bit: the tests
compare the states and the draws with ``stream(...)``'s.

Names are non-negative integers; SeedSequence splits each into 32-bit words, little end first (0 is
one word 0), and so does :func:`entropy_words`. 128-bit numbers are (high, low) pairs of uint64.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

M32 = np.uint64(0xFFFFFFFF)
INIT_A, MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
INIT_B, MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
MIX_MULT_L, MIX_MULT_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
XSHIFT = np.uint64(16)
POOL = 4  # SeedSequence's default pool size (32-bit words)
PCG_MULT_HI, PCG_MULT_LO = np.uint64(2549297995355413924), np.uint64(4865540595714422341)
S32, S63, ONE = np.uint64(32), np.uint64(63), np.uint64(1)


def entropy_words(*name):
    """SeedSequence's entropy of ``name`` (non-negative integers): each split into 32-bit words, little end first."""
    words = []
    for k in name:
        k = int(k)
        if k < 0:
            raise ValueError(f"stream names are non-negative integers, got {k}")
        words.append(k & 0xFFFFFFFF)
        k >>= 32
        while k:
            words.append(k & 0xFFFFFFFF)
            k >>= 32
    return np.array(words, np.uint64)


@njit(cache=True)
def _hashmix(value, const):
    """SeedSequence's hashmix: (the mixed value, the next hash constant); 32-bit words held in uint64."""
    value = (value ^ const) & M32
    const = (const * MULT_A) & M32
    value = (value * const) & M32
    return value ^ (value >> XSHIFT), const


@njit(cache=True)
def _mix(x, y):
    r = (MIX_MULT_L * x - MIX_MULT_R * y) & M32
    return r ^ (r >> XSHIFT)


@njit(cache=True)
def _pool(entropy):
    """SeedSequence.mix_entropy: the pool of 4 words from the entropy words."""
    pool = np.empty(POOL, np.uint64)
    const = INIT_A
    for i in range(POOL):
        v, const = _hashmix(entropy[i] if i < entropy.shape[0] else uint64(0), const)
        pool[i] = v
    for i_src in range(POOL):
        for i_dst in range(POOL):
            if i_src != i_dst:
                v, const = _hashmix(pool[i_src], const)
                pool[i_dst] = _mix(pool[i_dst], v)
    for i_src in range(POOL, entropy.shape[0]):
        for i_dst in range(POOL):
            v, const = _hashmix(entropy[i_src], const)
            pool[i_dst] = _mix(pool[i_dst], v)
    return pool


@njit(cache=True)
def _generate_state(pool):
    """SeedSequence.generate_state(4, np.uint64): four 64-bit words, each two 32-bit words little end first."""
    out = np.empty(4, np.uint64)
    const = INIT_B
    for i in range(8):
        v = (pool[i % POOL] ^ const) & M32
        const = (const * MULT_B) & M32
        v = (v * const) & M32
        v ^= v >> XSHIFT
        if i % 2 == 0:
            out[i // 2] = v
        else:
            out[i // 2] |= v << S32
    return out


@njit(cache=True)
def _mul_hi(a, b):
    """The high 64 bits of the 128-bit product of two uint64."""
    a0, a1, b0, b1 = a & M32, a >> S32, b & M32, b >> S32
    lo = a0 * b0
    mid1 = a1 * b0 + (lo >> S32)
    mid2 = a0 * b1 + (mid1 & M32)
    return a1 * b1 + (mid1 >> S32) + (mid2 >> S32)


@njit(cache=True)
def _lcg(hi, lo, inc_hi, inc_lo):
    """One PCG64 step: state * multiplier + inc (mod 2**128)."""
    p_hi = _mul_hi(lo, PCG_MULT_LO) + hi * PCG_MULT_LO + lo * PCG_MULT_HI
    p_lo = lo * PCG_MULT_LO
    s_lo = p_lo + inc_lo
    return p_hi + inc_hi + uint64(s_lo < p_lo), s_lo


@njit(cache=True)
def _pcg64_state(entropy):
    """PCG64(SeedSequence(entropy)): its state and increment, (high, low) each."""
    v = _generate_state(_pool(entropy))
    inc_hi = (v[2] << ONE) | (v[3] >> S63)
    inc_lo = (v[3] << ONE) | ONE
    hi, lo = _lcg(uint64(0), uint64(0), inc_hi, inc_lo)
    lo2 = lo + v[1]
    hi = hi + v[0] + uint64(lo2 < lo)
    hi, lo = _lcg(hi, lo2, inc_hi, inc_lo)
    return hi, lo, inc_hi, inc_lo


@njit(cache=True)
def pcg64_states(prefix, last):
    """(len(last), 4) uint64: (state high, state low, inc high, inc low) of the streams prefix + (last[i],);
    ``prefix``: the entropy words of the name's first parts (:func:`entropy_words`), ``last`` non-negative."""
    out = np.empty((last.shape[0], 4), np.uint64)
    n = prefix.shape[0]
    entropy = np.empty(n + 2, np.uint64)
    entropy[:n] = prefix
    for i in range(last.shape[0]):
        k = uint64(last[i])
        entropy[n] = k & M32
        words = n + 1
        if k >> S32:
            entropy[n + 1] = k >> S32
            words += 1
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = _pcg64_state(entropy[:words])
    return out


class FrameStreams:
    """The Generators ``stream(*prefix, i)`` for many ``i``, as one Generator whose state is set per stream."""

    def __init__(self, *prefix):
        self.prefix = entropy_words(*prefix)
        self.generator = np.random.Generator(np.random.PCG64(0))

    def each(self, last):
        """Yield, for each ``i`` of ``last``, the Generator in the state of a fresh ``stream(*prefix, i)``."""
        states = pcg64_states(self.prefix, np.asarray(last, np.int64))
        bits = self.generator.bit_generator
        for hi, lo, inc_hi, inc_lo in states.tolist():
            bits.state = {"bit_generator": "PCG64", "state": {"state": hi << 64 | lo, "inc": inc_hi << 64 | inc_lo},
                          "has_uint32": 0, "uinteger": 0}
            yield self.generator
