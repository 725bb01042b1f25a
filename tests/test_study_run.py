"""Studies end to end on the shared LocalCluster: the store, identities with dyn.simulate, failures,
divergence, a changed spec, trajectories, status and plot."""

import json
import os
import sys

import numpy as np
import pytest
import xarray as xr

import dyn
from dyn.cli.app import main
from dyn.study import store as st
from dyn.study.point import run_task
from dyn.study.run import Study, run

SPEC = """flow = "relu"
seeds = 2
[fixed]
frames = 12
test_loss = "exact"
[sweep]
radius = [0.05, 1.0]
lr = [0.5, 1e4]
[[figure]]
kind = "heatmap"
metric = "final_loss_test"
x = "radius"
y = "lr"
[[figure]]
kind = "bands"
metric = "final_loss_test"
x = "radius"
hue = "lr"
"""


def write(tmp_path, text, name="s.toml"):
    (tmp_path / name).write_text(text)
    return tmp_path / name


@pytest.fixture(scope="module")
def study_2x2x2(tmp_path_factory, dask_client):
    """The 2 x 2 x 2 study, once with the seeds of a point as replicas, once with a task per seed."""
    tmp = tmp_path_factory.mktemp("study")
    spec = write(tmp, SPEC)
    out = run(spec, tmp / "a.zarr", client=dask_client, progress=False)
    per_seed = run(spec, tmp / "b.zarr", client=dask_client, progress=False, batch_seeds=False)
    return tmp, out, per_seed


def test_every_point_done_and_equal_to_single_runs(study_2x2x2):
    tmp, out, _ = study_2x2x2
    assert (out.runs, out.done, out.failed, out.pending) == (8, 8, 0, 0)
    ds = xr.open_zarr(tmp / "a.zarr", consolidated=False)
    assert list(ds["final_loss_test"].dims) == ["radius", "lr", "seed"]
    assert (ds["status"].values == st.DONE).all() and (ds["error"].values == "").all()
    for radius in (0.05, 1.0):
        for seed in (0, 1):  # replica r of the point's task is the single run with seed s + r
            one = dyn.simulate("relu", frames=12, test_loss="exact", radius=radius, lr=0.5, seed=seed)
            cell = ds.sel(radius=radius, lr=0.5, seed=seed)
            assert float(cell["final_loss_test"]) == float(one["loss_test"][-1])
            assert float(cell["final_loss_train"]) == float(one["loss_train"][-1])
    spec = json.loads(ds.attrs["spec"])
    assert spec["sweep"] == [["radius", [0.05, 1.0]], ["lr", [0.5, 1e4]]] and ds.attrs["flow"] == "relu"
    assert ds["final_loss_test"].encoding["chunks"] == (1, 1, 1)  # one cell a chunk: concurrent writers
    assert ds["status"].encoding["chunks"] == (1, 2, 2)  # written by the driver alone: one chunk per radius


def test_seeds_as_replicas_equal_one_task_per_seed(study_2x2x2):
    tmp, out, per_seed = study_2x2x2
    assert per_seed.done == 8 and per_seed.computed == 8 and out.computed == 4
    a = xr.open_zarr(tmp / "a.zarr", consolidated=False)
    b = xr.open_zarr(tmp / "b.zarr", consolidated=False)
    for name in ("final_loss_test", "final_loss_train", "convergence_step", "diverged_at"):
        np.testing.assert_array_equal(a[name].values, b[name].values)


def test_a_diverged_run_is_done_with_its_step(study_2x2x2):
    tmp, _, _ = study_2x2x2
    ds = xr.open_zarr(tmp / "a.zarr", consolidated=False)
    wild = ds.sel(lr=1e4)
    assert (wild["status"].values == st.DONE).all()
    assert (wild["diverged_at"].values > 0).all()
    assert (ds.sel(lr=0.5)["diverged_at"].values == -1).all()


