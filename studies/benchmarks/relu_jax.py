"""dyn against JAX (jit + lax.scan, vmap over replicas, float64, CPU) on seed 002's relu run, in one process.

    python studies/benchmarks/relu_jax.py             # m = 20: one run, 64 and 1,024 replicas
    python studies/benchmarks/relu_jax.py --quick     # without the 1,024 replicas (minutes less)

The run: m = 20, M = 4, d = 2, lr 0.5, the seed's schedule (500 frames, 17,660 steps of 20 samples).
JAX is what a user would write: the step with the same hand-written gradients as dyn's kernel, ``lax.scan``
over the steps, ``jax.jit``, ``vmap`` over replicas, float64, warm (compiled before timing). It returns the
final weights and the per-step loss; dyn returns its Dataset (501 snapshots, clocks, losses), so the
comparison is of the whole ``dyn.simulate`` against JAX's bare scan.

(a) m = 20, one run: JAX given dyn's inputs (final weights compared: equal to 1e-12) and JAX drawing its
    inputs inside the scan (``random.normal(fold_in(key, step))``), against the whole ``dyn.simulate``
    with its inputs drawn (default generator; ``rng="counter"``, drawn inside the kernel), test loss off;
(b) replicas 64 and 1,024: JAX vmap with its inputs drawn inside the scan, against ``dyn.simulate(replicas=R)``
    (default generator; ``rng="counter"``). Four replicas with the same inputs are compared first.
The ratios are JAX's time over dyn's (> 1: dyn is faster); the goals are >= 2x. Each row gives the wall-clock
time and the CPU time of the process (all its threads): on a loaded machine the CPU time is the steadier
measure of the work each does.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

STEPS, BATCH = 17_660, 20


def measure(fn, repeat):
    """(fastest wall-clock seconds, fewest CPU seconds of the process, all threads) over ``repeat`` calls."""
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def line(name, t, base=None, target=None):
    """A row: wall time and CPU time, each with JAX's over this one (> 1: dyn is faster)."""
    ratio = lambda i: f"{base[i] / t[i]:6.1f}x" if base else " " * 7  # noqa: E731
    goal = f"  (target {target})" if target else ""
    print(f"{name:<56s}{t[0]:9.3f} s {ratio(0)}{t[1]:9.3f} s {ratio(1)}{goal}", flush=True)


def jax_functions(teacher, lr=0.5):
    """Jitted scans from (a, w, b): with the given inputs (steps, batch, d), with a key (drawing inside), and
    both vmapped over replicas."""
    import jax
    import jax.numpy as jnp

    ta, tw, tb = (jnp.asarray(v) for v in teacher)

    def step(params, x):
        a, w, b = params
        m = a.shape[0]
        z = x @ w.T + b
        err = jax.nn.relu(z) @ a / m - jax.nn.relu(x @ tw.T + tb) @ ta / ta.shape[0]
        c = (err / m)[:, None]
        act = jnp.where(z >= 0.0, a, 0.0)
        h = lr / x.shape[0]
        new = (a - h * (c * jax.nn.relu(z)).sum(0), w - h * (c * act).T @ x, b - h * (c * act).sum(0))
        return new, 0.5 * jnp.mean(err * err)

    def given(a, w, b, x):
        return jax.lax.scan(step, (a, w, b), x)

    def drawn(a, w, b, key):
        def body(params, t):
            x = jax.random.normal(jax.random.fold_in(key, t), (BATCH, w.shape[1]), dtype=jnp.float64)
            return step(params, x)
        return jax.lax.scan(body, (a, w, b), jnp.arange(STEPS))

    return jax.jit(given), jax.jit(drawn), jax.jit(jax.vmap(drawn)), jax.jit(jax.vmap(given))


def initial(ds):
    """(a, w, b) of every replica at time 0, and the teacher, from a dyn Dataset."""
    first = ds.isel(time=0)
    if "replica" not in ds.dims:
        first = first.expand_dims("replica")
    order = ("replica", "neuron", "dim")
    state = [np.ascontiguousarray(first[k].transpose(*(d for d in order if d in first[k].dims)).values) for k in "awb"]
    return state, [ds["teacher_" + k].values for k in "awb"]


