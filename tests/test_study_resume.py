"""A study killed (SIGKILL of its process group) or interrupted (SIGINT) mid-way, then restarted."""

import os
import signal
from collections import Counter

import numpy as np
import xarray as xr

from dyn.cli.app import main
from dyn.study import store as st
from study_procs import SLOW_CELLS, events, group_ends, start, wait_for_done

CELLS = SLOW_CELLS


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
