"""The Dataset of a som run: weight snapshots, the data, grid coordinates, measures, clocks."""

from __future__ import annotations

import numpy as np

from dyn.flows.som.measure import measure, schedule
from dyn.io.schema import run_dataset

VARIABLES = {
    "w": ("weights of each map unit", "1"),
    "data": ("the data set the map learns (raw: before any normalisation)", "1"),
    "coords": ("position of each unit in the plane of the grid (hexagonal: MiniSom's offsets)", "grid"),
    "grid_row": ("row index i of each unit (unit k = i * cols + j)", "1"),
    "grid_col": ("column index j of each unit", "1"),
    "quantization_error": ("mean Euclidean distance of the data to their best-matching unit (MiniSom's)", "1"),
    "topographic_error": ("share of samples whose two best units are not grid neighbours (MiniSom's)", "1"),
    "topographic_loss": ("mean_b sum_k h(c_b, k) |x_b - w_k|^2 over the data, c_b the best unit "
                         "(the forum's loss; on L2-normalised copies when normalize)", "1"),
    "heskes_energy": ("mean_b min_c sum_k h(c, k) |x_b - w_k|^2 over the data (Heskes' energy)", "1"),
    "loss_train": ("mean minibatch topographic loss over the steps of the frame (rule topographic); NaN at "
                   "time 0, the initial state, which no step has led to", "1"),
    "sigma": ("neighbourhood width at the snapshot's step", "grid"),
    "lr": ("learning rate at the snapshot's step", "1"),
    "weight_norm": ("mean |w_k| over the units (the forum's weights drift off the sphere)", "1"),
    "momentum_buffer": ("SGD momentum buffer after the last step (rule topographic)", "1"),
    "diverged_at": ("first step whose loss (or winner distance) was not finite, -1 if none", "step"),
    "step": ("steps taken: samples (online, heskes), batches (topographic) or epochs (batch)", "step"),
    "samples_seen": ("samples used in updates so far", "sample"),
    "time": ("snapshot index: time 0 is the initial state", "frame"),
    "unit": ("map unit index k = i * cols + j", "1"),
    "sample": ("data sample index", "1"),
    "axis": ("grid plane axes: along the rows, along the columns", "1"),
}


def _norms(w):
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged replica's weights may overflow
        return np.linalg.norm(w, axis=-1).mean(-1)


def to_dataset(cfg, rec, x, grid, code, clocks, diverged_at, status, buf):
    """Assemble the run's Dataset; ``rec`` arrays are (replica, time, ...)."""
    w = rec["w"]
    sigma, lr = schedule(cfg, clocks["step"])
    qe, te, loss, energy = measure(cfg, grid, code, w, x, sigma)
    lead = ("replica", "time")
    data = {
        "w": (lead + ("unit", "dim"), w),
        "quantization_error": (lead, qe),
        "topographic_error": (lead, te),
        "topographic_loss": (lead, loss),
        "heskes_energy": (lead, energy),
        "weight_norm": (lead, _norms(w)),
        "sigma": (("time",), sigma),
        "lr": (("time",), lr),
        "data": (("sample", "dim"), x),
        "coords": (("unit", "axis"), np.stack([grid.gx, grid.gy], 1)),
        "diverged_at": (("replica",), diverged_at.copy()),
    }
    if cfg.rule == "topographic":
        data["loss_train"] = (lead, rec["loss_train"])
        data["momentum_buffer"] = (("replica", "unit", "dim"), buf.copy())
    coords = {
        "time": ("time", clocks["time"]),
        "step": ("time", clocks["step"]),
        "samples_seen": ("time", clocks["samples_seen"]),
        "unit": ("unit", np.arange(grid.rows * grid.cols)),
        "grid_row": ("unit", grid.gi),
        "grid_col": ("unit", grid.gj),
        "axis": ("axis", ["row", "col"]),
    }
    return run_dataset(data, coords, cfg, VARIABLES, status, flow="som", rule=cfg.rule, rows=grid.rows,
                       cols=grid.cols, topology=cfg.topology, toroidal=int(cfg.toroidal))
