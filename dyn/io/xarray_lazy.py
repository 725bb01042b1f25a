"""xarray without dask where nothing is chunked: the Dataset of a run and its NetCDF file.

xarray asks, for every Variable it builds, whether the data is a dask array
(``isinstance(data, array_type("dask"))``, and ``is_dask_collection``), and those questions import
``dask.array`` and ``dask`` (0.4 s of CPU here, with scipy's fft); its ``to_netcdf`` asks which dask
scheduler is active, which imports ``distributed`` (another 0.35 s), even when no variable is
chunked. dyn's runs are numpy arrays in memory, so :func:`xarray` records dask in xarray's cache of
duck-array modules as "no dask array exists until ``dask.array`` is imported", and answers
``is_dask_collection`` with False while ``dask`` is not imported (both true: an object of a type
cannot exist before its module), asking dask itself as soon as anyone imported it; and
:func:`netcdf_bytes` writes the file's image through xarray's own h5netcdf store with HDF5's lock
given (the store would otherwise ask dask for a scheduler's lock). The file is byte for byte the one
``Dataset.to_netcdf(engine="h5netcdf")`` writes (a test compares them). Where xarray's internals
have moved, both fall back to xarray's public paths (slower, same files).
"""

from __future__ import annotations

import sys


class _DaskWhenImported:
    """xarray's ``DuckArrayModule("dask")`` once ``dask.array`` is imported; before that, no dask array type."""

    def __init__(self, cache, real):
        self._cache, self._real = cache, real

    def _resolve(self):
        record = self._real("dask")
        self._cache["dask"] = record
        return record

    @property
    def type(self):
        if "dask.array" not in sys.modules:
            return ()
        return self._resolve().type

    def __getattr__(self, name):  # module, version, available: what only a dask user asks
        return getattr(self._resolve(), name)


def xarray():
    """The xarray module, its dask check made lazy (once per process)."""
    import xarray as xr

    try:
        from xarray.namedarray import pycompat, utils
    except ImportError:
        return xr
    original = getattr(utils, "is_dask_collection", None)
    if original is not None and not getattr(original, "dyn_lazy", False):
        def is_dask_collection(x):
            return "dask" in sys.modules and original(x)

        is_dask_collection.dyn_lazy = True
        is_dask_collection.__doc__ = original.__doc__
        utils.is_dask_collection = is_dask_collection
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    real = getattr(pycompat, "DuckArrayModule", None)
    if isinstance(cache, dict) and real is not None and "dask" not in cache and "dask.array" not in sys.modules:
        cache["dask"] = _DaskWhenImported(cache, real)
    return xr


def netcdf_bytes(ds, *, encoding=None):
    """``ds.to_netcdf(engine="h5netcdf", invalid_netcdf=False, encoding=encoding)``, the file's bytes, without
    asking dask for a scheduler where no variable is chunked."""
    xarray()
    if any(v.chunks is not None for v in ds.variables.values()):
        return ds.to_netcdf(engine="h5netcdf", invalid_netcdf=False, encoding=encoding)
    try:
        from xarray.backends import H5NetCDFStore
        from xarray.backends.locks import HDF5_LOCK
        from xarray.backends.writers import _validate_attrs, _validate_dataset_names
    except ImportError:
        return ds.to_netcdf(engine="h5netcdf", invalid_netcdf=False, encoding=encoding)
    import io

    _validate_dataset_names(ds)
    _validate_attrs(ds, "h5netcdf", False)
    buffer = io.BytesIO()
    store = H5NetCDFStore.open(buffer, mode="w", lock=HDF5_LOCK, invalid_netcdf=False)
    try:
        ds.dump_to_store(store, encoding=encoding or {})
    finally:
        store.close()
    return buffer.getbuffer()
