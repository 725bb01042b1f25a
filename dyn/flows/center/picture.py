"""The center flow's picture: the probe's 2-D features coloured by class, the centroids with trails, and the
decision regions of the last layer, in a view that follows the features as they grow.

The features' scale changes by orders of magnitude during training, so the axes are fixed to [-1, 1]^2 in
*view* coordinates, v = (h - centre_t) / half_t, where centre_t and half_t follow the features' extent,
smoothed over time (a Gaussian of a few percent of the run in log scale): the cached background stays valid,
and every moving thing (regions, grid, points, centroids, trails) is drawn per frame in the frame's view.
Light grid lines at a round spacing in feature units show the scale; the title gives that spacing.
``dyn plot`` draws the losses, the probe accuracy, the scatter/separation ratio and the final features.
"""

from __future__ import annotations

import math

import numpy as np

from dyn.flows.drawing import one_replica, second_axis

TRAIL = 40  # past snapshots in a centroid's trail
MAX_FRAMES = 300  # a longer run is shown at every k-th snapshot (and the last)
PALE = 0.22  # weight of a class colour in its region's tint (the rest is white)


def class_colours(K):
    """(K, 3) RGB: tab10 (tab20 beyond 10 classes, then a hue circle)."""
    from matplotlib import colormaps

    if K <= 10:
        return np.array(colormaps["tab10"].colors[:K])
    if K <= 20:
        return np.array(colormaps["tab20"].colors[:K])
    return colormaps["hsv"](np.linspace(0, 1, K, endpoint=False))[:, :3]


def class_names(ds):
    K = ds.sizes["class"]
    return [str(k) for k in range(K)] if ds.attrs.get("data_name") in ("mnist", "digits") else \
        [f"class {k}" for k in range(K)]


def nice_step(span):
    """A round grid spacing (1, 2 or 5 x 10^k) giving about 4 lines across ``span``."""
    raw = max(span / 4.0, 1e-300)
    base = 10.0 ** math.floor(math.log10(raw))
    return base * min((m for m in (1.0, 2.0, 5.0, 10.0) if m * base >= raw), default=10.0)


def views(h, c, sigma=None):
    """(centre (T, 2), half (T,)): the view of each snapshot, smoothed over time."""
    from scipy.ndimage import gaussian_filter1d

    T = len(h)
    centre, half = np.zeros((T, 2)), np.ones(T)
    ok = np.zeros(T, bool)
    for t in range(T):
        pts = np.concatenate([h[t], c[t]])
        pts = pts[np.isfinite(pts).all(1)]
        if len(pts) == 0:
            continue
        lo, hi = np.quantile(pts, 0.005, axis=0), np.quantile(pts, 0.995, axis=0)
        centre[t], half[t], ok[t] = (lo + hi) / 2, max(float((hi - lo).max()) / 2 * 1.15, 1e-12), True
    if not ok.any():
        return centre, half
    idx = np.arange(T)
    for k in range(2):  # a diverged tail keeps the last finite view
        centre[:, k] = np.interp(idx, idx[ok], centre[ok, k])
    log_half = np.interp(idx, idx[ok], np.log(half[ok]))
    sigma = max(1.0, T / 60) if sigma is None else sigma
    return gaussian_filter1d(centre, sigma, axis=0, mode="nearest"), \
        np.exp(gaussian_filter1d(log_half, sigma, mode="nearest"))


def clip(poly, a, b):
    """The part of the convex polygon ``poly`` (n, 2) where a . p + b >= 0 (Sutherland-Hodgman, one edge)."""
    if len(poly) == 0:
        return poly
    f = poly @ a + b
    out = []
    for i in range(len(poly)):
        j = (i + 1) % len(poly)
        if f[i] >= 0:
            out.append(poly[i])
        if (f[i] >= 0) != (f[j] >= 0):
            out.append(poly[i] + f[i] / (f[i] - f[j]) * (poly[j] - poly[i]))
    return np.array(out).reshape(-1, 2)


SQUARE = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


