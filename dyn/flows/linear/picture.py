"""The linear flow's picture: the data coloured by label over the model's output, its zero contour (the
decision boundary), and the loss with a moving cursor.

The output is a faint diverging background over a fixed extent, evaluated on a grid by a jitted kernel
(:func:`~dyn.flows.linear.kernels.grid_outputs`) and its zero level traced by jitted marching squares,
per frame while the weights move, once when the data move (the classifier is then fixed). In the data
flow the points move with short trails, and those that crossed to their side of the boundary since the
start change marker (a cross). The plane is that of the first two coordinates: with D > 2 the model is
evaluated there with the other coordinates at the data's mean; with D = 1 the points lie on a line and
the output varies along it only. ``plot_panels`` is ``dyn plot``'s figure: the loss curves, accuracy and
margin over the steps, and the final picture.
"""

from __future__ import annotations

import numpy as np

from dyn.flows.drawing import one_replica, second_axis
from dyn.flows.linear import kernels
from dyn.flows.linear.record import net_of, params_of

GRID = 160  # grid points a side of the background
LEVELS = 15  # colour bands of the background
TRAIL = 8  # snapshots in a moving point's trail
COLORS = {-1: "#d6336c", 1: "#1c5fb8"}  # the seed's pink and blue, darker so that small markers show
TRAIL_COLORS = {-1: "#f0a6bf", 1: "#9dbde8"}


def faint_colors():
    """(LEVELS, 4) uint8: a diverging map in LEVELS bands blended with white (the seed's alpha 0.3), opaque,
    so that the GIF's palette holds every band exactly."""
    from matplotlib import colormaps

    rgb = colormaps["RdBu_r"](np.linspace(0.0, 1.0, LEVELS))[:, :3]
    out = np.full((LEVELS, 4), 255, np.uint8)
    out[:, :3] = np.round(255 * (0.3 * rgb + 0.7))
    return out


def banded(Z, vmax, colors):
    """The RGBA image (uint8) of the output ``Z``: band k of LEVELS over [-vmax, vmax] (matplotlib's
    colormapping and normalisation would cost more than the rest of the frame)."""
    k = np.clip(((Z + vmax) * (LEVELS / (2.0 * vmax))).astype(np.int64), 0, LEVELS - 1)
    return colors[k]


class Field:
    """The model's output on the picture's grid, and its zero contour, for any snapshot's parameters."""

    def __init__(self, ds, extent, rest):
        self.sizes, self.offs = net_of(ds)
        self.xs = np.linspace(extent[0], extent[1], GRID)
        self.ys = np.linspace(extent[2], extent[3], GRID)
        self.rest = np.ascontiguousarray(rest, dtype=np.float64)
        self.Z = np.empty((GRID, GRID))
        self.seg = np.empty((2 * GRID * GRID, 2, 2))

    def values(self, theta):
        kernels.grid_outputs(np.ascontiguousarray(theta), self.sizes, self.offs, self.xs, self.ys, self.rest, self.Z)
        return self.Z

    def contour(self):
        """The zero level of the last ``values``: one polyline, segments separated by NaN."""
        k = kernels.zero_contour(self.Z, self.xs, self.ys, self.seg)
        out = np.full((k, 3, 2), np.nan)
        out[:, :2] = self.seg[:k]
        out = out.reshape(-1, 2)
        return out[:, 0], out[:, 1]


def plane_points(x):
    """Positions (..., n, D) in the picture's plane (..., n, 2): the first two coordinates, or (x, 0) for D = 1."""
    if x.shape[-1] >= 2:
        return x[..., :2]
    return np.concatenate([x, np.zeros_like(x)], -1)


def output_scale(values):
    """The background's colour range: +-(99th percentile of |f| at the data), at least 1."""
    v = np.abs(values[np.isfinite(values)])
    return max(1.0, float(np.percentile(v, 99))) if v.size else 1.0


