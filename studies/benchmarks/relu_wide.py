"""Wide relu students (seed 002's run at m = 1e3, 1e4, 1e5) against JAX, and the roofline, in one process.

    python studies/benchmarks/relu_wide.py                     # m = 1e3, 1e4 (500 frames), 1e5 (first frames)
    python studies/benchmarks/relu_wide.py --widths 1000,10000 --short 0

Every contender gets the same inputs as arrays (x (n, 2), drawn once), the same initial students and
teacher, and runs seed 002's schedule (frame i: 100 int(log(10 + 10 i)) samples, batches of 20, lr 0.5):

- JAX (when installed): ``jit`` + ``lax.scan`` over the steps, float64, CPU, the inputs as a (steps, 20, 2)
  array; it keeps the final weights only (dyn records every frame);
- the whole ``dyn.simulate(..., inputs=x, test_loss="none")``, and its kernel alone (the step-blocked
  kernel of dyn/flows/relu/wide.py), and the per-sample kernel it replaces (dyn/flows/relu/kernels.py);
- the final weights of all of them agree to 1e-12 (printed).

The roofline: this machine's float64 matmul peak (numpy, one thread and all) and stream bandwidths (a numpy
copy of arrays in L3 and in memory), measured in the same run, against a run's flops (5.44e6 m, the
issue's count: ~15.4 flops per sample and neuron) and the bytes each kernel moves a step. At m = 1e5 the
first ``--short`` frames are timed (the ratios are per step; JAX takes ~10 min for the whole run).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from roofline import machine  # noqa: E402
from timing import row, timed  # noqa: E402

FLOPS_PER_PAIR = 5.44e6 / 353_200  # flops a sample and neuron (the seed run: 353,200 samples)


def problem(m, frames, seed=0):
    """Seed 002's run at width m over ``frames`` frames: students and teacher as dyn draws them, inputs."""
    from dyn.flows.relu.config import ReluConfig
    from dyn.flows.relu.schedule import plan
    from dyn.flows.relu.state import draw_students, draw_teacher

    cfg = ReluConfig(width=m, frames=frames)
    p = plan(cfg, range(frames))
    student = draw_students(cfg)
    init = {"a": student.a[0], "w": student.w[0], "b": student.b[0]}
    teacher = draw_teacher(cfg)._asdict()
    x = np.random.default_rng(seed).standard_normal((p.fresh, cfg.dim))
    return cfg, p, init, teacher, x


def jax_run(init, teacher, x, lr, batch):
    """SGD on seed 002's loss in JAX (jit + lax.scan over steps, float64): the final (a, w, b)."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    m, M = len(init["a"]), len(teacher["a"])
    ta, tw, tb = (jnp.asarray(teacher[k]) for k in "awb")

    def step(state, xb):
        a, w, b = state
        y = (ta * jax.nn.relu(xb @ tw.T + tb)).sum(1) / M
        z = xb @ w.T + b  # (batch, m)
        err = (jax.nn.relu(z) @ a) / m - y
        c = err / (m * batch)
        gz = c[:, None] * a * (z >= 0)
        return (a - lr * (c @ jax.nn.relu(z)), w - lr * (gz.T @ xb), b - lr * gz.sum(0)), None

    run = jax.jit(lambda state, xs: jax.lax.scan(step, state, xs)[0])
    xs = jnp.asarray(x.reshape(-1, batch, x.shape[1]))
    state = tuple(jnp.asarray(init[k]) for k in "awb")
    jax.block_until_ready(run(state, xs))  # compile
    return lambda: [np.asarray(v) for v in jax.block_until_ready(run(state, xs))]


def kernel_run(advance, cfg, p, init, teacher, x):
    """A call of a relu kernel's frame loop on copies of the initial state: the final (a, w, b)."""
    from dyn.flows.relu import kernels

    m, d, F = cfg.width, cfg.dim, len(p.frame_steps)
    snaps = kernels.Snaps(np.empty((1, F, m)), np.empty((1, F, m, d)), np.empty((1, F, m)), np.empty((1, F)))
    consts = kernels.Consts(teacher["a"], teacher["w"], teacher["b"], cfg.lr)
    inputs = kernels.Inputs(x[None], p.starts, p.sizes)

    def run():
        state = kernels.State(init["a"][None].copy(), np.ascontiguousarray(init["w"].T[None]), init["b"][None].copy())
        advance(state, consts, inputs, p.frame_steps, 0, snaps, 0, np.array([-1]))
        return state.a[0], state.wt[0].T, state.b[0]

    return run


def agree(*results):
    """The largest relative difference of the final (a, w, b) of every result to the first."""
    ref = results[0]
    return max(np.max(np.abs(np.asarray(u) - v)) / np.max(np.abs(v)) for r in results[1:] for u, v in zip(r, ref))


