"""``dyn simulate sphere``: every field of :class:`~dyn.flows.sphere.config.SphereConfig` as an option."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dyn.flows.sphere.config import DEFAULTS as D
from dyn.flows.sphere.config import SEED_SETUP as S


def _opt(help, *names, **kw):
    return typer.Option(*names, help=help, show_default=False, **kw)


def _both(name):
    """[default; --as-seed: the seed's value]"""
    return f"[{D[name]}; as seed {S[name]}]"


def sphere_command(
    objective: Annotated[Optional[str], _opt(f"angular, riesz or mhe {_both('objective')}.")] = None,
    operator: Annotated[Optional[str], _opt("cosine, linear or sigmoid: g(theta) of the angular objective [cosine].")] = None,
    k: Annotated[Optional[float], _opt("Steepness of the sigmoid operator [1.0].")] = None,
    s: Annotated[Optional[float], _opt("Riesz/MHE exponent s >= 0 (0: logarithmic, 1: Thomson) [1.0].")] = None,
    vectors: Annotated[Optional[int], _opt(f"Vectors M {_both('vectors')}.")] = None,
    dim: Annotated[Optional[int], _opt(f"Dimension d of the ambient space {_both('dim')}.")] = None,
    samples: Annotated[Optional[int], _opt("Data points N of the angular objective [5].")] = None,
    update: Annotated[Optional[str], _opt(f"projected or riemannian {_both('update')}.")] = None,
    project: Annotated[Optional[str], _opt(f"Projected: normalise after the step, or before it (the seed) {_both('project')}.")] = None,
    retraction: Annotated[Optional[str], _opt("Riemannian: normalize or exponential (exact geodesic) [normalize].")] = None,
    momentum: Annotated[Optional[float], _opt("Momentum in [0, 1) [0].")] = None,
    gradient: Annotated[Optional[str], _opt(f"exact, or seed (the seed's backward as written) {_both('gradient')}.")] = None,
    accumulate: Annotated[Optional[bool], _opt(f"Apply the sum of all gradients so far (the seed) {_both('accumulate')}.",
                                               "--accumulate/--no-accumulate")] = None,
    lr: Annotated[Optional[float], _opt(f"Learning rate {_both('lr')}.")] = None,
    steps: Annotated[Optional[int], _opt(f"Optimisation steps {_both('steps')}.")] = None,
    record_every: Annotated[Optional[int], _opt("Steps between snapshots, with --record even "
                                                "[max(1, steps // 500)].")] = None,
    record: Annotated[Optional[str], _opt("Snapshot steps: log (log-spaced: every step at first, then further "
                                          "apart) or even (every --record-every steps) [log; even with "
                                          "--record-every].")] = None,
    draw: Annotated[Optional[str], _opt(f"Initial vectors and data: sphere (uniform) or cube (U[0,1)^d) {_both('draw')}.")] = None,
    as_seed: Annotated[bool, _opt("Seed 000's whole run, quirks and all; other options override it.", "--as-seed")] = False,
    replicas: Annotated[Optional[int], _opt("Independent runs with seeds seed..seed+R-1 [1].")] = None,
    seed: Annotated[Optional[int], _opt("Seed of the vectors and the data [0].")] = None,
    device: Annotated[Optional[str], _opt("auto, cpu or cuda [auto].")] = None,
    source: Annotated[Optional[Path], _opt("Continue this run (.nc) for --steps more steps.", "--from")] = None,
    output: Annotated[Path, _opt("The run's NetCDF file [sphere.nc].", "-o", "--output")] = Path("sphere.nc"),
    gif: Annotated[Optional[Path], _opt("The animation [OUTPUT with .gif].", "--gif")] = None,
    no_gif: Annotated[bool, _opt("Do not render the animation.", "--no-gif")] = False,
    quiet: Annotated[bool, _opt("No progress bars.", "--quiet", "-q")] = False,
):
    from dyn.cli.common import simulate_and_write

    options = dict(objective=objective, operator=operator, k=k, s=s, vectors=vectors, dim=dim, samples=samples,
                   update=update, project=project, retraction=retraction, momentum=momentum, gradient=gradient,
                   accumulate=accumulate, lr=lr, steps=steps, record_every=record_every, record=record, draw=draw,
                   as_seed=as_seed or None, replicas=replicas, seed=seed, device=device)
    return simulate_and_write("sphere", options, source=source, output=output, gif=False if no_gif else gif,
                              quiet=quiet)
