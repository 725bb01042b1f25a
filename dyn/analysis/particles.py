"""The particles of a relu run as the analysis reads them: arrays in (time, replica, ...) order, and
results wrapped back into labelled DataArrays (the replica dim only where the run has one)."""

from __future__ import annotations

import numpy as np

from dyn.errors import UsageError

NEEDED = ("a", "w", "b", "teacher_a", "teacher_w", "teacher_b")


def check_relu(ds, what="the analysis"):
    """UsageError unless ``ds`` is a relu run holding its neurons and its teacher."""
    flow = ds.attrs.get("flow")
    if flow != "relu":
        raise UsageError(f"{what} needs a relu run; this is a {flow!r} run" if flow else
                         f"{what} needs a relu run; this Dataset names no flow")
    missing = [name for name in NEEDED if name not in ds]
    if missing:
        raise UsageError(f"{what} needs the relu run's {', '.join(missing)}; this Dataset has none of it")
    return ds


def lead(ds, name):
    """``ds[name]`` as a numpy array in (time, replica, ...) order (replica of size 1 if the run has none)."""
    v = ds[name]
    if "replica" not in v.dims:
        v = v.expand_dims("replica")
    return v.transpose("time", "replica", ...).values.astype(np.float64)


def student(ds):
    """theta_k = (a_k, w_k, b_k) of every student neuron: (time, replica, neuron, d + 2)."""
    a, w, b = lead(ds, "a"), lead(ds, "w"), lead(ds, "b")
    return np.concatenate([a[..., None], w, b[..., None]], axis=-1)


def teacher(ds):
    """(a_j, w_j, b_j) of every teacher neuron: (teacher_neuron, d + 2)."""
    tw = ds["teacher_w"].transpose("teacher_neuron", "dim").values
    return np.concatenate([ds["teacher_a"].values[:, None], tw, ds["teacher_b"].values[:, None]], axis=1)


def finite_snapshots(ds):
    """(time, replica) True where the whole student is finite (a diverged replica is NaN after it stops)."""
    return np.isfinite(student(ds)).all(axis=(2, 3))


def wrap(ds, values, dims, name, description, units="1", **attrs):
    """A DataArray of ``values`` (time, replica, *rest) with dims ("time", "replica", *dims), the run's
    time and replica coordinates (and neuron/teacher_neuron where used); replica dropped if the run has none."""
    import xarray as xr

    full = ("time", "replica") + tuple(dims)
    coords = {k: v for k, v in ds.coords.items() if v.dims and set(v.dims) <= set(full)}
    arr = xr.DataArray(values, dims=full, coords=coords, name=name,
                       attrs={"description": description, "units": units, **attrs})
    if "replica" not in ds.dims:
        arr = arr.squeeze("replica", drop=True)
    return arr
