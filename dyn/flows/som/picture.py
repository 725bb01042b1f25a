"""The som flow's picture: the map as a mesh (units joined to their grid neighbours) over the data.

In D = 2 the plane is the data's; for D >= 3 everything is projected on the top two principal
directions of the final map's weights, and for D > 3 the U-matrix over time (mean distance of each
unit to its grid neighbours, in weight space) and the QE/TE curves with a moving cursor are drawn
beside the mesh (an organised map is close to a 2-D sheet, so its own plane
shows whether it unfolded) (for the forum's layer, the L2-normalised weights: the vectors its loss compares). The data
are drawn once, in the static layer; the mesh is one NaN-separated line (an overlay), the units dots.
``plot_panels`` is ``dyn plot``'s figure for som runs: QE/TE (and loss) curves, the U-matrix, the map.
"""

from __future__ import annotations

import json

import numpy as np

from dyn.flows.drawing import one_replica, second_axis
from dyn.flows.som.grid import make_grid, mesh_edges, umatrix

MAX_DATA_DRAWN = 4000


def measured(ds, name):
    """(steps, values) of the snapshots where ``name`` was measured (``measure_every``; NaN elsewhere)."""
    values = ds[name].values
    ok = np.isfinite(values)
    return ds["step"].values[ok], values[ok]


def step_scale(ds, ax):
    """Log-spaced snapshots (record="log") on a symmetric-log step axis (linear below 1, for step 0)."""
    if json.loads(ds.attrs["config"]).get("record") == "log":
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(0, max(1, int(ds["step"].values[-1])))


def _grid(ds):
    cfg = json.loads(ds.attrs["config"])
    return make_grid(int(ds.attrs["rows"]), int(ds.attrs["cols"]), cfg["topology"], bool(cfg["toroidal"])), cfg


def plane(ds):
    """(weights (time, unit, 2), data (n, 2), axis labels) in the picture's plane."""
    _, cfg = _grid(ds)
    w = ds["w"].transpose("time", "unit", "dim").values
    x = ds["data"].values
    if cfg.get("normalize"):
        w = w / np.maximum(np.linalg.norm(w, axis=-1, keepdims=True), 1e-12)
        x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    D = x.shape[1]
    if D == 1:
        return np.stack([w[..., 0], np.zeros(w.shape[:-1])], -1), np.stack([x[:, 0], np.zeros(len(x))], 1), \
            ("w[0]", "")
    if D == 2:
        return w, x, ("w[0]", "w[1]")
    last = w[-1][np.isfinite(w[-1]).all(1)] if np.isfinite(w[-1]).any() else x
    mean = last.mean(0)
    _, _, vt = np.linalg.svd(last - mean, full_matrices=False)  # the final map's own plane
    basis = vt[:2].T
    return (w - mean) @ basis, (x - mean) @ basis, ("final map's principal direction 1", "principal direction 2")


