"""The counter-based generator (dyn.engine.counter): Philox4x32-10's published answers, the
uniforms' exact form, the normals' distribution, independence of names, and order/thread freedom."""

import math

import numba
import numpy as np
import pytest
from numba import njit
from scipy import stats

from dyn.engine import counter
from dyn.engine.counter import normal, normal_pair, normals, philox4x32, philox4x32_numpy, uniform, uniforms

# Random123's kat_vectors for philox4x32 10: (counter words, key words) -> output words.
F = 0xFFFFFFFF
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((F, F, F, F), (F, F), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]
N = 1_000_000
DATA = 3


@pytest.mark.parametrize("ctr, key, expected", KAT)
def test_philox_known_answers(ctr, key, expected):
    assert tuple(int(w) for w in philox4x32(*ctr, *key)) == expected
    assert tuple(int(w[()]) for w in philox4x32_numpy(*ctr, *key)) == expected


def test_njit_and_numpy_implementations_agree_on_random_counters():
    rng = np.random.default_rng(1)
    words = rng.integers(0, 2**32, size=(6, 2000), dtype=np.uint64)
    ref = np.stack(philox4x32_numpy(*words))
    got = np.array([[int(w) for w in philox4x32(*(int(x) for x in col))] for col in words.T]).T
    assert np.array_equal(got, ref)
    assert np.unique(ref[0]).size > 1990  # outputs are spread, not a constant


def test_uniforms_are_the_centres_of_2_pow_52_cells():
    # u = (2k + 1) / 2**53, k = (w0 << 20) | (w1 >> 12), computed here with Python integers.
    rng = np.random.default_rng(2)
    for _ in range(200):
        seed, purpose, replica, step, sample, lane = (int(x) for x in rng.integers(0, 2**32, 6))
        w = [int(x) for x in philox4x32(lane, sample, step, replica, seed, purpose)]
        expected = [((((w[0] << 20) | (w[1] >> 12)) * 2 + 1) / 2**53), ((((w[2] << 20) | (w[3] >> 12)) * 2 + 1) / 2**53)]
        assert [uniform(seed, purpose, replica, step, sample, 2 * lane + j) for j in (0, 1)] == expected
    assert counter.open_unit(np.uint64(0), np.uint64(0)) == 2.0**-53
    assert counter.open_unit(np.uint64(F), np.uint64(F)) == 1.0 - 2.0**-53


def test_uniforms_fill_the_open_interval_uniformly():
    u = uniforms(7, DATA, 0, np.arange(N // 4)[:, None], np.arange(2), 2).ravel()
    assert 0.0 < u.min() and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / u.size)


def _moments_within_tolerance(z):
    n = z.size
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1.0) < 5 * math.sqrt(2 / n)
    assert abs(stats.skew(z)) < 5 * math.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < 5 * math.sqrt(24 / n)  # excess kurtosis of a normal: 0


def test_normals_moments_and_ks():
    z = normals(0, DATA, 0, np.arange(N // 40)[:, None], np.arange(20), 2).ravel()
    assert z.size == N
    _moments_within_tolerance(z)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # Box-Muller's pair: independent coordinates, and z0^2 + z1^2 ~ chi2(2)
    pairs = z.reshape(-1, 2)
    assert abs(np.corrcoef(pairs.T)[0, 1]) < 5 / math.sqrt(pairs.shape[0])
    assert stats.kstest((pairs**2).sum(1), "chi2", args=(2,)).pvalue > 1e-3


def test_normals_of_high_coordinates_and_other_names_are_normal_too():
    # a 7-dimensional sample uses lanes 0..3; check coordinate 6 (lane 3, first output) alone
    z = normals(123456789, 5, 17, np.arange(N // 4), 9, 7)[:, 6]
    _moments_within_tolerance(z)
    assert stats.kstest(z, "norm").pvalue > 1e-3


@pytest.mark.parametrize("other", [
    dict(seed=1), dict(purpose=DATA + 1), dict(replica=1), dict(step_shift=1), dict(sample_shift=1),
])
def test_different_names_are_uncorrelated(other):
    n = 200_000
    base = dict(seed=0, purpose=DATA, replica=0, step_shift=0, sample_shift=0)
    names = {**base, **other}
    steps = np.arange(n // 2)
    a = normals(0, DATA, 0, steps, 0, 2).ravel()
    b = normals(names["seed"], names["purpose"], names["replica"], steps + names["step_shift"],
                names["sample_shift"], 2).ravel()
    assert not np.array_equal(a, b)
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / math.sqrt(n)
    assert abs(np.corrcoef(a**2, b**2)[0, 1]) < 5 / math.sqrt(n)  # no dependence through the radius


def test_coordinates_come_from_pairs():
    block = normals(5, DATA, 2, 11, 3, 5)  # an odd dim: the last block's second output unused
    ublock = uniforms(5, DATA, 2, 11, 3, 5)
    for index in range(5):
        pair = normal_pair(5, DATA, 2, 11, 3, index // 2)
        assert normal(5, DATA, 2, 11, 3, index) == pair[index % 2] == block[index]
        assert uniform(5, DATA, 2, 11, 3, index) == ublock[index]


@njit(cache=True)
def _kernel_draws(seed, steps, batch, dim):
    """How a CPU kernel draws its inputs: step by step, sample by sample, inside the loop."""
    out = np.empty((steps, batch, dim))
    for s in range(steps):
        for i in range(batch):
            for j in range(dim):
                out[s, i, j] = normal(seed, DATA, 0, s, i, j)
    return out


def test_numbers_do_not_depend_on_order_or_threads():
    steps, batch, dim = 300, 20, 3
    names = (np.arange(steps)[:, None], np.arange(batch))
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = normals(42, DATA, 0, *names, dim)
        numba.set_num_threads(max(2, min(numba.config.NUMBA_NUM_THREADS, 4)))
        many = normals(42, DATA, 0, *names, dim)
    finally:
        numba.set_num_threads(threads)
    assert one.shape == (steps, batch, dim) and np.array_equal(one, many)
    assert np.array_equal(one, _kernel_draws(42, steps, batch, dim))
    # drawn in a shuffled order, sample by sample, or name by name from Python: the same numbers
    rng = np.random.default_rng(3)
    s, i = rng.integers(0, steps, 500), rng.integers(0, batch, 500)
    assert np.array_equal(normals(42, DATA, 0, s, i, dim), one[s, i])
    assert [normal(42, DATA, 0, int(s[k]), int(i[k]), j) for k in range(20) for j in range(dim)] == \
        list(one[s[:20], i[:20]].ravel())
    # a block that starts later is the tail of the longer block: nothing depends on where drawing began
    assert np.array_equal(normals(42, DATA, 0, np.arange(100, steps)[:, None], np.arange(batch), dim), one[100:])


def test_bad_names_are_refused():
    with pytest.raises(ValueError, match="integers in"):
        normals(-1, DATA, 0, 0, 0, 2)
    with pytest.raises(ValueError, match="integers in"):
        uniforms(2**32, DATA, 0, 0, 0, 2)
    with pytest.raises(ValueError, match="integers in"):
        normals(0, DATA, 0, 0.5, 0, 2)
    with pytest.raises(ValueError, match="dim must be"):
        normals(0, DATA, 0, 0, 0, 0)
