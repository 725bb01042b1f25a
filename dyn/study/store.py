"""The study's Zarr store: a NaN-filled template written first, then one region write per task.

Layout: the swept parameters and ``seed`` are dims (in the spec's order), zarr chunks of the data
hold exactly one cell (point x seed) along them, so that concurrent writers never share a chunk
(``status`` and ``error``, written by the driver alone, are chunked by the leading swept dims). Variables:
the kept metrics and ``diverged_at`` (float64, NaN = not computed), the kept trajectories (and their
time clocks) with the run's own dims after ``seed``, ``status`` (int8: 0 pending, 1 done, 2 failed)
and ``error`` (the failure's message). The spec is in the root attrs (written once, with the
template). Data are written with an explicit integer ``region=``; ``status`` and ``error`` only by the
driver, after the data, in a separate write.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from dyn.errors import RunError, UsageError
from dyn.study.spec import Spec

PENDING, DONE, FAILED = 0, 1, 2
STATUS_ATTRS = {"flag_values": [PENDING, DONE, FAILED], "flag_meanings": "pending done failed",
                "description": "state of each cell (point x seed): 0 pending, 1 done, 2 failed", "units": "1"}
ERROR_ATTRS = {"description": "the message of a failed cell's exception", "units": "1"}
SEED_ATTRS = {"description": "seed of the run (student and data draws)", "units": "1"}



def exists(store):
    return (Path(store) / "zarr.json").is_file()


def stored_spec(store):
    """The Spec stored in ``store``; RunError when it is not a dyn study."""
    import zarr

    try:
        attrs = zarr.open_group(str(store), mode="r").attrs.asdict()
        return Spec.from_json(attrs["spec"])
    except (KeyError, ValueError, TypeError, FileNotFoundError, OSError) as err:
        raise RunError(f"{store} is not a dyn study store ({type(err).__name__}: {err})") from None
    except Exception as err:  # zarr raises its own types for damaged metadata
        raise RunError(f"{store} is not a readable dyn study store ({type(err).__name__}: {err})") from None


def check_same(spec, store):
    """UsageError naming the first difference when ``spec`` is not the study stored in ``store``."""
    old = stored_spec(store).identity()
    new = json.loads(json.dumps(spec.identity()))
    for key in ("flow", "fixed", "sweep", "follow", "seeds", "keep"):
        if old.get(key) != new.get(key):
            raise UsageError(f"{store} holds a study with a different {key} ({json.dumps(old[key])} != "
                             f"{json.dumps(new[key])}): use another -o, or --force to start it again")


def create(spec, store, layout, replace=False):
    """Write the template (metadata only: no chunk is written) for ``spec`` with ``layout``, in a
    temporary folder renamed to ``store`` when complete. With ``replace`` (``--force``), an existing
    store is moved aside only then, and deleted once the new one is in its place: until the new
    template is complete, the old study stays whole.

    ``layout``: name -> (extra dims, extra sizes, attrs) of every data variable besides status/error.
    """
    import dask.array as da
    import xarray as xr

    import dyn

    dims, shape = spec.dims, spec.shape
    cell = (1,) * len(dims)
    data, encoding = {}, {}
    for name, (extra, sizes, attrs) in layout.items():
        data[name] = (dims + list(extra), da.full(shape + tuple(sizes), np.nan, chunks=-1), attrs)
        encoding[name] = {"chunks": cell + tuple(sizes)}
    # status and error are written by the driver alone, so their chunks may span cells: one chunk per
    # value of the leading swept dims keeps reading the status of 100k cells fast (not 100k files)
    shared = (1,) * max(0, len(dims) - 2) + shape[max(0, len(dims) - 2):]
    data["status"] = (dims, da.zeros(shape, dtype=np.int8, chunks=-1), STATUS_ATTRS)
    encoding["status"] = {"chunks": shared, "fill_value": PENDING}
    data["error"] = (dims, da.full(shape, "", dtype=np.dtypes.StringDType(), chunks=-1), ERROR_ATTRS)
    encoding["error"] = {"chunks": shared, "fill_value": ""}
    coords = {k: (k, _coord(v), {"description": f"swept parameter {k}"}) for k, v in spec.sweep.items()}
    coords["seed"] = ("seed", np.asarray(spec.seeds, dtype=np.int64), SEED_ATTRS)
    ds = xr.Dataset(data, coords, attrs={"flow": spec.flow, "spec": spec.to_json(), "config": json.dumps(spec.fixed),
                                         "study": spec.name, "dyn_version": dyn.__version__})
    store = Path(store)
    tmp = store.with_name(f".{store.name}.tmp-{os.getpid()}")  # a killed creation leaves no half store
    try:
        ds.to_zarr(str(tmp), compute=False, mode="w-", consolidated=False, encoding=encoding)
        _move_in(tmp, store, replace)
    except OSError as err:
        raise RunError(f"cannot write {store}: {err.strerror or err}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _coord(values):
    """A swept parameter's coordinate; strings as numpy's StringDType (as ``error``): zarr stores the
    fixed-width unicode dtype under a specification it warns is unstable."""
    if all(isinstance(v, str) for v in values):
        return np.asarray(values, dtype=np.dtypes.StringDType())
    return np.asarray(values)


def _move_in(tmp, store, replace):
    """Rename the complete template ``tmp`` to ``store``; an old store (``replace``) is moved aside
    first and deleted last."""
    if not (replace and store.exists()):
        os.rename(tmp, store)
        return
    old = store.with_name(f".{store.name}.old-{os.getpid()}")
    os.rename(store, old)
    try:
        os.rename(tmp, store)
    except OSError:
        os.rename(old, store)  # put the old study back
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_region(ds, store, region):
    """Write ``ds`` (dims of the store, sizes of ``region``, no coords) into ``region`` (name -> (lo, hi))."""
    ds.to_zarr(str(store), region={k: slice(lo, hi) for k, (lo, hi) in region.items()}, consolidated=False)


def mark(store, spec, region, state, message=""):
    """The driver's write of ``status`` (and ``error``) for the cells of ``region``."""
    import xarray as xr

    sizes = tuple(region[k][1] - region[k][0] for k in spec.dims)
    ds = xr.Dataset({"status": (spec.dims, np.full(sizes, state, np.int8)),
                     "error": (spec.dims, np.full(sizes, message, dtype=np.dtypes.StringDType()))})
    write_region(ds, store, region)


def open_status(store):
    """(status, error) as numpy arrays, and the Spec, read from ``store``."""
    import xarray as xr

    spec = stored_spec(store)
    # chunks=None: numpy, not dask: a dask read would queue behind the study's tasks on the active client
    try:
        with xr.open_zarr(str(store), consolidated=False, chunks=None) as ds:
            return spec, ds["status"].values, ds["error"].values
    except Exception as err:  # zarr and xarray raise many types for a damaged store
        raise RunError(f"{store} is not a readable dyn study store ({type(err).__name__}: {err})") from None


def open_study(store):
    """The study as a lazy xarray Dataset."""
    import xarray as xr

    if not exists(store):
        raise UsageError(f"no such study store: {store}")
    stored_spec(store)
    try:
        ds = xr.open_zarr(str(store), consolidated=False)
    except Exception as err:  # zarr and xarray raise many types for a damaged store
        raise RunError(f"{store} is not a readable dyn study store ({type(err).__name__}: {err})") from None
    if "status" not in ds:
        ds.close()
        raise RunError(f"{store} is not a readable dyn study store (it has no status array)")
    return ds
