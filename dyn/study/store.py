"""The study's Zarr store: a NaN-filled template written first, then one region write per task.

Layout: the swept parameters and ``seed`` are dims (in the spec's order), zarr chunks of the data
hold exactly one cell (point x seed) along them, so that concurrent writers never share a chunk
(``status`` and ``error``, written by the driver alone, are chunked by the leading swept dims). Variables:
the kept metrics (float64, NaN = not computed), ``diverged_at`` (int64 as in a run: -1 not diverged;
-2 = not computed), the kept trajectories (and their time clocks) with the run's own dims after
``seed``, ``status`` (int8: 0 pending, 1 done, 2 failed) and ``error`` (the failure's message, or why
a done cell went back to pending). The spec is in the root attrs (written once, with the template).
Data are written with an explicit integer ``region=``; ``status`` and ``error`` only by the driver,
after the data, in a separate write.

Every array's chunks end with zarr v3's crc32c checksum, and every written cell has its chunk file
(empty chunks are written too), so that a damaged, emptied or deleted chunk of a done cell is found
(:mod:`dyn.study.verify`). The metadata are consolidated (root ``zarr.json``), so that plain
``xarray.open_zarr`` opens the store without a warning.

A forced run of another spec (``--force``) builds its study beside the old one, in
``STORE.new`` (:func:`replacement`), and :func:`swap_in` puts it in the old one's place only once it
is complete: until then the old study stays whole and readable.
"""

from __future__ import annotations

import contextlib
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
ERROR_ATTRS = {"description": "the message of a failed cell's exception, or why a done cell went back to pending "
                             "(a damaged or missing chunk)", "units": "1"}
NOT_COMPUTED = -2  # the fill of integer variables (diverged_at: -1 is "did not diverge")
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


