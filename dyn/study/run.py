"""Running a study: tasks of the pending cells, compiled once in the driver, then dask.distributed.

The driver (this process) owns the store's metadata and every ``status``/``error`` write; workers
write their cells' data into the store (or return them when they cannot reach it). A restart
computes only cells not marked done (and failed ones with ``retry_failed``).

Promises under faults: the driver holds the store's lock (:mod:`dyn.study.lock`) for the whole run;
a forced run of another spec writes beside the old store and swaps only when complete; the study's
size is checked against memory before its grid is expanded; a write the disk refuses (full, read
only) is one line (RunError) and leaves every cell marked done as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dyn.errors import RunError, UsageError
from dyn.study import cluster as cl
from dyn.study import store as st
from dyn.study import verify
from dyn.study.lock import StoreLock
from dyn.study.keep import KeepError, signature
from dyn.study.point import LOG_ENV, layout, log, run_task
from dyn.study.spec import Spec, load_spec

DRIVER_TASKS = 2  # the first and the last pending task run in the driver: they compile every kernel
TASK_BYTES = 8 * 2**10  # driver memory per task: its dict, future and scheduler state (measured ~6 KiB)
CELL_BYTES = 32  # driver memory per cell: status, error (StringDType), the masks of tasks_of


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a study; ``message`` says what was kept where."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


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
    """What a worker gets for one task, and nothing more: the flow, the options of its point and seeds,
    its region, what to keep, the store's path when it writes its cells itself (and the test log's
    path when that hook is on)."""
    point = tuple(region[k][0] for k in spec.sweep)
    lo, hi = region["seed"]
    task = {"flow": spec.flow, "options": spec.options(point, lo, hi), "region": region,
            "keep": {"metrics": spec.metrics, "trajectories": spec.trajectories, "swept": list(spec.sweep)}}
    if store_path is not None:
        task["store"] = store_path
    if os.environ.get(LOG_ENV):
        task["log"] = os.environ[LOG_ENV]
    return task


def check_size(spec, batch_seeds=True):
    """RunError when the driver could not hold the study's tasks and cells in the free memory: checked
    from the spec's sizes, before its grid is expanded."""
    from dyn.engine.steps import free_memory

    cells = spec.n_points * len(spec.seeds)
    tasks = spec.n_points if batch_seeds else cells
    need = tasks * TASK_BYTES + cells * CELL_BYTES
    free = free_memory()
    if free is not None and need > 0.8 * free:
        raise RunError(f"the study has {cells:,} runs in {tasks:,} tasks: the driver would hold about {cl.gib(need)} "
                       f"for them but {cl.gib(free)} of memory is free: sweep fewer values or seeds, or split the "
                       f"study into several")


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

    def __init__(self, spec, store, *, force=False, retry_failed=False, batch_seeds=True, progress=True,
                 allow_outside_data=False, say=None):
        self.spec = spec if isinstance(spec, Spec) else load_spec(spec, allow_outside_data=allow_outside_data)
        self.store = Path(store) if store is not None else default_store(spec)
        self.target = self.store  # where this run writes: the store, or beside it for a forced run (--force)
        self.force, self.retry_failed, self.batch_seeds, self.progress = force, retry_failed, batch_seeds, progress
        self.say = say or (lambda line: None)  # status lines (waiting for workers, dashboard, repaired cells)
        self.out = Outcome(store=self.store, runs=self.spec.n_points * len(self.spec.seeds))
        self.locks = []
        check_size(self.spec, batch_seeds)

    # -- the store --------------------------------------------------------------------------------
    def open_or_check(self):
        """The status array of the store this run continues (spec checked, lock taken), or None for a new one."""
        st.recover(self.store)
        if st.exists(self.store):
            st.stored_spec(self.store)  # a store of something else: refused before its lock is taken
            self._lock(self.store)
            try:
                st.check_same(self.spec, self.store)
            except UsageError as err:
                return self._replacement(err)
            self._update_figures()
            return self._status()
        if self.store.exists():
            raise RunError(f"{self.store} exists and is not a dyn study store")
        folder = self.store.parent if str(self.store.parent) else Path(".")
        if not folder.is_dir():
            raise RunError(f"cannot write {self.store}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise RunError(f"cannot write {self.store}: permission denied")
        check_trajectory_shapes(self.spec)
        return None

    def _replacement(self, differs):
        """The store holds another study: refuse (``differs``), or with --force write beside it."""
        new = st.replacement(self.store)
        same = st.exists(new) and _holds(new, self.spec)
        if not self.force:
            if same:
                raise UsageError(f"{differs}; a forced run of this spec is under way in {new}: add --force to "
                                 f"finish it") from None
            raise differs
        check_trajectory_shapes(self.spec)
        self.target = new
        if st.exists(new):
            self._lock(new)
            if same:
                return self._status()
            shutil.rmtree(new)  # an unfinished replacement by a third spec, dropped for this one
        elif new.exists():
            raise RunError(f"{new} exists and is not a dyn study store: move it away to replace {self.store}")
        return None

    def _lock(self, store):
        try:
            self.locks.append(StoreLock(store).acquire())
        except FileNotFoundError:
            raise RunError(f"{store} is not a readable dyn study store (it has no status array)") from None

    def _status(self):
        """The target's status, after its done cells are checked (damaged ones marked pending)."""
        _, status, _ = st.open_status(self.target)
        report = verify.check(self.target, self.spec, status)
        if report.bad:
            verify.repair(self.target, self.spec, report)
            self.say(f"dyn: {self.target}:" + verify.describe(self.spec, report)[1:])
            _, status, _ = st.open_status(self.target)
        return status

    def _update_figures(self):
        import zarr

        group = zarr.open_group(str(self.store), mode="r+")
        stored = json.loads(group.attrs["spec"])
        if stored.get("figure") != self.spec.figures:  # the figure is not part of the study's identity
            group.attrs["spec"] = self.spec.to_json()
            st.consolidate(self.store)

    def finish_cells(self, region, result=None, error=None):
        """Write a task's returned cells (if any), then mark them: the driver's only writes.

        Ctrl-C takes effect after them, so that a region is written and marked whole or not at all.
        """
        with _sigint_deferred():
            if error is None:
                if result is not None:
                    st.write_region(result, self.target, region)
                st.mark(self.target, self.spec, region, st.DONE)
                log("done", region)
            else:
                st.mark(self.target, self.spec, region, st.FAILED, error)
                self.out.messages.append((region, error))
            self.out.computed += 1

    def _finish(self):
        """A complete study: metadata consolidated; a forced one put in the old store's place."""
        _, status, _ = st.open_status(self.target)
        if (status == st.PENDING).any():
            return
        if not st.consolidated(self.target):  # stores made before dyn consolidated them at creation
            st.consolidate(self.target)
        if self.target != self.store:
            old = st.swap_in(self.target, self.store)
            for lock in self.locks:
                lock.moved(old if lock.store == self.store else self.store)
            self.target = self.store

    # -- running ------------------------------------------------------------------------------------
    def run(self, *, workers=None, scheduler=None, client=None, oversubscribe=False, dashboard=False,
            worker_timeout=cl.WORKER_TIMEOUT, tls=None):
        """Compute the pending cells. ``tls``: (ca, cert, key) files of a tls:// scheduler."""
        if workers is None:
            workers = cl.default_workers()
        own = None
        if client is None and scheduler:  # a bad address or an unreachable cluster: before anything runs
            client = own = cl.connect(scheduler, cl.security(scheduler, *(tls or (None, None, None))))
        elif client is None:
            cl.check_workers(workers, oversubscribe)
        try:
            status = self.open_or_check()
            new = status is None
            if new:
                status = np.zeros(self.spec.shape, np.int8)
            regions = tasks_of(self.spec, status, self.retry_failed, self.batch_seeds)
            regions = self._in_driver(regions, new)
            if regions:
                self._on_dask(regions, workers, client, remote=bool(scheduler), dashboard=dashboard,
                              worker_timeout=worker_timeout)
            self._finish()
            self._count()
        except KeyboardInterrupt:
            raise Interrupted(self._interrupted()) from None
        except OSError as err:  # a write the disk refused (full, read-only): cells marked done stay done
            if _lost_scheduler(err):
                raise RunError(f"lost the dask scheduler: {err}; the runs marked done are kept in {self.target}: "
                               f"run the same command to resume") from None
            raise RunError(f"cannot write {self.target}: {err.strerror or err}; the runs marked done are kept: "
                           f"free space (or fix the permissions) and run the same command to resume") from None
        finally:
            for lock in self.locks:
                lock.release()
            if own is not None:
                cl.close(own, None)
        return self.out

    def _interrupted(self):
        if self.target != self.store:
            if st.exists(self.target):
                return (f"interrupted; the new study's finished runs are kept in {self.target} and {self.store} "
                        f"still holds the old study: run the same command to resume")
            return f"interrupted; {self.store} still holds the old study, untouched"
        if st.exists(self.store):
            return f"interrupted; finished runs are kept in {self.store}: run the same command to resume"
        return f"interrupted before {self.store} was created: nothing was written"

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
            self.locks.append(st.create(self.spec, self.target, layout(results[0][1])))
        for region, result in results:
            self.finish_cells(region, result)
        for region, message in failures:
            self.finish_cells(region, error=message)
        return [r for i, r in enumerate(regions) if i not in picked]

    def _on_dask(self, regions, workers, given=None, remote=False, dashboard=False, worker_timeout=cl.WORKER_TIMEOUT):
        """The tasks of ``regions`` on the client ``given`` (connected to a scheduler when ``remote``),
        or on a new LocalCluster of ``workers`` processes (never more than the tasks)."""
        import dask
        from distributed import Client, as_completed

        from dyn.engine.progress import Progress

        cluster, client = None, given
        hidden = contextlib.ExitStack()
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0,
                              "distributed.scheduler.allowed-failures": 2}):
            if given is None:
                hidden.enter_context(main_module_hidden())  # for as long as workers may (re)start
                cluster = cl.local_cluster(min(workers, len(regions)), dashboard=dashboard)
                client = Client(cluster)
                if dashboard:
                    self.say(cl.dashboard_line(cluster))
        futures = []
        try:
            if given is not None:
                cl.wait_for_workers(client, worker_timeout, self.say)
            target = str(self.target.resolve())
            if remote:
                from dyn.study.prewarm import Prewarm

                client.register_plugin(Prewarm(_task(self.spec, regions[0], None)), name="dyn-prewarm")
            if self.workers_write is False or (remote and not all(client.run(cl.can_write, target).values())):
                target = None  # the workers return their cells and the driver writes them
            tasks = [_task(self.spec, region, target) for region in regions]
            futures = client.map(self.task_function, tasks, pure=False, retries=2,
                                 key=[f"dyn-study-{i}" for i in range(len(tasks))])
            region_of = {f.key: t["region"] for f, t in zip(futures, tasks)}
            done_cells = self._cells_done()
            with Progress(self.out.runs, f"study {self.spec.name}", enabled=self.progress) as bar:
                # the given client need not be the default one: as_completed follows its loop
                for future in as_completed(futures, loop=client.loop):
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
        except BaseException:
            logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # futures cancelled mid-gather
            with contextlib.suppress(Exception):
                client.cancel(futures)
            raise
        finally:
            del futures
            if given is None:
                cl.close(client, cluster)
            hidden.close()

    def _cells_done(self):
        _, status, _ = st.open_status(self.target)
        return int((status != st.PENDING).sum())

    def _count(self):
        _, status, error = st.open_status(self.target)
        self.out.done = int((status == st.DONE).sum())
        self.out.failed = int((status == st.FAILED).sum())


