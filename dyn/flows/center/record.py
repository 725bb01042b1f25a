"""The Dataset of a center run: the probe's features and the centroids at every snapshot, the last layer
over time (the decision regions), the final network and optimiser state, and the measures.

The measures are functions of the probe's features h (time, sample, 2), their labels, the centroids and
the last layer, computed here in numpy after the run (they cost nothing beside the training).
"""

from __future__ import annotations

import warnings

import numpy as np

from dyn.flows.center.data import parameter_shapes
from dyn.io.schema import run_dataset

VARIABLES = {
    "h": ("2-D feature h = relu(x W1 + b1) W2 + b2 of each probe sample (the penultimate layer)", "1"),
    "probe_label": ("class of each probe sample", "1"),
    "probe_index": ("index of each probe sample in the data set (-1: the probe was given)", "1"),
    "c": ("class centroids c_j of the center loss (no gradient flows into them; moved by the alpha rule)", "1"),
    "W3": ("last layer's weights (coord, class): logits = h W3 + b3", "1"),
    "b3": ("last layer's bias", "1"),
    "W1": ("first layer's weights (input, hidden) after the last step", "1"),
    "b1": ("first layer's bias after the last step", "1"),
    "W2": ("second layer's weights (hidden, coord) after the last step", "1"),
    "b2": ("second layer's bias after the last step", "1"),
    "adam_m": ("Adam's first moment of every parameter after the last step, flattened as W1 (row-major), b1, W2, "
               "b2, W3, b3; a continued run starts from it", "1"),
    "adam_v": ("Adam's second moment, laid out as adam_m; a continued run starts from it", "1"),
    "momentum_buffer": ("SGD momentum buffer of every parameter after the last step, laid out as adam_m", "1"),
    "ce_train": ("mean softmax cross-entropy of the training batches of the frame (time 0: none)", "nat"),
    "center_train": ("mean center loss of the training batches of the frame: mean over batch and the 2 dims of "
                     "(h - c_y)^2, c before each batch's update, not multiplied by gain (time 0: none)", "1"),
    "ce_probe": ("mean softmax cross-entropy on the probe set", "nat"),
    "accuracy": ("share of probe samples whose largest logit is their class", "1"),
    "centroid_distance": ("mean |h - c_y| over the probe: distance of the features to their class's centroid", "1"),
    "scatter": ("intra-class scatter: mean |h - m_y| over the probe, m_j the mean feature of class j", "1"),
    "separation": ("inter-class separation: mean distance |m_j - m_k| between the probe's class means", "1"),
    "separation_min": ("minimum distance between two of the probe's class means", "1"),
    "ratio": ("scatter / separation: small when the classes are compact clusters far apart", "1"),
    "angular_spread": ("circular standard deviation sqrt(-2 ln R) of the angle of h about the origin, per class "
                       "(R the length of the mean unit vector): small for the thin petals of softmax features", "rad"),
    "radial_spread": ("standard deviation / mean of |h| per class: large for petals, which stretch outwards", "1"),
    "diverged_at": ("first step whose loss was not finite, -1 if none", "step"),
    "step": ("optimisation steps taken", "step"),
    "samples_seen": ("training samples used in updates so far", "sample"),
    "epoch": ("passes over the training set so far (step / batches per epoch)", "epoch"),
    "time": ("snapshot index: time 0 is the initial state, time t the state after frame t - 1", "frame"),
    "sample": ("probe sample index", "1"),
    "class": ("class index j", "1"),
    "coord": ("feature coordinate (the 2 units of the penultimate layer)", "1"),
    "input": ("input dimension", "1"),
    "hidden": ("hidden unit of the first layer", "1"),
    "parameter": ("index into the flat parameter vector W1 (row-major), b1, W2, b2, W3, b3", "1"),
}


def class_means(h, labels, K):
    """(..., K, 2) mean feature of each class; NaN for a class without probe samples."""
    onehot = (labels[:, None] == np.arange(K)[None]).astype(float)  # (n, K)
    count = onehot.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("...nc,nk->...kc", h, onehot) / count[:, None]


CHUNK = 64  # snapshots measured at a time: the logits of a chunk are (R, CHUNK, n, K)


def measures(h, c, W3, b3, labels):
    """Every measure of the snapshots: h (R, T, n, 2), c (R, T, K, 2), W3 (R, T, 2, K), b3 (R, T, K);
    name -> (R, T) or (R, T, K)."""
    parts = [measure_chunk(h[:, a:a + CHUNK], c[:, a:a + CHUNK], W3[:, a:a + CHUNK], b3[:, a:a + CHUNK], labels)
             for a in range(0, h.shape[1], CHUNK)]
    return {k: np.concatenate([p[k] for p in parts], axis=1) for k in parts[0]}