def regions(W3, b3, centre, half):
    """The decision region of each class (argmax of the logits h W3 + b3) in the view [-1, 1]^2: convex
    polygons, the square cut by the K - 1 half-planes where class k's logit beats class j's."""
    K = len(b3)
    if not (np.isfinite(W3).all() and np.isfinite(b3).all()):
        return [np.zeros((0, 2))] * K
    out = []
    for k in range(K):
        poly = SQUARE
        for j in range(K):
            if j != k:
                w = W3[:, k] - W3[:, j]  # logit_k - logit_j = w . (centre + half v) + b3_k - b3_j
                poly = clip(poly, half * w, float(w @ centre + b3[k] - b3[j]))
        out.append(poly)
    return out


class Picture:
    point_style = {"marker": "o", "ms": 0.0, "color": "k"}  # the moving artists are the picture's own
    trail_style = {"marker": "o", "ms": 0.0, "color": "k"}
    default_trail = 0

    def __init__(self, ds, *, style="dyn", xlim=None, ylim=None, every=1):
        self.ds = ds
        self.h = ds["h"].transpose("time", "sample", "coord").values
        self.c = ds["c"].transpose("time", "class", "coord").values
        self.W3 = ds["W3"].transpose("time", "coord", "class").values
        self.b3 = ds["b3"].transpose("time", "class").values
        self.labels = ds["probe_label"].values
        self.K = self.c.shape[1]
        self.colours = class_colours(self.K)
        self.names = class_names(ds)
        self.centre, self.half = views(self.h, self.c)
        if xlim is not None or ylim is not None:  # a fixed view in feature units
            lo = np.array([(xlim or ylim)[0], (ylim or xlim)[0]], float)
            hi = np.array([(xlim or ylim)[1], (ylim or xlim)[1]], float)
            self.centre[:] = (lo + hi) / 2
            self.half[:] = float((hi - lo).max()) / 2
        T = len(self.h)
        every = max(int(every), math.ceil(T / MAX_FRAMES))
        times = list(range(0, T, every))
        if times[-1] != T - 1:
            times.append(T - 1)
        self.times = times
        self.figsize = (7.4, 6)
        self.numbers = [ds[k].values for k in ("epoch", "step", "accuracy", "ratio")]

    def to_view(self, p, i):
        return (p - self.centre[i]) / self.half[i]

    def draw_static(self, ax):
        from matplotlib.lines import Line2D

        ax.set_position([0.04, 0.05, 0.75, 0.86])
        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("the probe's 2-D features; the view follows them (grid spacing in the title)", fontsize=8)
        handles = [Line2D([], [], ls="none", marker="o", ms=6, color=col) for col in self.colours]
        handles.append(Line2D([], [], ls="none", marker="o", ms=11, mfc="white", mec="k", mew=1.5))
        ax.legend(handles, self.names + ["centroid"], loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False,
                  fontsize=9)
        from matplotlib.collections import PolyCollection

        tint = 1.0 - PALE * (1.0 - self.colours)
        self.image = ax.add_collection(PolyCollection([np.zeros((0, 2))] * self.K, facecolors=tint,
                                                      edgecolors="none", zorder=0))
        self.grid, = ax.plot([], [], color="0.55", lw=0.6, alpha=0.6, zorder=1)
        self.trails, = ax.plot([], [], color="0.25", lw=1.0, alpha=0.7, zorder=2)
        self.dots = [ax.plot([], [], ls="none", marker="o", ms=2.2, mew=0, color=col, zorder=3)[0]
                     for col in self.colours]
        self.centroids = [ax.plot([], [], ls="none", marker="o", ms=11, mfc=col, mec="k", mew=1.5, zorder=5)[0]
                          for col in self.colours]

    def animated_artists(self):
        return [self.image, self.grid, self.trails] + self.dots + self.centroids

    def grid_lines(self, i):
        """Lines at multiples of a round spacing, in view coordinates (NaN-separated), and the spacing."""
        step = nice_step(2 * self.half[i])
        segs = []
        for k in range(2):
            lo, hi = self.centre[i, k] - self.half[i], self.centre[i, k] + self.half[i]
            for value in np.arange(math.ceil(lo / step), math.floor(hi / step) + 1) * step:
                v = (value - self.centre[i, k]) / self.half[i]
                segs.append([[v, -1], [v, 1], [np.nan, np.nan]] if k == 0 else [[-1, v], [1, v], [np.nan, np.nan]])
        pts = np.array(segs).reshape(-1, 2) if segs else np.zeros((0, 2))
        return pts, step

    def update_artists(self, i):
        self.image.set_verts(regions(self.W3[i], self.b3[i], self.centre[i], self.half[i]))
        grid, self.step = self.grid_lines(i)
        self.grid.set_data(grid[:, 0], grid[:, 1])
        h = self.to_view(self.h[i], i)
        for k, line in enumerate(self.dots):
            mine = h[self.labels == k]
            line.set_data(mine[:, 0], mine[:, 1])
        past = [t for t in self.times if t <= i][-TRAIL:]
        path = self.to_view(self.c[past], i)  # (n, K, 2): every trail in this frame's view
        trail = np.concatenate([path.transpose(1, 0, 2), np.full((self.K, 1, 2), np.nan)], 1).reshape(-1, 2)
        self.trails.set_data(trail[:, 0], trail[:, 1])
        c = self.to_view(self.c[i], i)
        for k, line in enumerate(self.centroids):
            line.set_data([c[k, 0]], [c[k, 1]])

    def points(self, i):
        return np.zeros((0, 2))  # everything moving is drawn by update_artists

    def title(self, i):
        epoch, step, accuracy, ratio = (a[i] for a in self.numbers)
        return (f"epoch {epoch:.1f}  step {int(step):,}   accuracy {accuracy:.3f}   "
                f"scatter/separation {ratio:.3f}   grid {nice_step(2 * self.half[i]):g}")


