"""Prewarm numba's cache on remote dask workers, one worker at a time per host (a file lock).

Concurrent first compiles of the same cached function can crash; workers of an in-process
LocalCluster need none of this (the driver compiled before they started, and they share its cache).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

from distributed import WorkerPlugin


class Prewarm(WorkerPlugin):
    """Run one task's simulation (results discarded) under a lock in the numba cache folder."""

    def __init__(self, task):
        self.task = task

    def setup(self, worker):
        from dyn.api import simulate

        folder = Path(os.environ.get("NUMBA_CACHE_DIR") or tempfile.gettempdir())
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "dyn-prewarm.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                simulate(self.task["flow"], **self.task["options"])
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
