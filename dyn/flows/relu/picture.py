"""The relu flow's picture: student neurons at a*w (blue), the teacher's (red) with rays, grey trails.

Style "seed" is the notebook's figure: 10 x 6 inches, axes fixed to [-2, 2] (not square), students
s=80, teacher s=100 alpha 0.4 with black lines from the origin, trails s=5 grey alpha 0.4, and no
frame for the initial state. Style "dyn" fits the axes to the trajectory (equal aspect), shows the
initial state, and titles each frame with its step and test loss.
"""

from __future__ import annotations

import numpy as np


class Picture:
    # scatter sizes of the notebook (s = 80 students, s = 5 trails) as marker diameters sqrt(s)
    point_style = {"marker": "o", "ms": 80.0**0.5, "color": "tab:blue", "zorder": 3}
    trail_style = {"marker": "o", "ms": 5.0**0.5, "color": "grey", "alpha": 0.4, "mew": 0, "zorder": 2}

    def __init__(self, ds, *, style="dyn", xlim=None, ylim=None, every=1):
        self.ds, self.style = ds, style
        if style == "seed":  # the notebook's color="b"
            self.point_style = {**self.point_style, "color": "b"}
        self.pos = ds["position"].transpose("time", "neuron", "coord").values
        self.teacher = ds["teacher_position"].transpose("teacher_neuron", "coord").values
        first = 1 if style == "seed" and int(ds.time[0]) == 0 else 0  # the notebook never drew the initial state
        times = list(range(first, ds.sizes["time"], every))
        if times[-1] != ds.sizes["time"] - 1:
            times.append(ds.sizes["time"] - 1)
        self.times = times
        self.figsize = (10, 6) if style == "seed" else (6, 6)
        self.xlim, self.ylim = self._limits(xlim, ylim)

    def _limits(self, xlim, ylim):
        if self.style == "seed":
            return xlim or (-2.0, 2.0), ylim or (-2.0, 2.0)
        pts = np.concatenate([self.pos.reshape(-1, 2), self.teacher, np.zeros((1, 2))])
        pts = pts[np.isfinite(pts).all(1)]
        lo, hi = pts.min(0), pts.max(0)
        half = 0.54 * max(float((hi - lo).max()), 1e-9)  # a square box around everything, 8% margin
        cx, cy = (lo + hi) / 2
        return xlim or (cx - half, cx + half), ylim or (cy - half, cy + half)

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
        ax.scatter(self.teacher[:, 0], self.teacher[:, 1], s=100.0, color="r", alpha=0.4, zorder=4)

    def points(self, i):
        return self.pos[i]

    def title(self, i):
        if self.style == "seed":
            return None
        loss = float(self.ds["loss_test"].values[i]) if "loss_test" in self.ds else np.nan
        text = f"step {int(self.ds.step[i]):,}   samples {int(self.ds.samples_seen[i]):,}"
        return text + (f"   test loss {loss:.3g}" if np.isfinite(loss) else "")
