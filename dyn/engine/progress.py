"""A rich progress bar that appears only for work longer than ``delay`` seconds."""

from __future__ import annotations

import time


class Progress:
    def __init__(self, total, label, *, enabled=True, delay=1.0):
        self.total, self.label, self.enabled, self.delay = total, label, enabled, delay
        self._bar = self._task = None
        self._start = time.perf_counter()

    def __enter__(self):
        return self

    def update(self, completed):
        if not self.enabled:
            return
        if self._bar is None:
            if time.perf_counter() - self._start < self.delay or completed >= self.total:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TimeRemainingColumn

            self._bar = Bar("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total)
        self._bar.update(self._task, completed=completed)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
