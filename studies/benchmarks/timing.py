"""What every benchmark script shares: best-of-N timing and one printed row per measurement."""

from __future__ import annotations

import time


def timed(fn, repeat=3):
    """(the fastest of ``repeat`` calls of ``fn`` in seconds, the last call's result)."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def best(fn, repeat=3):
    """The fastest of ``repeat`` calls of ``fn``, in seconds."""
    return timed(fn, repeat)[0]


def row(name, seconds, baseline=None, target=None):
    """Print a measurement, its ratio to ``baseline`` (baseline / seconds) and the target if any."""
    ratio = f"{baseline / seconds:8.1f}x" if baseline else " " * 9
    goal = f"  (target {target})" if target else ""
    print(f"{name:<58s}{seconds:10.4f} s {ratio}{goal}", flush=True)
