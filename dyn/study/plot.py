"""The figures a study spec asks for: panels of heatmaps and quantile bands, over the swept dims.

    [[figure]]
    kind = "heatmap"          # a statistic over pooled dims, on an x-by-y grid of swept values
    metric = "final_loss_test"
    x = "radius"
    y = "width"
    stat = "median"           # median, mean, min, max, or a quantile such as 0.9
    over = ["seed"]           # dims pooled into the statistic (default: seed)
    select = {lr = 0.5}       # fix other swept dims at one value
    log = true                # log colour scale (and log x for bands)

    [[figure]]
    kind = "bands"            # the median against x, one line per hue value, quantile bands shaded
    metric = "final_loss_test"
    x = "radius"
    hue = "width"
    quantiles = [0.1, 0.25, 0.75, 0.9]   # paired from the outside in
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dyn.errors import RunError, UsageError
from dyn.io.atomic import atomic_path

STATS = {"median": np.nanmedian, "mean": np.nanmean, "min": np.nanmin, "max": np.nanmax}


def _reduce_to(arr, keep, fig):
    """``arr`` with select applied, pooled dims stacked into ``sample``; every other dim must be size 1."""
    for k, v in fig["select"].items():
        arr = arr.sel({k: v})
    pooled = [d for d in fig["over"] if d in arr.dims]
    rest = [d for d in arr.dims if d not in keep and d not in pooled]
    for d in rest:
        if arr.sizes[d] > 1:
            raise UsageError(f"figure: {d} has {arr.sizes[d]} values; put it in over, select one, or use it as an axis")
        arr = arr.isel({d: 0})
    return arr.stack(sample=pooled).transpose(*keep, "sample")


def _stat(values, stat):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells (pending or failed) stay NaN
        if isinstance(stat, str):
            return STATS[stat](values, axis=-1)
        return np.nanquantile(values, stat, axis=-1)


def number(v):
    """A value as a label: 3 significant digits for reals (0.0316, not 0.0316227766), as is otherwise."""
    if isinstance(v, (bool, np.bool_)):
        return str(v)
    if isinstance(v, (float, np.floating)):
        return f"{v:.3g}"
    return str(v)


def _label(values):
    return [number(v) for v in values]


def round_log_ticks(axis):
    """On a log axis spanning less than a decade (no major tick or one), label the ticks as plain
    numbers of 3 significant digits instead of 1.4 x 10^0."""
    from matplotlib.ticker import FuncFormatter

    ax = axis.axes
    lo, hi = sorted(ax.get_xlim() if axis is ax.xaxis else ax.get_ylim())  # autoscaled first
    if lo > 0 and hi / lo < 10:
        fmt = FuncFormatter(lambda v, _: f"{v:.3g}")
        axis.set_major_formatter(fmt)
        axis.set_minor_formatter(fmt)


def suptitle(spec, done, n):
    """The figure's title: the study, its flow and fixed options as name = value, the seeds or the progress."""
    import textwrap

    fixed = ", ".join(f"{k} = {number(v)}" for k, v in spec.fixed.items())
    seeds = len(spec.seeds)
    runs = f"{done} of {n} runs done" if done < n else f"{seeds} seed{'s' if seeds != 1 else ''} a point"
    text = f"{spec.name}: flow {spec.flow}" + (f"; {fixed}" if fixed else "") + f" ({runs})"
    return "\n".join(textwrap.wrap(text, 110))


def heatmap(ax, ds, fig):
    import matplotlib.colors as mcolors

    arr = _reduce_to(ds[fig["metric"]], [fig["y"], fig["x"]], fig)
    z = _stat(arr.values, fig["stat"])
    finite = z[np.isfinite(z) & (z > 0)] if fig["log"] else z[np.isfinite(z)]
    norm = None
    if fig["log"] and len(finite):
        norm = mcolors.LogNorm(vmin=finite.min(), vmax=max(finite.max(), finite.min() * 1.0001))
    mesh = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis", norm=norm)
    for (i, j), v in np.ndenumerate(z):
        if np.isfinite(v):  # dark text on the light end of viridis
            light = mesh.norm(v) > 0.6 if (not fig["log"] or v > 0) else False
            ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=7, color="k" if light else "w")
    ax.set_xticks(range(z.shape[1]), _label(arr[fig["x"]].values))
    ax.set_yticks(range(z.shape[0]), _label(arr[fig["y"]].values))
    ax.set_xlabel(fig["x"])
    ax.set_ylabel(fig["y"])
    stat = fig["stat"] if isinstance(fig["stat"], str) else f"quantile {fig['stat']:g}"
    ax.set_title(fig.get("title") or f"{stat} {fig['metric']} over {', '.join(fig['over'])}", fontsize=9)
    bar = ax.figure.colorbar(mesh, ax=ax)
    if norm is not None:
        round_log_ticks(bar.ax.yaxis)


