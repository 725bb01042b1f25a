"""The engine's jobs: what every run holds (:class:`Job`), and runs counted in optimisation steps.

:class:`Job` owns what every flow's job shares: the frame plan, the clocks, the preallocated
records (replica, time, ...) with the initial state in slot 0, ``diverged_at``, the memory check and
the Dataset coordinates. A flow subclasses it and writes ``inputs``/``advance``/``finish``.

A step-counted run (:class:`StepJob`: sphere, som, ...) of ``steps`` steps records its initial state
and then, with ``record="even"``, a snapshot every ``record_every`` steps (default
``max(1, steps // 500)``), and always the last step: the frames hold ``record_every`` steps each, the
last one fewer when ``record_every`` does not divide ``steps``. With ``record="log"`` the snapshots
are at ``min(steps, 500)`` distinct steps spaced as evenly as they can be on a log scale (every step
at first, then further and further apart), the last step among them: for runs whose motion is
front-loaded, so that the snapshots follow it. A continued run's snapshots are spaced from its own
first step.
"""

from __future__ import annotations

import math
import os

import numpy as np

from dyn.errors import RunError, UsageError

MAX_SNAPSHOTS = 500
MAX_STEPS = 2**62  # the clocks are int64: step0 + steps must stay well inside them


def default_record_every(steps):
    """``max(1, steps // 500)``: about 500 snapshots whatever the length of the run."""
    return max(1, int(steps) // MAX_SNAPSHOTS)


def log_marks(steps, count=MAX_SNAPSHOTS):
    """``min(steps, count)`` distinct steps in 1..steps, log-spaced as far as integers allow, ``steps`` last.

    From each mark the next is the geometric step that would reach ``steps`` with the marks left,
    rounded, at least one step on (so the first marks are consecutive) and leaving room for the rest."""
    steps = int(steps)
    want = min(steps, count)
    marks = np.empty(want, np.int64)
    v = 1
    for i in range(want):
        marks[i] = v
        left = want - i - 1  # marks still to place after this one
        if left == 1:
            v = steps
        elif left:
            nxt = int(round(v * (steps / v) ** (1.0 / left)))
            nxt = nxt if nxt > v else v + 1
            v = nxt if nxt <= steps - left + 1 else steps - left + 1
    return marks


def frame_steps(steps, record_every=None, record="even"):
    """(frames,) int64: steps in each frame; the last frame ends at the last step."""
    if record == "log":
        return np.diff(np.concatenate([[0], log_marks(steps)])).astype(np.int64)
    every = default_record_every(steps) if record_every is None else int(record_every)
    full, rest = divmod(int(steps), every)
    out = np.full(full + (rest > 0), every, np.int64)
    if rest:
        out[-1] = rest
    return out


def snapshot_count(steps, record_every=None, initial=True, record="even"):
    """Snapshots a run of ``steps`` steps records: one per frame, and the initial state if ``initial``."""
    if record == "log":
        return min(int(steps), MAX_SNAPSHOTS) + bool(initial)
    every = default_record_every(steps) if record_every is None else int(record_every)
    return -(-int(steps) // every) + bool(initial)


def _read_int(path, key=None):
    """An integer from a /proc or /sys file (the value after ``key`` on its line, in kB for meminfo), or None."""
    try:
        with open(path) as fh:
            for line in fh:
                if key is None:
                    return int(line.split()[0])
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def free_memory():
    """Bytes of memory a run can take now, or None where the system does not say.

    Linux: ``MemAvailable`` (free memory plus the caches the kernel would give back; plain free memory
    is often a small part of it), bounded by the cgroup's limit when one is set. Elsewhere: free pages.
    """
    avail = _read_int("/proc/meminfo", "MemAvailable:")
    if avail is None:
        try:
            avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return None
    limit, used = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if limit is not None and used is not None:  # "max" (no limit) reads as None
        avail = min(avail, max(limit - used, 0))
    return avail


def check_memory(nbytes, what="snapshots"):
    """Refuse (RunError) a run whose arrays would not fit in the free memory.

    ``nbytes``: a byte count of ``what``, or a dict {what: bytes} of everything the run will hold.
    """
    parts = nbytes if isinstance(nbytes, dict) else {what: nbytes}
    total, avail = sum(int(n) for n in parts.values()), free_memory()
    if avail is None or total <= 0.8 * avail:
        return
    if len(parts) == 1:
        what = next(iter(parts))
    else:
        big = [f"{k} {n / 2**30:.3g} GiB" for k, n in sorted(parts.items(), key=lambda kv: -kv[1]) if n >= total / 100]
        what = f"arrays ({', '.join(big)}, ...)"
    raise RunError(f"the run would record {total / 2**30:.3g} GiB of {what} but only {avail / 2**30:.1f} GiB "
                   f"of memory is free: record less often (record_every), or run fewer steps or replicas, or smaller ones")


def check_steps(steps, step0=0):
    """Refuse (UsageError) a step count beyond the int64 step clocks."""
    if int(step0) + int(steps) > MAX_STEPS:
        raise UsageError(f"steps must be at most {MAX_STEPS:,} in all (the step clock is int64), got "
                         f"{int(step0) + int(steps):,}")


class Job:
    """What the engine owns of every run: the frame plan, the clocks, the NaN-filled records
    (replica, time, ...) with the initial state in slot 0, ``diverged_at`` and the memory check.

    ``frames``: the number of frames of this run, whose steps :meth:`plan` gives (frames may differ: seed
    002's schedule); ``shapes``: record name -> per-snapshot shape (without replica and time); ``start``: where a continued run
    starts (:func:`resume_start`), None for a new run; ``extra_bytes``: {what: bytes} of the flow's other arrays (state,
    data, per-step records), checked with the snapshots against the free memory before anything is allocated;
    ``dtype``: the records' float type, the run's precision (:mod:`dyn.engine.precision`).

    A flow's job subclasses it and writes ``plan()``, ``inputs(lo, hi)``, ``advance(lo, hi, inputs)`` and
    ``finish(frames_done, status)`` (see :mod:`dyn.engine.runner`).
    """

    copies = 1  # a flow whose Dataset copies its records while it is assembled counts them more than once

    def __init__(self, frames, replicas, shapes, *, start=None, extra_bytes=None, dtype="float64"):
        start = start or {}
        self.dtype = np.dtype(dtype)
        self.replicas, self.frame0, self.frames = int(replicas), int(start.get("frame", 0)), int(frames)
        self.initial = "frame" not in start  # a new run records its initial state as time 0
        T = self.frames + self.initial
        check_memory({"snapshots": self.dtype.itemsize * self.copies * self.replicas * T * sum(math.prod(s) for s in shapes.values()),
                      **(extra_bytes or {})})
        frame_steps, clocks = self.plan()
        self.frame_steps = np.ascontiguousarray(frame_steps, dtype=np.int64)
        check_steps(int(self.frame_steps.sum()), start.get("step", 0))
        self.rec = {k: np.full((self.replicas, T) + tuple(s), np.nan, self.dtype) for k, s in shapes.items()}
        self.steps = int(start.get("step", 0)) + np.concatenate([[0], np.cumsum(self.frame_steps)])
        self.more_clocks = {k: int(start.get(k, 0)) + np.concatenate([[0], np.cumsum(np.asarray(v, np.int64))])
                            for k, v in clocks.items()}
        given = start.get("diverged_at")
        self.diverged_at = np.full(self.replicas, -1, np.int64) if given is None \
            else np.asarray(given, np.int64).copy()

    def plan(self):
        """``(frame_steps, clocks)`` of this run's ``frames`` frames from global frame ``frame0`` on: the steps
        in each frame, and {clock: increments per frame} of the clocks other than ``step`` (e.g.
        ``samples_seen``). Called once the records are known to fit in memory."""
        raise NotImplementedError

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
        """``time``, ``step`` and the other clocks of the recorded snapshots."""
        first = 0 if self.initial else 1
        out = {"time": np.arange(self.frame0 + first, self.frame0 + frames_done + 1),
               "step": self.steps[first:frames_done + 1]}
        out.update({k: v[first:frames_done + 1] for k, v in self.more_clocks.items()})
        return out


class StepJob(Job):
    """A job counted in optimisation steps: ``steps`` steps, a snapshot every ``record_every`` and the last
    (``record="even"``), or at log-spaced steps (``record="log"``)."""

    def __init__(self, steps, record_every, replicas, shapes, *, step0=0, frame0=0, diverged_at=None,
                 extra_bytes=None, start=None, record="even", dtype="float64"):
        if start is None and (step0 or frame0 or diverged_at is not None):
            start = {"frame": frame0, "step": step0, "diverged_at": diverged_at}
        check_steps(steps, (start or {}).get("step", 0))
        self._steps, self._every, self._record = int(steps), record_every, record
        super().__init__(snapshot_count(steps, record_every, initial=False, record=record), replicas, shapes,
                         start=start, extra_bytes=extra_bytes, dtype=dtype)

    def plan(self):
        return frame_steps(self._steps, self._every, self._record), {}


def resume_start(ds):
    """The ``start`` of a run continuing ``ds`` from its last snapshot: its frame, every clock on ``time``
    (``step``, ``samples_seen``...) and ``diverged_at``."""
    diverged = np.atleast_1d(ds["diverged_at"].values).astype(np.int64)
    start = {"frame": int(ds.time[-1]), "diverged_at": diverged}
    for name, coord in ds.coords.items():
        if coord.dims == ("time",) and name != "time":
            start[name] = int(coord[-1])
    return start


def replicas_first(da, *dims):
    """The values of ``da`` (a DataArray of a run being continued) as (replica, *dims), with a replica axis of 1
    where it has none (a single run, or data every replica shares)."""
    if "replica" in da.dims:
        return da.transpose("replica", *dims).values
    return da.transpose(*dims).values[None]


def buffer(given, shape, dtype="float64"):
    """An optimiser buffer of ``shape``: zeros, or (a copy of) the one a continued run ended with."""
    return np.zeros(shape, dtype) if given is None else np.ascontiguousarray(given, dtype=dtype).reshape(shape).copy()

