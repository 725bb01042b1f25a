"""``dyn study status``: done / pending / failed counts of a store, the failures' messages, the check of
the done cells' chunks (damaged ones go back to pending), who holds the store's lock, and a forced
replacement under way beside it."""

from __future__ import annotations

from collections import Counter

import numpy as np

from dyn.errors import UsageError
from dyn.study import lock as lk
from dyn.study import store as st
from dyn.study import verify


def counts(spec, status):
    n = status.size
    done, failed = int((status == st.DONE).sum()), int((status == st.FAILED).sum())
    points_done = int((status == st.DONE).all(axis=-1).sum())
    points = int(np.prod(spec.shape[:-1]))
    return (f"runs: {done} done, {n - done - failed} pending, {failed} failed (of {n}); "
            f"points: {points_done} of {points} done"), (done, n - done - failed, failed)


def check_cells(store, spec, status, full=False):
    """Check the done cells (see :mod:`dyn.study.verify`); mark damaged ones pending unless another
    process holds the lock. Returns (the report's line or '', True when cells were marked pending)."""
    report = verify.check(store, spec, status, full=full)
    line = verify.describe(spec, report)
    if not report.bad:
        return line, False
    try:
        with lk.StoreLock(store):
            verify.repair(store, spec, report)
    except lk.Busy as busy:
        return line.split("; marked pending")[0] + f"; not marked pending now: {busy}", False
    except OSError as err:
        return line.split("; marked pending")[0] + f"; cannot mark them pending: {err.strerror or err}", False
    return line, True


def summary(store, verify_all=False):
    """Lines describing the store: its dims, counts of runs (point x seed) and points, failures, the
    check of the done cells, its lock and a forced replacement under way."""
    if not st.exists(store):
        raise UsageError(f"no such study store: {store}")
    spec, status, error = st.open_status(store)
    checked, marked = check_cells(store, spec, status, full=verify_all)
    if marked:
        _, status, error = st.open_status(store)
    dims = " x ".join(f"{k}={n}" for k, n in zip(spec.dims, spec.shape))
    line, numbers = counts(spec, status)
    lines = [f"{store}: {spec.flow} study {spec.name!r}, {dims}", f"  {line}"]
    if checked:
        lines.append(checked)
    failed = status == st.FAILED
    if failed.any():
        where = {}
        for idx in zip(*np.nonzero(failed)):
            where.setdefault(str(error[idx]), verify.where(spec, idx))
        for msg, count in Counter(str(error[idx]) for idx in zip(*np.nonzero(failed))).most_common():
            lines.append(f"  failed x{count}: {msg} (first at {where[msg]})")
    holder = lk.holder(store)
    if holder and _held(store):
        lines.append(f"  running now: {lk.describe(holder)} ({holder.get('command', 'dyn study run')})")
    new = st.replacement(store)
    if st.exists(new):
        try:
            other, new_status, _ = st.open_status(new)
            line, _ = counts(other, new_status)
            lines.append(f"  replacement under way (--force): {new} holds the {other.flow} study {other.name!r} "
                         f"({line}); {store} keeps this study until it is complete: run the forced command "
                         f"again to finish it")
        except Exception as err:  # a damaged replacement: say so, the old study is what matters here
            lines.append(f"  replacement under way (--force): {new}, unreadable ({err})")
    return lines, numbers


def _held(store):
    """True when a live process holds the lock of ``store`` (tried without taking it for long)."""
    try:
        with lk.StoreLock(store):
            return False
    except lk.Busy:
        return True
    except OSError:
        return False
