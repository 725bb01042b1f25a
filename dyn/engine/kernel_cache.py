"""numba's on-disk cache keyed to dyn's kernel sources, so that it never runs stale code.

numba's ``cache=True`` stamps a cached function with a hash of its own file only: a kernel in
``som/kernels.py`` calling a helper in ``som/neighbourhood.py`` (or reading a constant from
``som/config.py``) kept running its old machine code after the helper changed, until the cache was
emptied; a user upgrading dyn would have run old kernels. Here every function defined in a watched
tree is stamped with one hash of all the ``.py`` files of its trees (their paths and contents): any
edit there, or a new version of dyn, recompiles each kernel once on its next call; untouched sources
load from the cache as before. dyn watches ``dyn/flows`` and ``dyn/engine``: kernels must reach no
code outside them.

How: numba picks a cache locator per function from ``CacheImpl._locator_classes`` when the
function is decorated. :func:`watch` puts in front of that list a locator that, for files inside a
watched tree, wraps the locator numba would have chosen (same folder: ``NUMBA_CACHE_DIR``, the
``__pycache__`` beside the file, or the user-wide folder) and replaces only its source stamp. So that
``import dyn`` stays cheap, numba is not imported here: where it is not imported yet, an import hook
registers the locator the moment ``numba.core.caching`` (and numba-cuda's ``numba.cuda.core.caching``)
is first imported, which is before any kernel can be decorated. ``NUMBA_CACHE_LOCATOR_CLASSES``, if a
user sets it, replaces numba's list and this with it.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
import warnings
from pathlib import Path

CACHING_MODULES = ("numba.core.caching", "numba.cuda.core.caching")

_groups: list[tuple[str, ...]] = []  # each a tuple of tree roots stamped together
_stamps: dict[tuple[str, ...], str] = {}


def watch(*trees):
    """Stamp the cached numba functions defined under ``trees`` (folders) with a hash of all their sources."""
    group = tuple(sorted(os.path.realpath(t) for t in trees))
    if group not in _groups:
        _groups.append(group)
    for name in CACHING_MODULES:
        if name in sys.modules:
            register(sys.modules[name])
    if not any(isinstance(f, _RegisterOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterOnImport())


def group_of(py_file):
    """The watched group whose trees hold ``py_file``, or None."""
    path = os.path.realpath(py_file)
    for group in _groups:
        if any(path.startswith(root + os.sep) for root in group):
            return group
    return None


def sources_stamp(group):
    """sha256 of every ``.py`` file under the group's trees: relative paths and contents, in sorted order.

    Computed once per process, when the first function of the group is cached: the code a process runs
    is the code it imported, whatever happens to the files afterwards.
    """
    if group not in _stamps:
        import hashlib

        digest = hashlib.sha256()
        for root in group:
            for path in sorted(Path(root).rglob("*.py")):
                digest.update(os.path.relpath(path, os.path.dirname(root)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
        _stamps[group] = digest.hexdigest()
    return _stamps[group]


def register(caching):
    """Put the sources-keyed locator in front of ``caching.CacheImpl._locator_classes`` (once)."""
    impl = caching.CacheImpl
    if any(getattr(c, "dyn_kernel_sources", False) for c in impl._locator_classes):
        return
    defaults = tuple(impl._locator_classes)

    class KernelSourcesLocator(caching._CacheLocator):
        """numba's own locator for the file, with the stamp of the file's watched group."""

        dyn_kernel_sources = True

        def __init__(self, inner, group):
            self._inner, self._group = inner, group

        def ensure_cache_path(self):
            self._inner.ensure_cache_path()

        def get_cache_path(self):
            return self._inner.get_cache_path()

        def get_disambiguator(self):
            return self._inner.get_disambiguator()

        def get_source_stamp(self):
            return "dyn-kernel-sources", sources_stamp(self._group)

        @classmethod
        def from_function(cls, py_func, py_file):
            group = group_of(py_file)
            if group is None:
                return None
            for locator in defaults:
                inner = locator.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner, group)
            return None

    impl._locator_classes.insert(0, KernelSourcesLocator)


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """Registers the locator right after a numba caching module is executed (first import)."""

    def find_spec(self, name, path, target=None):
        if name not in CACHING_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _RegisteringLoader(spec.loader)
                return spec
        return None


class _RegisteringLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            register(module)
        except Exception as err:  # a numba whose caching internals moved: warn, never break numba's import
            warnings.warn(f"dyn could not key numba's cache to its kernel sources ({err!r}); after editing dyn, "
                          f"clear the numba cache", RuntimeWarning, stacklevel=2)

    def __getattr__(self, name):  # get_source, get_filename, is_package, ... of the real loader
        return getattr(self._loader, name)
