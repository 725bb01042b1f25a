"""The flows: one folder each, registered here by name (imported on first use)."""

from importlib import import_module

from dyn.errors import UsageError

_FLOWS = {"relu": "dyn.flows.relu", "som": "dyn.flows.som", "sphere": "dyn.flows.sphere"}


def flow_names():
    """The names ``dyn.simulate`` accepts."""
    return sorted(_FLOWS)


def get_flow(name):
    """The :class:`~dyn.flows.base.Flow` registered as ``name``."""
    if name not in _FLOWS:
        raise UsageError(f"unknown flow {name!r}; choose one of: {', '.join(flow_names())}")
    return import_module(_FLOWS[name]).FLOW
