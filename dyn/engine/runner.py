"""The one stepping loop: advance a flow's job block after block of frames.

A job (built by a flow's ``prepare``) exposes:

- ``frames``: the number of frames to run; ``replicas``;
- ``inputs(lo, hi)``: draw or slice the inputs of local frames ``lo:hi`` (numpy, outside the kernels);
- ``advance(lo, hi, inputs)``: run those frames in ONE jitted kernel call that writes the snapshots
  into preallocated records;
- ``diverged_at``: (replica,) int64, -1 while a replica is alive, else the step whose loss was not finite;
- ``step_at(frame)``: the global step count after local frame ``frame`` (for status lines);
- ``finish(frames_done, status)``: the xarray Dataset of what was computed;
- optionally ``stopped()``: True when the run has nothing left to do (every replica converged): it ends there.

The runner sizes the blocks so that a kernel call lasts about ``block_seconds`` (Ctrl-C is seen
between calls, and a progress bar appears for runs longer than a second), turns SIGINT, SIGTERM
and SIGHUP into a clean stop that keeps every finished frame, and writes the status line. A job
may offer ``skip_measures()``: an interrupt during ``finish`` (its derived measures, e.g. relu's
test loss) then calls it and finishes again without them, so that the trajectories are kept. The inputs of the next
block are drawn in a second thread while the kernel (``nogil``) runs the current one.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from dyn.engine.progress import Progress


def _status(job, frames_done, interrupted):
    dead = job.diverged_at[job.diverged_at >= 0]
    if len(dead):
        first = int(dead.min())
        if job.replicas == 1:
            return f"diverged at step {first}"
        return f"diverged at step {first} ({len(dead)} of {job.replicas} replicas)"
    if interrupted:
        return f"interrupted at step {job.step_at(frames_done)}"
    return "completed"


# the signals a user sends to stop a run: Ctrl-C, kill (TERM), a closed terminal (HUP)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class _Interrupt:
    """Turns SIGINT, SIGTERM and SIGHUP into a flag for the duration of a run (main thread only).

    ``name``: the first signal received ("SIGTERM", ...), or None.
    """

    def __init__(self):
        self.hit = False
        self.name = None
        self._old = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                if signal.getsignal(sig) is not signal.SIG_IGN:  # nohup's HUP stays ignored
                    self._old[sig] = signal.signal(sig, self._handler)
        return self

    def _handler(self, signum, frame):
        self.hit = True
        self.name = self.name or signal.Signals(signum).name

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _engine_variables(ds, job):
    """What the engine owns in every run's Dataset: ``diverged_at`` (a flow's ``finish`` may have written it
    with its own description of what stopped a replica)."""
    if "diverged_at" not in ds:
        many = "replica" in ds.dims
        ds["diverged_at"] = (("replica",) if many else (), job.diverged_at.copy() if many else job.diverged_at[0])
        ds["diverged_at"].attrs.update(description="first step whose loss was not finite, -1 if none", units="step")


def run(job, *, progress=True, block_seconds=0.25, label="simulating"):
    """Run ``job`` to the end (or to Ctrl-C, or until every replica diverged); return its Dataset."""
    start = time.perf_counter()
    done, hi, block = 0, 1, 1
    with _Interrupt() as interrupt, Progress(job.frames, label, enabled=progress) as bar, \
            ThreadPoolExecutor(1) as pool:
        pending = pool.submit(job.inputs, 0, hi)
        stopped = getattr(job, "stopped", lambda: False)  # a job may end early (e.g. every replica converged)
        while done < job.frames and not interrupt.hit and (job.diverged_at < 0).any() and not stopped():
            inputs, lo = pending.result(), done
            if hi < job.frames:  # draw the next block while this one runs
                pending = pool.submit(job.inputs, hi, min(job.frames, hi + block))
            t0 = time.perf_counter()
            job.advance(lo, hi, inputs)
            spent = time.perf_counter() - t0
            done, hi = hi, min(job.frames, hi + block)
            bar.update(done)
            # grow or shrink the blocks towards block_seconds a call (first calls may compile)
            # at most an eighth of the run, so that drawing and stepping overlap in equal halves
            block = max(1, min(4 * block, job.frames // 8, int((done - lo) * block_seconds / max(spent, 1e-6))))
    if (job.diverged_at >= 0).all():
        done = job.frames  # every replica stopped: the records hold NaN from there on
    hit = interrupt.hit
    try:
        ds = job.finish(done, _status(job, done, hit))
    except KeyboardInterrupt:  # during the derived measures (e.g. relu's test loss): keep the trajectories
        if not hasattr(job, "skip_measures"):
            raise
        job.skip_measures()
        hit, interrupt.name = True, interrupt.name or "SIGINT"
        ds = job.finish(done, _status(job, done, hit))
    _engine_variables(ds, job)
    ds.attrs["wall_time"] = round(time.perf_counter() - start, 4)
    ds.attrs["interrupted"] = int(hit)
    if hit:
        ds.attrs["signal"] = interrupt.name
    return ds
