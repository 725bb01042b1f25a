"""A som run as the engine drives it: weights, sample order, records, clocks."""

from __future__ import annotations

import copy

import numpy as np

from dyn.engine.steps import StepJob, check_memory, snapshot_count
from dyn.errors import UsageError
from dyn.flows.som import kernels
from dyn.flows.som.config import DECAY_CODES, MAX_MEASURED, NEIGHBOURHOOD_CODES
from dyn.flows.som.data import Order, data_of, initial_weights
from dyn.flows.som.grid import adjacent, grid_of
from dyn.flows.som.measure import measure, schedule, separable
from dyn.flows.som.record import to_dataset


def neighbourhood_code(cfg):
    """The kernels' code: the topographic rule's gaussian is the forum's exp(-d^2 / (2 sigma^2 + 1e-5))."""
    if cfg.rule == "topographic" and cfg.neighbourhood == "gaussian":
        return NEIGHBOURHOOD_CODES["forum_gaussian"]
    return NEIGHBOURHOOD_CODES[cfg.neighbourhood]


class SomJob(StepJob):
    def __init__(self, cfg, x, w0):
        K, D = w0.shape[1:]
        shapes = {"w": (K, D), "loss_train": (), **{name: () for name in cfg.measures}}
        super().__init__(cfg.steps, cfg.record_every, cfg.replicas, shapes, record=cfg.record)
        self.cfg, self.x, self.grid = cfg, x, grid_of(cfg)
        self.code = neighbourhood_code(cfg)
        self.sep = separable(self.grid, self.code)
        self.adj = adjacent(self.grid)
        self.every = cfg.measure_every or max(1, -(-self.frames // MAX_MEASURED))
        self.w = np.ascontiguousarray(w0.copy())
        self.buf = np.zeros_like(self.w)
        self.rec["w"][:, 0] = w0
        self.order = Order(len(x), cfg.samples_per_step, cfg.shuffle, cfg.seed + np.arange(cfg.replicas))

    def inputs(self, lo, hi):
        """The sample indices of local frames lo:hi (drawn here, outside the kernels); none for epochs."""
        if self.cfg.rule == "batch":
            return None
        s0 = self.step_at(lo)
        return np.ascontiguousarray(self.order.block(s0, self.step_at(hi) - s0))

    def advance(self, lo, hi, order):
        cfg, g = self.cfg, self.grid
        steps = self.block_steps(lo, hi)
        common = (self.step_at(lo), cfg.steps, cfg.lr, DECAY_CODES[cfg.lr_decay], cfg.sigma,
                  DECAY_CODES[cfg.sigma_decay], self.code)
        geometry = (g.gi, g.gj, g.gx, g.gy, g.periods, self.sep, g.rows, g.cols)
        serial = self.replicas == 1
        if cfg.rule == "batch":
            kernel = kernels.advance_batch_serial if serial else kernels.advance_batch
            kernel(self.w, self.x, steps, *common, *geometry, self.rec["w"], self.slot(lo), self.diverged_at)
        elif cfg.rule == "topographic":
            kernel = kernels.advance_topographic_serial if serial else kernels.advance_topographic
            kernel(self.w, self.buf, self.x, order, steps, *common, cfg.momentum, cfg.batch, cfg.normalize,
                   cfg.project, *geometry, self.rec["w"], self.rec["loss_train"], self.slot(lo), self.diverged_at)
        else:
            kernel = kernels.advance_online_serial if serial else kernels.advance_online
            kernel(self.w, self.x, order, steps, *common, cfg.rule == "heskes", *geometry, self.rec["w"],
                   self.slot(lo), self.diverged_at)
        self.measure(np.arange(self.slot(lo) - (lo == 0 and self.initial), self.slot(hi)))

    def measured(self, slots):
        """The record slots among ``slots`` whose snapshots are measured: every ``every``-th and the last."""
        last = self.frames - 1 + self.initial
        return slots[(slots % self.every == 0) | (slots == last)]

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
        return to_dataset(self.cfg, self.records(frames_done), self.x, self.grid, clocks, self.diverged_at, status,
                          self.buf)


def prepare(cfg, *, init=None, data=None, start=None):
    if data is None and not cfg.data.lower().endswith((".npy", ".csv")) and cfg.data not in ("array", "digits"):
        check_memory({"data": 8 * cfg.n * (cfg.dim or 2)})  # before a built-in set is drawn
    x = data_of(cfg, data)
    # before the initial weights are drawn (a loop over replicas) and the records allocated
    T = snapshot_count(cfg.steps, cfg.record_every, record=cfg.record)
    check_memory({"snapshots": 8 * cfg.replicas * T * (cfg.units * x.shape[1] + 1 + len(cfg.measures)),
                  "weights and buffers": 8 * 3 * cfg.replicas * cfg.units * x.shape[1], "data": x.nbytes})
    if data is not None and cfg.dim is not None and cfg.dim != x.shape[1]:
        raise UsageError(f"dim is {cfg.dim} but the data array has {x.shape[1]} columns")
    cfg = copy.copy(cfg)  # record what the data turned out to be
    cfg._set(data="array" if data is not None else cfg.data, n=len(x), dim=x.shape[1])
    w0 = initial_weights(cfg, x, init)
    return SomJob(cfg, x, w0)
