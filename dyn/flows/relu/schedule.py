"""Which samples each frame consumes, in which batches.

A frame is a list of minibatch steps; step s uses ``sizes[s]`` samples starting at ``starts[s]`` of the
frame block's input array. The kernel knows nothing else, so the seed's growing frames, constant
frames, notebook batching and full-batch gradient descent are the same code path.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dyn.flows.relu.config import seed_frame_samples


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


def frame_batches(cfg, i):
    """Batch sizes of frame ``i`` (global index) for online SGD on fresh or injected samples."""
    if cfg.schedule == "constant":
        return np.full(cfg.steps_per_frame, cfg.batch, dtype=np.int64)
    n = seed_frame_samples(i)
    if cfg.rng == "notebook":  # np.split(X, n // batch): equal parts; frame 0 is trained twice
        parts = n // cfg.batch
        one = np.full(parts, n // parts, dtype=np.int64)
        return np.concatenate([one, one]) if i == 0 else one
    full, rest = divmod(n, cfg.batch)
    sizes = np.full(full + (rest > 0), cfg.batch, dtype=np.int64)
    if rest:
        sizes[-1] = rest
    return sizes


class Plan(NamedTuple):
    """The steps of a block of frames: per step a start and a size in the block's inputs."""

    starts: np.ndarray  # (steps,) int64
    sizes: np.ndarray  # (steps,) int64
    frame_steps: np.ndarray  # (frames,) int64
    fresh: int  # samples the block consumes from the input stream (0 for full-batch descent)


def plan(cfg, frames):
    """The :class:`Plan` of the global frames ``frames`` (a range)."""
    if cfg.train_size is not None:  # full-batch gradient descent on the fixed training set
        steps = cfg.steps_per_frame * len(frames)
        return Plan(np.zeros(steps, np.int64), np.full(steps, cfg.train_size, np.int64),
                    np.full(len(frames), cfg.steps_per_frame, np.int64), 0)
    per_frame = [frame_batches(cfg, i) for i in frames]
    sizes = np.concatenate(per_frame)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return Plan(starts, sizes, np.array([len(s) for s in per_frame], np.int64), int(sizes.sum()))