def bench(m, frames, peaks, have_jax):
    import numba

    import dyn
    from dyn.flows.relu import kernels, wide

    cfg, p, init, teacher, x = problem(m, frames)
    steps, pairs = len(p.sizes), int(p.sizes.sum()) * m
    label = f"m={m:,}, {frames} frames ({steps:,} steps)"
    print(f"\n{label}")

    def simulate():
        ds = dyn.simulate("relu", width=m, frames=frames, init=init, teacher=teacher, inputs=x, test_loss="none")
        return ds.a.values[-1], ds.w.values[-1], ds.b.values[-1]

    simulate()  # compile / load the cache
    small = problem(m, 1)
    for advance in (wide.advance, kernels.advance_serial):
        kernel_run(advance, *small)()
    repeat = 3 if m <= 1000 else 1  # the short runs vary most on a shared machine
    t_sim, r_sim = timed(simulate, repeat=repeat + 1)
    t_wide, r_wide = timed(kernel_run(wide.advance, cfg, p, init, teacher, x), repeat=2)
    t_old, r_old = timed(kernel_run(kernels.advance_serial, cfg, p, init, teacher, x), repeat=1)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    t_one, r_one = timed(kernel_run(wide.advance, cfg, p, init, teacher, x), repeat=2)
    numba.set_num_threads(threads)
    saved = wide.cores_idle, wide.THREADS_FROM
    wide.cores_idle, wide.THREADS_FROM = (lambda: True), 1  # split the tiles, however narrow and busy
    t_split, r_split = timed(kernel_run(wide.advance, cfg, p, init, teacher, x), repeat=1)
    wide.cores_idle, wide.THREADS_FROM = saved
    t_jax, r_jax = timed(jax_run(init, teacher, x, cfg.lr, cfg.batch), repeat=repeat) if have_jax else (None, None)
    results = [r_sim, r_wide, r_old] + ([r_jax] if have_jax else [])
    same = all(np.array_equal(u, v) for r in (r_wide, r_split) for u, v in zip(r_one, r))
    print(f"final weights: largest relative difference {agree(*results):.1e} (dyn.simulate, wide kernel, "
          f"per-sample kernel{', JAX' if have_jax else ''}); the wide kernel on one thread, on {threads} and with "
          f"its tiles split: {'identical' if same else 'DIFFERENT'}")
    target = {1000: ">= 2x JAX", 10000: ">= 5x JAX"}.get(m)
    if have_jax:
        row(f"JAX jit + lax.scan, {label}", t_jax)
    row("dyn per-sample kernel (vs JAX)", t_old, t_jax)
    row("dyn wide kernel on one thread (vs the per-sample kernel)", t_one, t_old)
    how = "split" if wide.split_tiles(m) else "on one thread"
    row(f"dyn wide kernel as the job runs it: tiles {how} (vs JAX)", t_wide, t_jax)
    row(f"dyn wide kernel, tiles split across {threads} threads (vs one)", t_split, t_one)
    row("whole dyn.simulate (vs JAX)", t_sim, t_jax, target)

    one, every, l3, dram = peaks
    flops = FLOPS_PER_PAIR * pairs
    d = cfg.dim
    wide_bytes = 2 * 8 * (d + 2) * m * steps  # the state read and written once a step
    old_bytes = 8 * 27 * pairs  # ~20 loads and 7 stores of 8 bytes a sample and neuron (9 arrays of m)
    floor_one, floor_all = flops / (one * 1e9), flops / (every * 1e9)
    in_l3 = lambda arrays: (l3 if 8 * arrays * m < 24 << 20 else dram) * 1e9  # noqa: E731 (B/s)
    print(f"roofline: {flops / steps:.3g} flops/step; wide kernel {wide_bytes / steps:.3g} B/step "
          f"({flops / wide_bytes:.1f} flop/B), per-sample kernel {old_bytes / steps:.3g} B/step "
          f"({flops / old_bytes:.2f} flop/B)")
    print(f"  compute floor {floor_one:.3g} s on one core ({one:.1f} GFLOP/s), {floor_all:.3g} s on all "
          f"({every:.1f} GFLOP/s); the wide kernel's bytes take {wide_bytes / in_l3(d + 2):.3g} s")
    print(f"  wide kernel on one thread {t_one / floor_one:.2f}x the one-core compute floor; as the job runs it "
          f"{t_wide / floor_one:.2f}x; split {t_split / floor_all:.2f}x the all-core floor")
    if 8 * 9 * m > 2 << 20:  # the per-sample kernel's nine arrays of m out of L2: its bytes bound it
        print(f"  per-sample kernel {t_old / (old_bytes / in_l3(9)):.2f}x its bandwidth floor "
              f"({old_bytes / in_l3(9):.3g} s)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--widths", default="1000,10000,100000")
    parser.add_argument("--short", type=int, default=100, help="frames timed at m = 1e5 (0: skip it)")
    args = parser.parse_args()
    import numba

    try:
        import jax  # noqa: F401

        have_jax = True
    except ImportError:
        have_jax = False
        print("jax not installed: JAX rows skipped (pip install jax)")
    print(f"machine: {os.cpu_count()} cores, numba threads {numba.get_num_threads()}; load average "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    peaks = machine()
    print(peaks)
    for m in (int(float(w)) for w in args.widths.split(",")):
        frames = 500 if m < 100_000 else args.short
        if frames:
            bench(m, frames, peaks, have_jax)
    print(f"\nload average at the end {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
