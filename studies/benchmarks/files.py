"""Run files: size and write/read time of NetCDF by zlib level (shuffle and fletcher32 always on).

    python studies/benchmarks/files.py            # prints a table; the README quotes it

For each run (the bare ``dyn simulate relu``, ``sphere``, ``som``, ``som --rule topographic`` and a
wide relu run) it writes the file with ``dyn.io.netcdf.save(level=L)`` for L in 0 (checksums only,
no compression), 1, 4, 6, 9, and reads it back with ``dyn.load``: best of 3 each, in one process.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from timing import best  # noqa: E402

LEVELS = (None, 0, 1, 4, 6, 9)  # None: what main wrote before (no filters at all)

RUNS = {
    "relu (bare command)": ("relu", {}),
    "relu width 1000, 2000 frames": ("relu", {"width": 1000, "frames": 2000, "test_loss": "none"}),
    "sphere (bare command)": ("sphere", {}),
    "som (bare command, online)": ("som", {}),
    "som --rule topographic": ("som", {"rule": "topographic"}),
}


def write_plain(ds, path):
    ds.drop_encoding().to_netcdf(path, engine="h5netcdf")


def main():
    import dyn
    from dyn.io import netcdf

    print(f"machine: {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}")
    print(f"{'run':<32s}{'level':>6s}{'MB':>10s}{'write s':>10s}{'read s':>9s}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (flow, options) in RUNS.items():
            ds = dyn.simulate(flow, **options)
            for level in LEVELS:
                path = Path(tmp) / f"run-{level}.nc"
                if level is None:
                    write = best(lambda: write_plain(ds, path))
                else:
                    write = best(lambda: netcdf.save(ds, path, level=level))
                read = best(lambda: dyn.load(path))
                label = "none" if level is None else str(level)
                print(f"{name:<32s}{label:>6s}{path.stat().st_size / 1e6:10.2f}{write:10.3f}{read:9.3f}", flush=True)


if __name__ == "__main__":
    main()
