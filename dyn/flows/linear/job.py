"""A linear-flow run as the engine drives it: parameters, data, sample order, records, clocks."""

from __future__ import annotations

import numpy as np

from dyn.engine import loop
from dyn.engine.steps import StepJob, snapshot_count
from dyn.errors import RunError, UsageError
from dyn.flows.linear import kernels
from dyn.flows.linear.config import GRADIENTS, LOSSES
from dyn.flows.linear.data import FIT, Order, data_of, order_of
from dyn.flows.linear.model import initial, layout, split
from dyn.flows.linear.record import params_of, to_dataset

FIT_BLOCK = 1 << 20  # steps per kernel call of the classifier's fit


def step_module(sizes):
    """The kernels whose frame loop runs the model: the linear model's own (twice as fast), or the network's."""
    if len(sizes) == 2:
        from dyn.flows.linear import fast

        return fast
    return kernels


def codes(cfg):
    return LOSSES.index(cfg.loss), GRADIENTS.index(cfg.gradient)


def footprint(cfg, n, D, P, initial_=True):
    """Bytes of what a run holds besides its snapshots (StepJob counts those)."""
    R, T, F = cfg.replicas, snapshot_count(cfg.steps, cfg.record_every, initial_), 8
    moving = cfg.train == "data"
    return {"data": F * n * (D + 1) * (R + 2 if moving else 3), "parameters": F * P * R * 2,
            "measures at the snapshots": F * R * T * (6 + (n * D if moving else 0)),
            "sample order": F * R * min(cfg.steps * cfg.batch, 1 << 22)}


class LinearJob(StepJob):
    """``theta`` (R, P) the parameters, ``x`` (n, D) and ``t`` (n,) the data; ``positions`` (R, n, D) where a
    data run continues; ``order``: the explicit sample order or None (drawn)."""

    def __init__(self, cfg, x, t, theta, order=None, *, positions=None, classifier="", start=None):
        n, D = x.shape
        self.sizes, self.offs = layout(D, cfg.widths)
        P, R = int(self.offs[-1]), cfg.replicas
        self.cfg, self.batch, self.moving = cfg, cfg.batch, cfg.train == "data"
        shapes = {"theta": (P,), "loss_train": ()}
        if self.moving:
            shapes["x"] = (n, D)
        super().__init__(cfg.steps, cfg.record_every, R, shapes, start=start,
                         extra_bytes=footprint(cfg, n, D, P, start is None))
        self.x0, self.t = x, t
        self.theta = np.ascontiguousarray(theta, dtype=np.float64).copy()
        if self.moving:
            pos = np.broadcast_to(x, (R, n, D)) if positions is None else positions
            self.X = np.ascontiguousarray(pos, dtype=np.float64).copy()
            self.snap_x = self.rec["x"]
        else:
            self.X = np.ascontiguousarray(x[None])
            self.snap_x = np.zeros((1, 1, 1, 1))
        if self.initial:
            self.rec["theta"][:, 0] = self.theta
            if self.moving:
                self.rec["x"][:, 0] = self.X
        self.order = Order(n, cfg.batch, cfg.shuffle, cfg.seed + np.arange(R), order, self.step_at(0))
        self.loss_code, self.grad_code = codes(cfg)
        self.classifier = classifier

    def plan(self):
        steps, _ = super().plan()
        return steps, {"samples_seen": steps * self.batch}

    def inputs(self, lo, hi):
        """The sample indices of local frames lo:hi (drawn here, outside the kernels)."""
        s0 = self.step_at(lo)
        return self.order.block(s0, self.step_at(hi) - s0)

    def advance(self, lo, hi, order):
        cfg = self.cfg
        consts = kernels.Consts(self.sizes, self.offs, self.loss_code, self.grad_code, self.moving, cfg.lr, cfg.batch)
        loop.advance(step_module(self.sizes), self.replicas)(
            kernels.State(self.theta, self.X), consts, kernels.Inputs(order, self.t), self.block_steps(lo, hi),
            self.step_at(lo), kernels.Snaps(self.rec["theta"], self.snap_x, self.rec["loss_train"]), self.slot(lo),
            self.diverged_at)

    def finish(self, frames_done, status):
        return to_dataset(self.cfg, self.records(frames_done), self.x0, self.t, self.sizes, self.offs,
                          self.clocks(frames_done), self.diverged_at, status, classifier=self.classifier)


