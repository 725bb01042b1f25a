"""dyn: the training dynamics of neural networks as particle flows.

    >>> import dyn
    >>> ds = dyn.simulate("relu", width=20, radius=0.05, seed=0)   # an xarray.Dataset
    >>> dyn.animate(ds, "relu.gif")

Heavy modules (numba, xarray, matplotlib) load on first use, so ``import dyn`` is cheap.
"""

import os
from importlib import import_module

from dyn.engine.kernel_cache import watch as _watch

# numba's OpenMP threads wait for work passively: threads that spin between parallel regions take the
# cores of a shared machine from the serial kernels and from each other (under load a som run took
# twice as long). An OMP_WAIT_POLICY set by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

# numba's cache of every kernel is keyed to all sources kernels can reach (dyn.engine.kernel_cache):
# registered before any kernel module is imported, without importing numba.
_HERE = os.path.dirname(os.path.abspath(__file__))
_watch(os.path.join(_HERE, "flows"), os.path.join(_HERE, "engine"))

_API = {
    "simulate": "dyn.api",
    "flow_names": "dyn.flows",
    "load": "dyn.io.netcdf",
    "save": "dyn.io.netcdf",
    "animate": "dyn.render.animate",
    "plot": "dyn.render.plot",
    "analyze": "dyn.analysis",
    "study": "dyn.study",
    "study_plot": "dyn.study.plot",
    "join": "dyn.io.join",
    "Animation": "dyn.render.animate",
    "DynError": "dyn.errors",
    "UsageError": "dyn.errors",
    "RunError": "dyn.errors",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name):
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'dyn' has no attribute {name!r}")


def __dir__():
    return __all__
