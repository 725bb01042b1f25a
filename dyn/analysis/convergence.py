"""When does a run converge? Functions of a run's Dataset, per replica."""

from __future__ import annotations

import numpy as np
import xarray as xr


def _first_last(values, last):
    """Index along axis 0 of the first (or last) finite value; -1 where there is none."""
    ok = np.isfinite(values)
    idx = (len(ok) - 1 - np.argmax(ok[::-1], axis=0)) if last else np.argmax(ok, axis=0)
    return np.where(ok.any(axis=0), idx, -1)


def _pick(values, idx):
    out = np.take_along_axis(values, np.maximum(idx, 0)[None], axis=0)[0]
    return np.where(idx >= 0, out, np.nan)


def final(ds, var="loss_test"):
    """The last finite value of ``var`` along time (per replica): what a diverged replica reached last."""
    values = ds[var].transpose("time", ...)
    data = values.values
    return xr.DataArray(_pick(data, _first_last(data, last=True)), dims=values.dims[1:],
                        coords={k: v for k, v in values.coords.items() if "time" not in v.dims})


def convergence_step(ds, var="loss_test", factor=1e-2, clock="step"):
    """The first ``clock`` value at which ``var`` fell below ``factor`` times its initial value.

    Per replica; NaN where it never did (or diverged first). The initial value is the first finite one.
    """
    values = ds[var].transpose("time", ...)
    data = values.values
    start = _pick(data, _first_last(data, last=False))
    below = np.nan_to_num(data, nan=np.inf) <= factor * start
    found = below.any(axis=0)
    steps = np.asarray(ds[clock].values, dtype=float)[np.argmax(below, axis=0)]
    return xr.DataArray(np.where(found, steps, np.nan), dims=values.dims[1:],
                        coords={k: v for k, v in values.coords.items() if "time" not in v.dims},
                        attrs={"description": f"first {clock} with {var} <= {factor:g} x its initial value",
                               "units": clock})
