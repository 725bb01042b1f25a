"""Benchmark of the relu flow against what a user would run instead, in one process.

    python studies/benchmarks/relu.py            # prints a table of times and ratios

(a) the seed's code as written (pure Python; a few frames, extrapolated per sample to 500 frames),
(b) a vectorised PyTorch CPU version with hand-written gradients (float64, all cores, no test loss),
(c) dyn warm, test_loss="none", input drawing included; at m = 20 (seed schedule) and m = 1000,
(d) dyn's exact population loss alone over 501 snapshots at m = 20,
(e) rendering 500 frames: dyn's blitted writer vs FuncAnimation(blit=True) + PillowWriter,
(f) the headline command end to end, warm: ``dyn simulate relu --width 20 --radius 0.05``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from timing import best, row  # noqa: E402
from relu_baselines import frame_sizes, seed_frames, torch_run  # noqa: E402


def main():
    import dyn
    from dyn.flows.relu.population import population_loss

    print(f"machine: {os.cpu_count()} cores; numba threads {__import__('numba').get_num_threads()}")
    dyn.simulate("relu", frames=2, test_loss="none")  # compile / load the cache
    dyn.simulate("relu", frames=2, replicas=2, test_loss="none")

    per_sample = seed_frames(frames=2) / frame_sizes(1)[0]
    seed_total = per_sample * sum(frame_sizes(500))
    row("(a) seed code, 500 frames (extrapolated)", seed_total)

    results = {}
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
        print("torch not installed: PyTorch rows skipped")
    for m in (20, 1000):
        t_dyn = best(lambda: dyn.simulate("relu", width=m, test_loss="none"))
        results[m] = t_dyn
        t_torch = best(lambda: torch_run(m), repeat=1) if have_torch else None
        if t_torch:
            row(f"(b) PyTorch CPU, m={m}, 500 frames", t_torch)
        row(f"(c) dyn, m={m}, 500 frames (vs torch)", t_dyn, t_torch, ">= 50x" if m == 20 else ">= 4x")
    row("(c) dyn, m=20 (vs the seed's code)", results[20], seed_total)

    ds = dyn.simulate("relu", test_loss="none")
    snaps = [np.ascontiguousarray(ds[k].values) for k in ("a", "w", "b")]
    teacher = [ds[k].values for k in ("teacher_a", "teacher_w", "teacher_b")]
    population_loss(*snaps, *teacher)
    row("(d) exact loss, 501 snapshots, m=20", best(lambda: population_loss(*snaps, *teacher)), target="<= 0.1 s")

    try:
        from render import bench_render

        t_dyn_r, t_mpl = bench_render(ds, frames=500)
        row("(e) FuncAnimation(blit=True) + PillowWriter, 500 fr", t_mpl)
        row("(e) dyn.animate, 500 frames GIF", t_dyn_r, t_mpl, ">= 12x")
    except ImportError as err:
        print(f"render benchmark unavailable: {err}")

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(Path(sys.executable).with_name("dyn")), "simulate", "relu", "--width", "20", "--radius", "0.05",
               "--quiet"]
        subprocess.run(cmd, cwd=tmp, check=True, capture_output=True)
        t = best(lambda: subprocess.run(cmd, cwd=tmp, check=True, capture_output=True), repeat=2)
        row("(f) dyn simulate relu --width 20 --radius 0.05", t, target="<= 5 s warm")


if __name__ == "__main__":
    main()