def bands(ax, ds, fig):
    import matplotlib

    keep = [fig["hue"], fig["x"]] if "hue" in fig else [fig["x"]]
    arr = _reduce_to(ds[fig["metric"]], keep, fig)
    values = arr.values if "hue" in fig else arr.values[None]
    hues = arr[fig["hue"]].values if "hue" in fig else [None]
    x = arr[fig["x"]].values
    numeric = np.issubdtype(np.asarray(x).dtype, np.number)
    xs = x if numeric else np.arange(len(x))
    colors = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(hues)))
    q = fig["quantiles"]
    for h, vals, color in zip(hues, values, colors):
        med = _stat(vals, "median")
        ax.plot(xs, med, "o-", color=color, label=None if h is None else f"{fig['hue']} = {number(h)}")
        for k in range(len(q) // 2):
            lo, hi = _stat(vals, q[k]), _stat(vals, q[-1 - k])
            ax.fill_between(xs, lo, hi, color=color, alpha=0.12 + 0.08 * k, lw=0)
    if fig["log"]:
        ax.set_yscale("log")
        if numeric and np.all(xs > 0):
            ax.set_xscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "log":
            round_log_ticks(axis)
    if not numeric:
        ax.set_xticks(xs, _label(x))
    ax.set_xlabel(fig["x"])
    ax.set_ylabel(fig["metric"])
    pooled = ", ".join(fig["over"])
    ax.set_title(fig.get("title") or f"median {fig['metric']}, bands {', '.join(number(v) for v in q)} over {pooled}",
                 fontsize=9)
    if "hue" in fig:
        ax.legend(fontsize=7)


def plot_study(ds, figures, output=None, title=None, dpi=80):
    """Draw ``figures`` (validated tables) from the study ``ds``; return the matplotlib Figure, written
    to ``output`` (png, svg, pdf) at ``dpi`` if given."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from dyn.config import integer

    dpi = integer("dpi", dpi, 10)
    if output is not None:
        output = Path(output)
        if output.suffix not in (".png", ".svg", ".pdf"):
            raise UsageError(f"cannot tell the figure format of {output}: use .png, .svg or .pdf")
    if not figures:
        raise UsageError("the study's spec asks for no figure: add a [[figure]] table and run it again")
    for fig in figures:
        if fig["metric"] not in ds:
            raise UsageError(f"figure.metric {fig['metric']!r} is not in the store; it has: "
                             f"{', '.join(k for k in ds.data_vars if k not in ('status', 'error'))}")
    done = ds["status"] == 1
    ds = ds.where(done)  # only cells marked done count
    figure = Figure(figsize=(5.2 * len(figures), 4.2 + 0.2 * (title or "").count("\n")), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(figures), squeeze=False)
    for ax, fig in zip(axes[0], figures):
        (heatmap if fig["kind"] == "heatmap" else bands)(ax, ds, fig)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    if output is not None:
        with atomic_path(output) as tmp:
            figure.savefig(tmp, format=output.suffix[1:], dpi=dpi)
    return figure


def study_plot(store, path=None, *, dpi=80):
    """The figure a study's spec asks for (its ``[[figure]]`` tables), from the store ``store``.

    Returns the matplotlib Figure (Jupyter displays it), written to ``path`` (.png, .svg, .pdf) at
    ``dpi`` if given; as :func:`dyn.plot` does for a run. ``dyn study plot STORE -o PATH`` calls it.
    """
    from dyn.study.store import exists, open_study, stored_spec

    if not exists(store):
        raise UsageError(f"no such study store: {store}")
    spec = stored_spec(store)
    ds = open_study(store)
    names = [f["metric"] for f in spec.figures if f["metric"] in ds] + ["status"]
    try:
        data = ds[names].load()
    except Exception as err:  # a damaged chunk: zarr's codecs raise many types
        raise RunError(f"{store}: cannot read {', '.join(names)} ({type(err).__name__}: {err})") from None
    n, done = int(data["status"].size), int((data["status"] == 1).sum())
    return plot_study(data, spec.figures, path, suptitle(spec, done, n), dpi=dpi)


def plot(store, output, dpi=80):
    """``dyn study plot``: the figure the stored spec asks for, written to ``output``; returns ``output``."""
    study_plot(store, output, dpi=dpi)
    return Path(output)
