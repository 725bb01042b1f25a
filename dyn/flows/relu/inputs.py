"""Where the samples come from: fresh draws, the notebook's RandomState, a user's array, a training set.

Every source answers ``block(frames, plan)`` with an array (R or 1, n, d) holding the samples of
those frames in the order the kernel consumes them. Drawing happens here, outside the kernels, except for
:class:`CounterSamples`, whose numbers the kernel draws itself on either device (the same, bit for bit on the CPU).
"""

from __future__ import annotations

import numpy as np

from dyn.engine.streams import DATA, TRAIN, stream
from dyn.errors import UsageError
from dyn.flows.relu.config import seed_frame_samples
from dyn.flows.relu.state import Neurons


class FreshSamples:
    """x ~ N(0, I_d) from the stream (seed + r, DATA, frame): one stream per replica and frame, seeded by
    :class:`dyn.engine.seeding.FrameStreams` (numpy's numbers bit for bit, without a SeedSequence each)."""

    def __init__(self, cfg):
        self.cfg = cfg

    def block(self, frames, plan):
        from dyn.engine.seeding import FrameStreams

        cfg = self.cfg
        x = np.empty((cfg.replicas, plan.fresh, cfg.dim))
        bounds = np.concatenate([[0], np.cumsum(np.add.reduceat(plan.sizes, np.cumsum(plan.frame_steps) - plan.frame_steps))])
        for r in range(cfg.replicas):
            for k, gen in enumerate(FrameStreams(cfg.seed + r, DATA).each(frames)):
                gen.standard_normal(out=x[r, bounds[k]:bounds[k + 1]])
        return x


class CounterSamples:
    """x ~ N(0, I_d) from the counter-based generator (:mod:`dyn.engine.counter`): sample j of global step t of
    replica r is ``normals(seed + r, DATA, 0, t, j, d)``, a pure function of its name, so that any device, any
    block size and a continued run draw the same numbers."""

    def __init__(self, cfg):
        self.cfg = cfg

    def block(self, frames, plan):
        from dyn.engine.counter import normals
        from dyn.flows.relu.schedule import frame_clocks

        cfg = self.cfg
        first = int(frame_clocks(cfg, range(frames.start))[0].sum()) if frames.start else 0
        step = np.repeat(first + np.arange(len(plan.sizes)), plan.sizes)
        sample = np.arange(plan.fresh) - np.repeat(plan.starts, plan.sizes)
        return np.stack([normals(cfg.seed + r, DATA, 0, step, sample, cfg.dim) for r in range(cfg.replicas)])


class GivenSamples:
    """The user's samples, consumed in order (batch after batch, frame after frame)."""

    def __init__(self, x, needed):
        if x.shape[1] < needed:
            raise UsageError(f"inputs hold {x.shape[1]:,} rows but the run consumes {needed:,}, one per sample, "
                             f"batch after batch (seed schedule: frame i takes 100 int(log(10 + 10 i)); "
                             f"constant: steps_per_frame x batch): give {needed:,} rows or fewer frames")
        self.x, self.pos = x, 0

    def block(self, frames, plan):
        out = self.x[:, self.pos:self.pos + plan.fresh]
        self.pos += plan.fresh
        return out


class TrainingSet:
    """Full-batch descent: every step sees the same n samples (the stream (seed + r, TRAIN), or given)."""

    def __init__(self, cfg, x=None):
        if x is None:
            x = np.stack([stream(cfg.seed + r, TRAIN).standard_normal((cfg.train_size, cfg.dim))
                          for r in range(cfg.replicas)])
        elif x.shape[1] != cfg.train_size:
            raise UsageError(f"inputs hold {x.shape[1]:,} rows but train_size is {cfg.train_size:,}: full-batch "
                             "descent uses exactly train_size rows at every step")
        self.x = x

    def block(self, frames, plan):
        return self.x


class NotebookDraws:
    """Seed 002 draw for draw: one legacy ``RandomState(seed)`` for the teacher, the student and the data.

    Order: teacher neurons (each a = normal(), w = normal(size=d), b = normal(), (w, b) normalised),
    student neurons the same way, rescaled to ``radius`` (``small_sphere``); then per frame
    ``normal(size=(n, d))`` and ``permutation(n)``. Frame 0 is drawn and trained twice, as the
    notebook's FuncAnimation called ``update_plot(0)`` once more for its first draw.
    """

    def __init__(self, cfg, frame0=0):
        self.cfg = cfg
        self.rs = np.random.RandomState(cfg.seed)
        self.teacher = self._network(cfg.teacher_width, 1.0)
        self.student = self._network(cfg.width, cfg.radius)
        self.next = 0
        for i in range(frame0):  # a continued run replays the draws of the frames already run
            self._frame(i)

    def _network(self, n, radius):
        neurons = []
        for _ in range(n):
            a = self.rs.normal()
            w = self.rs.normal(size=self.cfg.dim)
            b = self.rs.normal()
            norm = np.linalg.norm(np.concatenate([np.array([b]), w]), 2)
            w, b = w / norm, b / norm
            if radius != 1.0:  # Network.small_sphere(R)
                norm = 1.0 / radius * np.linalg.norm(np.concatenate([np.array([b]), w]), 2)
                w, b = w / norm, b / norm
            neurons.append((a, w, b))
        a, w, b = zip(*neurons)
        return Neurons(np.array(a), np.array(w), np.array(b))

    def _frame(self, i):
        assert i == self.next, "notebook draws must be consumed in order"
        self.next += 1
        n = seed_frame_samples(i)
        parts = []
        for _ in range(2 if i == 0 else 1):
            x = self.rs.normal(size=(n, self.cfg.dim))
            parts.append(x[self.rs.permutation(n)])
        return np.concatenate(parts)

    def block(self, frames, plan):
        return np.concatenate([self._frame(i) for i in frames])[None]