class Picture:
    point_style = {"marker": "o", "ms": 3.5, "color": "tab:red", "zorder": 4}
    trail_style = {"marker": "o", "ms": 1.5, "color": "tab:red", "alpha": 0.3, "mew": 0, "zorder": 2}
    # the mesh moves everywhere in every frame: drawn without antialiasing and every other snapshot, the
    # GIF of ``dyn simulate som`` is 3.4 MB instead of 16.5 MB (with the writer's transparent pixels)
    overlay_styles = [{"color": "tab:red", "lw": 0.8, "zorder": 3, "antialiased": False}]
    default_trail = 0
    default_every = 2

    def __init__(self, ds, *, style="dyn", xlim=None, ylim=None, every=1):
        self.ds = ds
        grid, self.cfg = _grid(ds)
        self.edges = mesh_edges(grid)
        self.pos, self.data, self.labels = plane(ds)
        times = list(range(0, ds.sizes["time"], every))
        if times[-1] != ds.sizes["time"] - 1:
            times.append(ds.sizes["time"] - 1)
        self.times = times
        self.wide = ds.sizes["dim"] > 3
        self.figsize = (12, 6) if self.wide else (6, 6)
        self.xlim, self.ylim = self._limits(xlim, ylim)
        self.grid = grid
        # the title shows the measures of the last measured snapshot (measure_every: NaN in between)
        ok = np.isfinite(ds["quantization_error"].values)
        self.last_measured = np.maximum.accumulate(np.where(ok, np.arange(len(ok)), 0))

    def _limits(self, xlim, ylim):
        pts = np.concatenate([self.data, self.pos[-1], self.pos[0]])
        pts = pts[np.isfinite(pts).all(1)]
        lo, hi = pts.min(0), pts.max(0)
        half = 0.54 * max(float((hi - lo).max()), 1e-9)
        cx, cy = (lo + hi) / 2
        return xlim or (cx - half, cx + half), ylim or (cy - half, cy + half)

    def draw_static(self, ax):
        """The animation's static layer: the map's axes and the data (and for D > 3 the side panels)."""
        self.draw_map(ax)
        if self.wide:
            self._draw_side(ax)

    def draw_map(self, ax):
        """The map's axes and the data, in ``ax`` alone (``dyn plot``'s third panel)."""
        ax.set_xlim(*self.xlim)
        ax.set_ylim(*self.ylim)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel(self.labels[0])
        ax.set_ylabel(self.labels[1])
        step = max(1, len(self.data) // MAX_DATA_DRAWN)
        ax.plot(self.data[::step, 0], self.data[::step, 1], ls="none", marker="o", ms=2.0, mew=0,
                color="0.6", alpha=0.6, zorder=1)

    def _draw_side(self, ax):
        """D > 3: the U-matrix (animated image) above the QE/TE curves (static, with an animated cursor)."""
        fig = ax.get_figure()
        grid = self.grid
        w = self.ds["w"].transpose("time", "unit", "dim").values
        self.umat = np.stack([umatrix(wt, grid).reshape(grid.rows, grid.cols) for wt in w])
        ax.set_position([0.07, 0.09, 0.42, 0.82])
        ax_u = fig.add_axes([0.56, 0.42, 0.38, 0.5])
        finite_u = self.umat[np.isfinite(self.umat)]
        lo, hi = np.percentile(finite_u, [1, 99]) if finite_u.size else (0.0, 1.0)
        self.image = ax_u.imshow(self.umat[0], cmap="bone_r", vmin=float(lo), vmax=float(max(hi, lo + 1e-12)),
                                 origin="upper")
        ax_u.set_title("U-matrix: mean distance to grid neighbours", fontsize=9)
        ax_u.set_xticks([])
        ax_u.set_yticks([])
        ax_c = fig.add_axes([0.56, 0.08, 0.38, 0.25])
        step = self.ds.step.values
        ax_c.plot(*measured(self.ds, "quantization_error"), color="tab:blue", lw=1.2, label="QE")
        ax_c.set_xlabel("step")
        step_scale(self.ds, ax_c)
        ax_c.set_ylabel("QE", color="tab:blue")
        second_axis(ax_c, *measured(self.ds, "topographic_error"), "TE", color="tab:orange", lw=1.2,
                    label="TE").set_ylim(0, 1)
        self.cursor = ax_c.axvline(step[0], color="k", lw=1.0)

    def animated_artists(self):
        return [self.image, self.cursor] if self.wide else []

    def update_artists(self, i):
        self.image.set_data(self.umat[i])
        s = float(self.ds.step.values[i])
        self.cursor.set_xdata([s, s])

    def points(self, i):
        return self.pos[i]

    def overlays(self, i):
        """The mesh: one polyline, edges separated by NaN."""
        p = self.pos[i]
        seg = np.full((len(self.edges), 3, 2), np.nan)
        seg[:, 0] = p[self.edges[:, 0]]
        seg[:, 1] = p[self.edges[:, 1]]
        seg = seg.reshape(-1, 2)
        return [(seg[:, 0], seg[:, 1])]

    def title(self, i):
        ds = self.ds
        j = self.last_measured[i]
        return (f"{ds.attrs['rule']}  step {int(ds.step[i]):,}   QE {float(ds.quantization_error.values[j]):.3g}"
                f"   TE {float(ds.topographic_error.values[j]):.3g}")


PANELS = 3


def plot_panels(ds, axes, replica=0):
    """dyn plot for som runs: measures over steps, the final U-matrix, the final map over the data."""
    ds = one_replica(ds, replica)
    ax = axes[0]
    ax.plot(*measured(ds, "quantization_error"), color="tab:blue", label="quantisation error")
    ax.set_xlabel("step")
    step_scale(ds, ax)
    ax.set_ylabel("QE")
    second_axis(ax, *measured(ds, "topographic_error"), "TE", coloured=False, legend="upper right",
                color="tab:orange", label="topographic error").set_ylim(0, 1)
    if len(axes) < 3:
        return axes
    grid, _ = _grid(ds)
    u = umatrix(ds["w"].transpose("time", "unit", "dim").values[-1], grid).reshape(grid.rows, grid.cols)
    im = axes[1].imshow(u, cmap="bone_r", origin="upper")
    axes[1].set_title("U-matrix (mean distance to grid neighbours)", fontsize=9)
    axes[1].set_xlabel("column j")
    axes[1].set_ylabel("row i")
    axes[1].get_figure().colorbar(im, ax=axes[1], fraction=0.046)
    picture = Picture(ds)
    picture.draw_map(axes[2])
    x, y = picture.overlays(picture.times[-1])[0]
    axes[2].plot(x, y, **picture.overlay_styles[0])
    p = picture.points(picture.times[-1])
    axes[2].plot(p[:, 0], p[:, 1], ls="none", **picture.point_style)
    axes[2].set_title(picture.title(picture.times[-1]), fontsize=9)
    return axes
