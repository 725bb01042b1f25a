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
    workers: Annotated[Optional[int], typer.Option(min=1, help="Worker processes of the local cluster [2, at most "
                                                               "the cores].", show_default=False)] = None,
    oversubscribe: Annotated[bool, typer.Option("--oversubscribe", help="Allow more workers than cores.")] = False,
    dashboard: Annotated[bool, typer.Option("--dashboard", help="Serve the local cluster's dask dashboard on "
                                                                "127.0.0.1 and print its address.")] = False,
    scheduler: Annotated[Optional[str], typer.Option(help="Address of an existing dask scheduler (tcp://host:8786, "
                                                          "tls://host:8786). Dask trusts its cluster: see the README.",
                                                     show_default=False)] = None,
    tls_ca: Annotated[Optional[Path], typer.Option("--tls-ca", help="CA certificate of a tls:// scheduler.",
                                                   show_default=False)] = None,
    tls_cert: Annotated[Optional[Path], typer.Option("--tls-cert", help="This client's certificate (tls://).",
                                                     show_default=False)] = None,
    tls_key: Annotated[Optional[Path], typer.Option("--tls-key", help="This client's private key (tls://).",
                                                    show_default=False)] = None,
    worker_timeout: Annotated[float, typer.Option(min=0.0, help="Seconds to wait for a worker at --scheduler before "
                                                                "giving up (0: no limit).")] = 60.0,
    force: Annotated[bool, typer.Option("--force", help="Replace a store that holds a different study; the old one "
                                                        "stays until the new one is complete.")] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Compute failed points again.")] = False,
    seed_tasks: Annotated[bool, typer.Option("--seed-tasks", help="One task per seed instead of one per point "
                                                                  "(seeds as replicas, the default, is faster).")] = False,
    allow_outside_data: Annotated[bool, typer.Option("--allow-outside-data", help="Let the spec read data files "
                                                                                  "outside its folder.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
):
    """Run (or resume) a study: only runs not marked done are computed."""
    from dyn.study.run import Interrupted, default_store, run

    try:
        out = run(spec, output, workers=workers, scheduler=scheduler, force=force, retry_failed=retry_failed,
                  batch_seeds=not seed_tasks, progress=not quiet, oversubscribe=oversubscribe, dashboard=dashboard,
                  worker_timeout=worker_timeout, tls=(tls_ca, tls_cert, tls_key),
                  allow_outside_data=allow_outside_data, say=lambda line: typer.echo(line, err=True))
    except KeyboardInterrupt as exc:
        store = output or default_store(spec)
        message = exc.message if isinstance(exc, Interrupted) else \
            f"interrupted; finished runs are kept in {store}: run the same command to resume"
        typer.echo(f"dyn: {message}", err=True)
        return 130
    line = f"{out.store}: {out.done} of {out.runs} runs done, {out.failed} failed, {out.pending} pending " \
           f"({out.computed} tasks computed now)"
    typer.echo(line)
    if out.failed:
        typer.echo(f"dyn: error: {out.failed} runs failed; see dyn study status {out.store}", err=True)
        return 1
    return 0


@study_app.command("status")
def status_command(
    store: Store,
    verify: Annotated[bool, typer.Option("--verify", help="Check the checksums of every done run's chunks, however "
                                                          "many (stores of up to 10,000 chunks are always "
                                                          "checked).")] = False,
):
    """Counts of done, pending and failed runs; the failures' messages; damaged runs go back to pending."""
    from dyn.study.status import summary

    lines, _ = summary(store, verify_all=verify)
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
