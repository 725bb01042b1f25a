"""Benchmark of the sphere flow against what a user would run instead, in one process.

    python studies/benchmarks/sphere.py          # prints a table of times and ratios

(a) seed 000's problem (N=5 points, d=1000, M=4, 10,000 steps, the seed's backward, normalise-then-step,
    accumulation): the notebook's loop ported to vectorised numpy (tests/seed000.py) vs dyn ``as_seed``;
(b) the same problem done right (exact gradient, Riemannian SGD, no accumulation), 2,000 steps: geoopt vs dyn;
(c) the Thomson problem, N=100 vectors on S^2, 4,000 Riemannian steps of lr 0.003: a vectorised numpy
    loop and geoopt vs dyn. dyn's times include recording and measuring 501 snapshots; the baselines
    record nothing. geoopt is optional (``pip install geoopt --no-deps`` beside torch): skipped without it;
    it runs on one torch thread, its fastest setting on this 2-core machine.
(d) Thomson N = 100 (4,000 steps) and N = 1,000 (400 steps of lr 1e-4 from a jittered Fibonacci spiral:
    see ``unit_start``) against JAX (``pip install jax``; skipped without it): jit + lax.scan, the Gram-matrix form,
    float64, CPU, the same start, final points compared to 1e-10. dyn's kernel alone (the job's frame
    loop: snapshots written, not measured, no Dataset) and the whole ``dyn.simulate``; a roofline line
    per size: flops and bytes a step against numpy's matmul GFLOP/s and a div + sqrt floor.

    python studies/benchmarks/sphere.py --jax    # (d) alone
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

from timing import row, timed  # noqa: E402
from seed000 import seed_loop  # noqa: E402
from sphere_baselines import geoopt_angular, geoopt_thomson, jax_thomson, numpy_thomson  # noqa: E402

# (vectors, lr, steps) of the Thomson runs against JAX
THOMSON = ((100, 0.003, 4000), (1000, 1e-4, 400))
FLOPS_PER_PAIR = 24  # dyn's pair pass at s = 1: r^2 8, energy and coefficient 6 (a div and a sqrt among them), force 10


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


def have_jax():
    try:
        import jax  # noqa: F401
        return True
    except ImportError:
        print("jax not installed: JAX rows skipped (pip install jax)")
        return False


def unit_start(n, seed=0):
    """N = 100: uniform random points; more: a Fibonacci spiral jittered by 0.01 (random points that many have
    pairs 1e-3 apart, whose 1e6 forces make the first steps chaotic: JAX and dyn would part at any lr)."""
    gen = np.random.default_rng(seed)
    if n <= 100:
        w = gen.standard_normal((n, 3))
    else:
        z = 1.0 - (2.0 * np.arange(n) + 1.0) / n
        phi = np.arange(n) * np.pi * (3.0 - np.sqrt(5.0))
        w = np.stack([np.sqrt(1 - z * z) * np.cos(phi), np.sqrt(1 - z * z) * np.sin(phi), z], axis=1)
        w += 0.01 * gen.standard_normal((n, 3))
    return w / np.linalg.norm(w, axis=1, keepdims=True)


def dyn_kernel(w0, lr, steps, repeat=3):
    """dyn's kernel alone, the job's frame loop over every step: (the least wall time, the least CPU time of
    ``repeat`` runs, the last job)."""
    from dyn.flows.sphere.config import SphereConfig
    from dyn.flows.sphere.job import prepare

    wall, cpu, job = np.inf, np.inf, None
    for _ in range(repeat):
        job = prepare(SphereConfig.from_kwargs(vectors=len(w0), lr=lr, steps=steps), init=w0)
        t, c = time.perf_counter(), time.process_time()
        job.advance(0, job.frames, job.block_steps(0, job.frames))
        wall, cpu = min(wall, time.perf_counter() - t), min(cpu, time.process_time() - c)
    return wall, cpu, job


def cpu_timed(fn, repeat=3):
    """(the least CPU time of this process over ``repeat`` calls of ``fn``, the last result): on a busy machine
    the work a call does, without the time it waited for a core."""
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def peaks():
    """(numpy's float64 matmul GFLOP/s at n = 1000 on one thread, seconds of one sqrt(1/x) in SIMD), both in CPU
    time: what one core does."""
    from numba import njit
    from threadpoolctl import threadpool_limits

    @njit(error_model="numpy")
    def inverse_roots(x, y, times):
        for _ in range(times):
            for j in range(x.shape[0]):
                y[j] = np.sqrt(1.0 / x[j])

    a = np.random.default_rng(0).random((1000, 1000))
    with threadpool_limits(1):
        gflops = 2e9 / cpu_timed(lambda: a @ a)[0] / 1e9
    x, y = 1.0 + np.random.default_rng(0).random(2048), np.empty(2048)
    inverse_roots(x, y, 1)
    return gflops, cpu_timed(lambda: inverse_roots(x, y, 2000))[0] / (2000 * 2048)


def against_jax():
    """(d): Thomson N = 100 and 1,000, dyn against JAX, and the roofline lines."""
    import numba

    import dyn
    from dyn.flows.sphere import pairs as pair_pass

    if not have_jax():
        return
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; numba threads {numba.get_num_threads()}")
    gflops, root = peaks()
    print(f"one core: numpy float64 matmul (n = 1000) {gflops:.1f} GFLOP/s; one sqrt(1/x) in SIMD {root * 1e9:.2f} ns")
    for n, lr, steps in THOMSON:
        w0 = unit_start(n)
        run = jax_thomson(w0, lr, steps)
        run()  # compile
        t_jax, (L_jax, w_jax) = timed(run)
        c_jax = cpu_timed(run)[0]
        dyn.simulate("sphere", vectors=n, lr=lr, steps=5, init=w0)  # compile / load the cache
        t_kernel, c_kernel, job = dyn_kernel(w0, lr, steps)
        gap = max(np.abs(job.w[0] - w_jax).max(), np.abs(job.loss_iter[0] - L_jax).max() / L_jax[0])
        assert gap < 1e-10, gap
        threshold, pair_pass.SPLIT_VECTORS = pair_pass.SPLIT_VECTORS, 0  # the job splits a single replica from here
        try:
            t_split, _, split = dyn_kernel(w0, lr, steps)
        finally:
            pair_pass.SPLIT_VECTORS = threshold
        assert np.array_equal(split.w, job.w) and np.array_equal(split.loss_iter, job.loss_iter)
        t_sim, ds = timed(lambda: dyn.simulate("sphere", vectors=n, lr=lr, steps=steps, init=w0))
        assert np.array_equal(ds.w.isel(time=-1).values, job.w[0])
        print(f"load {os.getloadavg()[0]:.1f}")
        row(f"(d) Thomson N={n}, {steps} steps: JAX (jit + scan, Gram form)", t_jax)
        row(f"(d) ... dyn kernel (vs JAX; points agree to {gap:.0e})", t_kernel, t_jax, ">= 1.5x")
        row("(d) ... dyn kernel, pairs split over the threads (same bits)", t_split, t_jax)
        row("(d) ... dyn.simulate whole (records, measures the snapshots)", t_sim, t_jax)
        print(f"    CPU time: JAX {c_jax:.4f} s, dyn kernel {c_kernel:.4f} s ({c_jax / c_kernel:.1f}x)")
        pairs = n * (n - 1) // 2
        flops = FLOPS_PER_PAIR * pairs * steps
        print(f"    roofline: {FLOPS_PER_PAIR * pairs:,} flops and {72 * pairs:,} bytes a step from L1/L2 (the vectors "
              f"and the tiles' gradients, {120 * n:,} B, stay there: no memory traffic); dyn {flops / c_kernel / 1e9:.1f} GFLOP/s "
              f"= {flops / c_kernel / 1e9 / gflops:.0%} of one core's matmul; it is bound by the pairs' div + sqrt: "
              f"their floor {pairs * steps * root:.3f} s is {pairs * steps * root / c_kernel:.0%} of the kernel's CPU time")


if __name__ == "__main__":
    if "--jax" not in sys.argv:
        main()
    against_jax()