class Picture:
    point_style = {"marker": "o", "ms": 0.0}  # every artist is the picture's own (drawn above the background)
    trail_style = {"marker": "o", "ms": 0.0}
    default_trail = 0

    def __init__(self, ds, *, style="dyn", xlim=None, ylim=None, every=1):
        self.ds = ds
        self.theta = params_of(ds)[0]  # (T, P)
        self.t = ds["label"].values
        x = ds["x"]
        self.moving = "time" in x.dims
        self.x = x.transpose("time", "sample", "dim").values if self.moving else x.transpose("sample", "dim").values
        start = self.x[0] if self.moving else self.x
        D = start.shape[-1]
        rest = start.mean(0)
        self.xy = plane_points(self.x)
        times = list(range(0, ds.sizes["time"], every))
        if times[-1] != ds.sizes["time"] - 1:
            times.append(ds.sizes["time"] - 1)
        self.times = times
        pts = self.xy.reshape(-1, 2)
        pts = pts[np.isfinite(pts).all(1)]
        lo, hi = pts.min(0), pts.max(0)
        half = 0.55 * max(float((hi - lo).max()), 1e-9)
        cx, cy = (lo + hi) / 2
        self.xlim, self.ylim = xlim or (cx - half, cx + half), ylim or (cy - half, cy + half)
        self.field = Field(ds, (*self.xlim, *self.ylim), rest)
        self.label = ("x_1" if D == 1 else "first two coordinates" +
                      (f" (the other {D - 2} at the data's mean)" if D > 2 else ""))
        last = self.theta[self._last_finite()]
        f_last = np.empty(len(start))
        kernels.outputs(np.ascontiguousarray(last), self.field.sizes, self.field.offs,
                        np.ascontiguousarray(self.x[-1] if self.moving else self.x), f_last)
        self.vmax = output_scale(f_last)
        self.figsize = (10, 4.8)
        if self.moving:  # crossed: on its side now, not at the start
            f0 = np.empty(len(start))
            kernels.outputs(np.ascontiguousarray(last), self.field.sizes, self.field.offs,
                            np.ascontiguousarray(start), f0)
            self.wrong0 = self.t * f0 <= 0

    def _last_finite(self):
        ok = np.isfinite(self.theta).all(1)
        return int(np.flatnonzero(ok)[-1]) if ok.any() else 0

    axes_rect = (0.05, 0.1, 0.45, 0.8)  # the data's axes; the loss panel goes to the right

    def draw_static(self, ax):
        """The field, boundary and points at the LAST snapshot (an animation then sets them frame by frame;
        drawn as they are, e.g. ``dyn plot --panels final``, they show the end); in the animation's own figure
        (axes at ``axes_rect``) also the loss panel and the class legend below."""
        fig = ax.get_figure()
        own = np.allclose(ax.get_position().bounds, self.axes_rect)
        ax.set_xlim(*self.xlim)
        ax.set_ylim(*self.ylim)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel(self.label, fontsize=8)
        self.colors = faint_colors()
        self.image = ax.imshow(self.rgba(self.theta[0]), origin="lower", extent=(*self.xlim, *self.ylim),
                               interpolation="nearest", aspect="auto", zorder=0)
        self.contour, = ax.plot(*self.field.contour(), color="k", lw=1.3, zorder=3)
        self.trails, self.dots, self.crossed = {}, {}, {}
        for c in (-1, 1):
            self.trails[c], = ax.plot([], [], color=TRAIL_COLORS[c], lw=0.8, zorder=2)
            self.dots[c], = ax.plot([], [], ls="none", marker="o", ms=2.2, mew=0, color=COLORS[c], zorder=4,
                                    label=f"t = {c:+d}")
            self.crossed[c], = ax.plot([], [], ls="none", marker="x", ms=4.0, mew=1.0, color=COLORS[c], zorder=5)
        self.cursor = None
        if own:
            from matplotlib.lines import Line2D

            proxies = [Line2D([], [], ls="none", marker="o", ms=5, mew=0, color=COLORS[c], label=f"t = {c:+d}")
                       for c in (-1, 1)]  # a legend outside the moving background: drawn once
            fig.legend(handles=proxies, loc="lower right", bbox_to_anchor=(0.5, 0.0), ncols=2, fontsize=8,
                       frameon=False)
            self._draw_losses(fig.add_axes([0.63, 0.1, 0.35, 0.8]))
        else:
            ax.legend(handles=[self.dots[-1], self.dots[1]], loc="upper left", fontsize=8, markerscale=2)
        self.update_artists(self.times[-1], field=True)

    def _draw_losses(self, ax):
        ds, step = self.ds, self.ds.step.values
        half = len(self.t) // 2
        loss = ds["loss"].values
        ax.plot(step, loss, color="k", lw=1.5, label="loss, mean over all data")
        ax.plot(step, ds["seed_monitor"].values / half, color="tab:orange", lw=1.0,
                label="the seed's monitor: first half of the data only (/ n/2)")
        both = np.concatenate([loss, ds["seed_monitor"].values])
        both = both[np.isfinite(both)]
        if both.size and both.min() > 0:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(f"{self.cfg_loss()} loss")
        ax.legend(loc="upper right", fontsize=8)
        self.cursor = ax.axvline(step[0], color="0.3", lw=1.0)

    def cfg_loss(self):
        import json

        return json.loads(self.ds.attrs["config"])["loss"]

    def animated_artists(self):
        """Drawn every frame, in this order; while the weights move the background and boundary too (the
        legend then goes above them)."""
        moving = [self.trails[-1], self.trails[1], self.dots[-1], self.dots[1], self.crossed[-1], self.crossed[1],
                  self.cursor]
        moving = [a for a in moving if a is not None]
        return moving if self.moving else [self.image, self.contour] + moving

    def update_points(self, i):
        pos = self.xy[i] if self.moving else self.xy
        if self.moving:  # the trail: the last TRAIL shown snapshots, one NaN-separated polyline a point
            n = self.times.index(i) if i in self.times else len(self.times) - 1
            past = self.xy[self.times[max(0, n - TRAIL):n + 1]]
            seg = np.concatenate([past, np.full((1,) + past.shape[1:], np.nan)], 0)  # (k + 1, n, 2)
        for c in (-1, 1):
            sel = self.t == c
            if self.moving:
                crossed = sel & self.wrong0 & (self.t * self._f(i) > 0)
                self.trails[c].set_data(*seg[:, sel].transpose(1, 0, 2).reshape(-1, 2).T)
                self.crossed[c].set_data(*pos[crossed].T)
                sel = sel & ~crossed
            self.dots[c].set_data(*pos[sel].T)

    def _f(self, i):
        out = np.empty(len(self.t))
        kernels.outputs(np.ascontiguousarray(self.theta[i]), self.field.sizes, self.field.offs,
                        np.ascontiguousarray(self.x[i]), out)
        return out

    def rgba(self, theta):
        return banded(self.field.values(theta), self.vmax, self.colors)

    def update_artists(self, i, field=None):
        if field if field is not None else not self.moving:  # the data flow's classifier is fixed
            self.image.set_data(self.rgba(self.theta[i]))
            self.contour.set_data(*self.field.contour())
        self.update_points(i)
        if self.cursor is not None:
            s = float(self.ds.step.values[i])
            self.cursor.set_xdata([s, s])

    def points(self, i):
        return np.empty((0, 2))

    def title(self, i):
        ds = self.ds
        return (f"step {int(ds.step[i]):,}   loss {float(ds.loss.values[i]):.4g}   accuracy "
                f"{float(ds.accuracy.values[i]):.4f}   margin {float(ds.margin.values[i]):.3g}")


