"""Jobs of flows counted in optimisation steps (sphere, som, ...): frames of ``record_every`` steps.

A run of ``steps`` steps records its initial state and then a snapshot every ``record_every`` steps
(default ``max(1, steps // 500)``), and always the last step: the frames hold ``record_every``
steps each, the last one fewer when ``record_every`` does not divide ``steps``.

:class:`StepJob` owns what such a job shares with every other: the frame plan, the clocks, the
preallocated records (replica, time, ...) with the initial state in slot 0, ``diverged_at`` and
the Dataset coordinates. A flow subclasses it and writes ``inputs``/``advance``/``finish``.
"""

from __future__ import annotations

import numpy as np

from dyn.errors import RunError

MAX_SNAPSHOTS = 500


def default_record_every(steps):
    """``max(1, steps // 500)``: about 500 snapshots whatever the length of the run."""
    return max(1, int(steps) // MAX_SNAPSHOTS)


def frame_steps(steps, record_every=None):
    """(frames,) int64: steps in each frame; the last frame ends at the last step."""
    every = default_record_every(steps) if record_every is None else int(record_every)
    full, rest = divmod(int(steps), every)
    out = np.full(full + (rest > 0), every, np.int64)
    if rest:
        out[-1] = rest
    return out


def check_memory(nbytes, what="snapshots"):
    """Refuse (RunError) a run whose records would not fit in the free memory."""
    try:
        import os

        avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if nbytes > 0.8 * avail:
        raise RunError(f"the run would record {nbytes / 2**30:.1f} GiB of {what} but only {avail / 2**30:.1f} GiB "
                       f"of memory is free: record less often (record_every), or run fewer steps or replicas")


class StepJob:
    """The frame plan, clocks and records of a step-counted run.

    ``shapes``: record name -> per-snapshot shape (without replica and time); every record starts
    NaN-filled so that a replica that stops (diverges) leaves NaN after its last snapshot.
    """

    def __init__(self, steps, record_every, replicas, shapes, *, step0=0, frame0=0, diverged_at=None):
        self.frame_steps = frame_steps(steps, record_every)
        self.frames, self.replicas, self.frame0 = len(self.frame_steps), int(replicas), int(frame0)
        self.initial = self.frame0 == 0  # a new run records its initial state as time 0
        T = self.frames + self.initial
        check_memory(8 * self.replicas * T * sum(int(np.prod(s)) for s in shapes.values()))
        self.rec = {k: np.full((self.replicas, T) + tuple(s), np.nan) for k, s in shapes.items()}
        self.steps = int(step0) + np.concatenate([[0], np.cumsum(self.frame_steps)])
        self.diverged_at = np.full(self.replicas, -1, np.int64) if diverged_at is None \
            else np.asarray(diverged_at, np.int64).copy()

    def step_at(self, frames_done):
        """The global step count after ``frames_done`` local frames."""
        return int(self.steps[frames_done])

    def slot(self, lo):
        """The record slot of local frame ``lo``'s snapshot."""
        return lo + self.initial

    def block_steps(self, lo, hi):
        """Steps in local frames lo:hi, as the kernels take them."""
        return np.ascontiguousarray(self.frame_steps[lo:hi])

    def records(self, frames_done):
        """The records up to ``frames_done`` local frames: (replica, time, ...)."""
        T = frames_done + self.initial
        return {k: v[:, :T] for k, v in self.rec.items()}

    def clocks(self, frames_done):
        """``time`` and ``step`` coordinates of the recorded snapshots."""
        first = 0 if self.initial else 1
        return {"time": np.arange(self.frame0 + first, self.frame0 + frames_done + 1),
                "step": self.steps[first:frames_done + 1]}


def resume_start(ds):
    """The ``start`` of a run continuing the step-counted run ``ds`` from its last snapshot."""
    diverged = np.atleast_1d(ds["diverged_at"].values).astype(np.int64)
    return {"frame": int(ds.time[-1]), "step": int(ds.step[-1]), "diverged_at": diverged}
