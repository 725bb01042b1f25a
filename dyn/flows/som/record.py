"""The Dataset of a som run: weight snapshots, the data, grid coordinates, measures, clocks."""

from __future__ import annotations

import numpy as np

from dyn.flows.som.measure import schedule
from dyn.io.schema import run_dataset

MEASURED = "; NaN at the snapshots not measured (measure_every: every snapshot, or about 50 of them and the last)"

VARIABLES = {
    "w": ("weights of each map unit", "1"),
    "data": ("the data set the map learns (raw: before any normalisation)", "1"),
    "coords": ("position of each unit in the plane of the grid (hexagonal: MiniSom's offsets)", "grid"),
    "grid_row": ("row index i of each unit (unit k = i * cols + j)", "1"),
    "grid_col": ("column index j of each unit", "1"),
    "quantization_error": ("mean Euclidean distance of the data to their best-matching unit (MiniSom's)" + MEASURED,
                           "1"),
    "topographic_error": ("share of samples whose two best units are not grid neighbours (MiniSom's)" + MEASURED,
                          "1"),
    "topographic_loss": ("mean_b sum_k h(c_b, k) |x_b - w_k|^2 over the data, c_b the best unit "
                         "(the forum's loss; on L2-normalised copies when normalize)" + MEASURED, "1"),
    "heskes_energy": ("mean_b min_c sum_k h(c, k) |x_b - w_k|^2 over the data (Heskes' energy)" + MEASURED, "1"),
    "loss_train": ("mean minibatch topographic loss over the steps of the frame (rule topographic); NaN at "
                   "time 0, the initial state, which no step has led to", "1"),
    "sigma": ("neighbourhood width at the snapshot's step", "grid"),
    "lr": ("learning rate at the snapshot's step", "1"),
    "weight_norm": ("mean |w_k| over the units (the forum's weights drift off the sphere)", "1"),
    "momentum_buffer": ("SGD momentum buffer after the last step (rule topographic)", "1"),
    "diverged_at": ("step at which the replica stopped, -1 if none: its sample's distances to the units (online, "
                    "heskes), its batch loss (topographic) or its weights (batch) were not finite, or the step of "
                    "the first snapshot whose measures were not finite", "step"),
    "step": ("steps taken: samples (online, heskes), batches (topographic) or epochs (batch)", "step"),
    "samples_seen": ("samples used in updates so far", "sample"),
    "time": ("snapshot index: time 0 is the initial state", "frame"),
    "unit": ("map unit index k = i * cols + j", "1"),
    "sample": ("data sample index", "1"),
    "axis": ("grid plane axes: along the rows, along the columns", "1"),
}


def _norms(w):
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged replica's weights may overflow
        return np.sqrt(np.einsum("...d,...d->...", w, w)).mean(-1)


def to_dataset(cfg, rec, x, grid, clocks, diverged_at, status, buf):
    """Assemble the run's Dataset; ``rec`` arrays are (replica, time, ...), the measures among them."""
    w = rec["w"]
    sigma, lr = schedule(cfg, clocks["step"])
    lead = ("replica", "time")
    data = {
        "w": (lead + ("unit", "dim"), w),
        **{name: (lead, rec[name]) for name in cfg.measures},
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


def unstack_grid(ds):
    """The som run ``ds`` with its flat ``unit`` dim (unit k = i * cols + j) unstacked to (grid_row, grid_col).

    Every variable over ``unit`` gets the two grid dims in its place, e.g. ``w`` (time, unit, dim) becomes
    (time, grid_row, grid_col, dim), so ``unstack_grid(ds).w.sel(grid_row=i, grid_col=j)`` is unit i * cols + j.
    """
    if "unit" not in ds.dims:
        raise ValueError("unstack_grid needs a som run with a unit dim")
    order = {name: ds[name].dims for name in ds.variables if "unit" in ds[name].dims}
    out = ds.set_index(unit=["grid_row", "grid_col"]).unstack("unit")
    for name, dims in order.items():
        if name in out.data_vars:
            out[name] = out[name].transpose(*[d for dim in dims for d in ((("grid_row", "grid_col")) if dim == "unit"
                                                                           else (dim,))])
    return out
