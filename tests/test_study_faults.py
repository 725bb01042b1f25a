"""Studies under faults (issue 14): an interrupted --force, two runs on one store, damaged chunks, a full
disk, sizes beyond the machine, a scheduler without workers, what listens on the network, TLS, what a
task carries, and the data files a spec may read."""

import errno
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import xarray as xr
import zarr

import dyn
from dyn.cli.app import main
from dyn.study import store as st
from dyn.study.run import _task
from dyn.study.spec import load_spec
from study_procs import SLOW_CELLS, SLOW_SPEC, events, files, group_ends, start, wait_for_done

QUICK = 'flow = "relu"\nseeds = SEEDS\n[fixed]\ntest_loss = "none"\n[sweep]\nSWEEP\n'


def quick(path, sweep="width = [4, 5]", seeds=1):
    path.write_text(QUICK.replace("SEEDS", str(seeds)).replace("SWEEP", sweep))
    return path


def one_line(err, words):
    return err.count("\n") == 1 and err.startswith("dyn: error: ") and "Traceback" not in err and words in err


@pytest.fixture
def addr(dask_client):
    return ["--scheduler", dask_client.scheduler.address, "-q"]


# -- 1. --force --------------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_forced_run_leaves_the_old_study_whole_and_status_names_both(tmp_path, addr, monkeypatch,
                                                                                   capsys, sig):
    monkeypatch.chdir(tmp_path)
    quick(tmp_path / "k.toml", "frames = [3, 4]")
    assert main(["study", "run", "k.toml", "-o", "s.zarr", *addr]) == 0
    before = files(tmp_path / "s.zarr")
    log = tmp_path / "log.txt"
    proc = start(tmp_path, log, "-o", "s.zarr", "--force", "--workers", "1", spec="k2.toml")
    wait_for_done(log, 6, proc)  # the driver's two tasks and one of the worker's: the new store exists
    if sig == signal.SIGKILL:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    else:
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert err == ("dyn: interrupted; the new study's finished runs are kept in s.zarr.new and s.zarr still "
                       "holds the old study: run the same command to resume\n")
    assert group_ends(proc.pid)
    assert files(tmp_path / "s.zarr") == before  # the old study, byte for byte
    capsys.readouterr()
    assert main(["study", "status", "s.zarr"]) == 0
    out = capsys.readouterr().out
    assert "s.zarr: relu study 'k', frames=2 x seed=1" in out and "2 done, 0 pending" in out
    assert "replacement under way (--force): s.zarr.new holds the relu study 'k2'" in out
    done_before = int((xr.open_zarr("s.zarr.new", consolidated=False)["status"].values == st.DONE).sum())
    assert 6 <= done_before < SLOW_CELLS
    # the forced command again: it resumes the new study (computing only what is missing), then swaps it in
    n = len(events(log))
    monkeypatch.setenv("DYN_STUDY_LOG", str(log))
    assert main(["study", "run", "k2.toml", "-o", "s.zarr", "--force", *addr]) == 0
    assert len([e for e, _ in events(log)[n:] if e == "compute"]) == SLOW_CELLS - done_before
    assert st.stored_spec("s.zarr").sweep == {"width": [4, 6, 8, 10], "radius": [0.05, 0.5]}
    assert (xr.open_zarr("s.zarr", consolidated=False)["status"].values == st.DONE).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.toml", "k2.toml", "log.txt", "s.zarr"]


