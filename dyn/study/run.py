"""Running a study: tasks of the pending cells, compiled once in the driver, then dask.distributed.

The driver (this process) owns the store's metadata and every ``status``/``error`` write; workers
write their cells' data into the store (or return them when they cannot reach it). A restart
computes only cells not marked done (and failed ones with ``retry_failed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dyn.errors import RunError, UsageError
from dyn.study import store as st
from dyn.study.point import LOG_ENV, KeepError, layout, log, run_task, signature
from dyn.study.spec import Spec, load_spec

DRIVER_TASKS = 2  # the first and the last pending task run in the driver: they compile every kernel
CONNECT_TIMEOUT = "10s"  # to reach a --scheduler


@dataclass
class Outcome:
    store: Path
    runs: int = 0  # cells (point x seed) in the study
    done: int = 0
    failed: int = 0
    computed: int = 0  # tasks computed by this call
    messages: list = field(default_factory=list)

    @property
    def pending(self):
        return self.runs - self.done - self.failed


def default_store(spec_path):
    return Path(Path(spec_path).stem + ".zarr")


def tasks_of(spec, status, retry_failed, batch_seeds):
    """Regions (name -> (lo, hi)) of the tasks that cover the cells to compute."""
    todo = status == st.PENDING
    if retry_failed:
        todo |= status == st.FAILED
    names = list(spec.sweep)
    out = []
    for point in spec.points():
        seeds = np.flatnonzero(todo[point])
        if not len(seeds):
            continue
        runs = np.split(seeds, np.flatnonzero(np.diff(seeds) != 1) + 1) if batch_seeds else [[s] for s in seeds]
        for run in runs:
            region = {k: (i, i + 1) for k, i in zip(names, point)}
            region["seed"] = (int(run[0]), int(run[-1]) + 1)
            out.append(region)
    return out


def _task(spec, region, store_path):
    point = tuple(region[k][0] for k in spec.sweep)
    lo, hi = region["seed"]
    return {"flow": spec.flow, "options": spec.options(point, lo, hi), "region": region, "store": store_path,
            "log": os.environ.get(LOG_ENV),
            "keep": {"metrics": spec.metrics, "trajectories": spec.trajectories, "swept": list(spec.sweep)}}


def _message(exc):
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        return "KilledWorker: the worker running this point died"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


def check_trajectory_shapes(spec):
    """UsageError when a swept parameter changes the shape of the kept trajectories."""
    if not spec.trajectories:
        return
    first = (0,) * len(spec.sweep)
    base = signature(spec.flow, spec.options(first, 0, 1), spec.trajectories)
    for i, (name, values) in enumerate(spec.sweep.items()):
        for j in range(1, len(values)):
            point = first[:i] + (j,) + first[i + 1:]
            other = signature(spec.flow, spec.options(point, 0, 1), spec.trajectories)
            if other != base:
                dim = next(d for d in sorted(set(base) | set(other)) if base.get(d) != other.get(d))
                raise UsageError(f"keep.trajectories: sweeping {name} changes the shape of a run ({dim}: "
                                 f"{base.get(dim)} at {name}={values[0]!r}, {other.get(dim)} at {name}={values[j]!r}); "
                                 f"keep metrics only, or fix {name}")


class Study:
    """One call of ``dyn study run``: validate, prepare the store, compute in the driver, then on dask."""

    task_function = staticmethod(run_task)  # what workers run (tests substitute a wrapper)
    workers_write = None  # None: when they can reach the store; False: they return the cells to the driver

    def __init__(self, spec, store, *, force=False, retry_failed=False, batch_seeds=True, progress=True):
        self.spec = spec if isinstance(spec, Spec) else load_spec(spec)
        self.store = Path(store) if store is not None else default_store(spec)
        self.force, self.retry_failed, self.batch_seeds, self.progress = force, retry_failed, batch_seeds, progress
        self.out = Outcome(store=self.store, runs=int(np.prod(self.spec.shape)))
        self.replace = False

    # -- the store --------------------------------------------------------------------------------
    def open_or_check(self):
        """The status array of an existing store (spec checked), or None for a new one."""
        if st.exists(self.store):
            try:
                st.check_same(self.spec, self.store)
            except UsageError:
                if not self.force:
                    raise
                check_trajectory_shapes(self.spec)
                self.replace = True  # the old store goes only once the new template is complete
                return None
            self._update_figures()
            _, status, _ = st.open_status(self.store)
            return status
        if self.store.exists():
            raise RunError(f"{self.store} exists and is not a dyn study store")
        folder = self.store.parent if str(self.store.parent) else Path(".")
        if not folder.is_dir():
            raise RunError(f"cannot write {self.store}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise RunError(f"cannot write {self.store}: permission denied")
        check_trajectory_shapes(self.spec)
        return None

    def _update_figures(self):
        import zarr

        group = zarr.open_group(str(self.store), mode="r+")
        stored = json.loads(group.attrs["spec"])
        if stored.get("figure") != self.spec.figures:  # the figure is not part of the study's identity
            group.attrs["spec"] = self.spec.to_json()

    def finish_cells(self, region, result=None, error=None):
        """Write a task's returned cells (if any), then mark them: the driver's only writes.

        Ctrl-C takes effect after them, so that a region is written and marked whole or not at all.
        """
        with _sigint_deferred():
            if error is None:
                if result is not None:
                    st.write_region(result, self.store, region)
                st.mark(self.store, self.spec, region, st.DONE)
                log("done", region)
            else:
                st.mark(self.store, self.spec, region, st.FAILED, error)
                self.out.messages.append((region, error))
            self.out.computed += 1

    # -- running ------------------------------------------------------------------------------------
    def run(self, *, workers=2, scheduler=None, client=None):
        own = None
        if client is None and scheduler:  # a bad address or an unreachable cluster: before anything runs
            client = own = _connect(scheduler)
        try:
            status = self.open_or_check()
            new = status is None
            if new:
                status = np.zeros(self.spec.shape, np.int8)
            regions = tasks_of(self.spec, status, self.retry_failed, self.batch_seeds)
            regions = self._in_driver(regions, new)
            if regions:
                self._on_dask(regions, workers, client, remote=bool(scheduler))
        finally:
            if own is not None:
                _close(own, None)
        self._count()
        return self.out

    def _in_driver(self, regions, new):
        """Compute the first and last pending tasks here: numba compiles before any worker starts."""
        picked = [0, len(regions) - 1][:min(DRIVER_TASKS, len(regions))]
        picked = sorted(set(picked))
        results, failures = [], []
        for i in picked:
            region = regions[i]
            try:
                results.append((region, run_task(_task(self.spec, region, None))))
            except (KeepError, KeyboardInterrupt):
                raise
            except Exception as exc:  # a failing point is a result of the study, not a crash
                failures.append((region, _message(exc)))
        if new:
            if not results:
                raise RunError(f"the first point failed, nothing to build the store from: {failures[0][1]}")
            st.create(self.spec, self.store, layout(results[0][1]), replace=self.replace)
        for region, result in results:
            self.finish_cells(region, result)
        for region, message in failures:
            self.finish_cells(region, error=message)
        return [r for i, r in enumerate(regions) if i not in picked]

    def _on_dask(self, regions, workers, given=None, remote=False):
        """The tasks of ``regions`` on the client ``given`` (connected to a scheduler when ``remote``),
        or on a new LocalCluster of ``workers`` processes."""
        import dask
        from distributed import Client, LocalCluster, as_completed

        from dyn.engine.progress import Progress

        cluster, client = None, given
        hidden = contextlib.ExitStack()
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0,
                              "distributed.scheduler.allowed-failures": 2}):
            if given is None:
                hidden.enter_context(main_module_hidden())  # for as long as workers may (re)start
                with _sigint_ignored():  # the workers inherit it: Ctrl-C reaches the driver alone
                    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=logging.CRITICAL)
                client = Client(cluster)
        futures = []
        try:
            target = str(self.store.resolve())
            if remote:
                from dyn.study.prewarm import Prewarm

                client.register_plugin(Prewarm(_task(self.spec, regions[0], None)), name="dyn-prewarm")
            if self.workers_write is False or (remote and not all(client.run(_can_write, target).values())):
                target = None  # the workers return their cells and the driver writes them
            tasks = [_task(self.spec, region, target) for region in regions]
            futures = client.map(self.task_function, tasks, pure=False, retries=2,
                                 key=[f"dyn-study-{i}" for i in range(len(tasks))])
            region_of = {f.key: t["region"] for f, t in zip(futures, tasks)}
            done_cells = self._cells_done()
            with Progress(self.out.runs, f"study {self.spec.name}", enabled=self.progress) as bar:
                for future in as_completed(futures):
                    region = region_of[future.key]
                    try:  # waits if the result was lost with its worker and is being recomputed
                        result = future.result()
                    except (Exception, asyncio.CancelledError) as exc:
                        self.finish_cells(region, error=_message(exc))
                    else:
                        self.finish_cells(region, result)
                    future.release()
                    lo, hi = region["seed"]
                    done_cells += hi - lo
                    bar.update(done_cells)
        except KeyboardInterrupt:
            logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # futures cancelled mid-gather
            client.cancel(futures)
            raise
        finally:
            del futures
            if given is None:
                _close(client, cluster)
            hidden.close()

    def _cells_done(self):
        _, status, _ = st.open_status(self.store)
        return int((status != st.PENDING).sum())

    def _count(self):
        _, status, error = st.open_status(self.store)
        self.out.done = int((status == st.DONE).sum())
        self.out.failed = int((status == st.FAILED).sum())


@contextlib.contextmanager
def _sigint_deferred():
    """SIGINT held back for the duration of the block, then raised as KeyboardInterrupt (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hit = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: hit.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if hit:
        raise KeyboardInterrupt


@contextlib.contextmanager
def main_module_hidden():
    """The caller's ``__main__`` hidden from the worker processes the block starts.

    A LocalCluster spawns its workers, and a spawned process re-imports the parent's main module
    (``__main__.__file__``, or ``__spec__.name`` under ``python -m``) unless it is a file guarded by
    ``if __name__ == "__main__":``: a plain script calling ``dyn.study`` would run again in every
    worker. Workers need nothing from it (their tasks are dyn's own functions), so while the block
    runs ``__main__`` shows neither a file nor a spec, as when Python reads a script from stdin or
    runs a Jupyter kernel. Restored afterwards; a no-op outside the main thread.
    """
    main = sys.modules.get("__main__")
    if main is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    if "__spec__" in saved:
        main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.update(saved)


@contextlib.contextmanager
def _sigint_ignored():
    """SIGINT ignored while worker processes are spawned (they keep it ignored: the driver owns Ctrl-C)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def check_address(address):
    """UsageError unless ``address`` is a dask scheduler address (tcp://host:port, host:port...)."""
    from distributed.comm import parse_address, parse_host_port
    from distributed.comm.registry import backends

    try:
        scheme, location = parse_address(address)
        if scheme not in backends:
            raise ValueError(f"unknown scheme {scheme!r}")
        if scheme != "inproc":
            parse_host_port(location)
    except ValueError as err:
        raise UsageError(f"--scheduler {address!r} is not a dask scheduler address such as tcp://host:8786 "
                         f"({err})") from None


def _connect(address):
    from distributed import Client

    check_address(address)
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except Exception as err:  # OSError, TimeoutError, and what a comm backend raises (ucx without ucx-py)
        text = str(err).strip().splitlines()
        raise RunError(f"cannot reach the dask scheduler at {address}: {text[0] if text else type(err).__name__}") \
            from None


def _can_write(path):
    return os.access(path, os.W_OK)


def _close(client, cluster):
    with contextlib.suppress(Exception):
        client.close(timeout=10)
    if cluster is not None:
        with contextlib.suppress(Exception):
            cluster.close(timeout=10)


def run(spec, store=None, *, workers=2, scheduler=None, client=None, force=False, retry_failed=False,
        batch_seeds=True, progress=True):
    """Run the study ``spec`` (a path or a Spec) into ``store``; return its :class:`Outcome`.

    The tasks run on ``client`` (a ``distributed.Client`` the caller owns) if given, else on the
    scheduler at ``scheduler``, else on a new in-process LocalCluster of ``workers`` processes.
    """
    if isinstance(spec, Spec) and store is None:
        raise UsageError("give the store's path when the spec is not a file")
    return Study(spec, store, force=force, retry_failed=retry_failed, batch_seeds=batch_seeds,
                 progress=progress).run(workers=workers, scheduler=scheduler, client=client)
