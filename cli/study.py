"""``dyn study run|status|plot``: thin commands over :mod:`dyn.study`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

study_app = typer.Typer(help="Parameter studies: TOML spec -> one resumable Zarr store -> figures.",
                        no_args_is_help=True, rich_markup_mode=None)

Store = Annotated[Path, typer.Argument(help="The study's Zarr store.", show_default=False)]


@study_app.command("run")
def run_command(
    spec: Annotated[Path, typer.Argument(help="The study spec (.toml).", show_default=False)],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="The Zarr store [SPEC-NAME.zarr].",
                                                  show_default=False)] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes of the local cluster.")] = 2,
    scheduler: Annotated[Optional[str], typer.Option(help="Address of an existing dask scheduler (tcp://host:8786).",
                                                     show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Start again when the store holds a different study.")] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Compute failed points again.")] = False,
    seed_tasks: Annotated[bool, typer.Option("--seed-tasks", help="One task per seed instead of one per point "
                                                                  "(seeds as replicas, the default, is faster).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
):
    """Run (or resume) a study: only runs not marked done are computed."""
    from dyn.study.run import default_store, run

    try:
        out = run(spec, output, workers=workers, scheduler=scheduler, force=force, retry_failed=retry_failed,
                  batch_seeds=not seed_tasks, progress=not quiet)
    except KeyboardInterrupt:
        store = output or default_store(spec)
        typer.echo(f"dyn: interrupted; finished runs are kept in {store}: run the same command to resume", err=True)
        return 130
    line = f"{out.store}: {out.done} of {out.runs} runs done, {out.failed} failed, {out.pending} pending " \
           f"({out.computed} tasks computed now)"
    typer.echo(line)
    if out.failed:
        typer.echo(f"dyn: error: {out.failed} runs failed; see dyn study status {out.store}", err=True)
        return 1
    return 0


@study_app.command("status")
def status_command(store: Store):
    """Counts of done, pending and failed runs; the failures' messages."""
    from dyn.study.status import summary

    lines, _ = summary(store)
    for line in lines:
        typer.echo(line)


@study_app.command("plot")
def plot_command(
    store: Store,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="The figure (.png, .svg, .pdf) [STORE.png].",
                                                  show_default=False)] = None,
    dpi: Annotated[int, typer.Option(min=10, help="Dots per inch of a .png.")] = 80,
):
    """Draw the figure the study's spec asks for."""
    from dyn.study.plot import plot

    output = output or Path(store).with_suffix(".png")
    plot(store, output, dpi=dpi)
    typer.echo(f"wrote {output}")
