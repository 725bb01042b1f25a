"""The sphere flow's picture: the directions w/|w| seen on the sphere, with trails.

d = 3: an orthographic view of the unit sphere (outline and equator drawn once, in the static layer);
vectors on the front hemisphere solid, on the back one faint (an overlay), data points red.
d = 2: the unit circle. d > 3: the directions projected onto the top three principal directions of
their trajectory and put back on S^2 (normalised), then drawn as d = 3 (front solid, back faint). Snapshots in
which nothing moved by half a pixel are left out of the animation (a converged run ends on its last frame).
``dyn plot`` shows the loss at every step above its minimum (log scale) beside the angles over time
(theta_nk for the angular objective, and the minimum angle), on a symmetric-log step axis for log-spaced runs.
"""

from __future__ import annotations

import json
import math

import numpy as np

from dyn.flows.drawing import one_replica

ELEVATION, AZIMUTH = math.radians(20.0), math.radians(-60.0)  # matplotlib's default 3-D view
PCA_SNAPSHOTS = 50
SETTLED = 1e-9  # dyn plot: a loss whose last tenth stays this close (relative) to its minimum has converged
FIGSIZE = (8.1, 6.4)  # inches: the square axes, the legend at their right
AXES_RECT = (0.3 / 8.1, 0.75 / 6.4, 5.2 / 8.1, 5.2 / 6.4)


def view_basis():
    """Rows: the screen's right and up directions, and the direction towards the viewer."""
    ce, se, ca, sa = math.cos(ELEVATION), math.sin(ELEVATION), math.cos(AZIMUTH), math.sin(AZIMUTH)
    toward = np.array([ce * ca, ce * sa, se])
    right = np.array([-sa, ca, 0.0])
    return np.stack([right, np.cross(toward, right), toward])


def unit(a):
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def principal_directions(u, n=3):
    """(n, d): the top ``n`` right singular vectors of the directions ``u`` (T, M, d) (uncentred: the
    directions' mean is part of what they span), zero rows where the trajectory spans fewer."""
    pick = np.unique(np.linspace(0, len(u) - 1, min(len(u), PCA_SNAPSHOTS)).astype(int))
    flat = u[pick].reshape(-1, u.shape[-1])
    flat = flat[np.isfinite(flat).all(1)]
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    basis = np.zeros((n, u.shape[-1]))
    basis[:len(vt[:n])] = vt[:n]
    return basis


def on_s2(u, basis):
    """The directions ``u`` (..., d) in the 3-D ``basis`` (3, d), normalised onto S^2 (NaN where u is
    orthogonal to it: such a point is not drawn)."""
    p = u @ basis.T
    n = np.linalg.norm(p, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1e-12, p / n, np.nan)


