"""Benchmark of ``dyn study run`` against what a user would write instead, on this machine.

    python studies/benchmarks/study.py            # prints runs per second and ratios

The same sweep (relu, width x radius x seeds, the seed's 500 frames, exact population loss) is run
(a) as a plain loop over ``dyn.simulate``, one call per seed, keeping the flow's metrics (one process);
(b) as a plain loop with a point's seeds as replicas of one call;
(c) by ``dyn.study.run`` on 2 worker processes, seeds as replicas (the default), including the start
    of the LocalCluster, and on an already running cluster (``client=``);
(d) the same with one task per seed (``--seed-tasks``), on the running cluster.
Everything is warm (numba's cache is filled first). A "run" is one seed at one point.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

SPEC = """flow = "relu"
seeds = 8
[fixed]
test_loss = "exact"
[sweep]
width = [4, 8, 20, 50]
radius = [0.05, 0.25, 1.0]
"""


def loop(spec, batch):
    import dyn
    from dyn.flows import get_flow

    metrics = get_flow("relu").metrics
    kept = []
    n = len(spec.seeds)
    for point in spec.points():
        if batch:
            kept.append(metrics(dyn.simulate("relu", **spec.options(point, 0, n))))
        else:
            for k in range(n):
                kept.append(metrics(dyn.simulate("relu", **spec.options(point, k, k + 1))))
    return kept


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def row(name, seconds, runs, baseline=None):
    ratio = f"{baseline / seconds:6.2f}x" if baseline else ""
    print(f"{name:<62s}{seconds:8.2f} s {runs / seconds:8.1f} runs/s  {ratio}")


def main():
    import dask
    from distributed import Client, LocalCluster

    import dyn
    from dyn.study.run import run
    from dyn.study.spec import load_spec

    tmp = Path(tempfile.mkdtemp(prefix="dyn-study-bench-"))
    path = tmp / "bench.toml"
    path.write_text(SPEC)
    spec = load_spec(path)
    runs = len(spec.points()) * len(spec.seeds)
    print(f"load average {os.getloadavg()[0]:.1f}; machine: {os.cpu_count()} cores; {len(spec.points())} points x {len(spec.seeds)} seeds = {runs} runs "
          f"(relu, 500 frames, exact loss)")
    for k in (1, len(spec.seeds)):  # warm numba's cache: serial and parallel kernels, every width
        for point in spec.points():
            dyn.simulate("relu", **{**spec.options(point, 0, k), "frames": 2})

    t_loop, _ = timed(lambda: loop(spec, batch=False))
    row("(a) loop over dyn.simulate, one call per seed", t_loop, runs)
    t_rep, _ = timed(lambda: loop(spec, batch=True))
    row("(b) loop, a point's seeds as replicas of one call", t_rep, runs, t_loop)

    t_cold, out = timed(lambda: run(path, tmp / "c.zarr", workers=2, progress=False))
    assert out.done == runs
    row("(c) dyn study run, 2 workers, cluster start included", t_cold, runs, t_loop)
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.CRITICAL)
    client = Client(cluster)
    try:  # alternate the two, twice, and keep the best of each: the machine is shared
        warm, seed = [], []
        for k in range(2):
            warm.append(timed(lambda: run(path, tmp / f"w{k}.zarr", client=client, progress=False))[0])
            seed.append(timed(lambda: run(path, tmp / f"s{k}.zarr", client=client, progress=False,
                                          batch_seeds=False))[0])
        t_warm, t_seed = min(warm), min(seed)
        row("(c) dyn study run, 2 workers running, seeds as replicas", t_warm, runs, t_loop)
        row("(d) dyn study run, 2 workers running, one task per seed", t_seed, runs, t_loop)
    finally:
        client.close()
        cluster.close()
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"seeds as replicas vs one task per seed: {t_seed / t_warm:.2f}x; "
          f"study (running cluster) vs plain loop: {t_loop / t_warm:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