def measure_chunk(h, c, W3, b3, labels):
    """:func:`measures` of a few snapshots."""
    K = c.shape[-2]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN snapshots of a diverged replica
        logits = np.einsum("rtnc,rtck->rtnk", h, W3) + b3[:, :, None, :]
        top = logits.max(-1, keepdims=True)
        lse = top[..., 0] + np.log(np.exp(logits - top).sum(-1))
        ce = (lse - np.take_along_axis(logits, np.broadcast_to(labels[:, None], logits.shape[:-1] + (1,)),
                                       -1)[..., 0]).mean(-1)
        accuracy = (np.argmax(logits, -1) == labels).mean(-1)
        accuracy = np.where(np.isfinite(logits).all((-1, -2)), accuracy, np.nan)
        centroid_distance = np.linalg.norm(h - c[:, :, labels], axis=-1).mean(-1)
        means = class_means(h, labels, K)
        scatter = np.linalg.norm(h - means[:, :, labels], axis=-1).mean(-1)
        pair = np.linalg.norm(means[:, :, :, None] - means[:, :, None], axis=-1)
        iu = np.triu_indices(K, 1)
        pairs = pair[:, :, iu[0], iu[1]]
        separation, separation_min = np.nanmean(pairs, -1), np.nanmin(pairs, -1)
        ratio = scatter / separation
        r = np.linalg.norm(h, axis=-1)
        u = h / r[..., None]
        onehot = (labels[:, None] == np.arange(K)[None]).astype(float)
        count = onehot.sum(0)
        mean_u = np.einsum("rtnc,nk->rtkc", u, onehot) / count[:, None]
        R = np.clip(np.linalg.norm(mean_u, axis=-1), 1e-300, 1.0)
        angular = np.sqrt(-2.0 * np.log(R))
        mean_r = np.einsum("rtn,nk->rtk", r, onehot) / count
        var_r = np.einsum("rtn,nk->rtk", r ** 2, onehot) / count - mean_r ** 2
        radial = np.sqrt(np.maximum(var_r, 0.0)) / mean_r
    return {"ce_probe": ce, "accuracy": accuracy, "centroid_distance": centroid_distance, "scatter": scatter,
            "separation": separation, "separation_min": separation_min, "ratio": ratio,
            "angular_spread": angular, "radial_spread": radial}


def to_dataset(job, frames_done, status):
    """Assemble the run's Dataset from the job's records (replica, time, ...) and final state."""
    cfg, rec = job.cfg, job.records(frames_done)
    D, H, K = job.D, job.H, job.K
    lead = ("replica", "time")
    data = {
        "h": (lead + ("sample", "coord"), rec["h"]),
        "c": (lead + ("class", "coord"), rec["c"]),
        "W3": (lead + ("coord", "class"), rec["W3"]),
        "b3": (lead + ("class",), rec["b3"]),
        "ce_train": (lead, rec["ce_train"]),
        "center_train": (lead, rec["center_train"]),
        "probe_label": (("sample",), job.probe_y),
        "probe_index": (("sample",), job.probe_index),
        "diverged_at": (("replica",), job.diverged_at.copy()),
    }
    offset = 0
    for name, shape in parameter_shapes(D, H, K):
        size = int(np.prod(shape))
        if name in ("W1", "b1", "W2", "b2"):
            dims = {"W1": ("input", "hidden"), "b1": ("hidden",), "W2": ("hidden", "coord"), "b2": ("coord",)}[name]
            data[name] = (("replica",) + dims, job.theta[:, offset:offset + size].reshape((-1,) + shape).copy())
        offset += size
    if cfg.optimizer == "adam":
        data["adam_m"] = (("replica", "parameter"), job.m.copy())
        data["adam_v"] = (("replica", "parameter"), job.v.copy())
    elif cfg.momentum > 0:
        data["momentum_buffer"] = (("replica", "parameter"), job.m.copy())
    for name, values in measures(rec["h"], rec["c"], rec["W3"], rec["b3"], job.probe_y).items():
        data[name] = (lead + (("class",) if values.ndim == 3 else ()), values)
    clocks = job.clocks(frames_done)
    coords = {
        "time": ("time", clocks["time"]), "step": ("time", clocks["step"]),
        "samples_seen": ("time", clocks["samples_seen"]),
        "epoch": ("time", clocks["step"] / job.order.per_epoch),
        "sample": ("sample", np.arange(len(job.probe_y))), "class": ("class", np.arange(K)),
        "coord": ("coord", np.arange(2)),
    }
    return run_dataset(data, coords, cfg, VARIABLES, status, flow="center", data_name=job.data_name,
                       classes=K, inputs=D, train_size=len(job.y), steps_per_epoch=job.order.per_epoch,
                       data_hash=job.data_hash)