def _lost_scheduler(err):
    from distributed.comm.core import CommClosedError

    return isinstance(err, CommClosedError)


def _holds(store, spec):
    """True when ``store`` holds the study ``spec``."""
    try:
        st.check_same(spec, store)
        return True
    except (UsageError, RunError):
        return False


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


def run(spec, store=None, *, workers=None, scheduler=None, client=None, force=False, retry_failed=False,
        batch_seeds=True, progress=True, oversubscribe=False, dashboard=False, worker_timeout=cl.WORKER_TIMEOUT,
        tls=None, allow_outside_data=False, say=None):
    """Run the study ``spec`` (a path or a Spec) into ``store``; return its :class:`Outcome`.

    The tasks run on ``client`` (a ``distributed.Client`` the caller owns) if given, else on the
    scheduler at ``scheduler`` (``tls``: its (ca, cert, key) files for a tls:// address; workers are
    waited for ``worker_timeout`` s), else on a new LocalCluster of ``workers`` processes (default:
    2, at most the cores unless ``oversubscribe``; its dashboard on 127.0.0.1 when ``dashboard``).
    ``say`` receives status lines (waiting for workers, the dashboard's address, repaired cells).
    """
    if isinstance(spec, Spec) and store is None:
        raise UsageError("give the store's path when the spec is not a file")
    return Study(spec, store, force=force, retry_failed=retry_failed, batch_seeds=batch_seeds, progress=progress,
                 allow_outside_data=allow_outside_data, say=say).run(
        workers=workers, scheduler=scheduler, client=client, oversubscribe=oversubscribe, dashboard=dashboard,
        worker_timeout=worker_timeout, tls=tls)