def codecs():
    """The compressors of every array: zstd, then the crc32c checksum of the compressed bytes."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    return [ZstdCodec(level=0), Crc32cCodec()]


def replacement(store):
    """Where a forced run of another spec builds its study until it is complete: ``STORE.new``."""
    store = Path(store)
    return store.with_name(store.name + ".new")


def create(spec, store, layout):
    """Write the template (metadata only: no chunk is written) for ``spec`` with ``layout`` at
    ``store``, in a temporary folder renamed when complete; return the store's lock, taken in the
    temporary folder (so the store is locked from the moment it appears). RunError when ``store``
    appeared meanwhile (another run created it).

    ``layout``: name -> (extra dims, extra sizes, attrs, dtype) of every data variable besides status/error.
    """
    import dask.array as da
    import xarray as xr

    import dyn
    from dyn.study.lock import StoreLock

    dims, shape = spec.dims, spec.shape
    cell = (1,) * len(dims)
    data, encoding = {}, {}
    for name, (extra, sizes, attrs, dtype) in layout.items():
        fill = NOT_COMPUTED if np.issubdtype(dtype, np.integer) else np.nan
        data[name] = (dims + list(extra), da.full(shape + tuple(sizes), fill, dtype=dtype, chunks=-1), attrs)
        encoding[name] = {"chunks": cell + tuple(sizes), "compressors": codecs(), "fill_value": fill}
    # status and error are written by the driver alone, so their chunks may span cells: one chunk per
    # value of the leading swept dims keeps reading the status of 100k cells fast (not 100k files)
    shared = (1,) * max(0, len(dims) - 2) + shape[max(0, len(dims) - 2):]
    data["status"] = (dims, da.zeros(shape, dtype=np.int8, chunks=-1), STATUS_ATTRS)
    encoding["status"] = {"chunks": shared, "fill_value": PENDING, "compressors": codecs()}
    data["error"] = (dims, da.full(shape, "", dtype=np.dtypes.StringDType(), chunks=-1), ERROR_ATTRS)
    encoding["error"] = {"chunks": shared, "fill_value": "", "compressors": codecs()}
    coords = {k: (k, _coord(v), {"description": f"swept parameter {k}"}) for k, v in spec.sweep.items()}
    coords["seed"] = ("seed", np.asarray(spec.seeds, dtype=np.int64), SEED_ATTRS)
    encoding.update({k: {"compressors": codecs()} for k in coords})
    ds = xr.Dataset(data, coords, attrs={"flow": spec.flow, "spec": spec.to_json(), "config": json.dumps(spec.fixed),
                                         "study": spec.name, "dyn_version": dyn.__version__})
    store = Path(store)
    tmp = store.with_name(f".{store.name}.tmp-{os.getpid()}")  # a killed creation leaves no half store
    lock = None
    try:
        ds.to_zarr(str(tmp), compute=False, mode="w-", consolidated=False, encoding=encoding)
        consolidate(tmp)
        lock = StoreLock(tmp).acquire()
        try:
            os.rename(tmp, store)
        except OSError:
            if store.exists():
                raise RunError(f"{store} was created meanwhile by another dyn study run; its runs are kept there: "
                               f"run the same command again to resume it") from None
            raise
        lock.moved(store)
        return lock
    except OSError as err:
        raise RunError(f"cannot write {store}: {err.strerror or err}") from None
    finally:
        if tmp.exists():
            if lock is not None:
                lock.release()
            shutil.rmtree(tmp, ignore_errors=True)


def _coord(values):
    """A swept parameter's coordinate; strings as numpy's StringDType (as ``error``): zarr stores the
    fixed-width unicode dtype under a specification it warns is unstable."""
    if all(isinstance(v, str) for v in values):
        return np.asarray(values, dtype=np.dtypes.StringDType())
    return np.asarray(values)


def consolidate(store):
    """Write the consolidated metadata (the root ``zarr.json`` lists every array's)."""
    import warnings

    import zarr

    with warnings.catch_warnings():  # "consolidated metadata is not part of the zarr v3 specification"
        warnings.simplefilter("ignore")
        zarr.consolidate_metadata(str(store))


def consolidated(store):
    """True when the root ``zarr.json`` holds consolidated metadata."""
    try:
        return bool(json.loads((Path(store) / "zarr.json").read_text()).get("consolidated_metadata"))
    except (OSError, ValueError):
        return False


def swap_in(new, store):
    """Put the complete study ``new`` in the place of ``store``: ``store`` moves aside, ``new`` is
    renamed to it, then the old study is deleted. Until the second rename the old study is whole;
    :func:`recover` finishes a swap a crash cut between the two renames."""
    new, store = Path(new), Path(store)
    old = _aside(store, "old")
    os.rename(store, old)
    try:
        os.rename(new, store)
    except OSError:
        os.rename(old, store)  # put the old study back
        raise
    shutil.rmtree(old, ignore_errors=True)
    return old


def _aside(store, kind, pid=None):
    return store.with_name(f".{store.name}.{kind}-{os.getpid() if pid is None else pid}")


def leftovers(store, kind):
    """Folders ``.STORE.KIND-PID`` left by dead processes (``kind``: tmp, old)."""
    from dyn.study.lock import _alive

    store = Path(store)
    folder = store.parent if str(store.parent) else Path(".")
    prefix = f".{store.name}.{kind}-"
    out = []
    for path in folder.glob(f"{prefix}*"):
        pid = path.name[len(prefix):]
        if pid.isdigit() and not _alive(int(pid)):
            out.append(path)
    return sorted(out)


def recover(store):
    """Clean what killed runs left beside ``store``: finish a swap cut between its two renames (the new
    study complete in ``STORE.new``, the old one aside), and remove temporary folders and old studies
    already replaced."""
    store = Path(store)
    new = replacement(store)
    if not exists(store):
        with contextlib.suppress(OSError, RunError):
            old = leftovers(store, "old")
            if exists(new) and complete(new):
                os.rename(new, store)
            elif old and exists(old[-1]):
                os.rename(old[-1], store)
    for path in leftovers(store, "tmp") + (leftovers(store, "old") if exists(store) else []):
        shutil.rmtree(path, ignore_errors=True)


def complete(store):
    """True when no cell of ``store`` is pending."""
    _, status, _ = open_status(store)
    return not (status == PENDING).any()


def write_region(ds, store, region):
    """Write ``ds`` (dims of the store, sizes of ``region``, no coords) into ``region`` (name -> (lo, hi))."""
    ds.to_zarr(str(store), region={k: slice(lo, hi) for k, (lo, hi) in region.items()}, consolidated=False,
               write_empty_chunks=True)


def mark(store, spec, region, state, message=""):
    """The driver's write of ``status`` (and ``error``) for the cells of ``region``."""
    import xarray as xr

    sizes = tuple(region[k][1] - region[k][0] for k in spec.dims)
    ds = xr.Dataset({"status": (spec.dims, np.full(sizes, state, np.int8)),
                     "error": (spec.dims, np.full(sizes, message, dtype=np.dtypes.StringDType()))})
    write_region(ds, store, region)


def write_status(store, spec, status, error):
    """The driver's write of the whole ``status`` and ``error`` arrays."""
    import xarray as xr

    ds = xr.Dataset({"status": (spec.dims, status.astype(np.int8)),
                     "error": (spec.dims, np.asarray(error, dtype=np.dtypes.StringDType()))})
    write_region(ds, store, {k: (0, n) for k, n in zip(spec.dims, spec.shape)})


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
