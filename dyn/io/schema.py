"""The attributes every dyn Dataset carries, and the check that a Dataset is a dyn run."""

from __future__ import annotations

import json
import platform

from dyn.errors import RunError

SCHEMA_VERSION = 1


def provenance():
    import numba
    import numpy

    import dyn

    return {"dyn_version": dyn.__version__, "numpy_version": numpy.__version__, "numba_version": numba.__version__,
            "python_version": platform.python_version(), "threads": int(numba.get_num_threads())}


def describe(ds, cfg, variables, status):
    """Attach descriptions and units (``variables``: name -> (description, units)) and run metadata."""
    for name, (text, units) in variables.items():
        if name in ds.variables:
            ds[name].attrs.update(description=text, units=units)
    ds.attrs.update(config=cfg.to_json(), device="cpu", status=status, schema_version=SCHEMA_VERSION, **provenance())
    return ds


REPLICA_COORDS = {
    "replica": ("replica index: replica r ran with seed + r", "1"),
    "seed": ("seed of each replica", "1"),
    "dim": ("coordinate index of the vectors in R^dim (weights, inputs)", "1"),
    "sample": ("data point index", "1"),
}


def run_dataset(data, coords, cfg, variables, status, **attrs):
    """A run's Dataset from (replica, time, ...) records: ``replica``, ``seed`` and index coords added (every dim
    has a coordinate: ``dim``, ``sample``...), dims
    ordered (time, replica, ...), the replica dim dropped when the run has one, attrs and descriptions set.
    """
    import numpy as np

    from dyn.io.xarray_lazy import xarray

    xr = xarray()

    replicas = np.arange(cfg.replicas)
    coords = {**coords, "replica": ("replica", replicas), "seed": ("replica", cfg.seed + replicas)}
    ds = xr.Dataset(data, coords).transpose("time", "replica", ...)
    bare = [d for d in ds.dims if d not in ds.coords]  # every dim gets a coordinate (an index if nothing else)
    ds = ds.assign_coords({d: np.arange(ds.sizes[d]) for d in bare})
    generic = {d: (f"index along {d}", "1") for d in bare}
    if cfg.replicas == 1:
        ds = ds.squeeze("replica", drop=True)
    ds.attrs.update(seed=cfg.seed, **attrs)
    return describe(ds, cfg, {**generic, **REPLICA_COORDS, **variables}, status)


def check(ds, source="dataset"):
    """Raise RunError unless ``ds`` is a dyn run of this schema version."""
    if "flow" not in ds.attrs or "config" not in ds.attrs:
        raise RunError(f"{source} is not a dyn run (no 'flow'/'config' attributes)")
    version = ds.attrs.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RunError(f"{source} has schema version {version}; this dyn reads version {SCHEMA_VERSION}")
    try:
        config = json.loads(ds.attrs["config"])
    except (TypeError, ValueError):
        config = None
    if not isinstance(config, dict):
        raise RunError(f"{source}: the run's stored config is damaged (not a JSON object)")
    if not isinstance(ds.attrs.get("status"), str):
        raise RunError(f"{source} has no 'status' attribute: not a complete dyn run")
    return ds
