"""What every ``dyn simulate FLOW`` command does after parsing its own options."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer


def check_writable(*paths):
    from dyn.errors import RunError

    for path in paths:
        if path is None:
            continue
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise RunError(f"cannot write {path}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise RunError(f"cannot write {path}: permission denied")


def join(before, more, source):
    """The run ``before`` followed by its continuation ``more``: one file, as the run now stands.

    Snapshots are joined along ``time`` and per-step logs along ``iteration``; what has no time
    (``diverged_at``, optimiser buffers) and the attrs (status, wall time) are the continuation's;
    the config is the continuation's with ``frames``/``steps`` counting the whole run.
    """
    import json

    import xarray as xr

    logs = [k for k in before.data_vars if "iteration" in before[k].dims]  # per-step logs: their own dim
    ds = xr.concat([run.drop_dims("iteration", errors="ignore") for run in (before, more)], dim="time",
                   data_vars="minimal", coords="minimal", compat="override", combine_attrs="override")
    for name, var in more.data_vars.items():
        if "time" not in var.dims and "iteration" not in var.dims:
            ds[name] = var
    if logs:
        ds = ds.assign(xr.concat([before[logs], more[logs]], dim="iteration"))
    config = json.loads(more.attrs["config"])
    config.update({k: v for k, v in (("frames", int(ds.time[-1])), ("steps", int(ds.step[-1]))) if k in config})
    ds.attrs = {**before.attrs, **more.attrs, "config": json.dumps(config, sort_keys=True),
                "continues": f"{source}: {before.attrs.get('status')} at step {int(before.step[-1])}"}
    return ds


def simulate_and_write(flow, options, *, source, output, gif, quiet):
    """Simulate (or continue ``source``), write the run and its animation; return the exit status."""
    import dyn
    from dyn.io.netcdf import load, save

    gif_path = None if gif is False else Path(gif) if gif else output.with_suffix(".gif")
    check_writable(output, gif_path)
    options = {k: v for k, v in options.items() if v is not None}
    if source is not None:
        before = load(source)
        more = dyn.simulate(flow, init=before, progress=not quiet, **options)
        ds = join(before, more, source)
    else:
        ds = dyn.simulate(flow, progress=not quiet, **options)
    ds.attrs["command"] = " ".join(["dyn"] + sys.argv[1:])
    save(ds, output)
    written = [str(output)]
    if gif_path is not None and not ds.attrs["interrupted"]:
        from dyn.render.animate import animate

        animate(ds, gif_path, progress=not quiet)
        written.append(str(gif_path))
    summary = dyn.flows.get_flow(flow).summary
    line = f"{ds.attrs['status']}: {summary(ds)}; {ds.attrs['wall_time']:.2f} s; wrote {', '.join(written)}"
    typer.echo(line)
    if ds.attrs["interrupted"]:
        return 130
    return 1 if ds.attrs["status"].startswith("diverged") else 0
