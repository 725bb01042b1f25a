"""Runs on disk: NetCDF (HDF5) written atomically, loaded with a clear error on a bad file."""

from __future__ import annotations

from pathlib import Path

from dyn.errors import RunError, UsageError
from dyn.io.atomic import atomic_path
from dyn.io.schema import check


def save(ds, path):
    """Write ``ds`` to ``path`` (NetCDF); the old file is replaced only when the write succeeded."""
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=False)
    return path


def load(path):
    """The run stored at ``path``, in memory. Missing file: UsageError; not a dyn run: RunError."""
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception as err:  # h5py/xarray raise many types for a damaged file
        raise RunError(f"{path} is not a readable NetCDF file ({type(err).__name__}: {err})") from None
    return check(ds, str(path))
