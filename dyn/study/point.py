"""One task of a study: the seeds seed_lo:seed_hi of one point, run as replicas of one ``dyn.simulate``.

``run_task`` executes on a worker (or in the driver). It returns the cells' Dataset, or writes it
into the store itself when the worker shares the store's filesystem and returns None. Replica r of
a run with seed s and replicas R is the run with seed s + r (DESIGN.md), so batching a point's seeds
changes nothing in the numbers.

Test hook: when the environment variable ``DYN_STUDY_LOG`` names a file, every computed task appends
``compute <region JSON>`` to it (and the driver appends ``done <region JSON>`` after marking cells).
"""

from __future__ import annotations

import json
import os

import numpy as np

from dyn.study.keep import check_metric_names, trajectory_names

LOG_ENV = "DYN_STUDY_LOG"


def log(event, region, path=None):
    path = path or os.environ.get(LOG_ENV)
    if path:
        with open(path, "a") as f:
            f.write(f"{event} {json.dumps(region, sort_keys=True)}\n")
            f.flush()


def _bare(arr, replicas):
    """``arr`` without coords, with a ``replica`` dim of size ``replicas`` (added when missing)."""
    import xarray as xr

    arr = xr.DataArray(np.asarray(arr.values), dims=arr.dims, attrs=dict(arr.attrs))
    return arr if "replica" in arr.dims else arr.expand_dims(replica=replicas)


def clock_names(ds):
    """Non-index coordinates along ``time`` only (step, samples_seen...): kept beside trajectories."""
    return [k for k, v in ds.coords.items() if v.dims == ("time",) and k != "time"]


def flow_metrics(ds, flow, names):
    """{name: per-replica DataArray} of the metrics ``names`` ("all": the flow's default ones) of the run
    ``ds``; optional ones (the relu analysis) are computed only when named."""
    from dyn.flows import get_flow

    spec = get_flow(flow)
    have = spec.metrics(ds) if spec.metrics else {}
    if names == "all":
        return have
    check_metric_names(flow, names, have)
    optional = [name for name in names if name not in have]
    if optional:
        have.update(spec.compute_optional(ds, optional))
    return {name: have[name] for name in names}


def cells(ds, flow, spec):
    """The Dataset of one task's cells: metrics, diverged_at, kept trajectories; dims (swept..., seed, ...)."""
    import xarray as xr

    metrics = flow_metrics(ds, flow, spec["metrics"])
    replicas = ds.sizes.get("replica", 1)
    out = {name: _bare(value, replicas) for name, value in metrics.items()}
    if "diverged_at" in ds:
        out["diverged_at"] = _bare(ds["diverged_at"], replicas)
    if spec["trajectories"]:
        for name in trajectory_names(ds, spec["trajectories"]) + clock_names(ds):
            out[name] = _bare(ds[name], replicas)
    result = xr.Dataset({k: v.astype(np.int64 if k == "diverged_at" else np.float64) for k, v in out.items()})
    result = result.rename({"replica": "seed"})
    result = result.expand_dims({k: 1 for k in spec["swept"]})
    return result.transpose(*spec["swept"], "seed", ...)


def layout(result):
    """name -> (dims after seed, their sizes, attrs, dtype) of a task's cells: what the template holds."""
    out = {}
    for name, v in result.data_vars.items():
        extra = v.dims[v.dims.index("seed") + 1:]
        attrs = dict(v.attrs)
        attrs.setdefault("description", f"the flow's metric {name} of each run")
        attrs.setdefault("units", "1")
        if np.issubdtype(v.dtype, np.integer):
            attrs["description"] = attrs.get("description", name) + "; -2 where the run is not computed"
        out[name] = (list(extra), [result.sizes[d] for d in extra], attrs, v.dtype)
    return out


def run_task(task):
    """Compute one task (see the module doc); ``task`` is a plain dict (it travels to workers)."""
    from dyn.api import simulate

    _one_thread_per_worker()
    log("compute", task["region"], task.get("log"))
    ds = simulate(task["flow"], **task["options"])
    if ds.attrs.get("interrupted"):
        raise KeyboardInterrupt
    result = cells(ds, task["flow"], task["keep"])
    if task.get("store") is not None:
        from dyn.study.store import write_region

        write_region(result, task["store"], task["region"])
        return None
    return result


def _one_thread_per_worker():
    """On a dask worker, numba uses the worker's threads: the cluster already runs points in parallel."""
    try:
        from distributed import get_worker

        nthreads = get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):
        return
    import numba

    numba.set_num_threads(max(1, min(nthreads, numba.config.NUMBA_NUM_THREADS)))
