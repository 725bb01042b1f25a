"""The sphere flow's pair pass (Riesz energies, their forces, the directions' measures): against plain numpy,
and the same bits whether its row tiles run in turn or split across the threads."""

import math

import numba
import numpy as np
import pytest

import dyn
import sphere_reference as ref
from dyn.flows.sphere import kernels
from dyn.flows.sphere import pairs as pair_pass
from dyn.flows.sphere.measure import direction_energy


def pair_loop(w, s):
    """The pairs one at a time in plain Python floats, i then j ascending: the order of the kernels below
    SIMD_VECTORS vectors (and of the CUDA kernels' pair loop)."""
    M, d = w.shape
    g, energy = [[0.0] * d for _ in range(M)], 0.0
    for i in range(M):
        for j in range(i + 1, M):
            r2 = 0.0
            for q in range(d):
                r2 += (w[i, q] - w[j, q]) ** 2
            e = math.sqrt(1.0 / r2) if s == 1.0 else 1.0 / r2
            energy += e
            c = 2.0 * (-0.5 * e * e * e if s == 1.0 else -e * e)
            for q in range(d):
                t = c * (w[i, q] - w[j, q])
                g[i][q] += t
                g[j][q] -= t
    return energy, np.array(g)


def points(M, d, seed=0):
    w = np.random.default_rng(seed).standard_normal((M, d))
    return w * np.linspace(0.6, 1.5, M)[:, None]  # off the sphere: the pass must not assume unit rows


def pass_of(w, s, split=False):
    g = np.empty_like(w)
    return pair_pass.riesz(w, s, g, pair_pass.pair_scratch(*w.shape, split)), g


def on_threads(n, fn):
    before = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        return fn()
    finally:
        numba.set_num_threads(before)


@pytest.mark.parametrize("M", [2, 3, 7, 50, 131])
@pytest.mark.parametrize("d", [2, 3, 5])
@pytest.mark.parametrize("s", [0.0, 0.5, 1.0, 2.0])
def test_pair_pass_matches_plain_numpy(M, d, s):
    w = points(M, d, seed=M + d)
    energy, g = pass_of(w, s)
    assert energy == pytest.approx(ref.riesz(w, s), rel=1e-13)
    np.testing.assert_allclose(g, ref.riesz_grad(w, s), rtol=1e-12, atol=1e-12 * np.abs(g).max())


@pytest.mark.parametrize("s", [1.0, 2.0])
def test_below_simd_vectors_the_pairs_go_in_turn_to_the_bit(s):
    w = points(pair_pass.SIMD_VECTORS - 1, 3)
    energy, g = pass_of(w, s)
    expected_energy, expected_g = pair_loop(w, s)
    assert energy == expected_energy
    np.testing.assert_array_equal(g, expected_g)


@pytest.mark.parametrize("M", [1, 2, 5, 100, 1000])
def test_row_tiles_cover_the_rows_with_about_equal_pair_counts(M):
    bounds = pair_pass.pair_scratch(M, 3).bounds
    assert bounds[0] == 0 and bounds[-1] == M and np.all(np.diff(bounds) >= 0)
    pairs = [sum(M - 1 - i for i in range(a, b)) for a, b in zip(bounds[:-1], bounds[1:])]
    assert sum(pairs) == M * (M - 1) // 2
    assert max(abs(p - M * (M - 1) / 2 / len(pairs)) for p in pairs) <= M  # each within a row of an equal share


@pytest.mark.parametrize("d", [3, 4])
def test_split_pass_is_the_serial_pass_on_any_thread_count(d):
    w = points(337, d)
    serial = pass_of(w, 1.0)
    for threads in (1, 2):
        energy, g = on_threads(threads, lambda: pass_of(w, 1.0, split=True))
        assert energy == serial[0]
        np.testing.assert_array_equal(g, serial[1])


def test_a_single_replica_of_many_vectors_runs_the_same_bits_on_one_or_two_threads(monkeypatch):
    """One replica of at least SPLIT_VECTORS vectors splits its pairs across the threads; three replicas run
    each replica's pairs in turn: every run gives the same bits."""
    monkeypatch.setattr(pair_pass, "SPLIT_VECTORS", 100)
    kw = dict(vectors=150, lr=1e-3, steps=12)
    one, two = (on_threads(n, lambda: dyn.simulate("sphere", seed=4, **kw)) for n in (1, 2))
    many = dyn.simulate("sphere", seed=2, replicas=3, **kw)
    for name in ("w", "loss_iter", "loss", "energy", "min_angle", "grad_tangent"):
        np.testing.assert_array_equal(one[name].values, two[name].values)
        np.testing.assert_array_equal(one[name].values, many[name].isel(replica=2).values)
    assert np.isfinite(one.loss_iter.values).all() and one.loss_iter.values[-1] < one.loss_iter.values[0]


@pytest.mark.parametrize("kind", [kernels.RIESZ, kernels.MHE])
def test_direction_measures_match_plain_numpy(kind):
    w = points(60, 4, seed=3)
    M, d = w.shape
    energy, angle = direction_energy(w, kind, 1.0, np.empty_like(w), np.empty_like(w),
                                     pair_pass.pair_scratch(M, d))
    u = ref.unit(w)
    expected = ref.riesz(u, 1.0) if kind == kernels.RIESZ else ref.mhe(w, 1.0)
    assert energy == pytest.approx(expected, rel=1e-13)
    cos = (u @ u.T)[np.triu_indices(M, 1)]
    assert angle == pytest.approx(np.arccos(cos.max()), rel=1e-12)
    assert np.isnan(direction_energy(w[:1], kind, 1.0, np.empty((1, d)), np.empty((1, d)),
                                     pair_pass.pair_scratch(1, d))[1])


def in_order_largest_cosine(u):
    """max_{i<j} u_i . u_j, each dot product summed over the coordinates in order, in numpy float64 (exact IEEE
    products and sums, as the kernels' in-order loop)."""
    M, d = u.shape
    c = u[:, None, 0] * u[None, :, 0]
    for q in range(1, d):
        c = c + u[:, None, q] * u[None, :, q]
    return c[np.triu_indices(M, 1)].max()


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("M, d", [(7, 3), (60, 3), (131, 4), (400, 3)])
def test_one_sweep_gives_the_energy_of_the_pair_pass_and_the_angle_of_the_dot_products_to_the_bit(M, d, split):
    """The directions' energy and minimum angle in one sweep over the pairs: the energy is the pair pass's own
    (the same bits as ``riesz`` on u), the angle that of the largest in-order dot product."""
    w = points(M, d, seed=M)
    u = np.empty_like(w)
    kernels.normalise_rows(w, u)
    energy, angle = direction_energy(w, kernels.RIESZ, 1.0, np.empty_like(w), np.empty_like(w),
                                     pair_pass.pair_scratch(M, d, split))
    assert energy == pass_of(u, 1.0)[0]
    assert angle == math.acos(min(1.0, in_order_largest_cosine(u)))
    assert angle == pytest.approx(np.arccos((ref.unit(w) @ ref.unit(w).T)[np.triu_indices(M, 1)].max()), rel=1e-12)
