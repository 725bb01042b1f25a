"""A relu run as the engine drives it: state, inputs, records, clocks."""

from __future__ import annotations

import numpy as np

from dyn.engine import loop
from dyn.engine.device import resolve_device
from dyn.engine.steps import Job, check_memory
from dyn.errors import UsageError
from dyn.flows.relu import kernels, wide
from dyn.flows.relu.inputs import CounterSamples, FreshSamples, GivenSamples, NotebookDraws, TrainingSet
from dyn.flows.relu.record import to_dataset
from dyn.flows.relu.schedule import frame_clocks, plan
from dyn.flows.relu.state import Neurons, as_neurons, draw_students, draw_teacher


def check_size(cfg, times):
    """Refuse a run too big for memory before anything is drawn (the draws loop over replicas): the
    snapshots (held twice, as :class:`ReluJob` counts them) alone, then with the drawn states and data."""
    R, m, d = cfg.replicas, cfg.width, cfg.dim
    snapshots = np.dtype(cfg.dtype).itemsize * ReluJob.copies * R * times * (m * (d + 2) + 1)
    check_memory(snapshots, "snapshots")
    check_memory({"snapshots": snapshots, "students as drawn": 8 * 3 * R * m * (d + 2),
                  "teacher": 8 * 3 * cfg.teacher_width * (d + 2), "training set": 8 * R * (cfg.train_size or 0) * d})


class ReluJob(Job):
    """Student, teacher and input source of a relu run; the engine's :class:`Job` holds its records and clocks.

    State, teacher, inputs and records are of the run's ``dtype``: the students, the teacher and the samples are
    drawn (or given) in float64 as in every run, then cast."""

    copies = 2  # the Dataset holds positions and the test loss beside a copy of the records

    def __init__(self, cfg, student, teacher, source, *, start=None):
        R, m, d = cfg.replicas, cfg.width, cfg.dim
        self.cfg, self.source = cfg, source
        shapes = {"a": (m,), "w": (m, d), "b": (m,), "loss_train": ()}
        super().__init__(cfg.frames, R, shapes, start=start, dtype=cfg.dtype)
        self.teacher = Neurons(*(np.asarray(v, dtype=self.dtype) for v in teacher))
        self.a = np.ascontiguousarray(student.a, dtype=self.dtype)
        self.wt = np.ascontiguousarray(np.swapaxes(student.w, 1, 2), dtype=self.dtype)
        self.b = np.ascontiguousarray(student.b, dtype=self.dtype)
        if self.initial:
            self.rec["a"][:, 0], self.rec["w"][:, 0], self.rec["b"][:, 0] = student
        self.scale = float(cfg.width if cfg.scaling == "mean-field" else 1.0)
        self.device = resolve_device(cfg.device)
        # rng="counter": the kernel draws each step's samples itself, on either device (no input arrays)
        self.draws_inside = isinstance(source, CounterSamples)
        self.gpu = GpuRun(self) if self.device == "cuda" else None
        self.measures = True

    def skip_measures(self):
        """Finish without the test loss (the run was interrupted while it was computed)."""
        self.measures = False

    def plan(self):
        steps, samples = frame_clocks(self.cfg, range(self.frame0, self.frame0 + self.frames))
        return steps, {"samples_seen": samples}

    def inputs(self, lo, hi):
        """The plan and samples of local frames lo:hi (drawn here, outside the kernel; rng="counter": none, the
        kernel draws them)."""
        frames = range(self.frame0 + lo, self.frame0 + hi)
        p = plan(self.cfg, frames)
        if self.draws_inside:
            return p, np.empty((1, 0, self.cfg.dim), self.dtype)
        return p, np.ascontiguousarray(self.source.block(frames, p), dtype=self.dtype)

    def advance(self, lo, hi, inputs):
        p, x = inputs
        if self.gpu is not None:
            return self.gpu.advance(lo, hi, p, x)
        rec, step0 = self.rec, self.step_at(lo)
        inputs = kernels.Inputs(x, p.starts, p.sizes, self.cfg.seed if self.draws_inside else -1, step0)
        self.kernel()(
            kernels.State(self.a, self.wt, self.b), self.consts(), inputs,
            p.frame_steps, step0, kernels.Snaps(rec["a"], rec["w"], rec["b"], rec["loss_train"]),
            self.slot(lo), self.diverged_at)

    def kernel(self):
        """The CPU kernel: step-blocked tiles (:mod:`dyn.flows.relu.wide`) from ``wide.WIDE_FROM`` neurons, the
        per-sample step below (whose numbers every narrower run keeps, and which draws rng="counter"'s samples
        inside itself)."""
        if self.cfg.width >= wide.WIDE_FROM and not self.draws_inside:
            return wide.advance
        return loop.advance(kernels, self.replicas)

    def consts(self):
        t = self.teacher
        return kernels.Consts(t.a, t.w, t.b, self.dtype.type(self.cfg.lr * self.scale), self.cfg.train_a, self.cfg.bias)

    def finish(self, frames_done, status):
        ds = to_dataset(self.cfg, self.records(frames_done), self.teacher, self.clocks(frames_done),
                        self.diverged_at, status, skip_test_loss=not self.measures)
        ds.attrs["device"] = self.device
        return ds