PANELS = 3


def plot_panels(ds, axes, replica=0):
    """dyn plot for linear runs: the loss curves, accuracy and margin over the steps, the final picture."""
    ds = one_replica(ds, replica)
    step = ds.step.values
    ax = axes[0]
    ax.plot(step, ds["loss"].values, color="k", lw=1.5, label="loss, all data (mean)")
    ax.plot(step, ds["seed_monitor"].values / (ds.sizes["sample"] // 2), color="tab:orange", lw=1.0,
            label="the seed's monitor (first half, / n/2)")
    ax.plot(step[1:], ds["loss_train"].values[1:], color="0.6", lw=0.8, label="sampled batches (frame mean)")
    values = np.concatenate([ds["loss"].values, ds["loss_train"].values[1:]])
    if np.all(values[np.isfinite(values)] > 0):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(loc="upper right", fontsize=8)
    if len(axes) < 3:
        return axes
    ax = axes[1]
    ax.plot(step, ds["accuracy"].values, color="tab:green", lw=1.5, label="accuracy")
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy", color="tab:green")
    second_axis(ax, step, ds["margin"].values, "margin min t f(x)", legend="lower right", color="tab:purple", lw=1.2,
                label="margin min t f(x)").axhline(0.0, color="0.5", lw=0.6, ls="--")
    picture = Picture(ds)
    last = picture.times[-1]
    ax = axes[2]
    picture.draw_static(ax)  # the field, boundary and points at the last snapshot
    if picture.moving:  # where the points that moved came from
        pos = picture.xy[last]
        moved = np.flatnonzero((picture.xy[0] != pos).any(1))
        seg = np.full((len(moved), 3, 2), np.nan)
        seg[:, 0], seg[:, 1] = picture.xy[0][moved], pos[moved]
        ax.plot(*seg.reshape(-1, 2).T, color="0.55", lw=0.6, zorder=1)
    ax.set_title(picture.title(last), fontsize=8)
    return axes
