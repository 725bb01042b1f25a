"""``dyn.join``: a run followed by its continuation, as one run (what ``dyn simulate --from`` writes)."""

from __future__ import annotations

import json

from dyn.errors import UsageError


def join(ds, more, *, source=None):
    """The run ``ds`` followed by ``more``, its continuation (``dyn.simulate(flow, init=ds, ...)``): one
    Dataset, as the run now stands.

    Snapshots are joined along ``time`` and per-step logs along ``iteration``; what has no time
    (``diverged_at``, optimiser buffers) and the attrs (status, wall time) are the continuation's;
    the config is the continuation's with ``frames``/``steps`` counting the whole run; the attr
    ``continues`` names ``source`` (default: the file ``ds`` was loaded from) and how ``ds`` ended.
    ``dyn.simulate(flow, init=ds, join=True, ...)`` returns the same.
    """
    import xarray as xr

    for name, run in (("ds", ds), ("more", more)):
        if not hasattr(run, "data_vars") or "flow" not in run.attrs or "time" not in run.dims:
            raise UsageError(f"join: {name} is not a dyn run (an xarray.Dataset from dyn.simulate or dyn.load)")
    if ds.attrs["flow"] != more.attrs["flow"]:
        raise UsageError(f"join: ds is a {ds.attrs['flow']!r} run and more a {more.attrs['flow']!r} run")
    if more.sizes["time"] and (int(more.step[0]) <= int(ds.step[-1]) or int(more.time[0]) != int(ds.time[-1]) + 1):
        raise UsageError(f"join: more does not continue ds (ds ends at frame {int(ds.time[-1])}, step "
                         f"{int(ds.step[-1])}; more starts at frame {int(more.time[0])}, step {int(more.step[0])}): "
                         "give more = dyn.simulate(flow, init=ds, ...)")
    logs = [k for k in ds.data_vars if "iteration" in ds[k].dims]  # per-step logs: their own dim
    out = xr.concat([run.drop_dims("iteration", errors="ignore") for run in (ds, more)], dim="time",
                    data_vars="minimal", coords="minimal", compat="override", combine_attrs="override")
    for name, var in more.data_vars.items():
        if "time" not in var.dims and "iteration" not in var.dims:
            out[name] = var
    if logs:
        out = out.assign(xr.concat([ds[logs], more[logs]], dim="iteration"))
    config = json.loads(more.attrs["config"])
    config.update({k: v for k, v in (("frames", int(out.time[-1])), ("steps", int(out.step[-1]))) if k in config})
    source = source if source is not None else ds.encoding.get("source", "the run given as init")
    out.attrs = {**ds.attrs, **more.attrs, "config": json.dumps(config, sort_keys=True),
                 "continues": f"{source}: {ds.attrs.get('status')} at step {int(ds.step[-1])}"}
    if "signal" not in more.attrs:  # the signal that stopped the earlier part does not describe the whole
        out.attrs.pop("signal", None)
    return out
