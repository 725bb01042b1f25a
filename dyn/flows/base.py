"""What a flow gives the engine."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Callable


def lazy(module, name):
    """``module.name``, imported on the first call: a flow's package stays cheap to import (``--help``)."""

    def call(*args, **kwargs):
        return getattr(import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{module}.{name}, imported on first use."
    return call


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
    # (options, arrays) -> {config field: value} the arrays imply (sphere: vectors and dim from init's shape),
    # used for the fields the caller left out
    infer: Callable | None = None
    summary: Callable | None = None  # ds -> one line for the CLI
    # ds -> {name: DataArray} of per-replica scalars (dims: at most ``replica``), what studies keep
    metrics: Callable | None = None
