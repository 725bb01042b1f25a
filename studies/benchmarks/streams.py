"""What drawing seed 002's inputs costs, by generator: the per-frame streams (as built before and now) vs
counter-based ones.

    python studies/benchmarks/streams.py         # prints times and ratios ((a)'s / each)

The relu schedule of seed 002: 500 frames, 353,200 samples of dim 2 (706,400 normals), one replica.
(a) before: a SeedSequence + PCG64 Generator per frame (dyn/engine/streams.py), split into (a1) the 500
    constructions alone and (a2) the draws alone (one Generator for all 706,400 normals);
(a3) what ``FreshSamples.block`` does now: the same streams, their PCG64 states computed in one ``@njit`` call
    (dyn/engine/seeding.py) and set into one Generator per frame (bit-identical, checked here);
(b) numpy's ``np.random.Philox`` keyed once per run, its counter set per frame (no SeedSequence);
(c) dyn.engine.counter (Philox4x32-10 + Box-Muller) in an ``@njit`` loop, one block per sample as a
    kernel would draw it: (c1) written to an array, (c2) consumed in place (summed, no array: the cost
    inside a kernel); (d) the host-side ``counter.normals`` block (broadcast names, prange).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from numba import njit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from timing import timed, row  # noqa: E402

from dyn.engine.counter import normal_pair, normals  # noqa: E402
from dyn.engine.streams import DATA, stream  # noqa: E402
from dyn.flows.relu.config import ReluConfig  # noqa: E402
from dyn.engine.seeding import FrameStreams  # noqa: E402
from dyn.flows.relu.inputs import FreshSamples  # noqa: E402
from dyn.flows.relu.schedule import plan  # noqa: E402

SEED, FRAMES, DIM = 0, 500, 2


def numpy_philox(sizes):
    """One key per run (seed, purpose), the frame index in the counter's high word."""
    key = np.array([SEED, DATA], dtype=np.uint64)
    x = np.empty((sizes.sum(), DIM))
    start = 0
    for i, n in enumerate(sizes):
        g = np.random.Generator(np.random.Philox(counter=[0, 0, i, 0], key=key))
        g.standard_normal(out=x[start:start + n])
        start += n
    return x


@njit(cache=True)
def counter_loop(seed, steps, batch):
    """x[step, sample] = (z0, z1) of the block (lane 0, sample, step, replica 0): as a kernel draws."""
    x = np.empty((steps, batch, 2))
    for s in range(steps):
        for i in range(batch):
            z0, z1 = normal_pair(seed, DATA, 0, s, i, 0)
            x[s, i, 0] = z0
            x[s, i, 1] = z1
    return x


@njit(cache=True)
def counter_consumed(seed, steps, batch):
    """The same draws used in place (summed): what generating inside a kernel adds to it."""
    acc = 0.0
    for s in range(steps):
        for i in range(batch):
            z0, z1 = normal_pair(seed, DATA, 0, s, i, 0)
            acc += z0 * z1
    return acc


def main():
    cfg = ReluConfig()
    p = plan(cfg, range(FRAMES))
    sizes = np.add.reduceat(p.sizes, np.cumsum(p.frame_steps) - p.frame_steps)
    steps, batch = len(p.sizes), int(p.sizes[0])
    assert p.fresh == 353_200 and (p.sizes == batch).all(), "seed 002's schedule: 17,660 steps of 20 samples"
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {FRAMES} frames, {p.fresh:,} samples "
          f"of dim {DIM} ({steps:,} steps of {batch})")
    counter_loop(SEED, 2, 2), counter_consumed(SEED, 2, 2), normals(SEED, DATA, 0, 0, 0, DIM)  # compile

    def per_frame_streams():  # the per-frame SeedSequence + Generator constructions FreshSamples did before
        x = np.empty((p.fresh, DIM))
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        for i in range(FRAMES):
            stream(SEED, DATA, i).standard_normal(out=x[bounds[i]:bounds[i + 1]])
        return x

    source = FreshSamples(cfg)
    list(FrameStreams(SEED, DATA).each(range(2)))  # compile
    repeat = 7
    t_today, x_today = timed(per_frame_streams, repeat)
    t_now, x_now = timed(lambda: source.block(range(FRAMES), p), repeat)
    t_states = timed(lambda: list(FrameStreams(SEED, DATA).each(range(FRAMES))), repeat)[0]
    assert np.array_equal(x_now[0], x_today), "the seeded streams are the per-frame streams bit for bit"
    t_make = timed(lambda: [stream(SEED, DATA, i) for i in range(FRAMES)], repeat)[0]
    t_draw = timed(lambda: stream(SEED, DATA, 0).standard_normal((p.fresh, DIM)), repeat)[0]
    t_philox = timed(lambda: numpy_philox(sizes), repeat)[0]
    t_loop, x_loop = timed(lambda: counter_loop(SEED, steps, batch), repeat)
    t_used = timed(lambda: counter_consumed(SEED, steps, batch), repeat)[0]
    t_host, x_host = timed(lambda: normals(SEED, DATA, 0, np.arange(steps)[:, None], np.arange(batch), DIM), repeat)
    assert x_now.shape == (1, p.fresh, DIM) and np.array_equal(x_host, x_loop)

    print(f"{'':58s}{'time':>12s} {'(a)/this':>9s}")
    row("(a) before: SeedSequence + Generator per frame", t_today, t_today)
    row("(a1)   500 SeedSequence + Generator constructions alone", t_make, t_today)
    row("(a2)   706,400 normals from one PCG64 Generator alone", t_draw, t_today)
    row("(a3) now: FreshSamples.block, compiled seeding (same bits)", t_now, t_today)
    row("(a3)   its 500 stream states set into one Generator", t_states, t_today)
    row("(b) np.random.Philox, key per run, counter per frame", t_philox, t_today)
    row("(c1) counter Philox4x32-10 in an @njit loop, to an array", t_loop, t_today)
    row("(c2) counter, consumed in the loop (inside a kernel)", t_used, t_today)
    row("(d) counter.normals host block (prange)", t_host, t_today)


if __name__ == "__main__":
    main()
