"""What a study must not do: lose a finished store to --force, run anything before the scheduler and the
spec are checked, print a traceback for a damaged store, or warn on every string sweep."""

import shutil
import warnings

import numpy as np
import pytest
import xarray as xr

from dyn.cli.app import main
from dyn.study import store as st
from dyn.study.run import run

BASE = 'flow = "relu"\nseeds = 1\n[fixed]\ntest_loss = "none"\n[sweep]\nframes = FRAMES\n'


def write(tmp_path, frames, name="s.toml"):
    (tmp_path / name).write_text(BASE.replace("FRAMES", frames))
    return tmp_path / name


def files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line(err, words):
    return err.count("\n") == 1 and err.startswith("dyn: error: ") and words in err


@pytest.fixture(scope="module")
def small_store(tmp_path_factory, dask_client):
    """A finished one-point study (computed in the driver)."""
    tmp = tmp_path_factory.mktemp("small")
    out = run(write(tmp, "[3]"), tmp / "s.zarr", client=dask_client, progress=False)
    assert out.done == 1
    return tmp / "s.zarr"


def test_force_keeps_the_old_store_until_the_new_template_is_complete(tmp_path, dask_client, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    addr = ["--scheduler", dask_client.scheduler.address, "-q"]
    write(tmp_path, "[3, 4]")
    assert main(["study", "run", "s.toml", *addr]) == 0
    before = files(tmp_path / "s.zarr")
    capsys.readouterr()
    # the new study's only point fails (the run refuses to record 200+ GiB): nothing to build a store from
    write(tmp_path, "[1000000000]")
    assert main(["study", "run", "s.toml", "--force", *addr]) == 1
    assert one_line(capsys.readouterr().err, "the first point failed")
    assert files(tmp_path / "s.zarr") == before
    # Ctrl-C while the driver computes the new study's first point
    write(tmp_path, "[5]")

    def interrupted(task):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr("dyn.study.run.run_task", interrupted)
        assert main(["study", "run", "s.toml", "--force", *addr]) == 130
    assert files(tmp_path / "s.zarr") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml", "s.zarr"]  # no temporary or old folder left
    # once the new template is complete it replaces the old store
    assert main(["study", "run", "s.toml", "--force", *addr]) == 0
    assert st.stored_spec("s.zarr").sweep == {"frames": [5]}
    assert (xr.open_zarr("s.zarr", consolidated=False)["status"].values == st.DONE).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml", "s.zarr"]


@pytest.mark.parametrize("address, code, words", [
    ("notanaddress", 2, "--scheduler 'notanaddress' is not a dask scheduler address"),
    ("tcp://127.0.0.1:port", 2, "is not a dask scheduler address"),
    ("tcp://127.0.0.1:1", 1, "cannot reach the dask scheduler at tcp://127.0.0.1:1"),
])
def test_a_bad_scheduler_is_one_line_before_anything_runs(tmp_path, monkeypatch, capsys, address, code, words):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("dyn.study.cluster.CONNECT_TIMEOUT", "0.5s")
    log = tmp_path / "log"
    monkeypatch.setenv("DYN_STUDY_LOG", str(log))
    write(tmp_path, "[3, 4]")
    assert main(["study", "run", "s.toml", "--scheduler", address, "-q"]) == code
    err = capsys.readouterr().err
    assert one_line(err, words), err
    assert not log.exists() and not (tmp_path / "s.zarr").exists()  # no task ran, no store was created


def test_plot_and_status_of_a_missing_or_damaged_store_are_one_line(small_store, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(small_store, "meta.zarr")
    (tmp_path / "meta.zarr" / "final_loss_train" / "zarr.json").write_text("{not json")
    shutil.copytree(small_store, "nostatus.zarr")
    shutil.rmtree(tmp_path / "nostatus.zarr" / "status")
    shutil.copytree(small_store, "chunk.zarr")
    (tmp_path / "chunk.zarr" / "status" / "c" / "0" / "0").write_bytes(b"not a zstd frame")
    for argv, code, words in ((["study", "plot", "nosuch.zarr"], 2, "no such study store: nosuch.zarr"),
                              (["study", "status", "nosuch.zarr"], 2, "no such study store: nosuch.zarr"),
                              (["study", "plot", "meta.zarr"], 1, "meta.zarr is not a readable dyn study store"),
                              (["study", "plot", "nostatus.zarr"], 1, "nostatus.zarr is not a readable dyn study"),
                              (["study", "status", "nostatus.zarr"], 1, "nostatus.zarr is not a readable dyn study"),
                              (["study", "plot", "chunk.zarr"], 1, "chunk.zarr: cannot read status")):
        assert main(argv) == code, argv
        err = capsys.readouterr().err
        assert one_line(err, words), err
    assert not list(tmp_path.glob("*.png"))
    assert main(["study", "plot", str(small_store), "-o", "ok.png"]) == 2  # the spec asks for no figure
    assert "asks for no figure" in capsys.readouterr().err


def test_swept_strings_are_stored_without_zarr_warnings(tmp_path, dask_client):
    from zarr.errors import UnstableSpecificationWarning

    (tmp_path / "u.toml").write_text('flow = "sphere"\nseeds = 1\n[fixed]\nsteps = 20\n'
                                     '[sweep]\nupdate = ["projected", "riemannian"]\n[keep]\nmetrics = ["final_loss"]\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnstableSpecificationWarning)
        out = run(tmp_path / "u.toml", tmp_path / "u.zarr", client=dask_client, progress=False)
        ds = xr.open_zarr(tmp_path / "u.zarr", consolidated=False)
        assert out.done == 2 and list(ds["update"].values) == ["projected", "riemannian"]
        assert np.isfinite(float(ds["final_loss"].sel(update="riemannian", seed=0)))


def test_ctrl_c_during_the_drivers_writes_takes_effect_after_them():
    """A region is written, marked and logged whole: SIGINT inside the block is raised at its end."""
    import os
    import signal

    from dyn.study.run import _sigint_deferred

    steps = []
    with pytest.raises(KeyboardInterrupt):
        with _sigint_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("marked")
            steps.append("logged")
    assert steps == ["marked", "logged"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
