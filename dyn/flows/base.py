"""The flow contract: what a flow folder declares, and the engine drives.

A flow is a package ``dyn/flows/<name>/`` whose ``__init__`` defines ``FLOW = Flow(...)``; the registry
(:mod:`dyn.flows`) finds it by its folder alone, and ``dyn simulate <name>`` is generated from its config.
The package must stay cheap to import (``--help`` reads every flow's config): kernels, pictures and jobs
load on first use through :func:`lazy`.
"""

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


def snapshots_summary(ds):
    """The CLI's line for a flow that writes none of its own: snapshots and the last step."""
    return f"{ds.attrs.get('flow', 'run')}: {ds.sizes.get('time', 0)} snapshots to step {int(ds['step'][-1])}"


@dataclass(frozen=True)
class Flow:
    """A flow as the engine, the CLI, render and studies see it.

    - ``config``: a frozen dataclass (:class:`dyn.config.Config`) whose fields, declared with
      :func:`dyn.config.option`, carry their help, CLI flags and whether a continuation may change them;
    - ``prepare(cfg, start=None, **arrays) -> job``: the run as the engine drives it, a subclass of
      :class:`dyn.engine.steps.Job` (inputs drawn outside the kernels, ``advance`` one kernel call per
      block of frames, ``finish`` -> Dataset); ``arrays`` names the keyword arrays it accepts;
    - ``resume(ds, cfg, start) -> arrays``: what continuing the run ``ds`` from its last snapshot means
      (the arrays ``prepare`` takes, e.g. ``{"init": ...}``; it may add to ``start``), or None where
      continuing has no meaning for the flow (``init=ds``/``--from`` are then refused in one line);
    - ``help``: one line for ``dyn simulate --help``; ``picture``: the module holding its ``Picture``
      (and ``PANELS``/``plot_panels`` for ``dyn plot``); ``summary(ds)``: one line for the CLI;
      ``metrics(ds)``: {name: per-replica DataArray}, what studies keep; ``optional_metrics``: names of
      metrics studies keep only when a spec names them, computed by ``compute_optional(ds, names)``;
    - ``infer(options, arrays) -> {field: value}``: config fields the given arrays' shapes imply (sphere:
      ``vectors``/``dim`` from ``init``), used where the caller left them out.
    """

    name: str
    config: type
    prepare: Callable
    resume: Callable | None = None
    arrays: tuple = ("init",)
    help: str = ""
    picture: str | None = None
    # (options, arrays) -> {config field: value} the arrays imply (sphere: vectors and dim from init's shape),
    # used for the fields the caller left out
    infer: Callable | None = None
    summary: Callable = snapshots_summary  # ds -> one line for the CLI
    # ds -> {name: DataArray} of per-replica scalars (dims: at most ``replica``), what studies keep
    metrics: Callable | None = None
    # metrics a study keeps only when its spec names them (costlier, or needing an optional package):
    # their names, and (ds, names) -> {name: DataArray} computing the named ones, as ``metrics`` does
    optional_metrics: tuple = ()
    compute_optional: Callable | None = None

    def picture_module(self):
        """The module of the flow's picture (imported now)."""
        return import_module(self.picture or f"dyn.flows.{self.name}.picture")
