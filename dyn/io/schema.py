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
    found = ds.variables  # the variables themselves: ds[name] would build a DataArray for each
    for name, (text, units) in variables.items():
        if name in found:
            found[name].attrs.update(description=text, units=units)
    ds.attrs.update(config=cfg.to_json(), device="cpu", status=status, schema_version=SCHEMA_VERSION, **provenance())
    return ds


REPLICA_COORDS = {
    "replica": ("replica index: replica r ran with seed + r", "1"),
    "seed": ("seed of each replica", "1"),
    "dim": ("coordinate index of the vectors in R^dim (weights, inputs)", "1"),
    "sample": ("data point index", "1"),
}


def _leading(dims, values, single):
    """(dims, values) with time and replica moved first (views), replica dropped when ``single``."""
    import numpy as np

    lead = [d for d in ("time", "replica") if d in dims]
    order = lead + [d for d in dims if d not in lead]
    values = np.transpose(values, [dims.index(d) for d in order]) if order != list(dims) else values
    if single and "replica" in order:
        values = values[(slice(None),) * order.index("replica") + (0,)]
        order.remove("replica")
    return tuple(order), values


def run_dataset(data, coords, cfg, variables, status, **attrs):
    """A run's Dataset from (replica, time, ...) records: ``replica``, ``seed`` and index coords added (every dim
    has a coordinate: ``dim``, ``sample``...), dims
    ordered (time, replica, ...), the replica dim dropped when the run has one, attrs and descriptions set.

    Built in one ``xr.Dataset`` call from views of the records (arranged here, not by xarray's transpose,
    assign_coords and squeeze, each of which copies the Dataset)."""
    import numpy as np

    from dyn.io.xarray_lazy import xarray

    xr = xarray()

    single = cfg.replicas == 1
    replicas = np.arange(cfg.replicas)
    coords = {**coords, **({} if single else {"replica": ("replica", replicas), "seed": ("replica", cfg.seed + replicas)})}

    def arranged(entry):  # (dims, values, *attrs) with dims a name or a tuple of names
        dims = (entry[0],) if isinstance(entry[0], str) else tuple(entry[0])
        return (*_leading(dims, np.asarray(entry[1]), single), *entry[2:])

    data = {k: arranged(v) for k, v in data.items()}
    coords = {k: arranged(v) for k, v in coords.items()}
    sizes = {d: n for dims, v, *_ in (*data.values(), *coords.values()) for d, n in zip(dims, np.shape(v))}
    bare = [d for d in sizes if d not in coords and d != "replica"]  # every dim gets a coordinate (an index)
    ds = xr.Dataset(data, {**coords, **{d: (d, np.arange(sizes[d])) for d in bare}})
    generic = {d: (f"index along {d}", "1") for d in bare}
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