def test_rerun_computes_nothing_and_status_plot_cli(study_2x2x2, dask_client, capsys, monkeypatch):
    tmp, _, _ = study_2x2x2
    again = run(tmp / "s.toml", tmp / "a.zarr", client=dask_client, progress=False)
    assert again.computed == 0 and again.done == 8
    monkeypatch.chdir(tmp)
    assert main(["study", "status", "a.zarr"]) == 0
    out = capsys.readouterr().out
    assert "8 done, 0 pending, 0 failed (of 8); points: 4 of 4 done" in out
    assert main(["study", "plot", "a.zarr", "-o", "a.png"]) == 0
    assert (tmp / "a.png").read_bytes()[:4] == b"\x89PNG"


def test_a_failing_point_is_recorded_and_the_rest_complete(tmp_path, dask_client, capsys, monkeypatch):
    # frames = 1e9 passes validation but the run refuses to record 200+ GiB (a RunError in the task);
    # the failing points are in the middle of the grid, so they run on the workers, not in the driver
    spec = write(tmp_path, 'flow = "relu"\nseeds = 2\n[fixed]\ntest_loss = "none"\n'
                           '[sweep]\nframes = [3, 1000000000, 4]\nwidth = [4, 8]\n')
    monkeypatch.chdir(tmp_path)
    code = main(["study", "run", "s.toml", "--scheduler", dask_client.scheduler.address, "-q"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "dyn: error: 4 runs failed" in err and err.count("\n") == 1
    ds = xr.open_zarr(tmp_path / "s.zarr", consolidated=False)
    status = ds["status"].values
    assert (status[1] == st.FAILED).all() and (status[[0, 2]] == st.DONE).all()
    assert all(e.startswith("RunError: the run would record") for e in ds["error"].values[1].ravel())
    assert np.isfinite(ds["final_loss_train"].values[[0, 2]]).all()
    assert main(["study", "status", "s.zarr"]) == 0
    out = capsys.readouterr().out
    assert "8 done, 0 pending, 4 failed (of 12); points: 4 of 6 done" in out
    assert "RunError: the run would record" in out and "(first at frames=1000000000, width=" in out
    # without --retry-failed a restart leaves them; with it they are tried again (and fail again)
    assert run(spec, tmp_path / "s.zarr", client=dask_client, progress=False).computed == 0
    assert run(spec, tmp_path / "s.zarr", client=dask_client, progress=False, retry_failed=True).computed == 2


def test_a_changed_spec_is_refused_unless_forced(tmp_path, dask_client, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = 'flow = "relu"\nseeds = 1\n[fixed]\nframes = 3\ntest_loss = "none"\n[sweep]\nwidth = [4, 5]\n'
    write(tmp_path, base)
    addr = ["--scheduler", dask_client.scheduler.address, "-q"]
    assert main(["study", "run", "s.toml", *addr]) == 0
    capsys.readouterr()
    write(tmp_path, base.replace("[4, 5]", "[4, 6]"))
    assert main(["study", "run", "s.toml", *addr]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds a study with a different sweep" in err and "--force" in err
    assert st.stored_spec("s.zarr").sweep == {"width": [4, 5]}  # untouched
    # more workers or another figure is the same study
    write(tmp_path, base + '[[figure]]\nkind = "bands"\nmetric = "final_loss_train"\nx = "width"\n')
    assert main(["study", "run", "s.toml", *addr]) == 0
    assert st.stored_spec("s.zarr").figures[0]["kind"] == "bands"
    write(tmp_path, base.replace("[4, 5]", "[4, 6]"))
    assert main(["study", "run", "s.toml", "--force", *addr]) == 0
    assert st.stored_spec("s.zarr").sweep == {"width": [4, 6]}


def test_trajectories_kept_when_the_shape_allows(tmp_path, dask_client):
    text = ('flow = "relu"\nseeds = 2\n[fixed]\nframes = 6\ntest_loss = "exact"\n[sweep]\nwidth = [4, 8]\n'
            '[keep]\nmetrics = ["final_loss_test"]\ntrajectories = TRAJ\n')
    with pytest.raises(dyn.UsageError, match=r"sweeping width changes the shape of a run \(neuron: 4 at width=4, "
                                             r"8 at width=8\)"):
        run(write(tmp_path, text.replace("TRAJ", "true")), tmp_path / "t.zarr", client=dask_client)
    assert not (tmp_path / "t.zarr").exists()
    with pytest.raises(dyn.UsageError, match="changes the shape of a run .time: 5"):
        run(write(tmp_path, text.replace("TRAJ", '["loss_test"]').replace("width = [4, 8]", "frames = [4, 5]")
                  .replace("frames = 6\n", "")), tmp_path / "t.zarr", client=dask_client)
    ds = dyn.study(write(tmp_path, text.replace("TRAJ", '["loss_test", "loss_train"]')), tmp_path / "t.zarr",
                   client=dask_client)
    assert sorted(ds.data_vars) == ["diverged_at", "error", "final_loss_test", "loss_test", "loss_train",
                                    "samples_seen", "status", "step"]
    assert ds["loss_test"].dims == ("width", "seed", "time") and ds.sizes["time"] == 7
    one = dyn.simulate("relu", frames=6, test_loss="exact", width=8, seed=1)
    np.testing.assert_array_equal(ds["loss_test"].sel(width=8, seed=1).values, one["loss_test"].values)
    np.testing.assert_array_equal(ds["step"].sel(width=8, seed=1).values, one["step"].values)
    assert ds["loss_test"].attrs["description"].startswith("population loss")
    with pytest.raises(dyn.UsageError, match="keep.metrics: flow 'relu' has no metric 'nope'"):
        run(write(tmp_path, text.replace("TRAJ", "false").replace("final_loss_test", "nope")), tmp_path / "u.zarr",
            client=dask_client)
    assert not (tmp_path / "u.zarr").exists()


def die_at_width_5(task):
    """A task function whose worker process dies (as after a segfault) at width 5."""
    if task["options"]["width"] == 5:
        os._exit(3)
    return run_task(task)


def test_a_dying_worker_fails_its_point_only_and_driver_writes_when_asked(tmp_path, dask_client):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import the tests
    spec = write(tmp_path, 'flow = "relu"\nseeds = 2\n[fixed]\nframes = 4\ntest_loss = "none"\n'
                           '[sweep]\nwidth = [3, 4, 5, 6, 7]\n')
    study = Study(spec, tmp_path / "s.zarr", progress=False)
    study.task_function = staticmethod(die_at_width_5)
    study.workers_write = False
    try:
        out = study.run(client=dask_client)
    finally:
        dask_client.wait_for_workers(2, timeout=60)
    assert (out.done, out.failed) == (8, 2), xr.open_zarr(tmp_path / "s.zarr", consolidated=False)["error"].values
    ds = xr.open_zarr(tmp_path / "s.zarr", consolidated=False)
    assert list(ds["status"].values[:, 0]) == [st.DONE, st.DONE, st.FAILED, st.DONE, st.DONE]
    assert ds["error"].values[2, 0].startswith("KilledWorker")
    one = dyn.simulate("relu", frames=4, test_loss="none", width=4, seed=1)
    assert float(ds["final_loss_train"].sel(width=4, seed=1)) == float(one["loss_train"][-1])


def test_status_and_plot_errors_are_one_line(study_2x2x2, tmp_path, monkeypatch, capsys):
    study_dir, _, _ = study_2x2x2
    monkeypatch.chdir(tmp_path)
    (tmp_path / "other.zarr").mkdir()
    (tmp_path / "other.zarr" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group", "attributes": {}}')
    for argv, code, words in ((["study", "status", "missing.zarr"], 2, "no such study store"),
                              (["study", "status", "other.zarr"], 1, "is not a dyn study store"),
                              (["study", "plot", str(study_dir / "a.zarr"), "-o", "a.txt"], 2, "use .png, .svg or .pdf"),
                              (["study", "run", str(study_dir / "s.toml"), "-o", "other.zarr"], 1,
                               "is not a dyn study store")):
        assert main(argv) == code
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("dyn: error: ") and words in err, err
