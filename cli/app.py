"""The ``dyn`` command: thin wrappers that parse, call the library, and print one line.

Heavy modules are imported inside the commands so that ``dyn --help`` stays fast. Every error
becomes one line on stderr and the exit status of the README's table; never a traceback.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

from dyn.cli.simulate import add_commands
from dyn.cli.study import study_app

app = typer.Typer(name="dyn", help="Training dynamics of neural networks as particle flows.",
                  add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  no_args_is_help=True)
simulate_app = typer.Typer(help="Simulate a flow; writes FLOW.nc and FLOW.gif.", no_args_is_help=True,
                           rich_markup_mode=None)
app.add_typer(simulate_app, name="simulate")
add_commands(simulate_app)
app.add_typer(study_app, name="study")


def _version(value: bool):
    if value:
        import dyn

        typer.echo(f"dyn {dyn.__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                          help="Print the version and exit.")] = None):
    """dyn: simulate, record, analyse and animate training dynamics."""


Run = Annotated[Path, typer.Argument(help="A run written by dyn simulate (.nc).", show_default=False)]


@app.command()
def info(run: Run):
    """Describe a saved run: flow, status, sizes, config, final losses."""
    import json

    from dyn.io.netcdf import load

    ds = load(run)
    typer.echo(f"{run}: flow {ds.attrs['flow']}, {ds.attrs['status']}, dyn {ds.attrs.get('dyn_version')}")
    typer.echo("  dims: " + ", ".join(f"{k}={v}" for k, v in ds.sizes.items()))
    if "step" in ds.coords:
        typer.echo(f"  steps {int(ds.step[0])} .. {int(ds.step[-1])}")
    for name in ("loss_train", "loss_test", "loss", "energy"):
        if name in ds:
            v = ds[name].isel(time=-1).values
            typer.echo(f"  final {name}: " + " ".join(f"{x:.4g}" for x in v.ravel()))
    typer.echo("  config: " + json.dumps(json.loads(ds.attrs["config"]), sort_keys=True))


@app.command()
def animate(
    run: Run,
    output: Annotated[Path, typer.Option("-o", "--output", help="out.gif or out.mp4.")] = None,
    fps: Annotated[int, typer.Option(min=1, help="Frames per second.")] = 30,
    trail: Annotated[Optional[int], typer.Option(min=0, help="Past positions kept in trails (default: the flow's; relu keeps all).")] = None,
    every: Annotated[Optional[int], typer.Option(min=1, help="Keep every K-th snapshot (default: the flow's; som 2).",
                                                 show_default=False)] = None,
    dpi: Annotated[int, typer.Option(min=10, help="Dots per inch.")] = 100,
    xlim: Annotated[Optional[tuple[float, float]], typer.Option(help="x axis limits LO HI.")] = None,
    ylim: Annotated[Optional[tuple[float, float]], typer.Option(help="y axis limits LO HI.")] = None,
    style: Annotated[str, typer.Option(help="auto, dyn or seed (the notebook's look).")] = "auto",
    replica: Annotated[int, typer.Option(min=0, help="Which replica of an ensemble to show (its title says which).")] = 0,
):
    """Render a saved run as a GIF or MP4."""
    from dyn.cli.common import check_output, check_writable
    from dyn.io.netcdf import load
    from dyn.render.animate import limits

    output = output or run.with_suffix(".gif")
    check_output(output, "-o", (".gif", ".mp4"))
    check_writable(output)
    xlim, ylim = limits("xlim", xlim), limits("ylim", ylim)
    ds = load(run)
    from dyn.render.animate import animate as _animate

    _animate(ds, output, fps=fps, trail="auto" if trail is None else trail,
             every="auto" if every is None else every, dpi=dpi, xlim=xlim, ylim=ylim, style=style,
             replica=replica, progress=True)
    typer.echo(f"wrote {output}")


@app.command()
def plot(
    run: Run,
    output: Annotated[Path, typer.Option("-o", "--output", help="loss.png, .svg or .pdf.")] = None,
    panels: Annotated[Optional[str], typer.Option(
        help="Comma-separated panels instead of the flow's default: loss, final, and for relu runs the analysis "
             "alignment, w2, lazy, balancedness, speed, dead (e.g. loss,alignment,w2,lazy).",
        show_default=False)] = None,
    replica: Annotated[int, typer.Option(min=0, help="Which replica of an ensemble to show.")] = 0,
    dpi: Annotated[int, typer.Option(min=10, help="Dots per inch of a .png.")] = 100,
):
    """The run's panels: loss curves (log scale) beside the final positions, the flow's own, or the chosen
    --panels."""
    from dyn.cli.common import check_output, check_writable

    if panels is not None:
        from dyn.render.panels import check_panels

        check_panels(panels)  # before the file is read
    from dyn.io.netcdf import load
    from dyn.render.plot import FORMATS

    output = output or run.with_suffix(".png")
    check_output(output, "-o", tuple(FORMATS))
    check_writable(output)
    ds = load(run)
    from dyn.render.plot import plot as _plot

    _plot(ds, output, panels=panels, replica=replica, dpi=dpi)
    typer.echo(f"wrote {output}")


@app.command()
def analyze(
    run: Run,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write the analysis Dataset (.nc).",
                                                  show_default=False)] = None,
    angle: Annotated[float, typer.Option(min=0.0, max=180.0, help="Degrees: a teacher neuron is covered by a "
                                                                  "student of its sign within this angle.")] = 10.0,
):
    """Alignment with the teacher, W2 to it, lazy vs rich, balancedness, speed and dead neurons of a relu
    run: a table at the first, middle and last snapshot."""
    from dyn.analysis.particles import check_relu
    from dyn.cli.common import check_output, check_writable
    from dyn.io.netcdf import load

    if output is not None:
        check_output(output, "-o", (".nc",))
    check_writable(output)
    ds = check_relu(load(run), "dyn analyze")
    from dyn.analysis import analyze as _analyze, table

    an = _analyze(ds, angle=angle)
    typer.echo(f"{run}: {ds.attrs.get('status')}")
    for line in table(an):
        typer.echo(line)
    if output is not None:
        from dyn.io.netcdf import save

        an.attrs["analysis_of"] = str(run)
        save(an, output)
        typer.echo(f"wrote {output}")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def _stop_signals_interrupt():
    """SIGTERM and SIGHUP raise KeyboardInterrupt, as SIGINT does, for the duration of a command (unless
    ignored, as under nohup): every phase then stops the same way, temporary files are removed, and the
    exit status is 130 whichever the signal (the README's table has one status for "interrupted")."""
    old = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is not None and signal.getsignal(sig) is signal.SIG_DFL:
                old[sig] = signal.signal(sig, _interrupt)
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def main(argv=None):
    """Entry point: run the app, turning every expected error into one line and an exit status.

    Python warnings raised during the command are shown after it when it succeeds, and dropped when it
    fails, so that an error stays one line.
    """
    with warnings.catch_warnings(record=True) as caught, _stop_signals_interrupt():
        code = _run(argv)
    if code in (0, 130) or code is None:
        for w in caught:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return code


def _run(argv):
    from dyn.errors import DynError

    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv if argv is not None else sys.argv[1:], prog_name="dyn", standalone_mode=False)
    except DynError as err:
        typer.echo(f"dyn: {err}" if err.exit_code == 130 else f"dyn: error: {err}", err=True)
        return err.exit_code
    except KeyboardInterrupt:
        typer.echo("dyn: interrupted", err=True)
        return 130
    except MemoryError:
        typer.echo("dyn: error: out of memory: ask for a smaller run (fewer steps, snapshots, replicas or particles)",
                   err=True)
        return 1
    except typer.Exit as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt) or isinstance(exc.__context__, KeyboardInterrupt):
            typer.echo("dyn: interrupted", err=True)  # typer turns KeyboardInterrupt into a silent Exit(130)
        return exc.exit_code
    except Exception as err:
        if type(err).__name__ == "Abort":  # click turns Ctrl-C at a prompt into Abort
            typer.echo("dyn: interrupted", err=True)
            return 130
        if hasattr(err, "format_message") and hasattr(err, "exit_code"):  # click's usage errors, one line
            typer.echo(f"dyn: error: {err.format_message()}", err=True)
            return 2 if err.exit_code == 2 else err.exit_code
        raise
    return code if isinstance(code, int) else 0
