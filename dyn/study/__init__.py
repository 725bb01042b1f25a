"""Batch parameter studies: TOML specs, run on dask.distributed into one resumable Zarr store.

    >>> import dyn
    >>> ds = dyn.study("studies/relu-radius-width.toml", "out.zarr")   # lazy xarray.Dataset

Modules: ``spec`` (parsing, validation, grid), ``store`` (the Zarr template, region writes, status,
the forced replacement's swap), ``lock`` (one writer a store), ``verify`` (checksums of the done
cells), ``point`` (one task, on a worker), ``run`` (the driver: compile, dask, resume), ``cluster``
(the LocalCluster, a scheduler, TLS, waiting for workers), ``status``, ``plot`` (the figures specs
ask for), ``prewarm`` (numba cache on remote workers).

``dyn.study`` is both this package and the function: the package is callable.
"""

from __future__ import annotations

import sys
import types


def study(spec, store=None, *, workers=None, scheduler=None, client=None, force=False, retry_failed=False,
          batch_seeds=True, progress=False, **options):
    """Run (or resume) the study ``spec`` (a TOML path) into ``store`` (default: SPEC-NAME.zarr);
    return the store as a lazy :class:`xarray.Dataset`. Cells that failed are marked ``status == 2``
    with their message in ``error``; see :func:`dyn.study.run.run` for the options (``oversubscribe``,
    ``dashboard``, ``worker_timeout``, ``tls``, ``allow_outside_data``, ``say``)."""
    from dyn.study.run import run
    from dyn.study.store import open_study

    outcome = run(spec, store, workers=workers, scheduler=scheduler, client=client, force=force, retry_failed=retry_failed,
                  batch_seeds=batch_seeds, progress=progress, **options)
    return open_study(outcome.store)


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return study(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
