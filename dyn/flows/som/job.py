"""A som run as the engine drives it: weights, sample order, records, clocks."""

from __future__ import annotations

import copy
from importlib import import_module

import numpy as np

from dyn.engine import loop
from dyn.engine.device import resolve_device
from dyn.engine.steps import StepJob, buffer, check_memory, log_marks, replicas_first, snapshot_count
from dyn.errors import RunError, UsageError
from dyn.flows.som.config import DECAY_CODES, MAX_MEASURED, NEIGHBOURHOOD_CODES
from dyn.flows.som.data import Order, data_of, initial_weights
from dyn.flows.som.grid import grid_of, neighbour_table
from dyn.flows.som.measure import measure, schedule, separable
from dyn.flows.som.record import to_dataset
from dyn.flows.som.units import RULE_CODES, Consts, Inputs, Snaps, State

# the CPU kernels of each rule (modules of dyn.flows.som on the engine's frame loop)
KERNELS = {"online": "kernels", "heskes": "kernels", "batch": "batch", "topographic": "topographic"}
TRANSPOSED = ("online", "heskes")  # rules whose kernels hold the weights as (replica, dim, unit)
CUDA_RULES = ("online", "heskes", "batch")  # rules with CUDA kernels (cuda.py)


def neighbourhood_code(cfg):
    """The kernels' code: the topographic rule's gaussian is the forum's exp(-d^2 / (2 sigma^2 + 1e-5))."""
    if cfg.rule == "topographic" and cfg.neighbourhood == "gaussian":
        return NEIGHBOURHOOD_CODES["forum_gaussian"]
    return NEIGHBOURHOOD_CODES[cfg.neighbourhood]


