"""The relu flow's picture: student neurons at a*w (blue), the teacher's (red) with rays, grey trails.

Style "seed" is the notebook's figure: 10 x 6 inches, axes fixed to [-2, 2] (not square), students
s=80, teacher s=100 alpha 0.4 with black lines from the origin, trails s=5 grey alpha 0.4, and no
frame for the initial state. Style "dyn" fits each axis to the trajectory and the teacher (the
figure's shape follows the data's within 3:4 and 3:2, so the axes are to scale unless the data are
narrower than that), shows the initial state, titles each frame with its step and test loss, and
has a legend below the axes. In both styles the teacher is drawn last, above the students (dyn:
red rings a student can sit inside; seed: the notebook's translucent red discs), so that a teacher
neuron is never hidden.
"""

from __future__ import annotations

import numpy as np

AXES_HEIGHT = 4.6  # inches, style dyn
ASPECT = (0.75, 1.5)  # width / height of the axes box, style dyn
MARGINS = {"left": 0.85, "right": 0.3, "top": 0.7, "bottom": 1.15}  # inches: labels, title, legend below


class Picture:
    # scatter sizes of the notebook (s = 80 students, s = 5 trails) as marker diameters sqrt(s)
    point_style = {"marker": "o", "ms": 80.0**0.5, "color": "tab:blue", "mec": "white", "mew": 0.6, "zorder": 3}
    trail_style = {"marker": "o", "ms": 5.0**0.5, "color": "grey", "alpha": 0.4, "mew": 0, "zorder": 2}
    teacher_style = {"marker": "o", "ms": 14.0, "mfc": "none", "mec": "tab:red", "mew": 2.2, "zorder": 5}

    def __init__(self, ds, *, style="dyn", xlim=None, ylim=None, every=1):
        self.ds, self.style = ds, style
        if style == "seed":  # the notebook's color="b", s=100 translucent red teacher
            self.point_style = {"marker": "o", "ms": 80.0**0.5, "color": "b", "mew": 0, "zorder": 3}
            self.teacher_style = {"marker": "o", "ms": 10.0, "color": "r", "alpha": 0.4, "mew": 0, "zorder": 5}
        self.pos = ds["position"].transpose("time", "neuron", "coord").values
        self.teacher = ds["teacher_position"].transpose("teacher_neuron", "coord").values
        first = 1 if style == "seed" and int(ds.time[0]) == 0 else 0  # the notebook never drew the initial state
        times = list(range(first, ds.sizes["time"], every))
        if times[-1] != ds.sizes["time"] - 1:
            times.append(ds.sizes["time"] - 1)
        self.times = times
        self.xlim, self.ylim = self._limits(xlim, ylim)
        if style == "seed":
            self.figsize = (10, 6)
        else:
            span_x, span_y = self.xlim[1] - self.xlim[0], self.ylim[1] - self.ylim[0]
            width = AXES_HEIGHT * float(np.clip(span_x / span_y, *ASPECT))
            m = MARGINS
            self.figsize = (m["left"] + width + m["right"], m["bottom"] + AXES_HEIGHT + m["top"])
            self.axes_rect = (m["left"] / self.figsize[0], m["bottom"] / self.figsize[1],
                              width / self.figsize[0], AXES_HEIGHT / self.figsize[1])
        self.teacher_artist = None
        # the title's numbers, read once (an xarray lookup per frame costs more than drawing the frame)
        self.steps, self.samples = ds["step"].values, ds["samples_seen"].values
        self.losses = ds["loss_test"].values if "loss_test" in ds else np.full(len(self.steps), np.nan)

    def _limits(self, xlim, ylim):
        """Each axis fitted to the trajectory, the teacher and the origin, 6% margins."""
        if self.style == "seed":
            return xlim or (-2.0, 2.0), ylim or (-2.0, 2.0)
        pts = np.concatenate([self.pos.reshape(-1, 2), self.teacher, np.zeros((1, 2))])
        pts = pts[np.isfinite(pts).all(1)]
        lo, hi = pts.min(0), pts.max(0)
        span = np.maximum(hi - lo, 0.02 * max(float((hi - lo).max()), 1e-9))  # a flat cloud gets some height
        mid = (lo + hi) / 2
        lo, hi = mid - 0.56 * span, mid + 0.56 * span
        return xlim or (float(lo[0]), float(hi[0])), ylim or (float(lo[1]), float(hi[1]))

    def draw_static(self, ax):
        ax.set_xlim(*self.xlim)
        ax.set_ylim(*self.ylim)
        if self.style != "seed":
            ax.set_xlabel("a w[0]")
            ax.set_ylabel("a w[1]")
        reach = 4.0 * max(abs(v) for v in (*self.xlim, *self.ylim))
        for tx, ty in self.teacher:
            if self.style == "seed":  # the notebook's u in [0, 2] or [-2, 0], v = ty / tx u
                u = np.linspace(0.0, 2.0, 10) if tx >= 0 else np.linspace(-2.0, 0.0, 10)
                ax.plot(u, ty / tx * u, color="k", zorder=1)
            else:
                norm = float(np.hypot(tx, ty)) or 1.0
                ax.plot([0, reach * tx / norm], [0, reach * ty / norm], color="k", lw=0.8, zorder=1)
        self.teacher_artist, = ax.plot(self.teacher[:, 0], self.teacher[:, 1], ls="none", **self.teacher_style)
        if self.style != "seed":
            self._legend(ax)

    def _legend(self, ax):
        from matplotlib.lines import Line2D

        def handle(style, **changes):
            return Line2D([], [], **{**{k: v for k, v in style.items() if k != "zorder"}, "ls": "none", **changes})

        handles = [handle(self.point_style), handle(self.teacher_style), handle(self.trail_style, ms=4.0, alpha=0.7),
                   Line2D([], [], color="k", lw=0.8)]
        labels = ["student neuron a_k w_k", "teacher neuron a w", "trail: past student a_k w_k",
                  "teacher direction"]
        from matplotlib.transforms import offset_copy

        below = offset_copy(ax.transAxes, fig=ax.get_figure(), y=-30, units="points")  # under the x label
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below, ncol=2,
                  fontsize=8, frameon=False, handletextpad=0.3, columnspacing=1.2)

    def animated_artists(self):
        """The teacher, drawn every frame above the students."""
        return [self.teacher_artist]

    def update_artists(self, i):
        pass  # the teacher does not move

    def points(self, i):
        return self.pos[i]

    def title(self, i):
        if self.style == "seed":
            return None
        loss = float(self.losses[i])
        text = f"step {int(self.steps[i]):,}   samples {int(self.samples[i]):,}"
        return text + (f"   test loss {loss:.3g}" if np.isfinite(loss) else "")
