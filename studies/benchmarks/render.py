"""Rendering 500 frames of seed 002's picture: dyn.animate vs a well-written FuncAnimation.

    python studies/benchmarks/render.py [RUN.nc]

The baseline is what a careful matplotlib user writes: the same figure (10 x 6 in, 100 dpi), two
scatters updated with ``set_offsets`` (the trail holding every past position), ``blit=True``, and
``PillowWriter``. ``FuncAnimation.save`` redraws the whole figure every frame and PillowWriter keeps
every frame as an RGBA image until the end; dyn draws on a cached background and streams paletted
frames. Prints both times, the ratio and peak memory.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def funcanimation_gif(ds, path, frames):
    """The baseline: FuncAnimation(blit=True) + PillowWriter, the seed's look."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    pos = ds["position"].values
    teacher = ds["teacher_position"].values
    fig, ax = plt.subplots(figsize=(10, 6))
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2, 2)
    for tx, ty in teacher:
        u = np.linspace(0.0, 2.0, 10) if tx >= 0 else np.linspace(-2.0, 0.0, 10)
        ax.plot(u, ty / tx * u, color="k")
    ax.scatter(teacher[:, 0], teacher[:, 1], s=100.0, color="r", alpha=0.4)
    trail = ax.scatter([], [], s=5.0, color="grey", alpha=0.4)
    scat = ax.scatter([], [], s=80.0, color="b")

    def update(i):
        trail.set_offsets(pos[1:i + 1].reshape(-1, 2))
        scat.set_offsets(pos[i + 1])
        return scat, trail

    anim = FuncAnimation(fig, update, frames=frames, blit=True)
    anim.save(path, writer=PillowWriter(fps=30))
    plt.close(fig)


def bench_render(ds, frames=500):
    """Seconds for dyn.animate and for the FuncAnimation baseline, same picture, same frame count."""
    import dyn

    ds = ds.isel(time=slice(0, frames + 1))
    with tempfile.TemporaryDirectory() as tmp:
        dyn.animate(ds.isel(time=slice(0, 4)), Path(tmp) / "warm.gif", style="seed")
        t = time.perf_counter()
        dyn.animate(ds, Path(tmp) / "dyn.gif", style="seed")
        t_dyn = time.perf_counter() - t
        t = time.perf_counter()
        funcanimation_gif(ds, str(Path(tmp) / "mpl.gif"), frames)
        t_mpl = time.perf_counter() - t
    return t_dyn, t_mpl


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    import dyn

    ds = dyn.load(sys.argv[1]) if len(sys.argv) > 1 else dyn.simulate("relu", test_loss="none")
    before = peak_mb()
    with tempfile.TemporaryDirectory() as tmp:
        dyn.animate(ds, Path(tmp) / "warm.gif", style="seed")
        t = time.perf_counter()
        dyn.animate(ds, Path(tmp) / "dyn.gif", style="seed")
        t_dyn = time.perf_counter() - t
        size = (Path(tmp) / "dyn.gif").stat().st_size / 2**20
        t = time.perf_counter()
        dyn.animate(ds, Path(tmp) / "dyn.mp4", style="seed")
        t_mp4 = time.perf_counter() - t
    after_dyn = peak_mb()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        funcanimation_gif(ds, str(Path(tmp) / "mpl.gif"), ds.sizes["time"] - 1)
        t_mpl = time.perf_counter() - t
    after_mpl = peak_mb()
    n = ds.sizes["time"] - 1
    print(f"{n} frames, 1000x600, seed style")
    print(f"dyn GIF          {t_dyn:7.2f} s  ({1000 * t_dyn / n:.1f} ms/frame, {size:.1f} MB, peak RSS {after_dyn:.0f} MB)")
    print(f"dyn MP4          {t_mp4:7.2f} s")
    print(f"FuncAnimation    {t_mpl:7.2f} s  ({1000 * t_mpl / n:.1f} ms/frame, peak RSS grew {after_mpl - after_dyn:.0f} MB)")
    print(f"ratio            {t_mpl / t_dyn:7.1f}x  (target >= 12x; RSS before rendering {before:.0f} MB)")


if __name__ == "__main__":
    main()
