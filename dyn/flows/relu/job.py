"""A relu run as the engine drives it: state, inputs, records, clocks."""

from __future__ import annotations

import json

import numpy as np

from dyn.engine.steps import check_memory
from dyn.errors import UsageError
from dyn.flows.relu import kernels
from dyn.flows.relu.config import ReluConfig, seed_frame_samples
from dyn.flows.relu.inputs import FreshSamples, GivenSamples, NotebookDraws, TrainingSet
from dyn.flows.relu.record import to_dataset
from dyn.flows.relu.schedule import plan
from dyn.flows.relu.state import Neurons, as_neurons, draw_students, draw_teacher


def frame_clocks(cfg, frames):
    """Steps and samples of each global frame in ``frames`` (vectorised: no per-frame arrays)."""
    i = np.asarray(frames, dtype=np.int64)
    if cfg.train_size is not None:
        steps = np.full(i.shape, cfg.steps_per_frame, np.int64)
        return steps, steps * cfg.train_size
    if cfg.schedule == "constant":
        steps = np.full(i.shape, cfg.steps_per_frame, np.int64)
        return steps, steps * cfg.batch
    n = np.array([seed_frame_samples(k) for k in range(i.max() + 1)], np.int64)[i] if len(i) else i
    if cfg.rng == "notebook":
        twice = np.where(i == 0, 2, 1)
        return (n // cfg.batch) * twice, n * twice
    return -(-n // cfg.batch), n


def _check_memory(cfg, times):
    check_memory(8 * cfg.replicas * times * cfg.width * (2 * cfg.dim + 4))


class ReluJob:
    def __init__(self, cfg, student, teacher, source, *, frame0=0, step0=0, samples0=0, diverged_at=None):
        R, m, d = cfg.replicas, cfg.width, cfg.dim
        self.cfg, self.replicas, self.frames, self.frame0 = cfg, R, cfg.frames, frame0
        self.teacher, self.source = teacher, source
        self.initial = frame0 == 0  # a new run records its initial state as time 0
        T = cfg.frames + self.initial
        _check_memory(cfg, T)
        self.a = np.ascontiguousarray(student.a, dtype=np.float64)
        self.wt = np.ascontiguousarray(np.swapaxes(student.w, 1, 2), dtype=np.float64)
        self.b = np.ascontiguousarray(student.b, dtype=np.float64)
        self.rec = {"a": np.full((R, T, m), np.nan), "w": np.full((R, T, m, d), np.nan),
                    "b": np.full((R, T, m), np.nan), "loss_train": np.full((R, T), np.nan)}
        if self.initial:
            self.rec["a"][:, 0], self.rec["w"][:, 0], self.rec["b"][:, 0] = student
        steps, samples = frame_clocks(cfg, range(frame0, frame0 + cfg.frames))
        self.steps = step0 + np.concatenate([[0], np.cumsum(steps)])  # global step after local frame f - 1
        self.samples = samples0 + np.concatenate([[0], np.cumsum(samples)])
        self.diverged_at = np.full(R, -1, np.int64) if diverged_at is None else diverged_at.copy()
        self.scale = float(cfg.width if cfg.scaling == "mean-field" else 1.0)

    def step_at(self, frames_done):
        return int(self.steps[frames_done])

    def inputs(self, lo, hi):
        """The plan and samples of local frames lo:hi (drawn here, outside the kernel)."""
        frames = range(self.frame0 + lo, self.frame0 + hi)
        p = plan(self.cfg, frames)
        return p, np.ascontiguousarray(self.source.block(frames, p), dtype=np.float64)

    def advance(self, lo, hi, inputs):
        p, x = inputs
        t = self.teacher
        kernel = kernels.advance if self.replicas > 1 else kernels.advance_serial
        kernel(self.a, self.wt, self.b, t.a, t.w, t.b, x, p.starts, p.sizes, p.frame_steps,
                        self.cfg.lr, self.scale, self.step_at(lo), self.rec["a"], self.rec["w"], self.rec["b"],
                        self.rec["loss_train"], lo + self.initial, self.diverged_at)

    def finish(self, frames_done, status):
        T = frames_done + self.initial
        rec = {k: v[:, :T] for k, v in self.rec.items()}
        first = 0 if self.initial else 1
        clocks = {"time": np.arange(self.frame0 + first, self.frame0 + frames_done + 1),
                  "step": self.steps[first:frames_done + 1], "samples_seen": self.samples[first:frames_done + 1]}
        return to_dataset(self.cfg, rec, self.teacher, clocks, self.diverged_at, status)


def _inputs_array(inputs, cfg):
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[2] != cfg.dim or x.shape[0] not in (1, cfg.replicas):
        raise UsageError(f"inputs must have shape (n, {cfg.dim}) or ({cfg.replicas}, n, {cfg.dim}); "
                         f"got {np.shape(inputs)}")
    if not np.all(np.isfinite(x)):
        raise UsageError("inputs contain NaN or inf")
    return x


def prepare(cfg, *, init=None, teacher=None, inputs=None, start=None):
    """The job of config ``cfg``; ``start`` continues a run (see :func:`resume`)."""
    frame0 = start["frame"] if start else 0
    notebook = NotebookDraws(cfg, frame0) if cfg.rng == "notebook" else None
    if teacher is not None:
        teacher = as_neurons(teacher, cfg.teacher_width, cfg.dim, "teacher")
    else:
        teacher = notebook.teacher if notebook else draw_teacher(cfg)
    if init is not None:
        student = as_neurons(init, cfg.width, cfg.dim, "init", replicas=cfg.replicas)
    else:
        student = Neurons(*(v[None] for v in notebook.student)) if notebook else draw_students(cfg)
    if inputs is not None:
        x = _inputs_array(inputs, cfg)
        if cfg.train_size is not None:
            source = TrainingSet(cfg, x)
        else:
            source = GivenSamples(x, plan(cfg, range(frame0, frame0 + cfg.frames)).fresh)
    elif cfg.train_size is not None:
        source = TrainingSet(cfg)
    else:
        source = notebook or FreshSamples(cfg)
    if start:
        return ReluJob(cfg, student, teacher, source, frame0=frame0, step0=start["step"],
                       samples0=start["samples_seen"], diverged_at=start["diverged_at"])
    return ReluJob(cfg, student, teacher, source)


def resume(ds, **overrides):
    """Config and start of the run that continues ``ds`` (its next ``frames`` frames)."""
    cfg = ReluConfig.from_json(ds.attrs["config"])
    fixed = {"width", "dim", "teacher_width", "replicas", "seed", "teacher_seed", "rng", "schedule",
             "train_size", "batch"}
    for key, value in overrides.items():
        if key in fixed and value != getattr(cfg, key):
            raise UsageError(f"cannot change {key} when continuing a run ({getattr(cfg, key)!r} -> {value!r})")
    cfg = cfg.replace(**overrides)
    last = ds.isel(time=-1)
    if "replica" not in ds.dims:
        last = last.expand_dims("replica")
    # copies: the kernel updates its state in place, and ds is the caller's (dyn.simulate(init=ds) left it alone)
    init = {k: last[k].transpose("replica", "neuron", *(("dim",) if k == "w" else ())).values.copy() for k in "awb"}
    teacher = {k: ds["teacher_" + k].values for k in "awb"}
    diverged = np.atleast_1d(ds["diverged_at"].values).astype(np.int64)
    for r in np.flatnonzero(diverged >= 0):  # a diverged replica stays stopped; its NaN state is not checked
        for v in init.values():
            v[r] = 0.0
    start = {"frame": int(ds.time[-1]), "step": int(ds.step[-1]), "samples_seen": int(ds.samples_seen[-1]),
             "diverged_at": diverged}
    return cfg, init, teacher, start


def config_of(ds):
    return json.loads(ds.attrs["config"])
