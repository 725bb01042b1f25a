"""The center flow: center loss on a classifier's 2-D features (seed 001, Wen et al. 2016).

The particles are the 2-D features of a fixed probe set and the class centroids, recorded over training:
softmax features grow into petals; the center loss pulls each class into a tight cluster. Importing this
package is cheap (the CLI reads the config for ``--help``); the kernels load on first use.
"""

from dyn.flows.base import Flow, lazy
from dyn.flows.center.config import CenterConfig


def summary(ds):
    """Probe accuracy and scatter/separation first -> last finite (replica means), the last training losses."""
    from dyn.analysis import final

    first = ds.isel(time=0)
    last = {k: float(final(ds, k).mean()) for k in ("accuracy", "ratio", "ce_train", "center_train")}
    return (f"{ds.attrs['data_name']}: probe accuracy {float(first.accuracy.mean()):.3f} -> {last['accuracy']:.3f}, "
            f"scatter/separation {float(first.ratio.mean()):.3g} -> {last['ratio']:.3g}, "
            f"ce {last['ce_train']:.3g}, center {last['center_train']:.3g}")


def metrics(ds):
    """Per-replica summaries a study keeps: the final accuracy, ratio, scatter, separations, losses, spreads."""
    from dyn.analysis import final

    out = {f"final_{k}": final(ds, k) for k in ("accuracy", "ratio", "scatter", "separation", "separation_min",
                                                "ce_probe", "ce_train", "center_train", "centroid_distance")}
    spread = ds["angular_spread"].mean("class")
    out["final_angular_spread"] = final(ds.assign(spread=spread), "spread")
    return out


FLOW = Flow(name="center", config=CenterConfig, prepare=lazy("dyn.flows.center.job", "prepare"),
            resume=lazy("dyn.flows.center.job", "resume"), arrays=("init", "data", "labels", "probe", "probe_labels"),
            help="Center loss on a classifier's 2-D features: the clusters form (seed 001).",
            summary=summary, metrics=metrics)