PANELS = 4


def plot_panels(ds, axes, replica=0):
    """``dyn plot``: the training and probe losses, the probe accuracy, scatter/separation and the angular
    spread over steps, and the final features."""
    ds = one_replica(ds, replica)
    step = ds.step.values
    ax = axes[0]
    ax.plot(step, ds.ce_train, lw=0.8, color="tab:orange", label="cross-entropy (training batches)")
    ax.plot(step, ds.ce_probe, lw=1.6, color="tab:blue", label="cross-entropy (probe)")
    ax.plot(step, ds.center_train, lw=0.8, color="tab:green", label="center loss (training batches)")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(loc="upper right", fontsize=8)
    if len(axes) < 2:
        return axes
    axes[1].plot(step, ds.accuracy, color="tab:blue")
    axes[1].set_ylim(0, 1)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("probe accuracy")
    if len(axes) < 3:
        return axes
    ax = axes[2]
    ax.plot(step, ds.ratio, color="k", label="scatter / separation")
    ax.set_xlabel("step")
    ax.set_ylabel("scatter / separation")
    ax.set_yscale("log")
    second_axis(ax, step, ds.angular_spread.mean("class"), "angular spread (rad)", legend="upper right",
                color="tab:purple", lw=0.8, label="angular spread (mean, rad)")
    if len(axes) < 4:
        return axes
    ax = axes[3]
    h, c, labels = ds.h.isel(time=-1).values, ds.c.isel(time=-1).values, ds.probe_label.values
    colours = class_colours(ds.sizes["class"])
    for k, name in enumerate(class_names(ds)):
        ax.plot(h[labels == k, 0], h[labels == k, 1], ls="none", marker="o", ms=2.5, mew=0, color=colours[k],
                label=name)
        ax.plot(c[k, 0], c[k, 1], ls="none", marker="o", ms=10, mfc=colours[k], mec="k", mew=1.5)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"features at step {int(step[-1]):,}", fontsize=9)
    ax.legend(loc="best", fontsize=7, markerscale=2, ncol=2)
    return axes
