"""A study killed (SIGKILL of its process group) or interrupted (SIGINT) mid-way, then restarted."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import xarray as xr

from dyn.cli.app import main
from dyn.study import store as st

# tasks of about half a second each (two seeds as replicas): the study lasts long enough to be stopped mid-way
SPEC = """flow = "relu"
seeds = 2
[fixed]
frames = 10
schedule = "constant"
steps_per_frame = 20000
test_loss = "none"
[sweep]
width = [4, 6, 8, 10]
radius = [0.05, 0.5]
"""
CELLS = 16


def start(tmp_path, log):
    (tmp_path / "s.toml").write_text(SPEC)
    env = dict(os.environ, DYN_STUDY_LOG=str(log))
    return subprocess.Popen([sys.executable, "-m", "dyn.cli", "study", "run", "s.toml", "-q"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def events(log):
    """(event, cell) pairs of the log: one per seed of each region written there."""
    out = []
    for line in log.read_text().splitlines() if log.exists() else []:
        event, region = line.split(" ", 1)
        region = json.loads(region)
        lo, hi = region.pop("seed")
        key = tuple(sorted((k, v[0]) for k, v in region.items()))
        out += [(event, key + (("seed", s),)) for s in range(lo, hi)]
    return out


def wait_for_done(log, n, proc, timeout=90):
    t = time.time()
    while sum(e == "done" for e, _ in events(log)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t < timeout, "the study did not progress"
        time.sleep(0.05)


def group_ends(pgid, timeout=20):
    """True once no process is left in the group (exited workers may linger a moment as zombies)."""
    t = time.time()
    while time.time() - t < timeout:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def restart(tmp_path, log, dask_client, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DYN_STUDY_LOG", str(log))
    code = main(["study", "run", "s.toml", "-q", "--scheduler", dask_client.scheduler.address])
    return code, capsys.readouterr()


def check_complete(tmp_path, log, before_events, done_before):
    ds = xr.open_zarr(tmp_path / "s.zarr", consolidated=False)
    assert (ds["status"].values == st.DONE).all()
    assert np.isfinite(ds["final_loss_train"].values).all()
    after = events(log)[len(before_events):]
    computed_after = Counter(cell for e, cell in after if e == "compute")
    assert max(computed_after.values()) == 1
    assert len(computed_after) == CELLS - done_before  # only the cells not done before were computed
    done = Counter(cell for e, cell in events(log) if e == "done")
    assert len(done) == CELLS and set(done.values()) == {1}  # each cell marked done exactly once


def test_sigkill_then_restart_computes_only_what_is_missing(tmp_path, dask_client, monkeypatch, capsys):
    log = tmp_path / "log.txt"
    proc = start(tmp_path, log)
    wait_for_done(log, 6, proc)  # the driver's two tasks, and at least one from a worker
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its cluster's processes, with no chance to clean up
    proc.wait()
    before = events(log)
    done_before = int((xr.open_zarr(tmp_path / "s.zarr", consolidated=False)["status"].values == st.DONE).sum())
    assert 6 <= done_before < CELLS
    code, cap = restart(tmp_path, log, dask_client, monkeypatch, capsys)
    assert code == 0, cap.err
    assert f"{CELLS} of {CELLS} runs done, 0 failed" in cap.out
    check_complete(tmp_path, log, before, done_before)


def test_ctrl_c_keeps_finished_points_and_exits_130(tmp_path, dask_client, monkeypatch, capsys):
    log = tmp_path / "log.txt"
    proc = start(tmp_path, log)
    wait_for_done(log, 6, proc)
    os.kill(proc.pid, signal.SIGINT)  # what Ctrl-C does to the driver
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.count("\n") == 1 and err.startswith("dyn: interrupted; finished runs are kept in s.zarr"), err
    assert group_ends(proc.pid)  # the local cluster's processes are gone too
    before = events(log)
    ds = xr.open_zarr(tmp_path / "s.zarr", consolidated=False)
    done = ds["status"].values == st.DONE
    assert np.isfinite(ds["final_loss_train"].values[done]).all()  # consistent: done cells have their data
    done_before = int(done.sum())
    assert done_before == sum(e == "done" for e, _ in before) and done_before < CELLS
    code, cap = restart(tmp_path, log, dask_client, monkeypatch, capsys)
    assert code == 0, cap.err
    check_complete(tmp_path, log, before, done_before)