class Picture:
    point_style = {"marker": "o", "ms": 8.0, "color": "tab:blue", "mec": "k", "mew": 0.5, "zorder": 4}
    trail_style = {"marker": "o", "ms": 2.0, "color": "grey", "alpha": 0.5, "mew": 0, "zorder": 2}
    overlay_styles = [{"ls": "none", "marker": "o", "ms": 8.0, "color": "tab:blue", "alpha": 0.25, "mew": 0,
                       "zorder": 3}]
    default_trail = 40  # the last 40 positions: a sphere's paths overlap, so whole histories would clutter it

    def __init__(self, ds, *, style="dyn", xlim=None, ylim=None, every=1):
        self.ds, self.style = ds, style  # one look only: the seed drew no animation
        u = unit(ds["w"].transpose("time", "vector", "dim").values)
        x = unit(ds["x"].transpose("sample", "dim").values) if "x" in ds else np.zeros((0, u.shape[-1]))
        d = u.shape[-1]
        if d == 2:
            self.label = "S^1"
            self.xy, self.front = u, np.ones(u.shape[:2], bool)
            self.data_xy, self.data_front = x, np.ones(len(x), bool)
        else:
            self.label = "orthographic view of S^2: faint points are on the far side"
            if d > 3:
                pca = principal_directions(u)
                u, x = on_s2(u, pca), on_s2(x, pca)
                self.label = (f"S^{d - 1} projected on the top 3 principal directions of the vectors' trajectory, "
                              "normalised onto S^2;\northographic view: faint points are on the far side")
            view = view_basis()
            self.xy, self.front = u @ view[:2].T, u @ view[2] >= 0
            self.data_xy, self.data_front = x @ view[:2].T, x @ view[2] >= 0
        times = list(range(0, ds.sizes["time"], every))
        if times[-1] != ds.sizes["time"] - 1:
            times.append(ds.sizes["time"] - 1)
        self.figsize = FIGSIZE
        self.axes_rect = AXES_RECT
        self.xlim, self.ylim = xlim or (-1.08, 1.08), ylim or (-1.08, 1.08)
        self.times = self.moving(times)
        self.d = d

    def moving(self, times):
        """``times`` without the snapshots in which no vector moved by half a pixel (at 100 dpi) since the
        last one kept, nor crossed to the other side: a converged run's still tail is its last frame alone."""
        inches = self.axes_rect[2] * self.figsize[0]  # the axes' width
        still = 0.5 / (100 * inches / (self.xlim[1] - self.xlim[0]))  # half a pixel, in plane units
        kept = [times[0]]
        for i in times[1:-1]:
            j = kept[-1]
            moved = np.abs(self.xy[i] - self.xy[j])
            if (self.front[i] != self.front[j]).any() or not np.isfinite(moved).all() or moved.max() >= still:
                kept.append(i)
        if len(times) > 1:
            kept.append(times[-1])
        return kept

    def draw_static(self, ax):
        ax.set_xlim(*self.xlim)
        ax.set_ylim(*self.ylim)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(self.label, fontsize=8)
        t = np.linspace(0.0, 2.0 * np.pi, 361)
        ax.plot(np.cos(t), np.sin(t), color="k", lw=1.0, zorder=1)
        if self.d >= 3:  # the equator: its near half solid, its far half dashed
            eq = np.stack([np.cos(t), np.sin(t), np.zeros_like(t)], 1) @ view_basis().T
            near = np.where(eq[:, 2] >= 0, eq[:, 1], np.nan)
            far = np.where(eq[:, 2] < 0, eq[:, 1], np.nan)
            ax.plot(eq[:, 0], near, color="0.6", lw=0.8, zorder=1)
            ax.plot(eq[:, 0], far, color="0.6", lw=0.8, ls="--", zorder=1)
        if len(self.data_xy):
            f = self.data_front
            ax.plot(*self.data_xy[f].T, ls="none", marker="*", ms=12, color="tab:red", zorder=5)
            ax.plot(*self.data_xy[~f].T, ls="none", marker="*", ms=12, color="tab:red", alpha=0.3, zorder=1)
        self._legend(ax)

    def _legend(self, ax):
        """What the marks are, at the right of the sphere (outside it: nothing moving is drawn there)."""
        from matplotlib.lines import Line2D

        def mark(style, **changes):
            return Line2D([], [], **{**{k: v for k, v in style.items() if k != "zorder"}, "ls": "none", **changes})

        entries = [(mark(self.point_style), "vector w_k/|w_k|" + (" (near side)" if self.d >= 3 else ""))]
        if self.d >= 3:
            entries.append((mark(self.overlay_styles[0], alpha=0.35), "vector on the far side"))
        entries.append((mark(self.trail_style, ms=3.0), "trail: its last positions"))
        if len(self.data_xy):
            entries.append((mark({"marker": "*", "ms": 12, "color": "tab:red"}), "data point x_n/|x_n|\n"
                            "(the angular objective's\ninputs; faint: far side)"))
        ax.legend(*zip(*entries), loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False,
                  borderaxespad=0.0, labelspacing=1.0)

    def points(self, i):
        """The vectors on the near side (the far side is an overlay, without trails)."""
        return np.where(self.front[i][:, None], self.xy[i], np.nan)

    def overlays(self, i):
        back = self.xy[i][~self.front[i]]
        return [(back[:, 0], back[:, 1])]

    def title(self, i):
        loss = float(self.ds["loss"].values[i])
        angle = math.degrees(float(self.ds["min_angle"].values[i]))
        return f"step {int(self.ds.step[i]):,}   loss {loss:.6g}   min angle {angle:.2f} deg"


PANELS = 2


def _step_scale(ds, ax):
    """A log-spaced run (record="log") is drawn on a symmetric-log step axis (linear below 1: step 0)."""
    if json.loads(ds.attrs.get("config", "{}")).get("record") == "log":
        ax.set_xscale("symlog", linthresh=1.0)


def plot_panels(ds, axes, replica=0):
    """``dyn plot``: the loss at every step above its minimum (log scale: convergence is a straight line), and
    the angles over time (degrees)."""
    ds = one_replica(ds, replica)
    loss = ds["loss_iter"].values
    it = ds["iteration"].values
    ok = np.isfinite(loss)
    settled = False
    if ok.any():
        low = int(np.flatnonzero(ok)[np.argmin(loss[ok])])
        tail = loss[ok][-max(1, ok.sum() // 10):]  # the last tenth of the steps
        settled = tail.max() - loss[low] <= SETTLED * max(abs(loss[low]), 1e-300)
        if settled:  # converged: how fast it got there shows as loss - minimum on a log axis
            above = loss - loss[low]
            above[~(above > 0)] = np.nan  # the minimum itself (and NaN) has no place on a log axis
            axes[0].plot(it, above, lw=1.0, color="tab:blue",
                         label=f"loss - its minimum {loss[low]:.10g} (at step {int(it[low]):,})")
        else:  # still moving at the end: the loss itself (its minimum would be the last step)
            axes[0].plot(it, loss, lw=1.0, color="tab:blue", label="loss (still changing in the last tenth)")
        if not settled and np.nanmin(loss) <= 0:
            axes[0].set_yscale("linear")
        else:
            axes[0].set_yscale("log")
        axes[0].legend(loc="upper right", fontsize=8)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("loss - min loss (every step)" if settled else "loss (every step)")
    _step_scale(ds, axes[0])
    axes[0].set_xlim(0, max(1, int(it[-1])) if len(it) else 1)
    if len(axes) < 2:
        return
    ax, step = axes[1], ds["step"].values
    if "theta" in ds:
        theta = np.degrees(ds["theta"].transpose("time", ...).values.reshape(len(step), -1))
        ax.plot(step, theta, lw=0.6, color="tab:orange", alpha=0.6)
        ax.plot([], [], lw=0.6, color="tab:orange", label="theta (data point, vector)")
    ax.plot(step, np.degrees(ds["min_angle"].values), lw=2.0, color="k", label="minimum angle between vectors")
    ax.set_xlabel("step")
    ax.set_ylabel("angle (degrees; stored in radians)")
    _step_scale(ds, ax)
    ax.set_xlim(0, max(1, int(step[-1])))
    ax.legend(loc="best", fontsize=8)
