"""The Dataset of a linear run: parameter snapshots (and data positions), the data, measures, clocks."""

from __future__ import annotations

import json

import numpy as np

from dyn.flows.linear import kernels
from dyn.flows.linear.config import LOSSES
from dyn.flows.linear.model import join, layout, split
from dyn.io.schema import run_dataset

VARIABLES = {
    "w": ("weights w of the linear model f(x) = w . x + b", "1"),
    "b": ("bias b of the linear model", "1"),
    "x": ("the data points x_i (train data: their positions at each snapshot, moved by x_i <- x_i - lr dL/dx_i)",
          "1"),
    "label": ("target t_i in {-1, +1}", "1"),
    "loss": ("mean loss over all data at the snapshot", "1"),
    "seed_monitor": ("the seed's loss monitor: the loss SUMMED over the first half of the data only (its "
                     "data[:1000]: with the seed's blobs every point of the -1 class and none of the +1 class)", "1"),
    "loss_train": ("mean loss of the sampled batches over the frame's steps, each taken before its update", "1"),
    "accuracy": ("share of the data with t f(x) > 0", "1"),
    "margin": ("min_i t_i f(x_i): > 0 when every point is on its side of the boundary f = 0", "1"),
    "active": ("points the hinge still acts on: #(1 - t f(x) > 0)", "1"),
    "margin_distance": ("linear model: margin / |w|, the signed distance of the worst point to the boundary "
                        "(comparable between losses, which scale f differently)", "1"),
    "diverged_at": ("first step whose batch loss was not finite, -1 if none", "step"),
    "step": ("SGD steps taken", "step"),
    "samples_seen": ("samples used by the steps so far (steps x batch)", "sample"),
    "time": ("snapshot index: time 0 is the initial state, time t the state after frame t - 1", "frame"),
    "sample": ("data point index i", "1"),
    "dim": ("input coordinate", "1"),
}


def layer_description(l, L):
    kind = "linear output layer" if l == L - 1 else "ReLU hidden layer"
    return (f"weights of layer {l} ({kind}): z = [a, 1] W, rows the layer's inputs then the bias row (the seed's "
            "layout), columns its units", "1")


def params_of(ds):
    """(R, T, P): the flat parameters at every snapshot (R = 1 without a replica dim)."""
    lead = ("time", "replica") if "replica" in ds.dims else ("time",)
    if "w" in ds:
        w = ds["w"].transpose(*lead, "dim").values
        theta = np.concatenate([w, ds["b"].transpose(*lead).values[..., None]], -1)
    else:
        L = int(ds.attrs["layer_count"])
        theta = join([ds[f"weight{l}"].transpose(*lead, f"in{l}", f"out{l}").values for l in range(L)])
    if "replica" not in ds.dims:
        theta = theta[:, None]
    return np.ascontiguousarray(theta.swapaxes(0, 1))


def net_of(ds):
    """(sizes, offs) of the run's model."""
    cfg = json.loads(ds.attrs["config"])
    return layout(ds.sizes["dim"], list(cfg["layers"]) + [1])


def measured(cfg, theta, x, t, sizes, offs):
    """loss, seed_monitor, accuracy, margin, active of snapshots ``theta`` (R, T, P) on positions ``x``
    (R or 1, T or 1, n, D)."""
    R, T = theta.shape[:2]
    out = {k: np.full((R, T), np.nan) for k in ("loss", "seed_monitor", "accuracy", "margin", "active")}
    kernels.measure(np.ascontiguousarray(theta), np.ascontiguousarray(x), t, sizes, offs, LOSSES.index(cfg.loss),
                    len(t) // 2, out["loss"], out["seed_monitor"], out["accuracy"], out["margin"], out["active"])
    return out


def to_dataset(cfg, rec, x0, t, sizes, offs, clocks, diverged_at, status, classifier=""):
    """Assemble the run's Dataset; ``rec`` arrays are (replica, time, ...)."""
    lead = ("replica", "time")
    theta = rec["theta"]
    moving = "x" in rec
    L = len(sizes) - 1
    data = {"loss_train": (lead, rec["loss_train"]), "label": (("sample",), t),
            "diverged_at": (("replica",), diverged_at.copy())}
    if cfg.model == "linear":
        D = int(sizes[0])
        data["w"] = (lead + ("dim",), theta[..., :D])
        data["b"] = (lead, theta[..., D])
    else:
        for l, m in enumerate(split(theta, sizes, offs)):
            data[f"weight{l}"] = (lead + (f"in{l}", f"out{l}"), m)
    data["x"] = (lead + ("sample", "dim"), rec["x"]) if moving else (("sample", "dim"), x0)
    positions = rec["x"] if moving else x0[None, None]
    for name, values in measured(cfg, theta, positions, t, sizes, offs).items():
        data[name] = (lead, values)
    if cfg.model == "linear":
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            data["margin_distance"] = (lead, data["margin"][1] / np.linalg.norm(theta[..., :-1], axis=-1))
    coords = {"time": ("time", clocks["time"]), "step": ("time", clocks["step"]),
              "samples_seen": ("time", clocks["samples_seen"]),
              "sample": ("sample", np.arange(len(t))), "dim": ("dim", np.arange(x0.shape[1]))}
    variables = {**VARIABLES, **{f"weight{l}": layer_description(l, L) for l in range(L)}}
    attrs = {"flow": "linear", "model": cfg.model, "layer_count": L, "train": cfg.train,
             "run": cfg.describe_run()}
    if classifier:
        attrs["classifier"] = classifier
    return run_dataset(data, coords, cfg, variables, status, **attrs)
