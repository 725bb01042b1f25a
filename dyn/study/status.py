"""``dyn study status``: done / pending / failed counts of a store, and the failures' messages."""

from __future__ import annotations

from collections import Counter

import numpy as np

from dyn.errors import UsageError
from dyn.study import store as st


def summary(store):
    """Lines describing the store: its dims, counts of runs (point x seed) and points, failures."""
    if not st.exists(store):
        raise UsageError(f"no such study store: {store}")
    spec, status, error = st.open_status(store)
    dims = " x ".join(f"{k}={n}" for k, n in zip(spec.dims, spec.shape))
    n = status.size
    done, failed = int((status == st.DONE).sum()), int((status == st.FAILED).sum())
    points_done = int((status == st.DONE).all(axis=-1).sum())
    points = int(np.prod(spec.shape[:-1]))
    lines = [f"{store}: {spec.flow} study {spec.name!r}, {dims}",
             f"  runs: {done} done, {n - done - failed} pending, {failed} failed (of {n}); "
             f"points: {points_done} of {points} done"]
    if failed:
        where = {}
        for idx in zip(*np.nonzero(status == st.FAILED)):
            msg = str(error[idx])
            where.setdefault(msg, ", ".join(f"{k}={spec.sweep[k][i]!r}" if k != "seed" else f"seed={spec.seeds[i]}"
                                            for k, i in zip(spec.dims, idx)))
        counts = Counter(str(error[idx]) for idx in zip(*np.nonzero(status == st.FAILED)))
        for msg, count in counts.most_common():
            lines.append(f"  failed x{count}: {msg} (first at {where[msg]})")
    return lines, (done, n - done - failed, failed)
