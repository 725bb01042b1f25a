"""The som measures against plain numpy: best units (cell search and brute force), QE, TE, loss, energy."""

import numpy as np
import pytest

import dyn
from dyn.flows.som import measure as M
from dyn.flows.som import theory as th
from dyn.flows.som.config import SomConfig
from dyn.flows.som.grid import adjacent, make_grid
from dyn.flows.som.job import neighbourhood_code


def two_best(w, x):
    """The two best units of each sample, first index on ties, by MiniSom's expanded distances."""
    d2 = np.maximum(0.0, -2.0 * x @ w.T + (x * x).sum(1)[:, None] + (w * w).sum(1)[None])
    order = np.argsort(d2, axis=1, kind="stable")
    return order[:, 0], order[:, 1]


def winners(kind, w, x):
    c1, c2 = np.empty(len(x), np.int64), np.empty(len(x), np.int64)
    wsq, xsq = (w * w).sum(1), (x * x).sum(1)
    (M.winners_cells if kind == "cells" else M.winners_brute)(np.ascontiguousarray(w), wsq, np.ascontiguousarray(x),
                                                               xsq, c1, c2)
    return c1, c2


def cases():
    rng = np.random.default_rng(11)
    for D in (1, 2, 3):
        yield f"random D={D}", rng.normal(0, 1, (60, D)), rng.uniform(-3, 3, (300, D))  # samples outside the box too
    grid = np.stack(np.meshgrid(np.arange(7.0), np.arange(5.0)), -1).reshape(-1, 2)
    data = np.concatenate([grid, grid + 0.5, rng.uniform(-1, 8, (200, 2))])
    yield "lattice: exact ties", np.concatenate([grid, grid[:5]]), data  # duplicated units, equidistant samples
    yield "units on a line", np.stack([np.linspace(0, 1, 40), np.zeros(40)], 1), rng.normal(0, 1, (200, 2))
    yield "one point", np.ones((10, 2)), rng.normal(0, 1, (50, 2))
    yield "clusters", np.concatenate([rng.normal(0, 1e-3, (30, 3)), rng.normal(5, 1e-3, (30, 3))]), \
        rng.normal(2, 3, (300, 3))


@pytest.mark.parametrize("name, w, x", list(cases()), ids=[c[0] for c in cases()])
def test_cell_search_finds_the_brute_force_two_best_units(name, w, x):
    want = two_best(w, x)
    for kind in ("cells", "brute"):
        got = winners(kind, w, x)
        np.testing.assert_array_equal(got[0], want[0], err_msg=kind)
        np.testing.assert_array_equal(got[1], want[1], err_msg=kind)


def reference(cfg, grid, w, x, sigma):
    """QE, TE, topographic loss, Heskes energy of one snapshot, written plainly."""
    if cfg.normalize:
        w, x = th.unit(w), th.unit(x)
    d2 = ((x[:, None] - w[None]) ** 2).sum(-1)
    order = np.argsort(d2, axis=1, kind="stable")
    c1, c2 = order[:, 0], order[:, 1]
    H = M.neighbourhood_matrix(grid, neighbourhood_code(cfg), sigma)
    return (np.sqrt(d2[np.arange(len(x)), c1]).mean(), (~adjacent(grid)[c1, c2]).mean(),
            (H[c1] * d2).sum(1).mean(), th.heskes_energy(w, x, H))


@pytest.mark.parametrize("D", [2, 5])  # the cell search, and the matrix product
@pytest.mark.parametrize("opts", [
    dict(), dict(topology="hexagonal"), dict(neighbourhood="mexican_hat"), dict(toroidal=True, neighbourhood="bubble"),
    dict(rule="topographic", neighbourhood="triangle"), dict(rule="topographic", topology="hexagonal", toroidal=True),
])
def test_every_measure_of_every_snapshot_is_the_plain_numpy_one(D, opts):
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (90, D)) + 0.3
    cfg = SomConfig(rows=4, cols=6, data="array", measures="all", **opts)
    grid = make_grid(4, 6, cfg.topology, cfg.toroidal)
    w = rng.normal(0, 0.6, (2, 3, 24, D))  # (replica, time, unit, dim)
    w[1, 2] = np.nan  # a diverged snapshot is not measured
    sigmas = np.array([2.0, 1.3, 0.7])
    got = M.measure(cfg, grid, neighbourhood_code(cfg), w, x, sigmas)
    assert tuple(got) == ("quantization_error", "topographic_error", "topographic_loss", "heskes_energy")
    for r in range(2):
        for t in range(3):
            values = [got[k][r, t] for k in got]
            if r == 1 and t == 2:
                assert np.isnan(values).all()
                continue
            np.testing.assert_allclose(values, reference(cfg, grid, w[r, t], x, sigmas[t]), rtol=1e-11, atol=1e-12)
    assert np.nanmax(got["topographic_error"]) > 0
    assert np.all(got["heskes_energy"][0] <= got["topographic_loss"][0] + 1e-12)


def test_a_run_measures_qe_te_and_its_objective_unless_asked_for_more():
    assert SomConfig().measures == ("quantization_error", "topographic_error")
    assert SomConfig(rule="heskes").measures == ("quantization_error", "topographic_error", "heskes_energy")
    assert SomConfig(rule="topographic").measures == ("quantization_error", "topographic_error", "topographic_loss")
    assert SomConfig(measures="energy, qe").measures == ("quantization_error", "topographic_error", "heskes_energy")
    assert SomConfig(measures=["all"]).measures == M.MEASURES
    assert SomConfig.from_json(SomConfig(measures="loss").to_json()).measures[-1] == "topographic_loss"
    ds = dyn.simulate("som", rows=3, cols=3, steps=20, n=30)
    assert "heskes_energy" not in ds and "topographic_loss" not in ds and "quantization_error" in ds
    m = dyn.flows.get_flow("som").metrics(ds)
    assert np.isnan(float(m["final_heskes_energy"])) and np.isfinite(float(m["final_quantization_error"]))
    with pytest.raises(dyn.UsageError, match="unknown measure 'speed'"):
        SomConfig(measures="qe,speed")


def test_import_dyn_makes_openmp_threads_wait_passively_unless_told_otherwise():
    """Spinning OpenMP threads took the cores of a loaded machine from the serial kernels (2x slower runs)."""
    import os
    import subprocess
    import sys

    code = "import os, dyn; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"}, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "ACTIVE"


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
@pytest.mark.parametrize("toroidal", [False, True])
def test_neighbour_table_is_the_adjacency_matrix(topology, toroidal):
    """The (K, 9) table the topographic error reads holds exactly the pairs of the K x K adjacency matrix."""
    from dyn.flows.som.grid import neighbour_table
    from dyn.flows.som.measure import neighbours

    for rows, cols in ((1, 1), (1, 5), (2, 2), (3, 4), (4, 6), (5, 3), (6, 8)):
        if toroidal and topology == "hexagonal" and cols % 2:
            continue  # refused by the config: the row offsets alternate
        grid = make_grid(rows, cols, topology, toroidal)
        table, adj = neighbour_table(grid), adjacent(grid)
        got = np.array([[neighbours(table, a, b) for b in range(rows * cols)] for a in range(rows * cols)])
        np.testing.assert_array_equal(got, adj)
        assert adj.sum() > 0 or rows * cols == 1
