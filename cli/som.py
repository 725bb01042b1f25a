"""``dyn simulate som``: every field of :class:`~dyn.flows.som.config.SomConfig` as an option.

Defaults follow the rule: topographic = the forum's layer (T), online/batch/heskes = MiniSom's (M).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dyn.flows.som.config import DEFAULT_N, DEFAULT_STEPS, FORUM, MINISOM


def _opt(help, *names, **kw):
    return typer.Option(*names, help=help, show_default=False, **kw)


def _both(key):
    return f"[T: {FORUM[key]}; M: {MINISOM[key]}]"


def som_command(
    rule: Annotated[Optional[str], _opt("online (MiniSom's Kohonen), batch (train_batch_offline), heskes, or "
                                        "topographic (the forum's layer, SGD + momentum) [online].")] = None,
    rows: Annotated[Optional[int], _opt(f"Grid rows {_both('rows')}.")] = None,
    cols: Annotated[Optional[int], _opt(f"Grid columns {_both('cols')}.")] = None,
    topology: Annotated[Optional[str], _opt("rectangular or hexagonal [rectangular].")] = None,
    toroidal: Annotated[Optional[bool], _opt("Wrap the grid into a torus [no].", "--toroidal/--flat")] = None,
    data: Annotated[Optional[str], _opt("uniform, ring, blobs, sphere, digits, or a .npy/.csv file "
                                        f"{_both('data')}.")] = None,
    n: Annotated[Optional[int], _opt(f"Points of a generated data set [{DEFAULT_N}].")] = None,
    dim: Annotated[Optional[int], _opt("Dimension D [sphere with T: 128; sphere: 3; others 2; files: theirs].")] = None,
    steps: Annotated[Optional[int], _opt("Samples (online, heskes), batches (topographic) or epochs (batch) "
                                         f"[T: {FORUM['steps']}; online, heskes: {DEFAULT_STEPS['online']}; "
                                         f"batch: {DEFAULT_STEPS['batch']}].")] = None,
    record_every: Annotated[Optional[int], _opt("Steps between snapshots, with --record even "
                                                "[max(1, steps // 500)].")] = None,
    record: Annotated[Optional[str], _opt("Snapshot steps: log (log-spaced: every step at first, then further "
                                          "apart) or even (every --record-every steps) [online, heskes: log; "
                                          "T, batch: even; even with --record-every].")] = None,
    sigma: Annotated[Optional[float], _opt(f"Neighbourhood width {_both('sigma')}.")] = None,
    lr: Annotated[Optional[float], _opt(f"Learning rate {_both('lr')}.")] = None,
    lr_decay: Annotated[Optional[str], _opt("constant, asymptotic_decay, inverse_decay_to_zero, linear_decay_to_zero "
                                            f"{_both('lr_decay')}.")] = None,
    sigma_decay: Annotated[Optional[str], _opt("constant, asymptotic_decay, inverse_decay_to_one, linear_decay_to_one "
                                               f"{_both('sigma_decay')}.")] = None,
    neighbourhood: Annotated[Optional[str], _opt("gaussian, mexican_hat, bubble or triangle [gaussian; with T: "
                                                 "the forum's exp(-d^2/(2 sigma^2 + 1e-5))].")] = None,
    momentum: Annotated[Optional[float], _opt(f"SGD momentum, topographic only [T: {FORUM['momentum']}].")] = None,
    batch: Annotated[Optional[int], _opt(f"Batch size, topographic only [T: {FORUM['batch']}].")] = None,
    normalize: Annotated[Optional[bool], _opt("Loss on L2-normalised copies, topographic only [T: yes].",
                                              "--normalize/--no-normalize")] = None,
    project: Annotated[Optional[bool], _opt("Renormalise the weights after each step, topographic only [no].",
                                            "--project/--no-project")] = None,
    weights_init: Annotated[Optional[str], _opt("uniform (MiniSom's), normal (N(0, 1/D)) or sample "
                                                f"{_both('weights_init')}.")] = None,
    shuffle: Annotated[Optional[bool], _opt("Reshuffle the data each epoch [no: in order, cycling].",
                                            "--shuffle/--in-order")] = None,
    measures: Annotated[Optional[str], _opt("Measures besides QE, TE and the rule's objective: topographic_loss, "
                                            "heskes_energy (loss, energy), or all; comma-separated [none].")] = None,
    measure_every: Annotated[Optional[int], _opt("Snapshots between measured ones; the last is always measured "
                                                 "[1 up to 50 frames, then about 50 measured].")] = None,
    replicas: Annotated[Optional[int], _opt("Independent runs with seeds seed..seed+R-1 [1].")] = None,
    seed: Annotated[Optional[int], _opt("Seed of the initial weights and the sample order [0].")] = None,
    data_seed: Annotated[Optional[int], _opt("Seed of a generated data set [0].")] = None,
    device: Annotated[Optional[str], _opt("auto, cpu or cuda [auto].")] = None,
    output: Annotated[Path, _opt("The run's NetCDF file [som.nc].", "-o", "--output")] = Path("som.nc"),
    gif: Annotated[Optional[Path], _opt("The animation [OUTPUT with .gif].", "--gif")] = None,
    no_gif: Annotated[bool, _opt("Do not render the animation.", "--no-gif")] = False,
    quiet: Annotated[bool, _opt("No progress bars.", "--quiet", "-q")] = False,
):
    from dyn.cli.common import simulate_and_write

    options = dict(rule=rule, rows=rows, cols=cols, topology=topology, toroidal=toroidal, data=data, n=n, dim=dim,
                   steps=steps, record_every=record_every, record=record, sigma=sigma, lr=lr, lr_decay=lr_decay,
                   sigma_decay=sigma_decay, neighbourhood=neighbourhood, momentum=momentum, batch=batch,
                   normalize=normalize, project=project, weights_init=weights_init, shuffle=shuffle,
                   measures=measures, measure_every=measure_every, replicas=replicas, seed=seed, data_seed=data_seed,
                   device=device)
    return simulate_and_write("som", options, source=None, output=output, gif=False if no_gif else gif, quiet=quiet)