def main():
    try:
        import jax
    except ImportError:
        print("jax is not installed (pip install jax): nothing to compare with")
        return

    jax.config.update("jax_enable_x64", True)
    import dyn
    from dyn.flows.relu.config import ReluConfig
    from dyn.flows.relu.inputs import FreshSamples
    from dyn.flows.relu.schedule import plan

    quick = "--quick" in sys.argv
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f}; jax "
          f"{jax.__version__}, numba threads {__import__('numba').get_num_threads()}", flush=True)
    for R in (1, 2):  # compile / load the cached kernels
        for rng in ("default", "counter"):
            dyn.simulate("relu", frames=2, replicas=R, rng=rng, test_loss="none")

    # (a) one run, m = 20: the same inputs and init in JAX, final weights compared
    cfg = ReluConfig(test_loss="none")
    p = plan(cfg, range(cfg.frames))
    assert len(p.sizes) == STEPS and (p.sizes == BATCH).all()
    x = FreshSamples(cfg).block(range(cfg.frames), p)[0].reshape(STEPS, BATCH, cfg.dim)
    ds = dyn.simulate("relu", test_loss="none")
    (a, w, b), teacher = initial(ds)
    run_given, run_drawn, vmap_drawn, vmap_given = jax_functions(teacher)
    out = jax.block_until_ready(run_given(a[0], w[0], b[0], x))
    final = [np.asarray(v) for v in out[0]]
    err = max(np.abs(final[i] - ds[k].values[-1]).max() for i, k in enumerate("awb"))
    print(f"(a) final weights, JAX given dyn's inputs vs dyn: max |difference| {err:.1e}")
    assert err < 1e-12, err
    key = jax.random.PRNGKey(0)
    jax.block_until_ready(run_drawn(a[0], w[0], b[0], key))
    t_given = measure(lambda: jax.block_until_ready(run_given(a[0], w[0], b[0], x)), 7)
    t_drawn = measure(lambda: jax.block_until_ready(run_drawn(a[0], w[0], b[0], key)), 7)
    t_dyn = measure(lambda: dyn.simulate("relu", test_loss="none"), 7)
    t_ctr = measure(lambda: dyn.simulate("relu", test_loss="none", rng="counter"), 7)
    t_exact = measure(lambda: dyn.simulate("relu"), 5)
    print(f"{'':56s}{'wall':>11s} {'JAX/this':>7s}{'CPU':>11s} {'JAX/this':>7s}")
    line("(a) JAX scan, m=20, inputs given", t_given, t_drawn)
    line("(a) JAX scan, m=20, inputs drawn inside the scan", t_drawn, t_drawn)
    line("(a) dyn.simulate, m=20, default rng, no test loss", t_dyn, t_drawn, ">= 2x")
    line("(a) dyn.simulate, m=20, rng='counter' (in the kernel)", t_ctr, t_drawn, ">= 2x")
    line("(a) dyn.simulate, m=20, default, exact test loss", t_exact, t_drawn)

    # (b) ensembles: JAX vmap drawing inside its scan; first 4 replicas on the same inputs, compared
    ds4 = dyn.simulate("relu", replicas=4, test_loss="none")
    (a4, w4, b4), _ = initial(ds4)
    x4 = FreshSamples(ReluConfig(replicas=4)).block(range(cfg.frames), p).reshape(4, STEPS, BATCH, cfg.dim)
    got = jax.block_until_ready(vmap_given(a4, w4, b4, x4))[0][1]
    err = np.abs(np.asarray(got) - ds4["w"].isel(time=-1).transpose("replica", "neuron", "dim").values).max()
    print(f"(b) final w of 4 replicas, JAX vmap given dyn's inputs vs dyn: max |difference| {err:.1e}", flush=True)
    assert err < 1e-12, err
    for R in (64,) if quick else (64, 1024):
        keys = jax.random.split(jax.random.PRNGKey(0), R)
        dsR = dyn.simulate("relu", replicas=R, frames=2, test_loss="none")
        (aR, wR, bR), _ = initial(dsR)
        jax.block_until_ready(vmap_drawn(aR, wR, bR, keys))
        n = 2 if R <= 64 else 1
        t_jax = measure(lambda: jax.block_until_ready(vmap_drawn(aR, wR, bR, keys)), n)
        line(f"(b) JAX vmap, {R} replicas, inputs drawn inside", t_jax, t_jax)
        t_dyn = measure(lambda: dyn.simulate("relu", replicas=R, test_loss="none"), n)
        line(f"(b) dyn.simulate, {R} replicas, default rng", t_dyn, t_jax, ">= 2x")
        t_ctr = measure(lambda: dyn.simulate("relu", replicas=R, test_loss="none", rng="counter"), n)
        line(f"(b) dyn.simulate, {R} replicas, rng='counter'", t_ctr, t_jax, ">= 2x")
    print(f"load at the end: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f}")


if __name__ == "__main__":
    main()
