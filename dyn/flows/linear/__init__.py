"""The linear flow: SGD on a linear model or a small ReLU network, or on the data (seed 003's tutorial).

Importing this package is cheap (the CLI reads the config for ``--help``); the kernels load on first use.
"""

from dyn.flows.base import Flow, lazy
from dyn.flows.linear.config import LinearConfig


def summary(ds):
    """loss first -> last, final accuracy and margin (replica means)."""
    first, last = ds.isel(time=0), ds.isel(time=-1)
    return (f"{ds.attrs['run']}: loss {float(first.loss.mean()):.4g} -> {float(last.loss.mean()):.4g}; "
            f"accuracy {float(last.accuracy.mean()):.4f}; margin {float(last.margin.mean()):.4g}")


def metrics(ds):
    """Per-replica summaries a study keeps: final loss, accuracy, margin (and
    margin / |w| for the linear model), active hinges and the seed's monitor
    (NaN for a replica that diverged: it has no final classifier), and ``diverged`` (1 or 0)."""
    from dyn.analysis import final

    dead = ds["diverged_at"] >= 0
    names = ("loss", "accuracy", "margin", "margin_distance", "active", "seed_monitor")
    out = {f"final_{k}": final(ds, k).where(~dead) for k in names if k in ds}
    out["diverged"] = dead.astype(float)
    return out


def infer(options, arrays):
    """model and layers from an ``init`` given as layer matrices (in + 1, out): more than one is an mlp whose
    hidden widths are the matrices' columns."""
    import numpy as np

    init = arrays.get("init")
    if isinstance(init, (list, tuple)) and len(init) > 1 and all(np.ndim(m) in (2, 3) for m in init):
        return {"model": "mlp", "layers": [int(np.shape(m)[-1]) for m in init[:-1]]}
    return {}


FLOW = Flow(name="linear", config=LinearConfig, prepare=lazy("dyn.flows.linear.job", "prepare"),
            resume=lazy("dyn.flows.linear.job", "resume"), arrays=("init", "order", "data", "labels"),
            help="SGD on a linear model or a small ReLU network, or on the data (seed 003).",
            infer=infer, summary=summary, metrics=metrics)
