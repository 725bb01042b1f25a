import os
import signal

import pytest

# Tests start from an empty numba cache only when CI asks for it; locally the cache makes reruns fast.
os.environ.setdefault("MPLBACKEND", "Agg")

# tests/cuda run under numba-cuda's simulator, which must be enabled before numba is imported: only in a
# process started with NUMBA_ENABLE_CUDASIM=1 (tests/test_cuda.py starts one); ignored in the main run
if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    collect_ignore_glob = ["cuda/test_*.py"]


# The Ctrl-C tests need SIGINT delivered. A suite started as a background job of a non-interactive shell
# (`cmd &`) inherits SIGINT ignored, which dyn respects as it respects nohup: give this process Python's own
# handler back, and with it the processes it starts (an exec resets a handled signal to its default).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def one_line_error(err):
    """True when stderr is one ``dyn: error: ...`` line and no traceback."""
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("dyn: error: ") and "Traceback" not in err


def frames_of(path):
    """Every frame of a GIF (or any multi-frame image) as an (H, W, 3) int array of RGB."""
    import numpy as np
    from PIL import Image

    im = Image.open(path)
    out = []
    for k in range(im.n_frames):
        im.seek(k)
        out.append(np.asarray(im.convert("RGB")).astype(int))
    return out


@pytest.fixture
def run_cli(tmp_path, monkeypatch, capsys):
    """``run_cli(*argv) -> (exit status, stdout, stderr)`` of ``dyn`` run in-process inside ``tmp_path``."""
    from dyn.cli.app import main

    monkeypatch.chdir(tmp_path)

    def run(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def seed_run():
    """The default relu run (seed 002's experiment), computed once per test session."""
    import dyn

    return dyn.simulate("relu")


@pytest.fixture(scope="session")
def dask_client():
    """One LocalCluster (2 worker processes, 1 thread each) shared by every study test."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0,
                          "distributed.scheduler.allowed-failures": 1}):  # a task that kills 2 workers fails
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                               silence_logs=logging.CRITICAL)
        # not the process's default scheduler: xarray would take the NetCDF write locks of every later
        # dyn.save in this process from it (distributed locks, named by an in-memory file the scheduler
        # cannot know: the save fails); the study tests pass it explicitly
        client = Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()
