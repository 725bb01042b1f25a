"""What a flow gives the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Flow:
    """A flow: its config class, ``prepare(cfg, **arrays) -> job`` and ``resume(ds, **overrides)``.

    ``resume`` returns ``(cfg, init, teacher_or_None, start)`` for continuing a recorded run.
    ``arrays`` names the keyword arrays ``prepare`` accepts (``init``, ``teacher``, ``inputs``...).
    """

    name: str
    config: type
    prepare: Callable
    resume: Callable
    arrays: tuple = ("init",)
    summary: Callable | None = None  # ds -> one line for the CLI
    # ds -> {name: DataArray} of per-replica scalars (dims: at most ``replica``), what studies keep
    metrics: Callable | None = None
