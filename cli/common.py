"""What every ``dyn simulate FLOW`` command does after parsing its own options."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import typer


def check_output(path, what, suffixes):
    """Refuse (UsageError), before any work, an output that is a folder or whose suffix is not one of ``suffixes``."""
    from dyn.errors import UsageError

    if path.is_dir() or path.name in ("", ".", ".."):
        raise UsageError(f"{what} {str(path)!r} is a folder: name a file ({' or '.join(suffixes)})")
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{what} {path}: the name must end in {' or '.join(suffixes)}")


def check_outputs(output, gif_path):
    """The run's file and its animation, checked before the run: suffixes, folders, one path each."""
    from dyn.errors import UsageError

    check_output(output, "-o", (".nc",))
    if gif_path is not None:
        check_output(gif_path, "--gif", (".gif", ".mp4"))
        if os.path.abspath(output) == os.path.abspath(gif_path) or \
                (output.exists() and gif_path.exists() and os.path.samefile(output, gif_path)):
            raise UsageError(f"-o and --gif are the same file ({output}): give them different names")


@contextlib.contextmanager
def held_signals(what):
    """Hold SIGINT/SIGTERM/SIGHUP back until ``what`` is done (a write of seconds is worth finishing);
    a second signal aborts it (KeyboardInterrupt). Yields a list that holds the signals received."""
    import signal
    import threading

    from dyn.engine.runner import STOP_SIGNALS

    hits, old = [], {}

    def handler(signum, frame):
        hits.append(signal.Signals(signum).name)
        if len(hits) > 1:
            raise KeyboardInterrupt
        typer.echo(f"dyn: {hits[0]}: finishing {what} first (interrupt again to abort it)", err=True)

    if threading.current_thread() is threading.main_thread():
        old = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS if signal.getsignal(sig) is not signal.SIG_IGN}
    try:
        yield hits
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


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
    """Simulate (or continue ``source``), write the run and its animation; return the exit status.

    Signals (SIGINT, SIGTERM, SIGHUP; exit 130 whichever): before the run nothing is written; during it
    the engine stops at the next block and the frames so far are written (``interrupted at step N``);
    during the NetCDF write the write is finished first (a second signal aborts it, leaving the old file);
    during the animation the run's file is kept and the animation is not written.
    """
    import dyn
    from dyn.errors import Interrupted
    from dyn.io.netcdf import load, save

    check_output(output, "-o", (".nc",))
    gif_path = None if gif is False else Path(gif) if gif else output.with_suffix(".gif")
    check_outputs(output, gif_path)
    check_writable(output, gif_path)
    options = {k: v for k, v in options.items() if v is not None}
    try:
        if source is not None:
            before = load(source)
            more = dyn.simulate(flow, init=before, progress=not quiet, **options)
            ds = dyn.join(before, more, source=source)
        else:
            ds = dyn.simulate(flow, progress=not quiet, **options)
    except KeyboardInterrupt:
        raise Interrupted("interrupted before anything was written") from None
    ds.attrs["command"] = " ".join(["dyn"] + sys.argv[1:])
    try:
        with held_signals(f"writing {output}") as held:
            save(ds, output)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while writing {output}: not written (an old {output.name} is unchanged)") \
            from None
    interrupted = bool(ds.attrs["interrupted"] or held)
    written = [str(output)]
    if gif_path is not None and not interrupted:
        from dyn.render.animate import animate

        try:
            animate(ds, gif_path, progress=not quiet)
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted while rendering {gif_path}: wrote {output}, no animation "
                              f"(dyn animate {output} renders it)") from None
        written.append(str(gif_path))
    summary = dyn.flows.get_flow(flow).summary
    line = f"{ds.attrs['status']}: {summary(ds)}; {ds.attrs['wall_time']:.2f} s; wrote {', '.join(written)}"
    if held and not ds.attrs["interrupted"]:
        line += f" (then interrupted by {held[0]}: no animation)" if gif_path is not None else f" ({held[0]})"
    typer.echo(line)
    if interrupted:
        return 130
    return 1 if ds.attrs["status"].startswith("diverged") else 0
