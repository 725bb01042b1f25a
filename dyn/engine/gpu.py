"""What a flow's GPU run shares with the engine: the records of a block of frames, copied back to the host."""

from __future__ import annotations

import numpy as np


def copy_block(job, lo, hi, blocks, done):
    """Copy the device records ``blocks`` ({name: device array (replica, frames, ...)}) of local frames lo:hi into
    ``job.rec`` and the block's ``done`` (the kernel's diverged_at, on the host) into ``job.diverged_at``.

    A replica that stopped at step N during the block keeps the frames that ended before N; one stopped before it
    keeps none (its records stay NaN)."""
    slot, F = job.slot(lo), hi - lo
    ends = job.steps[lo + 1:hi + 1]
    keep = [0 if job.diverged_at[r] >= 0 else F if done[r] < 0 else int(np.searchsorted(ends, done[r]))
            for r in range(job.replicas)]
    for name, block in blocks.items():
        host = block.copy_to_host()
        for r, k in enumerate(keep):
            job.rec[name][r, slot:slot + k] = host[r, :k]
    job.diverged_at[:] = done
