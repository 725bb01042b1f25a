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
        ds = dyn.join(before, more, source=source)
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
