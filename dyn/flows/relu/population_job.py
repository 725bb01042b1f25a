"""A relu run on the exact population loss (``train="population"``): the job the engine drives, and its end.

Frames hold ``steps_per_frame`` steps of flow time dt = lr x scale each (euler: one gradient step; dopri5:
the flow integrated over dt); the flow time t = step x dt is the coordinate ``flow_time``. A replica whose
gradient norm falls below ``tol`` stops (``converged_at``); when every replica has, the run ends at the first
snapshot after the last of them, with status "converged at step N". The Dataset closes with the end-point
certificate of :mod:`dyn.flows.relu.certificate`.
"""

from __future__ import annotations

import numpy as np

from dyn.engine import loop
from dyn.engine.steps import Job
from dyn.flows.relu import population_kernels as kernels
from dyn.flows.relu.certificate import certify, loss_and_grad_norm
from dyn.flows.relu.population import teacher_norms_and_term
from dyn.flows.relu.population_grad import PARALLEL_PAIRS
from dyn.flows.relu.record import to_dataset


class PopulationJob(Job):
    """Students and teacher of a population run; the engine's :class:`Job` holds its records and clocks."""

    copies = 2

    def __init__(self, cfg, student, teacher, *, start=None):
        R, m, d = cfg.replicas, cfg.width, cfg.dim
        self.cfg, self.teacher = cfg, teacher
        shapes = {"a": (m,), "w": (m, d), "b": (m,), "loss_train": (), "grad_norm": ()}
        super().__init__(cfg.frames, R, shapes, start=start)
        b = np.zeros((R, m)) if not cfg.bias else student.b
        self.state = kernels.State(np.ascontiguousarray(student.a, dtype=np.float64),
                                   np.ascontiguousarray(student.w, dtype=np.float64),
                                   np.ascontiguousarray(b, dtype=np.float64),
                                   np.full(R, np.inf), np.full(R, -1, np.int64), np.full(R, np.nan),
                                   np.full(R, np.nan), np.zeros(R, np.int64))
        if self.initial:
            self.rec["a"][:, 0], self.rec["w"][:, 0], self.rec["b"][:, 0] = self.state.a, self.state.w, self.state.b
            for r in range(R):
                self.rec["grad_norm"][r, 0] = loss_and_grad_norm(self.state.a[r], self.state.w[r], self.state.b[r],
                                                                 teacher, bias=cfg.bias, train_a=cfg.train_a)[1]
        scale = float(m if cfg.scaling == "mean-field" else 1.0)
        self.dt = cfg.lr * scale
        tb = teacher.b if cfg.bias else np.zeros_like(teacher.b)
        nt, term = teacher_norms_and_term(teacher.a, teacher.w, tb)
        self.consts = kernels.Consts(np.ascontiguousarray(teacher.a, dtype=np.float64),
                                     np.ascontiguousarray(teacher.w, dtype=np.float64),
                                     np.ascontiguousarray(tb, dtype=np.float64), nt, float(term), bool(cfg.bias),
                                     bool(cfg.train_a), self.dt, float(cfg.tol or 0.0), cfg.rtol,
                                     kernels.DOPRI5 if cfg.integrator == "dopri5" else kernels.EULER,
                                     R == 1 and m * (m + teacher.a.shape[0]) > PARALLEL_PAIRS)
        self.device = "cpu"
        self.measures = True

    def skip_measures(self):
        """Finish without the test loss and the certificate (the run was interrupted while they were computed)."""
        self.measures = False

    def plan(self):
        steps = np.full(self.frames, self.cfg.steps_per_frame, np.int64)
        return steps, {"samples_seen": np.zeros(self.frames, np.int64)}

    def inputs(self, lo, hi):
        return kernels.Inputs(np.array([self.step_at(lo)], np.int64))

    def advance(self, lo, hi, inputs):
        rec = self.rec
        loop.advance(kernels, self.replicas)(
            self.state, self.consts, inputs, self.block_steps(lo, hi), self.step_at(lo),
            kernels.Snaps(rec["a"], rec["w"], rec["b"], rec["loss_train"], rec["grad_norm"]), self.slot(lo),
            self.diverged_at)

    def stopped(self):
        """Every replica has converged or diverged: nothing is left to run."""
        return self.cfg.tol is not None and bool(((self.state.converged_at >= 0) | (self.diverged_at >= 0)).all())

    def finish(self, frames_done, status):
        conv = self.state.converged_at
        live = self.diverged_at < 0
        if self.cfg.tol is not None and (conv >= 0).any():
            if ((conv >= 0) | ~live).all():
                last = int(conv.max())
                frames_done = min(frames_done, int(np.searchsorted(self.steps, last)))  # the snapshot that shows it
                if status == "completed":
                    status = f"converged at step {last}"
            if status == "completed":
                status = f"completed ({int((conv >= 0).sum())} of {self.replicas} replicas converged)"
        rec = self.records(frames_done)
        clocks = self.clocks(frames_done)
        extra = certify(self.cfg, self.state, self.teacher, self.diverged_at, skip=not self.measures)
        extra["grad_norm"] = (("replica", "time"), rec["grad_norm"])
        extra["converged_at"] = (("replica",), conv.copy())
        extra["grad_evals"] = (("replica",), self.state.evals.copy())
        coords = {"flow_time": ("time", clocks["step"] * self.dt)}
        ds = to_dataset(self.cfg, rec, self.teacher, clocks, self.diverged_at, status, skip_test_loss=not self.measures,
                        extra=extra, extra_coords=coords)
        ds.attrs["device"] = self.device
        return ds
