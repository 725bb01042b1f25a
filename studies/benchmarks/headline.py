"""What a user waits for: ``dyn simulate relu --width 20 --radius 0.05`` (writes relu.nc and relu.gif).

    python studies/benchmarks/headline.py [--repeat 3] [--baseline SRC]

Prints, in one run and with the machine's load (``uptime``):

- the whole command in a fresh process (numba's cache warm: one untimed run first), best of N, wall
  and CPU (user + sys) seconds;
- its phases, in a fresh process doing what the command does in the same order, each timed on its
  own: the imports (typer and the CLI, numpy, numba, xarray + pandas, h5netcdf + h5py, matplotlib +
  Pillow), numba's first call (its target context and the cached kernel's load), the run, the exact
  test loss, the Dataset, the NetCDF write, the GIF (500 frames + the initial state), and which of
  dask, distributed, scipy were imported by the end. Best of N for each phase.
- a 500-frame GIF alone in a warm process, in dyn's style (the command's) and the seed's (1000 x 600);
- with ``--baseline SRC`` (a source tree of another dyn version with its ``cli/`` copied to
  ``SRC/dyn/cli``, e.g. ``git archive main``), the whole command of that version too, the two versions
  alternating in one run.

CPU time is the number to compare across loads: on 2 cores shared with other work, wall time is CPU
time stretched by the load.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

COMMAND = ["simulate", "relu", "--width", "20", "--radius", "0.05"]

PHASES = r'''
import json, sys, time
T = {}
def lap(name, t0):
    w, c = time.perf_counter(), time.process_time()
    T[name] = (w - t0[0], c - t0[1]); t0[:] = [w, c]
t0 = [time.perf_counter(), time.process_time()]
start = list(t0)
import dyn.cli.app; lap("import typer + dyn's CLI", t0)
import numpy; lap("import numpy", t0)
import numba; lap("import numba", t0)
from dyn.io.xarray_lazy import xarray; xarray(); lap("import xarray + pandas", t0)
import h5netcdf; lap("import h5netcdf + h5py", t0)
import matplotlib.figure, matplotlib.backends.backend_agg, PIL.Image; lap("import matplotlib + Pillow", t0)
import dyn
from dyn.flows.relu import job as J, kernels, population, record
from dyn.engine import runner
from dyn.flows.relu.config import ReluConfig
lap("import dyn's relu modules", t0)
first = {"advance": True}
real_advance, real_loss, real_dataset = J.ReluJob.advance, population.population_loss, record.run_dataset
def advance(self, lo, hi, inputs):
    if not first["advance"]:
        return real_advance(self, lo, hi, inputs)
    first["advance"] = False  # the runner's first block is one frame: numba's target context, the kernel's load
    t = [time.perf_counter(), time.process_time()]
    out = real_advance(self, lo, hi, inputs)
    lap("numba: first call (target context, cached kernel load)", t)
    return out
def loss(*args):
    t = [time.perf_counter(), time.process_time()]
    out = real_loss(*args); lap("exact test loss (incl. its kernel's load)", t); return out
def dataset(*args, **kw):
    t = [time.perf_counter(), time.process_time()]
    out = real_dataset(*args, **kw); lap("Dataset assembly", t); return out
J.ReluJob.advance, population.population_loss, record.run_dataset = advance, loss, dataset
t = [time.perf_counter(), time.process_time()]
ds = dyn.simulate("relu", width=20, radius=0.05)
w, c = time.perf_counter() - t[0], time.process_time() - t[1]
inner = [T[k] for k in T if k.startswith(("numba", "exact", "Dataset"))]
T["run (the kernel over 500 frames, inputs drawn)"] = (w - sum(x[0] for x in inner), c - sum(x[1] for x in inner))
t0[:] = [time.perf_counter(), time.process_time()]
from dyn.io.netcdf import save
save(ds, "relu.nc"); lap("NetCDF write", t0)
from dyn.render.animate import animate
animate(ds, "relu.gif"); lap("GIF, 501 frames", t0)
T["total"] = (time.perf_counter() - start[0], time.process_time() - start[1])
heavy = sorted(m for m in ("dask", "dask.array", "distributed", "scipy", "scipy.linalg", "matplotlib") if m in sys.modules)
print(json.dumps({"phases": T, "imported": heavy}))
'''


def uptime():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return ["?"]


def one_command(folder, source=None):
    """(wall, cpu) of one fresh ``dyn`` process running the command in ``folder`` (``source``: another dyn)."""
    env = dict(os.environ, PYTHONPATH=source) if source else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dyn.cli", *COMMAND, "-q"], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def whole_command(repeat, folder, sources=(None,)):
    """{source: best (wall, cpu)} of ``repeat`` fresh processes per source, alternating; the first run of each
    (numba's cache and the OS's file cache warmed) is not counted."""
    runs = {src: [] for src in sources}
    for k in range(repeat + 1):
        for src in sources:
            result = one_command(folder, src)
            if k:
                runs[src].append(result)
    return {src: (min(r[0] for r in rs), min(r[1] for r in rs)) for src, rs in runs.items()}


def phases(repeat, folder):
    """{phase: (best wall, best cpu)} over ``repeat`` fresh processes, and the heavy modules imported."""
    best, imported = {}, None
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", PHASES], cwd=folder, check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        imported = result["imported"]
        for name, (w, c) in result["phases"].items():
            old = best.get(name, (float("inf"), float("inf")))
            best[name] = (min(old[0], w), min(old[1], c))
    return best, imported


def gif_alone(repeat):
    """Best (wall, cpu) of dyn.animate on the command's run (500 frames + the initial state), per style."""
    import dyn

    ds = dyn.simulate("relu", width=20, radius=0.05)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        dyn.animate(ds.isel(time=slice(0, 4)), os.path.join(tmp, "warm.gif"))
        for style in ("dyn", "seed"):
            runs = []
            for _ in range(repeat):
                t, c = time.perf_counter(), time.process_time()
                dyn.animate(ds, os.path.join(tmp, f"{style}.gif"), style=style)
                runs.append((time.perf_counter() - t, time.process_time() - c))
            out[style] = (min(r[0] for r in runs), min(r[1] for r in runs))
    return out


def main():
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    baseline = sys.argv[sys.argv.index("--baseline") + 1] if "--baseline" in sys.argv else None
    print(f"load average at start: {' '.join(uptime())} (2 cores)")
    with tempfile.TemporaryDirectory() as folder:
        sources = (None, baseline) if baseline else (None,)
        for src, (wall, cpu) in whole_command(repeat, folder, sources).items():
            name = "dyn " + " ".join(COMMAND) + (f" [{os.path.basename(src.rstrip('/'))}]" if src else "")
            print(f"{name:<62s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  (best of {repeat}"
                  f"{'' if src else '; target <= 2.5 s'})")
        best, imported = phases(repeat, folder)
    print("phases, in a fresh process (best of each):")
    for name, (w, c) in best.items():
        print(f"  {name:<60s} wall {w:6.3f} s  cpu {c:6.3f} s")
    print(f"  imported by the end: {', '.join(imported) or 'none of dask, distributed, scipy, matplotlib'}")
    for style, (w, c) in gif_alone(repeat).items():
        print(f"{'GIF of 500 frames + the initial state, style ' + style:<62s} wall {w:6.2f} s  cpu {c:6.2f} s  "
              f"(target <= 1.0 s)")
    print(f"load average at end: {' '.join(uptime())}")


if __name__ == "__main__":
    main()
