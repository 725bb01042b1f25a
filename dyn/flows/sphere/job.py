"""A sphere run as the engine drives it: vectors, data, optimiser buffers, records."""

from __future__ import annotations

import numpy as np

from dyn.engine import loop
from dyn.engine.device import resolve_device
from dyn.engine.steps import StepJob, buffer, replicas_first, snapshot_count
from dyn.errors import UsageError
from dyn.flows.sphere import kernels, pairs
from dyn.flows.sphere.config import SphereConfig
from dyn.flows.sphere.record import codes, to_dataset
from dyn.flows.sphere.state import as_points, draw_data, draw_vectors


def footprint(cfg, initial=True):
    """Bytes of what a run holds besides its snapshots of w and norm_before (StepJob counts those)."""
    R, M, d, N, F = cfg.replicas, cfg.vectors, cfg.dim, cfg.samples, np.dtype(cfg.dtype).itemsize
    T = snapshot_count(cfg.steps, cfg.record_every, initial, cfg.record)
    # the vectors as drawn in float64 (and their draw's scratch); the job's copy, the momentum and accumulation
    # buffers in the run's type; the measures are computed in float64
    out = {"loss of every step": F * R * cfg.steps, "vectors and buffers": M * d * (8 * (R + 2) + F * 3 * R),
           "data": N * d * (8 * (R + 2) + F * R),
           "measures at the snapshots": 8 * R * T * (3 + 2 * M + N * M + (M * d if N else 0))}
    return out


class SphereJob(StepJob):
    """``w`` (R or 1, M, d) and ``x`` given, or None: drawn once the memory the run needs is known to be free.
    The state, data, losses and records are of the run's ``dtype`` (drawn in float64, then cast)."""

    def __init__(self, cfg, w=None, x=None, *, start=None):
        R, M, d = cfg.replicas, cfg.vectors, cfg.dim
        self.device = resolve_device(cfg.device)  # "cuda" without a GPU stops here, before anything is drawn
        super().__init__(cfg.steps, cfg.record_every, R, {"w": (M, d), "norm_before": (M,)}, start=start,
                         extra_bytes=footprint(cfg, start is None), record=cfg.record, dtype=cfg.dtype)
        start = start or {}
        w = draw_vectors(cfg) if w is None else w
        self.cfg = cfg
        f = self.dtype
        self.w = np.ascontiguousarray(np.broadcast_to(w, (R, M, d)), dtype=f).copy()
        self.x = np.ascontiguousarray(draw_data(cfg) if x is None else x, dtype=f)
        self.v = buffer(start.get("momentum_buffer"), (R, M, d), f)
        self.acc = buffer(start.get("gradient_sum"), (R, M, d), f)
        self.loss_iter = np.full((R, cfg.steps), np.nan, f)
        if self.initial:
            self.rec["w"][:, 0] = self.w
            self.rec["norm_before"][:, 0] = np.linalg.norm(self.w, axis=2)
        self.obj, self.op, self.grad, self.rule = codes(cfg)
        self.gpu = None
        if self.device == "cuda":
            from dyn.flows.sphere.cuda import GpuRun

            self.gpu = GpuRun(self)

    def inputs(self, lo, hi):
        """Nothing is drawn while running: the data are fixed; only the frames' step counts."""
        return self.block_steps(lo, hi)

    def advance(self, lo, hi, frame_steps):
        cfg = self.cfg
        step0 = self.step_at(lo)
        split = self.replicas == 1 and self.obj != kernels.ANGULAR and cfg.vectors >= pairs.SPLIT_VECTORS
        f = self.dtype.type  # the kernels' constants in the run's float type
        consts = kernels.Consts(self.obj, self.op, f(cfg.k), f(cfg.s), self.grad, self.rule, cfg.accumulate, f(cfg.lr),
                                f(cfg.momentum), split)
        if self.gpu is not None:
            return self.gpu.advance(lo, hi, frame_steps, consts)
        loop.advance(kernels, self.replicas)(
            kernels.State(self.w, self.v, self.acc), consts, kernels.Inputs(self.x, self.loss_iter, step0 - self.step_at(0)),
            frame_steps, step0, kernels.Snaps(self.rec["w"], self.rec["norm_before"]), self.slot(lo), self.diverged_at)

    def finish(self, frames_done, status):
        if self.gpu is not None:
            self.gpu.fetch()
        done = self.step_at(frames_done) - self.step_at(0)
        clocks = {**self.clocks(frames_done), "iteration": self.step_at(0) + np.arange(done)}
        buffers = {"momentum_buffer": self.v, "gradient_sum": self.acc}
        ds = to_dataset(self.cfg, self.records(frames_done), self.x, self.loss_iter[:, :done], clocks,
                        self.diverged_at, status, buffers)
        ds.attrs["device"] = self.device
        return ds


def prepare(cfg, *, init=None, data=None, start=None):
    """The job of config ``cfg``; ``start`` continues a run (see :func:`resume`). Nothing is drawn before
    the job has checked that the run fits in memory."""
    names = "(vector, dim): set vectors and dim to match"
    w = None if init is None else as_points(init, cfg.vectors, cfg.dim, "init", cfg.replicas, names)
    if start and "data" in start:
        data = start["data"]
    if data is not None and cfg.objective != "angular":
        raise UsageError(f"data applies to the angular objective, not {cfg.objective!r}")
    x = None if data is None else \
        as_points(data, cfg.samples, cfg.dim, "data", cfg.replicas, "(sample, dim): set samples and dim to match")
    return SphereJob(cfg, w, x, start=start)


def resume(ds, cfg, start):
    """What continuing ``ds`` means: its last vectors, its data, and the optimiser buffers it ended with
    (``momentum_buffer``, ``gradient_sum``), so that a run continued in parts is the unbroken run; a buffer
    the run did not use starts at zero.
    """
    init = replicas_first(ds["w"].isel(time=-1), "vector", "dim").reshape(cfg.replicas, cfg.vectors, cfg.dim).copy()
    init[start["diverged_at"] >= 0] = 1.0  # a diverged replica stays stopped; its NaN state is not checked
    before = SphereConfig.from_json(ds.attrs["config"])
    for name, used in (("momentum_buffer", before.momentum > 0), ("gradient_sum", before.accumulate)):
        if name in ds:  # a stopped replica's NaN buffer is never read
            start[name] = np.nan_to_num(replicas_first(ds[name], "vector", "dim"))
        elif used:
            raise UsageError(f"cannot continue this run: it used a {name.replace('_', ' ')} that its file does "
                             "not record (written by an older dyn)")
    if "x" in ds:
        start["data"] = replicas_first(ds["x"], "sample", "dim")
    return {"init": init}
