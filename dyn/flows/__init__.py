"""The flows: one folder each, found by its folder alone (a package here defining ``FLOW``)."""

from functools import cache
from importlib import import_module
from pathlib import Path

from dyn.errors import UsageError


@cache
def _registry():
    """name -> module of every flow folder: a subpackage of dyn.flows with an ``__init__.py``."""
    here = Path(__file__).parent
    return {p.name: f"dyn.flows.{p.name}" for p in sorted(here.iterdir())
            if (p / "__init__.py").is_file() and not p.name.startswith("_")}


def flow_names():
    """The names ``dyn.simulate`` accepts."""
    return sorted(_registry())


def get_flow(name):
    """The :class:`~dyn.flows.base.Flow` registered as ``name``."""
    if name not in _registry():
        raise UsageError(f"unknown flow {name!r}; choose one of: {', '.join(flow_names())}")
    return import_module(_registry()[name]).FLOW