class SomJob(StepJob):
    """The maps ``w0`` (replica, unit, dim) trained on ``x``; ``start`` continues a run (:func:`resume`).

    The weights, the data, the grid's float constants and the records are of the run's ``cfg.dtype`` (``w0`` and
    ``x`` drawn or loaded in float64, then cast); the measures are taken in float64 from the records."""

    def __init__(self, cfg, x, w0, *, start=None, device="cpu"):
        K, D = w0.shape[1:]
        shapes = {"w": (K, D), "loss_train": (), **{name: () for name in cfg.measures}}
        super().__init__(cfg.steps, cfg.record_every, cfg.replicas, shapes, record=cfg.record, start=start,
                         dtype=cfg.dtype)
        f = self.dtype
        self.cfg, self.x, self.grid = cfg, np.ascontiguousarray(x, dtype=f), grid_of(cfg)
        self.code = neighbourhood_code(cfg)
        self.sep = separable(self.grid, self.code)
        self.adj = neighbour_table(self.grid)
        self.measured_slot = self._measured_slots()
        self.w = np.array(w0.transpose(0, 2, 1) if cfg.rule in TRANSPOSED else w0, dtype=f, order="C")
        self.buf = buffer((start or {}).get("momentum_buffer"), w0.shape, f)
        self.kernels = import_module(f"dyn.flows.som.{KERNELS[cfg.rule]}")
        g, real = self.grid, f.type  # the float numbers the kernels take, of the run's type
        self.consts = Consts(g.gi, g.gj, g.gx.astype(f), g.gy.astype(f), g.periods.astype(f), g.rows, g.cols, self.code,
                             self.sep, cfg.schedule_steps, real(cfg.lr), DECAY_CODES[cfg.lr_decay], real(cfg.sigma),
                             DECAY_CODES[cfg.sigma_decay], rule=RULE_CODES[cfg.rule], heskes=cfg.rule == "heskes",
                             momentum=real(cfg.momentum), batch=cfg.batch, normalize=cfg.normalize,
                             project=cfg.project)
        if self.initial:
            self.rec["w"][:, 0] = w0
        self.order = Order(len(x), cfg.samples_per_step, cfg.shuffle, cfg.seed + np.arange(cfg.replicas))
        self.device = device
        self.gpu = GpuRun(self) if device == "cuda" else None

    def inputs(self, lo, hi):
        """The sample indices of local frames lo:hi (drawn here, outside the kernels); none for epochs."""
        if self.cfg.rule == "batch":
            return np.zeros((1, 0), np.int64)
        s0 = self.step_at(lo)
        return np.ascontiguousarray(self.order.block(s0, self.step_at(hi) - s0))

    def advance(self, lo, hi, order):
        step0 = self.step_at(lo)
        if self.gpu is not None:
            self.gpu.advance(lo, hi, order)
        else:
            loop.advance(self.kernels, self.replicas)(
                State(self.w, self.buf), self.consts, Inputs(self.x, order, step0), self.block_steps(lo, hi), step0,
                Snaps(self.rec["w"], self.rec["loss_train"]), self.slot(lo), self.diverged_at)
        self.measure(np.arange(self.slot(lo) - (lo == 0 and self.initial), self.slot(hi)))

    def _measured_slots(self):
        """(T,) bool: the snapshots measured. ``measure_every`` given: every such slot; else all of them up to
        MAX_MEASURED frames, then about MAX_MEASURED: log-spaced in step for a log-recorded run (the
        snapshots nearest to log_marks(steps, MAX_MEASURED), so the first steps are measured), every k-th
        otherwise; the initial and the last snapshot always."""
        T = self.frames + self.initial
        slots = np.arange(T)
        every = self.cfg.measure_every
        if every is None and self.cfg.record == "log" and self.frames > MAX_MEASURED:
            steps = self.steps[slots + 1 - self.initial]
            want = steps[0] + log_marks(steps[-1] - steps[0], MAX_MEASURED)
            near = np.clip(np.searchsorted(steps, want), 1, T - 1)
            near = np.where(want - steps[near - 1] < steps[near] - want, near - 1, near)
            mask = np.zeros(T, bool)
            mask[near] = True
        else:
            every = every or max(1, -(-self.frames // MAX_MEASURED))
            mask = slots % every == 0
        mask[0] = mask[-1] = True
        return mask

    def measured(self, slots):
        """The record slots among ``slots`` whose snapshots are measured (:meth:`_measured_slots`)."""
        return slots[self.measured_slot[slots]]

    def measure(self, slots, pick=True):
        """Measure the snapshots in record ``slots`` (those :meth:`measured` picks, unless not ``pick``). A
        replica whose measures are not finite while its weights are diverges at the first such snapshot:
        its records from there on are NaN."""
        slots = self.measured(slots) if pick else slots
        if not len(slots):
            return
        step = self.steps[slots + 1 - self.initial]
        sigma, _ = schedule(self.cfg, step)
        w = self.rec["w"][:, slots]
        got = measure(self.cfg, self.grid, self.code, w, self.x, sigma, adj=self.adj)
        for name, values in got.items():
            self.rec[name][:, slots] = values
        bad = np.isfinite(w).all(axis=(2, 3)) & ~np.all([np.isfinite(v) for v in got.values()], axis=0)
        for r in np.flatnonzero(bad.any(axis=1)):
            j = int(np.argmax(bad[r]))
            if 0 <= self.diverged_at[r] <= step[j]:
                continue
            self.diverged_at[r] = step[j]
            for rec in self.rec.values():
                rec[r, slots[j]:] = np.nan

    def finish(self, frames_done, status):
        last = frames_done - 1 + self.initial  # an interrupted run's last snapshot is measured too
        if last >= 0 and np.isnan(self.rec["quantization_error"][:, last]).all():
            self.measure(np.array([last]), pick=False)
        clocks = self.clocks(frames_done)
        per_step = len(self.x) if self.cfg.rule == "batch" else self.cfg.samples_per_step
        clocks["samples_seen"] = clocks["step"] * per_step
        ds = to_dataset(self.cfg, self.records(frames_done), self.x, self.grid, clocks, self.diverged_at, status,
                        self.buf)
        ds.attrs["device"] = self.device
        return ds


class GpuRun:
    """A som job's maps on the GPU, held as (replica, dim, unit) for every rule: one launch per block of frames,
    records copied back per block (the measures are taken on the host, from the records)."""

    def __init__(self, job):
        from numba import cuda

        from dyn.flows.som import cuda as gpu

        R, K, D = job.replicas, job.cfg.units, job.x.shape[1]
        self.job, self.cuda, self.gpu = job, cuda, gpu
        w = job.w if job.cfg.rule in TRANSPOSED else job.w.transpose(0, 2, 1)
        self.state = State(cuda.to_device(np.ascontiguousarray(w)), cuda.to_device(np.zeros((R, 1, 1), job.dtype)))
        c = job.consts
        self.consts = c._replace(gi=cuda.to_device(c.gi), gj=cuda.to_device(c.gj), gx=cuda.to_device(c.gx),
                                 gy=cuda.to_device(c.gy), periods=cuda.to_device(c.periods))
        self.x = cuda.to_device(job.x)
        self.work = gpu.work_arrays(R, K, D, job.cfg.rule == "batch", job.dtype)
        self.threads = gpu.threads_for(K)
        self.kernel = loop.cuda_kernel(gpu, job.dtype)

    def advance(self, lo, hi, order):
        job, cuda = self.job, self.cuda
        R, F, (K, D) = job.replicas, hi - lo, job.rec["w"].shape[2:]
        snaps = Snaps(cuda.device_array((R, F, K, D), job.dtype), cuda.device_array((R, F), job.dtype))
        order = order if order.size else np.zeros((1, 1), np.int64)  # the batch rule's (none): a placeholder
        inputs = Inputs(self.x, cuda.to_device(order), job.step_at(lo))
        loop.launch_cuda(job, self.kernel, self.threads, self.state, self.consts, inputs, self.work, lo, hi,
                         job.block_steps(lo, hi), snaps, (("w", snaps.w), ("loss_train", snaps.loss)))


def device_of(cfg):
    """The device of a som run: ``cfg.device`` resolved; a rule without CUDA kernels runs on the CPU under "auto"
    and is refused (RunError) under "cuda"."""
    if cfg.rule not in CUDA_RULES:
        if cfg.device == "cuda":
            raise RunError(f"rule {cfg.rule!r} has no CUDA kernels (online, heskes and batch have): use --device cpu "
                           "or auto")
        return resolve_device("cpu" if cfg.device == "auto" else cfg.device)  # checks the name
    return resolve_device(cfg.device)


def prepare(cfg, *, init=None, data=None, start=None):
    """The job of config ``cfg``; ``start`` continues a run (see :func:`resume`): its data and momentum buffer."""
    device = device_of(cfg)  # before anything is drawn: a missing GPU is one line
    if start is not None:
        cfg.check_schedule(start.get("step", 0) + cfg.steps)
        if data is not None:
            raise UsageError("cannot change data when continuing a run: it goes on with its own")
        data = start.get("data")
    if data is None and not cfg.data.lower().endswith((".npy", ".csv")) and cfg.data not in ("array", "digits"):
        check_memory({"data": 8 * cfg.n * (cfg.dim or 2)})  # before a built-in set is drawn
    x = data_of(cfg, data)
    # before the initial weights are drawn (a loop over replicas) and the records allocated
    T, size = snapshot_count(cfg.steps, cfg.record_every, record=cfg.record), np.dtype(cfg.dtype).itemsize
    check_memory({"snapshots": size * cfg.replicas * T * (cfg.units * x.shape[1] + 1 + len(cfg.measures)),
                  "weights and buffers": size * 3 * cfg.replicas * cfg.units * x.shape[1], "data": x.nbytes})
    if data is not None and cfg.dim is not None and cfg.dim != x.shape[1]:
        raise UsageError(f"dim is {cfg.dim} but the data array has {x.shape[1]} columns")
    if data is not None and cfg.n is not None and cfg.n != len(x):
        raise UsageError(f"n is {cfg.n} but a data array has its own size ({len(x)} samples)")
    cfg = copy.copy(cfg)  # record what the data turned out to be
    cfg._set(data="array" if data is not None and start is None else cfg.data, n=len(x), dim=x.shape[1])
    w0 = initial_weights(cfg, x, init)
    return SomJob(cfg, x, w0, start=start, device=device)


def resume(ds, cfg, start):
    """What continuing ``ds`` means: its last maps, its data and (topographic) its momentum buffer; the schedules
    go on from its last step (``schedule_steps`` is kept), and so does the sample order (a function of the global
    step), so that a run continued in parts is the unbroken run."""
    init = replicas_first(ds["w"].isel(time=-1), "unit", "dim").copy()
    init[start["diverged_at"] >= 0] = 0.0  # a diverged replica stays stopped; its NaN state is not checked
    start["data"] = ds["data"].transpose("sample", "dim").values
    if cfg.rule == "topographic":
        start["momentum_buffer"] = np.nan_to_num(replicas_first(ds["momentum_buffer"], "unit", "dim"))
    return {"init": init}
