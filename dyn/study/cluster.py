"""Where a study's tasks run: a LocalCluster on this machine, or a dask scheduler (``--scheduler``).

- The LocalCluster listens on 127.0.0.1 only (scheduler, workers, their HTTP servers); its dashboard
  is off unless asked (``dashboard=True``), and then on 127.0.0.1 too. Its workers are bounded by the
  cores unless ``oversubscribe``, and then by the free memory.
- A scheduler is dask's trusted-cluster model: whoever runs a worker runs code in this process (task
  results are unpickled here). ``tls://`` addresses take dask security objects (a CA, a client
  certificate and its key): only workers holding certificates of that CA can join.
- A scheduler with no worker is waited for ``worker_timeout`` seconds, with a line saying so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from pathlib import Path

from dyn.errors import RunError, UsageError

CONNECT_TIMEOUT = "10s"  # to reach a --scheduler
WORKER_TIMEOUT = 60.0  # seconds a scheduler with no worker is waited for
WORKER_BYTES = 300 * 2**20  # memory of one idle worker process (nanny + worker, numba and xarray imported)
LOCAL = "127.0.0.1"


def cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_workers():
    return min(2, cores())


def check_workers(workers, oversubscribe=False):
    """UsageError for more workers than cores (unless ``oversubscribe``); RunError when their processes
    would not fit in the free memory."""
    from dyn.engine.steps import free_memory

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers must be an integer >= 1, got {workers!r}")
    n = cores()
    if workers > n and not oversubscribe:
        raise UsageError(f"--workers {workers} is more than the {n} cores this machine gives dyn: use at most {n}, "
                         f"or --oversubscribe to start more")
    free = free_memory()
    if free is not None and workers * WORKER_BYTES > 0.8 * free:
        raise RunError(f"--workers {workers}: their processes would need about {gib(workers * WORKER_BYTES)} but "
                       f"{gib(free)} of memory is free: start fewer")


def gib(nbytes):
    return f"{nbytes / 2**30:,.1f} GiB"


def local_cluster(workers, dashboard=False):
    """A LocalCluster of ``workers`` processes (one thread each, Ctrl-C ignored) bound to 127.0.0.1."""
    from distributed import LocalCluster

    with _sigint_ignored():  # the workers inherit it: Ctrl-C reaches the driver alone
        # the scheduler's HTTP server (health, metrics; the dashboard's pages when asked) on a free loopback port
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host=LOCAL,
                            scheduler_kwargs={"dashboard": dashboard, "dashboard_address": f"{LOCAL}:0"},
                            silence_logs=logging.CRITICAL)


def dashboard_line(cluster):
    import importlib.util

    need = "" if importlib.util.find_spec("bokeh") else " (its plots need bokeh: pip install bokeh)"
    return f"dyn: dask dashboard at {cluster.dashboard_link}{need}"


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
    return scheme


def security(address, tls_ca=None, tls_cert=None, tls_key=None):
    """The ``distributed.Security`` of a ``tls://`` address (None for others); UsageError when the TLS
    files and the address's scheme disagree or a file is missing."""
    scheme = check_address(address)
    given = {"--tls-ca": tls_ca, "--tls-cert": tls_cert, "--tls-key": tls_key}
    if scheme != "tls":
        if any(given.values()):
            raise UsageError(f"{', '.join(k for k, v in given.items() if v)} need a tls:// scheduler address, "
                             f"got {address}")
        return None
    missing = [k for k, v in given.items() if not v]
    if missing:
        raise UsageError(f"a tls:// scheduler needs --tls-ca, --tls-cert and --tls-key (missing: {', '.join(missing)})")
    for option, path in given.items():
        if not Path(path).is_file():
            raise UsageError(f"{option}: no such file: {path}")
    from distributed.security import Security

    try:
        return Security(tls_ca_file=str(tls_ca), tls_client_cert=str(tls_cert), tls_client_key=str(tls_key),
                        require_encryption=True)
    except Exception as err:  # ssl errors of unreadable certificates
        raise UsageError(f"cannot use the TLS files ({type(err).__name__})") from None


def connect(address, sec=None):
    """A Client of the scheduler at ``address``; RunError (one line) when it cannot be reached."""
    from distributed import Client

    check_address(address)
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, security=sec)
    except Exception as err:  # OSError, TimeoutError, ssl errors, what a comm backend raises
        text = str(err).strip().splitlines()
        raise RunError(f"cannot reach the dask scheduler at {address}: {text[0] if text else type(err).__name__}") \
            from None


def wait_for_workers(client, timeout, say):
    """Return once the scheduler has a worker; ``say`` a line while waiting; RunError after ``timeout`` s
    (0: wait as long as it takes)."""
    address = client.scheduler.address
    try:
        client.wait_for_workers(1, timeout=0.5)
        return
    except TimeoutError:
        pass
    until = f"giving up after {timeout:g} s" if timeout else "until one joins"
    say(f"dyn: waiting for workers: the scheduler at {address} has none yet ({until}, see --worker-timeout)")
    try:
        client.wait_for_workers(1, timeout=timeout or None)  # 0: no time limit
    except TimeoutError:
        raise RunError(f"no dask worker joined the scheduler at {address} within {timeout:g} s: start workers "
                       f"(dask worker {address}) or wait longer (--worker-timeout)") from None


def can_write(path):
    return os.access(path, os.W_OK)


def close(client, cluster):
    with contextlib.suppress(Exception):
        client.close(timeout=10)
    if cluster is not None:
        with contextlib.suppress(Exception):
            cluster.close(timeout=10)
