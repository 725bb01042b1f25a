"""What a study's keep section may name: the flow's metrics and its variables with a time dim, read from a
probe run (built, not run). Imports nothing else of the study, so that the spec can check itself."""

from __future__ import annotations

from dyn.errors import UsageError


class KeepError(UsageError):
    """The spec's keep section names what the flow does not have: the whole study is wrong, not a point."""


def trajectory_names(ds, keep):
    """The variables with a ``time`` dim that ``keep`` (True or a list) asks for."""
    timed = [k for k, v in ds.data_vars.items() if "time" in v.dims]
    if keep is True:
        return timed
    for name in keep:
        if name not in timed:
            raise KeepError(f"keep.trajectories: {name!r} is not a variable with a time dim of this flow; "
                             f"it has: {', '.join(timed)}")
    return list(keep)


def check_metric_names(flow, names, have):
    """KeepError unless every name of ``names`` is in ``have`` or one of the flow's optional metrics."""
    from dyn.flows import get_flow

    known = list(have) + [n for n in get_flow(flow).optional_metrics if n not in have]
    for name in names:
        if name not in known:
            raise KeepError(f"keep.metrics: flow {flow!r} has no metric {name!r}; it has: {', '.join(known)}")


def probe(flow, options):
    """(job, Dataset of no step) of the run ``options`` with one replica: built, not run.

    RunError when the flow's job cannot describe itself before running."""
    from dyn.errors import DynError, RunError
    from dyn.flows import get_flow

    spec = get_flow(flow)
    cfg = spec.config.from_kwargs(**{**options, "replicas": 1})
    try:
        job = spec.prepare(cfg)
        return job, job.finish(0, "probe")
    except DynError:
        raise
    except Exception as err:
        raise RunError(f"cannot tell what a {flow} run records without running it ({type(err).__name__}: {err})") \
            from None


def check_keep(flow, options, metrics, trajectories):
    """KeepError when ``metrics`` (a list) or ``trajectories`` (a list) name what the run ``options``
    does not have: the flow's metrics of a probe run (built, not run) and its variables with a time dim."""
    from dyn.flows import get_flow

    _, ds0 = probe(flow, options)
    if metrics != "all":
        check_metric_names(flow, metrics, get_flow(flow).metrics(ds0) if get_flow(flow).metrics else {})
    if trajectories and trajectories is not True:
        trajectory_names(ds0, trajectories)


def signature(flow, options, keep):
    """Sizes of the dims the kept trajectories have, for the run ``options`` (built, not run)."""
    from dyn.errors import RunError

    try:
        job, ds0 = probe(flow, options)
    except RunError as err:
        raise RunError(f"{err}; keep metrics only") from None
    sizes = {}
    for name in trajectory_names(ds0, keep):
        sizes.update({d: ds0.sizes[d] for d in ds0[name].dims if d != "replica"})
    sizes["time"] = ds0.sizes["time"] + job.frames
    return sizes