def fit_classifier(cfg, x, t, theta):
    """A data run's fixed classifier: SGD on the weights first (the seed trains it by its hinge run), one sample
    a step drawn with replacement from (seed + r, ORDER, 1, ...), ``fit_steps`` steps at ``fit_lr``."""
    sizes, offs = layout(x.shape[1], cfg.widths)
    R, P = theta.shape
    loss, grad = codes(cfg)
    order = Order(len(x), 1, False, cfg.seed + np.arange(R), purpose=FIT)
    diverged = np.full(R, -1, np.int64)
    snap, lt = np.full((R, 1, P), np.nan), np.full((R, 1), np.nan)
    done = 0
    consts = kernels.Consts(sizes, offs, loss, grad, False, cfg.fit_lr, 1)
    state, snaps = kernels.State(theta, np.ascontiguousarray(x[None])), kernels.Snaps(snap, np.zeros((1, 1, 1, 1)), lt)
    while done < cfg.fit_steps and (diverged < 0).all():
        k = min(FIT_BLOCK, cfg.fit_steps - done)
        loop.advance(step_module(sizes), R)(state, consts, kernels.Inputs(order.block(done, k), t), np.array([k], np.int64), done,
                                 snaps, 0, diverged)
        done += k
    if (diverged >= 0).any():
        raise RunError(f"the classifier's fit diverged at step {int(diverged.max())}: lower fit_lr "
                       f"({cfg.fit_lr:g}) or pass init=")
    return theta, (f"fit first by SGD on the weights: {cfg.loss} loss, lr {cfg.fit_lr:g}, {cfg.fit_steps:,} steps "
                   f"of one sample drawn with replacement")


def prepare(cfg, *, init=None, order=None, data=None, labels=None, start=None):
    """The job of config ``cfg``; ``start`` continues a run (see :func:`resume`)."""
    x, t = data_of(cfg, data, labels)
    sizes, offs = layout(x.shape[1], cfg.widths)
    if start and order is None and cfg.order == "array":
        raise UsageError("this run used an explicit sample order: continuing it needs order= with the next "
                         "steps x batch indices")
    given = order_of(cfg, order, len(x), cfg.replicas)
    positions = None if not start else start.get("positions")
    if positions is not None and positions.shape != (cfg.replicas,) + x.shape:
        raise UsageError(f"the run's data positions have shape {positions.shape}, expected {(cfg.replicas,) + x.shape}")
    theta = initial(cfg, sizes, offs, init)
    classifier = ""
    if cfg.train == "data":
        if init is None:
            theta, classifier = fit_classifier(cfg, x, t, theta)
        else:
            classifier = "given (init)" if not start else start.get("classifier", "given (init)")
    return LinearJob(cfg, x, t, theta, given, positions=positions, classifier=classifier, start=start)


def resume(ds, cfg, start):
    """What continuing ``ds`` means: its last parameters, its data (a data run: the points where they ended),
    its labels. A diverged replica stays stopped: its NaN state is replaced by zeros that are never used."""
    theta = np.nan_to_num(params_of(ds)[:, -1])
    sizes, offs = layout(ds.sizes["dim"], cfg.widths)
    x = ds["x"]
    if cfg.train == "data":
        last = x.isel(time=-1).transpose(*(("replica",) if "replica" in x.dims else ()), "sample", "dim").values
        start["positions"] = np.nan_to_num(last.reshape(cfg.replicas, ds.sizes["sample"], ds.sizes["dim"]))
        start["classifier"] = ds.attrs.get("classifier", "")
        x = x.isel(time=0)
        if "replica" in x.dims:
            x = x.isel(replica=0)
    return {"init": split(theta, sizes, offs), "data": x.values, "labels": ds["label"].values}
