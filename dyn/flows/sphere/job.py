"""A sphere run as the engine drives it: vectors, data, optimiser buffers, records."""

from __future__ import annotations

import numpy as np

from dyn.engine.steps import StepJob, resume_start
from dyn.errors import UsageError
from dyn.flows.sphere import kernels
from dyn.flows.sphere.config import SphereConfig
from dyn.flows.sphere.record import codes, to_dataset
from dyn.flows.sphere.state import as_points, draw_data, draw_vectors


class SphereJob(StepJob):
    def __init__(self, cfg, w, x, *, start=None):
        start = start or {}
        R, M, d = cfg.replicas, cfg.vectors, cfg.dim
        super().__init__(cfg.steps, cfg.record_every, R, {"w": (M, d), "norm_before": (M,)},
                         step0=start.get("step", 0), frame0=start.get("frame", 0),
                         diverged_at=start.get("diverged_at"))
        self.cfg = cfg
        self.w = np.ascontiguousarray(np.broadcast_to(w, (R, M, d)), dtype=np.float64).copy()
        self.x = x
        self.v = np.zeros_like(self.w)
        self.acc = np.zeros_like(self.w)
        self.loss_iter = np.full((R, cfg.steps), np.nan)
        if self.initial:
            self.rec["w"][:, 0] = self.w
            self.rec["norm_before"][:, 0] = np.linalg.norm(self.w, axis=2)
        self.obj, self.op, self.grad, self.rule = codes(cfg)

    def inputs(self, lo, hi):
        """Nothing is drawn while running: the data are fixed; only the frames' step counts."""
        return self.block_steps(lo, hi)

    def advance(self, lo, hi, frame_steps):
        cfg = self.cfg
        kernel = kernels.advance if self.replicas > 1 else kernels.advance_serial
        step0 = self.step_at(lo)
        kernel(self.w, self.x, self.v, self.acc, frame_steps, self.obj, self.op, cfg.k, cfg.s, self.grad,
               self.rule, cfg.accumulate, cfg.lr, cfg.momentum, step0, self.loss_iter, step0 - self.step_at(0),
               self.rec["w"], self.rec["norm_before"], self.slot(lo), self.diverged_at)

    def finish(self, frames_done, status):
        done = self.step_at(frames_done) - self.step_at(0)
        clocks = {**self.clocks(frames_done), "iteration": self.step_at(0) + np.arange(done)}
        return to_dataset(self.cfg, self.records(frames_done), self.x, self.loss_iter[:, :done], clocks,
                          self.diverged_at, status)


def prepare(cfg, *, init=None, data=None, start=None):
    """The job of config ``cfg``; ``start`` continues a run (see :func:`resume`)."""
    names = "(vector, dim): set vectors and dim to match"
    w = draw_vectors(cfg) if init is None else as_points(init, cfg.vectors, cfg.dim, "init", cfg.replicas, names)
    if start and "data" in start:
        data = start["data"]
    if data is not None and cfg.objective != "angular":
        raise UsageError(f"data applies to the angular objective, not {cfg.objective!r}")
    x = draw_data(cfg) if data is None else \
        as_points(data, cfg.samples, cfg.dim, "data", cfg.replicas, "(sample, dim): set samples and dim to match")
    return SphereJob(cfg, w, x, start=start)


def resume(ds, **overrides):
    """Config, initial vectors and start of the run that continues ``ds`` (its next ``steps`` steps)."""
    cfg = SphereConfig.from_json(ds.attrs["config"])
    fixed = {"objective", "vectors", "dim", "samples", "replicas", "seed", "draw", "as_seed"}
    for key, value in overrides.items():
        if key in fixed and value != getattr(cfg, key):
            raise UsageError(f"cannot change {key} when continuing a run ({getattr(cfg, key)!r} -> {value!r})")
    cfg = cfg.replace(**overrides)
    if cfg.accumulate or cfg.momentum:
        raise UsageError("cannot continue a run with accumulate or momentum: its optimiser buffer is not recorded")
    last = ds["w"].isel(time=-1)
    if "replica" not in ds.dims:
        last = last.expand_dims("replica")
    init = last.transpose("replica", "vector", "dim").values.copy()
    start = resume_start(ds)
    init[start["diverged_at"] >= 0] = 1.0  # a diverged replica stays stopped; its NaN state is not checked
    if "x" in ds:
        x = ds["x"]
        start["data"] = x.transpose(*(("replica",) if "replica" in x.dims else ()), "sample", "dim").values
    return cfg, init, None, start
