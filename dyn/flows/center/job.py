"""A center run as the engine drives it: data, probe, network and optimiser state, batch order, records."""

from __future__ import annotations

import contextlib

import numpy as np

from dyn.engine import loop
from dyn.engine.steps import MAX_SNAPSHOTS, StepJob, buffer, frame_steps, replicas_first
from dyn.errors import UsageError
from dyn.flows.center import kernels
from dyn.flows.center.data import (Order, as_labels, as_samples, csr, fingerprint, initial_state, load,
                                   parameter_count, split)
from dyn.flows.center.record import to_dataset


def footprint(cfg, n, D, K, P, probe):
    """Bytes of what a run holds besides its snapshots (StepJob counts those), and the measures' work."""
    F, R, B, H = 8, cfg.replicas, cfg.batch, cfg.hidden
    return {"data": F * (n + probe) * (D + 1), "parameters, moments and gradients": F * P * (4 * R + 1),
            "batch and probe activations": F * (B * (D + 2 * H) + probe * H) * R,
            "measures (64 snapshots at a time)": F * R * 64 * probe * K * 4}


class CenterJob(StepJob):
    """The training set ``x``, ``y``; the probe ``probe``, ``probe_y`` (``probe_index`` into the data set, -1 when
    given); the flat parameters ``theta`` (R, P) and centroids ``c`` (R, K, 2) drawn, or from ``init``; optimiser
    buffers from ``start`` when a run is continued."""

    def __init__(self, cfg, x, y, probe, probe_y, probe_index, K, init=None, *, data_name, start=None):
        self.cfg, self.x, self.y, self.probe, self.probe_y, self.probe_index = cfg, x, y, probe, probe_y, probe_index
        self.D, self.H, self.K, self.data_name = x.shape[1], cfg.hidden, K, data_name
        self.data, self.probe_data = csr(x), csr(probe)
        self.order = Order(len(x), cfg.batch, cfg.drop_last, cfg.shuffle, cfg.seed + np.arange(cfg.replicas))
        self.step0 = int((start or {}).get("step", 0))
        steps = cfg.steps if cfg.steps is not None else cfg.epochs * self.order.per_epoch
        R, P, n_probe = cfg.replicas, parameter_count(self.D, self.H, K), len(probe_y)
        shapes = {"h": (n_probe, 2), "c": (K, 2), "W3": (2, K), "b3": (K,), "ce_train": (), "center_train": ()}
        # at most MAX_SNAPSHOTS: a snapshot costs a forward pass of the probe (1,000 samples: 4 training steps)
        every = cfg.record_every if cfg.record_every is not None else max(1, -(-steps // MAX_SNAPSHOTS))
        super().__init__(steps, every, R, shapes, start=start,
                         extra_bytes=footprint(cfg, len(x), self.D, K, P, n_probe))
        start = start or {}
        theta, c = initial_state(cfg, self.D, K, init)  # drawn once the run is known to fit in memory
        self.theta, self.c = np.ascontiguousarray(theta).copy(), np.ascontiguousarray(c).copy()
        self.m = buffer(start.get("adam_m", start.get("momentum_buffer")), (R, P))
        self.v = buffer(start.get("adam_v"), (R, P))
        self.opt = kernels.ADAM if cfg.optimizer == "adam" else kernels.SGD
        self.data_hash = fingerprint(x, y, probe, probe_y)
        if "data_hash" in start and start["data_hash"] != self.data_hash:
            raise UsageError("cannot continue: these training data or probe are not the ones the run learnt "
                             f"(it learnt {data_name}); pass the same data=, labels=, probe= and probe_labels=")
        if self.initial:
            h = np.empty((n_probe, 2))
            for r in range(R):
                kernels.features(self.theta[r], probe, self.probe_data, self.D, self.H, K, h)
                self.rec["h"][r, 0] = h
            W3, b3 = self.last_layer()
            self.rec["c"][:, 0], self.rec["W3"][:, 0], self.rec["b3"][:, 0] = self.c, W3, b3

    def plan(self):
        """The frames' steps and the training samples each frame uses (``samples_seen``)."""
        steps = frame_steps(self._steps, self._every)
        bounds = self.step0 + np.concatenate([[0], np.cumsum(steps)])
        return steps, {"samples_seen": np.diff(self.samples_before(bounds))}

    def samples_before(self, step):
        """Training samples used by the first ``step`` steps (an epoch uses n, or its full batches)."""
        epoch, b = np.divmod(np.asarray(step, np.int64), self.order.per_epoch)
        per_epoch = min(self.order.n, self.order.per_epoch * self.cfg.batch)
        return epoch * per_epoch + np.minimum(b * self.cfg.batch, self.order.n)

    def last_layer(self):
        """W3 (R, 2, K), b3 (R, K) of the current parameters."""
        P = self.theta.shape[1]
        W3 = self.theta[:, P - 3 * self.K:P - self.K].reshape(-1, 2, self.K)
        return W3, self.theta[:, P - self.K:]

    def inputs(self, lo, hi):
        """The training samples of local frames lo:hi (shuffled epochs drawn here, outside the kernels)."""
        return self.order.block(self.step_at(lo), self.step_at(hi))

    def advance(self, lo, hi, inputs):
        cfg, (order, offsets) = self.cfg, inputs
        k = kernels.Consts(self.D, self.H, self.K, float(cfg.gain), float(cfg.alpha), self.opt, float(cfg.lr),
                           float(cfg.momentum), self.x, *self.data, self.y, self.probe, *self.probe_data)
        snaps = kernels.Snaps(*(self.rec[n] for n in ("h", "c", "W3", "b3", "ce_train", "center_train")))
        with one_blas_thread():
            loop.advance(kernels, self.replicas)(
                kernels.State(self.theta, self.m, self.v, self.c), k, kernels.Inputs(order, offsets, self.step_at(lo)),
                self.block_steps(lo, hi), self.step_at(lo), snaps, self.slot(lo), self.diverged_at)

    def finish(self, frames_done, status):
        return to_dataset(self, frames_done, status)


_BLAS = []


def one_blas_thread():
    """BLAS (the kernels' ``np.dot`` for dense inputs) on one thread for the duration of a kernel call: the
    products are small (a batch of 128), the engine draws the next block in a second thread meanwhile, and
    replicas run in parallel already; on a shared machine BLAS's own threads made the step 6x slower."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS.append(ThreadpoolController())
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            _BLAS.append(None)
    return contextlib.nullcontext() if _BLAS[0] is None else _BLAS[0].limit(limits=1, user_api="blas")


def prepare(cfg, *, init=None, data=None, labels=None, probe=None, probe_labels=None, start=None):
    """The job of config ``cfg``: the data loaded and split (the probe held out unless given), the network
    drawn (or ``init``) once the run is known to fit in memory; ``start`` continues a run (:func:`resume`)."""
    x, y, K = load(cfg, data, labels)
    if (probe is None) != (probe_labels is None):
        raise UsageError("probe= and probe_labels= go together")
    if probe is not None:
        p = as_samples(probe, "probe")
        if p.shape[1] != x.shape[1]:
            raise UsageError(f"probe has {p.shape[1]} columns but the data have {x.shape[1]}")
        py = as_labels(probe_labels, len(p), K, "probe_labels", "probe")
        train, p_index = np.arange(len(x)), np.full(len(p), -1, np.int64)
    else:
        p_index, train = split(y, cfg.probe_size, cfg.data_seed)
        p, py = x[p_index], y[p_index]
    return CenterJob(cfg, np.ascontiguousarray(x[train]), np.ascontiguousarray(y[train]), np.ascontiguousarray(p),
                     py, p_index, K, init, data_name="arrays" if cfg.data == "array" else cfg.data, start=start)


def resume(ds, cfg, start):
    """What continuing ``ds`` means: its final network (W1, b1, W2, b2 and the last snapshot's W3, b3), its last
    centroids and the optimiser's buffers (Adam's moments, or SGD's momentum), so that a run continued in parts
    is the unbroken run; the optimiser's step count and the epoch's batch order follow from ``step``. A stopped
    (diverged) replica's NaN state is replaced by zeros: it is never stepped again."""
    last = ds.isel(time=-1)
    dims = {"W1": ("input", "hidden"), "b1": ("hidden",), "W2": ("hidden", "coord"), "b2": ("coord",),
            "W3": ("coord", "class"), "b3": ("class",), "centers": ("class", "coord")}
    source = {**{k: ds[k] for k in ("W1", "b1", "W2", "b2")}, "W3": last["W3"], "b3": last["b3"], "centers": last["c"]}
    init = {k: np.nan_to_num(replicas_first(source[k], *dims[k])) for k in dims}
    for name in ("adam_m", "adam_v", "momentum_buffer"):
        if name in ds:
            start[name] = np.nan_to_num(replicas_first(ds[name], "parameter"))
    start["data_hash"] = ds.attrs.get("data_hash")
    return {"init": init}
