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


def plot(ds, path=None, *, replica=0, ax=None, dpi=100):
    """Draw the run's panels and return the matplotlib Figure (Jupyter displays it inline).

    The flow's own panels (sphere: loss and angles over time; som: QE/TE, U-matrix, map), else loss
    curves beside the final positions. ``path`` (.png, .svg, .pdf): the figure is also written there,
    atomically, at ``dpi``; ``fig.savefig`` writes it later. ``replica``: which replica of an ensemble
    (the figure says which). ``ax``: Axes to draw into instead of a new figure (one or a sequence),
    to compose with other plots. :func:`dyn.animate` returns an Animation the same way.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from dyn.render.animate import pick_replica

    if path is not None and Path(path).suffix.lower() not in FORMATS:
        raise UsageError(f"cannot write {path}: plots are {', '.join(FORMATS)}")
    dpi = integer("dpi", dpi, 10)
    ds, caption = pick_replica(ds, replica)
    own = flow_panels(ds)
    n = own[1] if own else 2
    if ax is None:
        fig = Figure(figsize=(5.5 * n, 5), dpi=dpi)
        FigureCanvasAgg(fig)
        axes = list(np.atleast_1d(fig.subplots(1, n)))
    else:
        axes = list(ax) if np.iterable(ax) else [ax]
        fig = axes[0].get_figure()
    if own:
        own[0](ds, axes, 0)
    else:
        plot_losses(ds, axes[0])
        if len(axes) > 1:
            plot_final(ds, axes[1])
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
