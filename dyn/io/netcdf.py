"""Runs on disk: NetCDF (HDF5) written atomically, loaded with a clear error on a bad file.

Every array variable is stored in chunks with HDF5's shuffle and zlib filters (level ``ZLIB_LEVEL``,
chosen by a measurement: see the README) and the fletcher32 checksum, so that a damaged chunk is an
error when it is read, not numbers. The file is built in memory first and then written with plain
file writes (flushed to the disk before the rename): a full disk or any other write failure is one
clean error, never a failure inside HDF5 (which can crash the interpreter); a run whose file would
not fit in memory is written by HDF5 directly, after a check that the disk can hold it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from dyn.errors import RunError, UsageError
from dyn.io.atomic import atomic_path, write_bytes
from dyn.io.schema import check
from dyn.io.xarray_lazy import netcdf_bytes, xarray

ZLIB_LEVEL = 1  # see the README: level 1 gives nearly all of level 9's saving at a fraction of its time


def one_line(text, limit=300):
    """An error message from a library as one short line."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def encoding(ds, level=ZLIB_LEVEL):
    """Chunked, shuffled, zlib-compressed, fletcher32-checksummed storage for every non-empty numeric
    array (scalars and strings cannot carry HDF5 filters)."""
    out = {}
    for name, var in ds.variables.items():
        if var.ndim and var.size and var.dtype.kind in "biuf":
            out[name] = {"fletcher32": True, "shuffle": bool(level), "zlib": bool(level), "complevel": level or None}
            out[name] = {k: v for k, v in out[name].items() if v is not None}
    return out


def _memory_allows(nbytes):
    from dyn.engine.steps import free_memory

    free = free_memory()
    return free is None or nbytes <= 0.5 * free


def save(ds, path, *, level=ZLIB_LEVEL):
    """Write ``ds`` to ``path`` (NetCDF); the old file is replaced only when the write succeeded."""
    path = Path(path)
    ds = ds.drop_encoding()  # a loaded or joined run's chunk sizes belong to its old shapes
    enc = encoding(ds, level)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        if _memory_allows(ds.nbytes):
            image = netcdf_bytes(ds, encoding=enc)
            _check_space(path, folder, len(image))
            with atomic_path(path) as tmp:
                write_bytes(tmp, image)
        else:
            _check_space(path, folder, ds.nbytes + 2**20, "up to ")
            with atomic_path(path) as tmp:
                ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=False, encoding=enc)
    except (UnicodeError, TypeError, ValueError) as err:  # attrs or variables HDF5 cannot store
        if isinstance(err, UsageError):
            raise
        raise RunError(f"cannot write {path}: {one_line(err)}") from None
    return path


def _check_space(path, folder, nbytes, prefix=""):
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if nbytes > free:
        raise RunError(f"cannot write {path}: it needs {prefix}{nbytes / 2**20:.3g} MiB but the disk has "
                       f"{free / 2**20:.3g} MiB free (nothing was written)")


def _damaged_variable(path):
    """The name of the first variable of ``path`` whose data cannot be read (a failed checksum), or None."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            for name, obj in f.items():
                if isinstance(obj, h5py.Dataset):
                    try:
                        obj[()]
                    except Exception:
                        return name
    except Exception:
        return None
    return None


def _reading_error(path, err):
    name = _damaged_variable(path)
    if name is not None:
        return RunError(f"{path} is damaged: the data of variable {name!r} fail their checksum or cannot be "
                        f"decoded ({one_line(err, 120)})")
    return RunError(f"{path} is not a readable NetCDF file ({type(err).__name__}: {one_line(err)})")


def _check_text(ds, source):
    """Refuse attributes whose bytes were damaged (not valid UTF-8: decoded with surrogates)."""
    for owner, attrs in [("the file", ds.attrs)] + [(f"variable {k!r}", v.attrs) for k, v in ds.variables.items()]:
        for key, value in attrs.items():
            if isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeError:
                    raise RunError(f"{source} is damaged: attribute {key!r} of {owner} is not valid text") from None


def load(path):
    """The run stored at ``path``, in memory. Missing file: UsageError; not a dyn run or damaged: RunError."""
    xr = xarray()
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a run file (.nc); a study store is read by dyn study status/plot")
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception as err:  # h5py/xarray raise many types for a damaged file
        raise _reading_error(path, err) from None
    _check_text(ds, str(path))
    return check(ds, str(path))