def test_a_swap_cut_between_its_two_renames_is_finished_by_the_next_run(tmp_path, addr, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    quick(tmp_path / "k.toml", "frames = [3, 4]")
    quick(tmp_path / "k2.toml", "frames = [5, 6]")
    assert main(["study", "run", "k.toml", "-o", "s.zarr", *addr]) == 0
    assert main(["study", "run", "k2.toml", "-o", "n.zarr", *addr]) == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    os.rename("s.zarr", f".s.zarr.old-{int(dead.stdout)}")  # the swap's first rename, by a process now gone
    os.rename("n.zarr", "s.zarr.new")  # the forced run's complete study, not yet renamed
    new = files(tmp_path / "s.zarr.new")
    assert main(["study", "run", "k2.toml", "-o", "s.zarr", *addr]) == 0
    assert "2 of 2 runs done" in capsys.readouterr().out
    assert files(tmp_path / "s.zarr") == new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.toml", "k2.toml", "s.zarr"]


# -- 2. the lock ---------------------------------------------------------------------------------------

def test_a_second_run_on_a_store_in_use_is_refused_and_a_dead_holders_lock_is_taken_over(tmp_path, addr,
                                                                                         monkeypatch, capsys):
    log = tmp_path / "log.txt"
    proc = start(tmp_path, log, "--workers", "1")
    try:
        wait_for_done(log, 4, proc)  # the store exists: its first cells are marked
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DYN_STUDY_LOG", str(tmp_path / "second.txt"))
        capsys.readouterr()
        holder = f"s.zarr is in use by another dyn study run (pid {proc.pid} on {socket.gethostname()}"
        (tmp_path / "other.toml").write_text(SLOW_SPEC.replace("[4, 6, 8, 10]", "[4, 6]"))
        for argv in (["s.toml"], ["other.toml", "-o", "s.zarr", "--force"]):  # resuming, or replacing it
            assert main(["study", "run", *argv, *addr]) == 1
            err = capsys.readouterr().err
            assert one_line(err, holder), err
        assert not (tmp_path / "second.txt").exists()  # the refused runs computed nothing
        assert main(["study", "status", "s.zarr"]) == 0
        assert f"running now: pid {proc.pid} on {socket.gethostname()}" in capsys.readouterr().out
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the holder dies without releasing anything
        proc.wait()
    assert group_ends(proc.pid)
    assert (tmp_path / "s.zarr" / "status" / "dyn.lock").exists()
    assert main(["study", "run", "s.toml", *addr]) == 0  # its lock is taken over
    assert f"{SLOW_CELLS} of {SLOW_CELLS} runs done" in capsys.readouterr().out
    assert not (tmp_path / "s.zarr" / "status" / "dyn.lock").exists()  # released at the end


# -- 7. checksums ----------------------------------------------------------------------------------------

def chunk(store, name, *cell):
    return store / name / "c" / "/".join(map(str, cell))


def test_damaged_emptied_and_deleted_chunks_go_back_to_pending_and_only_they_are_recomputed(tmp_path, addr,
                                                                                           monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    quick(tmp_path / "s.toml", seeds=2)
    assert main(["study", "run", "s.toml", *addr]) == 0
    store = tmp_path / "s.zarr"
    ds = xr.open_zarr(store, consolidated=False)
    names = [k for k in ds.data_vars if k not in ("status", "error")]
    before = {k: ds[k].values.copy() for k in names}
    for name in names + ["status", "error"]:
        assert "crc32c" in [c.to_dict()["name"] for c in zarr.open_array(store / name).metadata.codecs]
    flipped = bytearray(chunk(store, "final_loss_train", 0, 0).read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    chunk(store, "final_loss_train", 0, 0).write_bytes(bytes(flipped))
    chunk(store, "diverged_at", 0, 1).write_bytes(b"")
    chunk(store, "final_loss_test", 1, 1).unlink()  # would read as NaN, like a cell never computed
    with pytest.raises(ValueError, match="checksum"):
        zarr.open_array(store / "final_loss_train")[0, 0]
    capsys.readouterr()
    assert main(["study", "status", "s.zarr"]) == 0
    out = capsys.readouterr().out
    assert "runs: 1 done, 3 pending, 0 failed (of 4)" in out
    assert ("damaged: 3 done runs had a missing, empty or damaged chunk: width=4, seed=0 (final_loss_train: chunk "
            "damaged (crc32c mismatch)); width=4, seed=1 (diverged_at: chunk empty); width=5, seed=1 "
            "(final_loss_test: chunk missing); marked pending: dyn study run recomputes them") in out
    ds = xr.open_zarr(store, consolidated=False).load()  # the damaged bytes are gone: the store reads
    assert ds["error"].values[0, 0] == "recomputed: final_loss_train: chunk damaged (crc32c mismatch)"
    log = tmp_path / "log.txt"
    monkeypatch.setenv("DYN_STUDY_LOG", str(log))
    assert main(["study", "run", "s.toml", *addr]) == 0
    computed = sorted(cell for e, cell in events(log) if e == "compute")
    assert computed == [(("width", 0), ("seed", 0)), (("width", 0), ("seed", 1)), (("width", 1), ("seed", 1))]
    ds = xr.open_zarr(store, consolidated=False)
    for k in names:
        np.testing.assert_array_equal(ds[k].values, before[k])
    assert (ds["error"].values == "").all()
    # the run checks small stores too: a chunk damaged now is recomputed by the next run, which says so
    chunk(store, "final_loss_train", 1, 0).write_bytes(b"\0" * 20)
    capsys.readouterr()
    assert main(["study", "run", "s.toml", *addr]) == 0
    err = capsys.readouterr().err
    assert "dyn: s.zarr: damaged: 1 done runs had a missing, empty or damaged chunk: width=5, seed=0" in err
    assert [cell for e, cell in events(log) if e == "compute"][3:] == [(("width", 1), ("seed", 0))]
    np.testing.assert_array_equal(xr.open_zarr(store, consolidated=False)["final_loss_train"].values,
                                  before["final_loss_train"])


def test_large_stores_are_checked_with_verify(tmp_path, addr, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("dyn.study.verify.AUTO_CHUNKS", 4)
    quick(tmp_path / "s.toml", seeds=2)
    assert main(["study", "run", "s.toml", *addr]) == 0
    chunk(tmp_path / "s.zarr", "final_loss_train", 1, 1).write_bytes(b"garbage!")
    capsys.readouterr()
    assert main(["study", "status", "s.zarr"]) == 0
    out = capsys.readouterr().out
    assert "4 done, 0 pending" in out and "checksums: 16 chunks not checked: --verify reads them all" in out
    assert main(["study", "status", "s.zarr", "--verify"]) == 0
    out = capsys.readouterr().out
    assert "3 done, 1 pending" in out and "width=5, seed=1 (final_loss_train: chunk damaged (crc32c mismatch))" in out
    assert main(["study", "status", "s.zarr", "--verify"]) == 0
    assert "checksums: 12 chunks of the done runs checked, all intact" in capsys.readouterr().out


def test_a_study_opens_with_plain_open_zarr_and_keeps_diverged_at_as_int(tmp_path, addr, monkeypatch):
    monkeypatch.chdir(tmp_path)
    quick(tmp_path / "s.toml", "frames = [3, 1000000000]")  # the second point fails: the run refuses 200+ GiB
    assert main(["study", "run", "s.toml", *addr]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "consolidated metadata" warning
        ds = xr.open_zarr(tmp_path / "s.zarr")
        assert ds["diverged_at"].dtype == np.int64
        assert list(ds["diverged_at"].values[:, 0]) == [-1, -2]  # did not diverge; not computed (failed)
        assert "-2 where the run is not computed" in ds["diverged_at"].attrs["description"]


# -- 8. a full disk ------------------------------------------------------------------------------------------

def full_disk(monkeypatch, where):
    """Every zarr write to a path containing ``where`` fails as on a full disk."""
    import zarr.storage._local as local

    real = local._put

    def put(path, value, exclusive=False):
        if where in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, value, exclusive)

    monkeypatch.setattr(local, "_put", put)


def test_a_full_disk_is_one_line_and_damages_nothing(tmp_path, addr, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    quick(tmp_path / "s.toml", "frames = [3, 4]")
    quick(tmp_path / "t.toml", "frames = [3, 4, 5]")
    assert main(["study", "run", "t.toml", *addr]) == 0
    done = files(tmp_path / "t.zarr")
    capsys.readouterr()
    with monkeypatch.context() as m:
        full_disk(m, "/status/c/")  # the driver's status write of a new study
        assert main(["study", "run", "s.toml", *addr]) == 1
        err = capsys.readouterr().err
        assert one_line(err, "cannot write s.zarr: No space left on device; the runs marked done are kept"), err
        full_disk(m, ".zarr")  # any write: a forced run into t.zarr cannot write its new study beside it...
        assert main(["study", "run", "s.toml", "-o", "t.zarr", "--force", *addr]) == 1
        assert one_line(capsys.readouterr().err, "No space left on device")
        full_disk(m, "u.zarr")  # ...nor a new study write its template
        assert main(["study", "run", "s.toml", "-o", "u.zarr", *addr]) == 1
        assert one_line(capsys.readouterr().err, "cannot write u.zarr: No space left on device")
    assert files(tmp_path / "t.zarr") == done
    assert not list(tmp_path.rglob("*.partial")) and not (tmp_path / "u.zarr").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml", "s.zarr", "t.toml", "t.zarr"]
    assert (xr.open_zarr("s.zarr", consolidated=False)["status"].values == st.PENDING).all()
    assert main(["study", "run", "s.toml", *addr]) == 0  # space again: the study completes
    assert "2 of 2 runs done" in capsys.readouterr().out


# -- 10. sizes -------------------------------------------------------------------------------------------

def no_cluster(*args, **kwargs):
    raise AssertionError("a LocalCluster was started")


def test_workers_are_bounded_by_the_cores_unless_oversubscribed_and_then_by_memory(tmp_path, monkeypatch, capsys):
    import distributed

    from dyn.study.cluster import cores

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(distributed, "LocalCluster", no_cluster)
    monkeypatch.setenv("DYN_STUDY_LOG", str(tmp_path / "log.txt"))
    quick(tmp_path / "s.toml", "frames = [3, 4, 5]")
    assert main(["study", "run", "s.toml", "--workers", "100000", "-q"]) == 2
    err = capsys.readouterr().err
    assert one_line(err, f"--workers 100000 is more than the {cores()} cores this machine gives dyn: use at most "
                         f"{cores()}, or --oversubscribe"), err
    assert main(["study", "run", "s.toml", "--workers", "100000", "--oversubscribe", "-q"]) == 1
    err = capsys.readouterr().err
    assert one_line(err, "--workers 100000: their processes would need about 29,296.9 GiB but"), err
    assert not (tmp_path / "log.txt").exists() and not (tmp_path / "s.zarr").exists()  # before anything ran


def test_a_sweep_of_ten_million_points_is_refused_before_it_is_expanded(tmp_path):
    (tmp_path / "big.toml").write_text('flow = "relu"\nseeds = 10\n[fixed]\ntest_loss = "none"\n[sweep]\n'
                                       'width = {range = [1, 10001, 1]}\nradius = {logspace = [-3, 0, 1000]}\n')
    code = ("import sys\nimport dyn.engine.steps as steps\nsteps.free_memory = lambda: 16 * 2**30\n"
            "from dyn.cli.app import main\nsys.exit(main(['study', 'run', 'big.toml', '-q']))\n")

    def small_address_space():  # on a version that expands the grid, MemoryError instead of the machine's memory
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))

    t = time.time()
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          preexec_fn=small_address_space)
    assert proc.returncode == 1, proc.stderr
    assert one_line(proc.stderr, "the study has 100,000,000 runs in 10,000,000 tasks: the driver would hold about "
                                 "79.3 GiB for them but 16.0 GiB of memory is free"), proc.stderr
    assert time.time() - t < 60 and not (tmp_path / "big.zarr").exists()


# -- 11. a scheduler without workers ----------------------------------------------------------------------

def test_a_scheduler_without_workers_is_waited_for_visibly_then_one_line(tmp_path):
    from distributed import LocalCluster

    quick(tmp_path / "s.toml", "frames = [3, 4, 5]")  # the middle point goes to the (absent) workers
    with LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:
        address = cluster.scheduler_address
        proc = subprocess.run([sys.executable, "-m", "dyn.cli", "study", "run", "s.toml", "--scheduler", address,
                               "--worker-timeout", "2", "-q"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=180)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 1, proc.stderr
    assert lines[:-1] == [f"dyn: waiting for workers: the scheduler at {address} has none yet (giving up after "
                          f"2 s, see --worker-timeout)"], proc.stderr
    assert lines[-1] == (f"dyn: error: no dask worker joined the scheduler at {address} within 2 s: start workers "
                         f"(dask worker {address}) or wait longer (--worker-timeout)")


# -- 13. what listens ----------------------------------------------------------------------------------------

def listening():
    """(ip, port) of every listening socket of this process and its children."""
    import psutil

    me = psutil.Process()
    out = set()
    for proc in [me] + me.children(recursive=True):
        try:
            out |= {(c.laddr.ip, c.laddr.port) for c in proc.net_connections("inet") if c.status == psutil.CONN_LISTEN}
        except psutil.Error:
            pass
    return out


def test_the_local_cluster_listens_on_loopback_only_and_serves_its_dashboard_when_asked(tmp_path, monkeypatch,
                                                                                       capsys):
    import distributed

    seen, real, before = [], distributed.LocalCluster, listening()

    class Recording(real):  # what the study's own cluster listens on, once it has started
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.append(listening() - before)

    monkeypatch.setattr(distributed, "LocalCluster", Recording)
    monkeypatch.chdir(tmp_path)
    quick(tmp_path / "s.toml", "frames = [3, 4, 5]")
    assert main(["study", "run", "s.toml", "-o", "a.zarr", "--workers", "1", "-q"]) == 0
    assert "dashboard" not in capsys.readouterr().err  # off unless asked
    assert seen[0] and {ip for ip, _ in seen[0]} == {"127.0.0.1"}, seen
    assert main(["study", "run", "s.toml", "-o", "b.zarr", "--workers", "1", "--dashboard", "-q"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("dyn: dask dashboard at http://127.0.0.1:"), err  # and then said where
    assert {ip for ip, _ in seen[1]} == {"127.0.0.1"}, seen
    port = int(err.split("http://127.0.0.1:")[1].split("/")[0])
    assert ("127.0.0.1", port) in seen[-1]


# -- 14. TLS, and what a task carries ------------------------------------------------------------------------

def certificates(folder):
    """A CA and a certificate it signed (for the scheduler, the worker and the client alike)."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=dyn test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "node.pem", "-days", "2")
    return folder / "ca.pem", folder / "node.pem", folder / "node.key"


def test_a_tls_scheduler_takes_dask_security_files(tmp_path, monkeypatch, capsys):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the test's certificates")
    from distributed import LocalCluster
    from distributed.security import Security

    ca, cert, key = certificates(tmp_path)
    sec = Security(tls_ca_file=str(ca), tls_scheduler_cert=str(cert), tls_scheduler_key=str(key),
                   tls_worker_cert=str(cert), tls_worker_key=str(key), tls_client_cert=str(cert),
                   tls_client_key=str(key), require_encryption=True)
    monkeypatch.chdir(tmp_path)
    quick(tmp_path / "s.toml", "frames = [3, 4, 5]", seeds=2)
    tls = ["--tls-ca", "ca.pem", "--tls-cert", "node.pem", "--tls-key", "node.key"]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tls://", host="127.0.0.1",
                      security=sec, dashboard_address="127.0.0.1:0") as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        for argv, words in ((["--scheduler", address], "a tls:// scheduler needs --tls-ca, --tls-cert and --tls-key"),
                            (["--scheduler", "tcp://127.0.0.1:1", *tls], "need a tls:// scheduler address"),
                            (["--scheduler", address, *tls[:4], "--tls-key", "nosuch.key"],
                             "--tls-key: no such file: nosuch.key")):
            assert main(["study", "run", "s.toml", *argv, "-q"]) == 2
            err = capsys.readouterr().err
            assert one_line(err, words), err
        assert main(["study", "run", "s.toml", "--scheduler", address, *tls, "-q"]) == 0
    assert "6 of 6 runs done" in capsys.readouterr().out


def test_a_task_carries_its_point_and_nothing_more(tmp_path, monkeypatch):
    monkeypatch.delenv("DYN_STUDY_LOG", raising=False)
    quick(tmp_path / "s.toml", "width = [4, 5]\nlr = [0.1, 0.2]", seeds=3)
    spec = load_spec(tmp_path / "s.toml")
    region = {"width": (1, 2), "lr": (0, 1), "seed": (1, 3)}
    task = _task(spec, region, None)  # a worker that returns its cells
    assert task == {"flow": "relu", "region": region,
                    "options": {"test_loss": "none", "width": 5, "lr": 0.1, "seed": 1, "replicas": 2},
                    "keep": {"metrics": "all", "trajectories": False, "swept": ["width", "lr"]}}
    assert _task(spec, region, "/data/s.zarr") == {**task, "store": "/data/s.zarr"}  # one that writes them


# -- 15. data files ------------------------------------------------------------------------------------------

SOM = ('flow = "som"\nseeds = 1\n[fixed]\nrule = "online"\nrows = 2\ncols = 3\nsteps = 40\ndata = "DATA"\n'
       '[sweep]\nsigma = [0.5, 1.0]\n[keep]\nmetrics = ["final_quantization_error"]\n')


def test_data_files_are_read_beside_the_spec_and_only_there(tmp_path, addr, monkeypatch, capsys):
    specs, work = tmp_path / "specs", tmp_path / "work"
    specs.mkdir()
    work.mkdir()
    x = np.random.default_rng(0).random((30, 2))
    np.save(specs / "pts.npy", x)
    np.save(tmp_path / "outside.npy", x)
    (specs / "bad.csv").write_text("1,2\nTOPSECRET,3\n")
    os.symlink(tmp_path / "outside.npy", specs / "link.npy")
    monkeypatch.chdir(work)

    def spec(data, name="s"):
        (specs / f"{name}.toml").write_text(SOM.replace("DATA", data))
        return f"../specs/{name}.toml"

    # relative to the spec's folder, not to the working folder
    assert main(["study", "run", spec("pts.npy"), "-o", "a.zarr", *addr]) == 0
    one = dyn.simulate("som", rule="online", rows=2, cols=3, steps=40, data=x, sigma=1.0, seed=0)
    ds = xr.open_zarr("a.zarr")
    assert float(ds["final_quantization_error"].sel(sigma=1.0, seed=0)) == float(one["quantization_error"][-1])
    capsys.readouterr()
    for data in ("../outside.npy", str(tmp_path / "outside.npy"), "link.npy"):
        assert main(["study", "run", spec(data), "-o", "b.zarr", *addr]) == 2
        err = capsys.readouterr().err
        assert one_line(err, f"fixed.data = {data!r} is outside the spec's folder ../specs: put the file beside the "
                             f"spec, or allow it with --allow-outside-data"), err
    assert not (work / "b.zarr").exists()
    assert main(["study", "run", spec("../outside.npy"), "-o", "b.zarr", "--allow-outside-data", *addr]) == 0
    # a file that is not numbers: one line that says where, never what the file holds
    assert main(["study", "run", spec("bad.csv"), "-o", "c.zarr", *addr]) == 1
    err = capsys.readouterr().err
    assert one_line(err, "bad.csv as csv numbers (row 1, column 1)") and "TOPSECRET" not in err, err
    assert main(["simulate", "som", "--rule", "online", "--data", str(specs / "bad.csv"), "--no-gif", "-q"]) == 1
    err = capsys.readouterr().err
    assert one_line(err, "bad.csv as csv numbers (row 1, column 1)") and "TOPSECRET" not in err, err
