"""Benchmark of the sphere flow against what a user would run instead, in one process.

    python studies/benchmarks/sphere.py          # prints a table of times and ratios

(a) seed 000's problem (N=5 points, d=1000, M=4, 10,000 steps, the seed's backward, normalise-then-step,
    accumulation): the notebook's loop ported to vectorised numpy (tests/seed000.py) vs dyn ``as_seed``;
(b) the same problem done right (exact gradient, Riemannian SGD, no accumulation), 2,000 steps: geoopt vs dyn;
(c) the Thomson problem, N=100 vectors on S^2, 4,000 Riemannian steps of lr 0.003: a vectorised numpy
    loop and geoopt vs dyn. dyn's times include recording and measuring 501 snapshots; the baselines
    record nothing. geoopt is optional (``pip install geoopt --no-deps`` beside torch): skipped without it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from seed000 import seed_loop  # noqa: E402
from sphere_baselines import geoopt_angular, geoopt_thomson, numpy_thomson  # noqa: E402


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def row(name, seconds, baseline=None, target=None):
    ratio = f"{baseline / seconds:8.1f}x" if baseline else " " * 9
    goal = f"  (target {target})" if target else ""
    print(f"{name:<58s}{seconds:10.4f} s {ratio}{goal}")


def have_geoopt():
    try:
        import geoopt  # noqa: F401
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        return True
    except ImportError:
        print("geoopt (or torch) not installed: geoopt rows skipped")
        return False


def main():
    import dyn

    print(f"machine: {os.cpu_count()} cores; numba threads {__import__('numba').get_num_threads()}")
    rs = np.random.RandomState(0)
    x, W = rs.random_sample((5, 1000)), rs.random_sample((1000, 4))
    geo = have_geoopt()

    dyn.simulate("sphere", as_seed=True, steps=5)  # compile / load the cache
    t_np, (L, _) = best(lambda: seed_loop(x, W, 10000), repeat=2)
    t_dyn, ds = best(lambda: dyn.simulate("sphere", as_seed=True, init=W.T, data=x))
    assert np.abs(ds.loss_iter.values - L).max() < 1e-10
    row("(a) seed problem: numpy port of the notebook's loop", t_np)
    row("(a) seed problem: dyn as_seed (vs numpy)", t_dyn, t_np, ">= 1.5x")

    w0 = W.T / np.linalg.norm(W.T, axis=1, keepdims=True)
    right = dict(as_seed=True, gradient="exact", accumulate=False, update="riemannian", init=w0, data=x, steps=2000)
    t_dyn, ds = best(lambda: dyn.simulate("sphere", **right))
    if geo:
        t_geo, (L, _) = best(lambda: geoopt_angular(x, w0, 0.01, 2000), repeat=1)
        gap = np.abs(ds.loss_iter.values - L).max()
        row("(b) seed problem, exact Riemannian SGD: geoopt", t_geo)
        row(f"(b) ... dyn (vs geoopt; losses agree to {gap:.0e})", t_dyn, t_geo)

    w0 = np.random.default_rng(0).standard_normal((100, 3))
    w0 /= np.linalg.norm(w0, axis=1, keepdims=True)
    thomson = dict(vectors=100, lr=0.003, steps=4000, init=w0)
    t_dyn, ds = best(lambda: dyn.simulate("sphere", **thomson))
    t_np, (L, _) = best(lambda: numpy_thomson(w0, 0.003, 4000), repeat=1)
    assert np.abs(ds.loss_iter.values - L).max() < 1e-6 * L[0]
    row("(c) Thomson N=100: vectorised numpy", t_np)
    row(f"(c) ... dyn (vs numpy; final energy {float(ds.energy[-1]):.6f})", t_dyn, t_np, ">= 5x")
    if geo:
        t_geo, (L, _) = best(lambda: geoopt_thomson(w0, 0.003, 4000), repeat=1)
        gap = np.abs(ds.loss_iter.values - L).max()
        row("(c) Thomson N=100: geoopt RiemannianSGD", t_geo)
        row(f"(c) ... dyn (vs geoopt; losses agree to {gap:.0e})", t_dyn, t_geo, ">= 3x")


if __name__ == "__main__":
    main()
