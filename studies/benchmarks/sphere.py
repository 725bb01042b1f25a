"""Benchmark of the sphere flow against what a user would run instead, in one process.

    python studies/benchmarks/sphere.py          # prints a table of times and ratios

(a) seed 000's problem (N=5 points, d=1000, M=4, 10,000 steps, the seed's backward, normalise-then-step,
    accumulation): the notebook's loop ported to vectorised numpy (tests/seed000.py) vs dyn ``as_seed``;
(b) the same problem done right (exact gradient, Riemannian SGD, no accumulation), 2,000 steps: geoopt vs dyn;
(c) the Thomson problem, N=100 vectors on S^2, 4,000 Riemannian steps of lr 0.003: a vectorised numpy
    loop and geoopt vs dyn. dyn's times include recording and measuring 501 snapshots; the baselines
    record nothing. geoopt is optional (``pip install geoopt --no-deps`` beside torch): skipped without it;
    it runs on one torch thread, its fastest setting on this 2-core machine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from timing import row, timed  # noqa: E402
from seed000 import seed_loop  # noqa: E402
from sphere_baselines import geoopt_angular, geoopt_thomson, numpy_thomson  # noqa: E402


def have_geoopt():
    try:
        import geoopt  # noqa: F401
        import torch

        # one thread: on this 2-core machine torch's second thread makes these small problems 20x slower
        torch.set_num_threads(1)
        return True
    except ImportError:
        print("geoopt (or torch) not installed: geoopt rows skipped")
        return False


def main():
    rs = np.random.RandomState(0)
    x, W = rs.random_sample((5, 1000)), rs.random_sample((1000, 4))
    w_unit = W.T / np.linalg.norm(W.T, axis=1, keepdims=True)
    w0 = np.random.default_rng(0).standard_normal((100, 3))
    w0 /= np.linalg.norm(w0, axis=1, keepdims=True)
    geo = have_geoopt()
    # the baselines first, before numba starts its worker threads
    t_np_seed, (L_seed, _) = timed(lambda: seed_loop(x, W, 10000), repeat=2)
    t_np, (L_np, _) = timed(lambda: numpy_thomson(w0, 0.003, 4000), repeat=2)
    if geo:
        t_geo_seed, (L_geo_seed, _) = timed(lambda: geoopt_angular(x, w_unit, 0.01, 2000), repeat=2)
        t_geo, (L_geo, _) = timed(lambda: geoopt_thomson(w0, 0.003, 4000), repeat=2)

    import dyn

    print(f"machine: {os.cpu_count()} cores; numba threads {__import__('numba').get_num_threads()}")
    dyn.simulate("sphere", as_seed=True, steps=5)  # compile / load the cache
    t_dyn, ds = timed(lambda: dyn.simulate("sphere", as_seed=True, init=W.T, data=x))
    assert np.abs(ds.loss_iter.values - L_seed).max() < 1e-10
    row("(a) seed problem: numpy port of the notebook's loop", t_np_seed)
    row("(a) seed problem: dyn as_seed (vs numpy)", t_dyn, t_np_seed, ">= 1.5x")

    if geo:
        right = dict(as_seed=True, gradient="exact", accumulate=False, update="riemannian", init=w_unit, data=x,
                     steps=2000)
        t_dyn, ds = timed(lambda: dyn.simulate("sphere", **right))
        gap = np.abs(ds.loss_iter.values - L_geo_seed).max()
        row("(b) seed problem, exact Riemannian SGD: geoopt (1 thread)", t_geo_seed)
        row(f"(b) ... dyn (vs geoopt; losses agree to {gap:.0e})", t_dyn, t_geo_seed)

    t_dyn, ds = timed(lambda: dyn.simulate("sphere", vectors=100, lr=0.003, steps=4000, init=w0))
    assert np.abs(ds.loss_iter.values - L_np).max() < 1e-6 * L_np[0]
    row("(c) Thomson N=100: vectorised numpy", t_np)
    row(f"(c) ... dyn (vs numpy; final energy {float(ds.energy[-1]):.6f})", t_dyn, t_np, ">= 5x")
    if geo:
        gap = np.abs(ds.loss_iter.values - L_geo).max()
        row("(c) Thomson N=100: geoopt RiemannianSGD (1 thread)", t_geo)
        row(f"(c) ... dyn (vs geoopt; losses agree to {gap:.0e})", t_dyn, t_geo, ">= 3x")


if __name__ == "__main__":
    main()
