"""``dyn simulate relu``: every field of :class:`~dyn.flows.relu.config.ReluConfig` as an option."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dyn.flows.relu.config import ReluConfig

D = ReluConfig()


def _opt(help, *names, **kw):
    return typer.Option(*names, help=help, show_default=False, **kw)


def relu_command(
    width: Annotated[Optional[int], _opt(f"Student neurons m [{D.width}].")] = None,
    radius: Annotated[Optional[float], _opt(f"Initial norm of (w, b) [{D.radius}].")] = None,
    dim: Annotated[Optional[int], _opt(f"Input dimension d [{D.dim}].")] = None,
    teacher_width: Annotated[Optional[int], _opt(f"Teacher neurons M [{D.teacher_width}].")] = None,
    lr: Annotated[Optional[float], _opt(f"Learning rate [{D.lr}].")] = None,
    batch: Annotated[Optional[int], _opt(f"Minibatch size [{D.batch}].")] = None,
    frames: Annotated[Optional[int], _opt(f"Frames (snapshots after the initial one) [{D.frames}].")] = None,
    steps_per_frame: Annotated[Optional[int], _opt(f"Steps a frame, constant schedule or GD [{D.steps_per_frame}].")] = None,
    schedule: Annotated[Optional[str], _opt("seed (frame i: 100 int(log(10+10i)) fresh samples) or constant [seed].")] = None,
    scaling: Annotated[Optional[str], _opt("seed (plain gradient) or mean-field (gradient x m) [seed].")] = None,
    train_size: Annotated[Optional[int], _opt("Full-batch GD on a fixed training set of this size.")] = None,
    replicas: Annotated[Optional[int], _opt("Independent runs with seeds seed..seed+R-1 [1].")] = None,
    seed: Annotated[Optional[int], _opt("Seed of the student and the data [0].")] = None,
    teacher_seed: Annotated[Optional[int], _opt("Seed of the teacher [0].")] = None,
    rng: Annotated[Optional[str], _opt("default, or notebook (seed 002 draw for draw; use --seed 18) [default].")] = None,
    test_loss: Annotated[Optional[str], _opt("auto, exact, monte-carlo or none [auto].")] = None,
    device: Annotated[Optional[str], _opt("auto, cpu or cuda [auto].")] = None,
    source: Annotated[Optional[Path], _opt("Continue this run (.nc) for --frames more frames.", "--from")] = None,
    output: Annotated[Path, _opt("The run's NetCDF file [relu.nc].", "-o", "--output")] = Path("relu.nc"),
    gif: Annotated[Optional[Path], _opt("The animation [OUTPUT with .gif].", "--gif")] = None,
    no_gif: Annotated[bool, _opt("Do not render the animation.", "--no-gif")] = False,
    quiet: Annotated[bool, _opt("No progress bars.", "--quiet", "-q")] = False,
):
    from dyn.cli.common import simulate_and_write

    options = dict(width=width, radius=radius, dim=dim, teacher_width=teacher_width, lr=lr, batch=batch,
                   frames=frames, steps_per_frame=steps_per_frame, schedule=schedule, scaling=scaling,
                   train_size=train_size, replicas=replicas, seed=seed, teacher_seed=teacher_seed, rng=rng,
                   test_loss=test_loss, device=device)
    return simulate_and_write("relu", options, source=source, output=output, gif=False if no_gif else gif,
                              quiet=quiet)
