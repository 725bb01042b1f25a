"""``dyn.plot``: loss curves (log scale) beside the final positions, as a matplotlib Figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dyn.config import integer
from dyn.errors import UsageError
from dyn.io.atomic import atomic_path

FORMATS = (".png", ".svg", ".pdf")


def plot_losses(ds, ax):
    """loss_train (thin) and loss_test (thick) against the step, one line a replica, log scale."""
    step = ds["step"].values
    for name, lw in (("loss_train", 0.8), ("loss_test", 2.0)):
        if name not in ds or not np.isfinite(ds[name].values).any():
            continue
        values = ds[name].transpose("time", ...).values.reshape(len(step), -1)
        for r in range(values.shape[1]):
            ax.plot(step, values[:, r], lw=lw, color="tab:orange" if name == "loss_train" else "tab:blue",
                    alpha=1.0 if values.shape[1] == 1 else 0.5, label=name if r == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if ax.lines:
        ax.legend(loc="upper right")


def plot_final(ds, ax):
    """The flow's picture (static layer) with the final positions and every past position (one replica)."""
    from dyn.render.animate import picture_of

    picture = picture_of(ds, style="dyn")
    picture.draw_static(ax)
    last = picture.times[-1]
    trail = np.concatenate([picture.points(i) for i in picture.times])
    ax.plot(trail[:, 0], trail[:, 1], ls="none", **picture.trail_style)
    final = picture.points(last)
    ax.plot(final[:, 0], final[:, 1], ls="none", **picture.point_style)
    ax.set_title(picture.title(last) or "", fontsize=9)


def flow_panels(ds):
    """``(plot_panels, n)`` of the flow's picture module, or None: a flow may draw its own ``dyn plot``.

    ``plot_panels(ds, axes, replica)`` draws into ``n = PANELS`` axes (sphere: loss and angles over
    time; som: QE/TE curves, U-matrix, map); flows without it get loss curves beside final positions.
    """
    from dyn.errors import UsageError
    from dyn.flows import get_flow

    try:
        module = get_flow(ds.attrs.get("flow")).picture_module()
    except (ImportError, UsageError):
        return None
    panels = getattr(module, "plot_panels", None)
    return None if panels is None else (panels, getattr(module, "PANELS", 2))


def draw_panels(ds, axes, names, one=None):
    """Draw the named panels (:data:`dyn.render.panels.PANELS`) into ``axes``, one each: loss curves of
    every replica of ``ds``, the others of the replica ``one`` (default: ``ds``)."""
    from dyn.render.panels import DRAW

    one = ds if one is None else one
    for name, ax in zip(names, axes):
        if name == "loss":
            plot_losses(ds, ax)
        elif name == "final":
            plot_final(one, ax)
        else:
            DRAW[name](one, ax, 0)


def _grid(n):
    cols = n if n <= 3 else (2 if n == 4 else 3)
    return -(-n // cols), cols


def plot(ds, path=None, *, replica=0, ax=None, panels=None, dpi=100):
    """Draw the run's panels and return the matplotlib Figure (Jupyter displays it inline).

    The flow's own panels (sphere: loss and angles over time; som: QE/TE, U-matrix, map), else loss
    curves beside the final positions; ``panels``: names (a list or "loss,alignment,w2,lazy") of
    :data:`dyn.render.panels.PANELS` to draw instead (those of the relu analysis need a relu run).
    ``path`` (.png, .svg, .pdf): the figure is also written there, atomically, at ``dpi``;
    ``fig.savefig`` writes it later. ``replica``: which replica of an ensemble the panels show (the
    figure says which; loss curves show every replica). ``ax``: Axes to draw into instead of a new
    figure (one or a sequence), to compose with other plots. :func:`dyn.animate` returns an
    Animation the same way.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from dyn.render.animate import pick_replica

    if path is not None and Path(path).suffix.lower() not in FORMATS:
        raise UsageError(f"cannot write {path}: plots are {', '.join(FORMATS)}")
    dpi = integer("dpi", dpi, 10)
    one, caption = pick_replica(ds, replica)
    own = names = None
    if panels is not None:
        from dyn.render.panels import ANALYSIS, check_panels

        names = check_panels(panels)
        if any(name in ANALYSIS for name in names):
            from dyn.analysis.particles import check_relu

            check_relu(ds, "the analysis panels")
        n = len(names)
    else:
        own = flow_panels(ds)
        n = own[1] if own else 2
    if ax is None:
        rows, cols = _grid(n) if names else (1, n)
        fig = Figure(figsize=(5.5 * cols, 5 * rows if rows == 1 else 4.5 * rows), dpi=dpi)
        FigureCanvasAgg(fig)
        axes = list(np.atleast_1d(fig.subplots(rows, cols)).ravel())
        for extra in axes[n:]:
            extra.set_visible(False)
    else:
        axes = list(ax) if np.iterable(ax) else [ax]
        fig = axes[0].get_figure()
    if names:
        draw_panels(ds, axes, names, one)
    elif own:
        own[0](one, axes, 0)
    else:
        plot_losses(ds, axes[0])
        if len(axes) > 1:
            plot_final(one, axes[1])
    if caption is not None:
        if ax is None:
            fig.suptitle(caption, fontsize=10)
        else:
            axes[0].set_title("\n".join(t for t in (caption, axes[0].get_title()) if t), fontsize=9)
    if ax is None:
        fig.tight_layout()
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix[1:].lower(), dpi=dpi)
    return fig