class GpuRun:
    """The state of a relu job on the GPU: one launch per block of frames, records copied back per block."""

    def __init__(self, job):
        from numba import cuda

        from dyn.flows.relu import cuda as gpu

        cfg = job.cfg
        self.job, self.cuda, self.gpu = job, cuda, gpu
        self.state = kernels.State(cuda.to_device(job.a), cuda.to_device(job.wt), cuda.to_device(job.b))
        c = job.consts()
        self.consts = kernels.Consts(cuda.to_device(c.ta), cuda.to_device(c.tw), cuda.to_device(c.tb), c.lr,
                                     c.train_a, c.bias)
        self.work = gpu.work_arrays(cfg.replicas, cfg.width, cfg.dim, job.dtype,
                                    batch=cfg.batch if job.draws_inside else None)  # batch: no step takes more
        self.threads = gpu.threads_for(cfg.width)
        self.kernel = loop.cuda_kernel(gpu, job.dtype)

    def advance(self, lo, hi, p, x):
        job, cuda = self.job, self.cuda
        cfg, F = job.cfg, hi - lo
        snaps = self.gpu.block_snaps(cfg.replicas, F, cfg.width, cfg.dim, job.dtype)
        seed = cfg.seed if job.draws_inside else -1
        inputs = kernels.Inputs(cuda.to_device(x), cuda.to_device(p.starts), cuda.to_device(p.sizes), seed,
                                job.step_at(lo))
        loop.launch_cuda(job, self.kernel, self.threads, self.state, self.consts, inputs, self.work, lo, hi,
                         p.frame_steps, snaps, zip(("a", "w", "b", "loss_train"), snaps))


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
    if cfg.train == "population":
        return prepare_population(cfg, init=init, teacher=teacher, inputs=inputs, start=start)
    frame0 = start["frame"] if start else 0
    check_size(cfg, cfg.frames + (start is None))
    notebook = NotebookDraws(cfg, frame0) if cfg.rng == "notebook" else None
    teacher, student = networks(cfg, init, teacher, notebook)
    if inputs is not None:
        x = _inputs_array(inputs, cfg)
        if cfg.train_size is not None:
            source = TrainingSet(cfg, x)
        else:
            source = GivenSamples(x, plan(cfg, range(frame0, frame0 + cfg.frames)).fresh)
    elif cfg.train_size is not None:
        source = TrainingSet(cfg)
    else:
        source = notebook or (CounterSamples(cfg) if cfg.rng == "counter" else FreshSamples(cfg))
    return ReluJob(cfg, student, teacher, source, start=start)


def networks(cfg, init, teacher, notebook=None):
    """The teacher and the students: given (checked against the config's switches) or drawn."""
    if teacher is not None:
        teacher = as_neurons(teacher, cfg.teacher_width, cfg.dim, "teacher")
        if not cfg.bias and np.any(teacher.b != 0):
            raise UsageError("bias is off (b = 0 for every neuron): the teacher's biases must be 0")
    else:
        teacher = notebook.teacher if notebook else draw_teacher(cfg)
    if init is not None:
        student = as_neurons(init, cfg.width, cfg.dim, "init", replicas=cfg.replicas)
        if not cfg.bias and np.any(student.b != 0):
            raise UsageError("bias is off (b = 0 for every neuron): init's biases must be 0")
    else:
        student = Neurons(*(v[None] for v in notebook.student)) if notebook else draw_students(cfg)
    return teacher, student


def prepare_population(cfg, *, init=None, teacher=None, inputs=None, start=None):
    """The job of a run on the exact population loss (no samples: ``inputs`` are refused)."""
    from dyn.flows.relu.population_job import PopulationJob

    if inputs is not None:
        raise UsageError("train 'population' is the exact loss under x ~ N(0, I): it takes no inputs")
    if cfg.device == "cuda":
        raise UsageError("train 'population' runs on the CPU: use device 'cpu' or 'auto'")
    check_size(cfg, cfg.frames + (start is None))
    teacher, student = networks(cfg, init, teacher)
    return PopulationJob(cfg, student, teacher, start=start)


def resume(ds, cfg, start):
    """What continuing ``ds`` means: its last snapshot's neurons, and its teacher."""
    last = ds.isel(time=-1)
    if "replica" not in ds.dims:
        last = last.expand_dims("replica")
    # copies: the kernel updates its state in place, and ds is the caller's (dyn.simulate(init=ds) leaves it alone)
    init = {k: last[k].transpose("replica", "neuron", *(("dim",) if k == "w" else ())).values.copy() for k in "awb"}
    for r in np.flatnonzero(start["diverged_at"] >= 0):  # a diverged replica stays stopped; its NaN state is not checked
        for v in init.values():
            v[r] = 0.0
    return {"init": init, "teacher": {k: ds["teacher_" + k].values for k in "awb"}}
