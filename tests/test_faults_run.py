"""Faults around a run (issue 14): signals in every phase, temporaries, damaged files, full disks,
hostile values and sizes. Signals and disks are exercised in a subprocess (a real signal sent to the
process, a real write failure from the kernel); the rest in-process through ``dyn.cli.main``.
"""

import errno
import os
import resource
import signal
import socket
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import dyn
import dyn.engine.runner
from conftest import one_line_error

SMALL = ["--width", "4", "--test-loss", "none", "-q"]


def dyn_process(cwd, argv, prelude="", preexec_fn=None, timeout=300):
    """Run ``dyn argv`` in a fresh Python process after ``prelude`` (code that injects a fault)."""
    code = f"{prelude}\nimport sys\nfrom dyn.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=preexec_fn)


def leftovers(folder, keep=("relu.nc",)):
    """Files in ``folder`` besides ``keep`` (temporaries are hidden files beside their target)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# --- item 3 and 12: outputs are checked before the run --------------------------------------------------


@pytest.mark.parametrize("argv, words", [
    (["simulate", "relu", "-o", "run.gif"], "must end in .nc"),
    (["simulate", "relu", "-o", "run.txt"], "must end in .nc"),
    (["simulate", "relu", "-o", "run.nc", "--gif", "run.nc"], "must end in .gif or .mp4"),
    (["simulate", "relu", "--gif", "anim.txt"], "must end in .gif or .mp4"),
    (["simulate", "relu", "-o", ""], "is a folder"),
    (["simulate", "relu", "-o", "."], "is a folder"),
    (["simulate", "relu", "-o", "out.nc"], "is a folder"),  # out.nc is a folder here
    (["simulate", "relu", "--gif", "anim.gif"], "is a folder"),  # so is anim.gif
    (["simulate", "sphere", "-o", "sphere.gif"], "must end in .nc"),
    (["simulate", "som", "-o", "som.gif"], "must end in .nc"),
])
def test_bad_outputs_are_refused_before_the_run(run_cli, tmp_path, monkeypatch, argv, words):
    (tmp_path / "out.nc").mkdir()
    (tmp_path / "anim.gif").mkdir()

    def must_not_run(*args, **kwargs):
        raise AssertionError("the run started before its outputs were checked")

    monkeypatch.setattr(dyn.engine.runner, "run", must_not_run)
    code, out, err = run_cli(*argv)
    assert code == 2 and one_line_error(err) and words in err, err
    assert leftovers(tmp_path, keep=("out.nc", "anim.gif")) == []


@pytest.mark.parametrize("argv, words", [
    (["animate", "relu.nc", "-o", "."], "is a folder"),
    (["plot", "relu.nc", "-o", "."], "is a folder"),
    (["animate", "relu.nc", "--xlim", "nan", "nan"], "xlim must be two finite numbers"),
    (["animate", "relu.nc", "--xlim", "-inf", "inf"], "xlim must be two finite numbers"),
    (["animate", "relu.nc", "--ylim", "1", "0"], "ylim must have LO < HI"),
])
def test_bad_render_options_are_one_line_before_reading(run_cli, tmp_path, argv, words):
    run_cli("simulate", "relu", "--frames", "2", "--no-gif", *SMALL)
    code, out, err = run_cli(*argv)
    assert code == 2 and one_line_error(err) and words in err, err
    assert leftovers(tmp_path) == []


# --- item 4: signals in every phase ---------------------------------------------------------------------

DURING_RUN = """
import os, signal
from dyn.flows.relu import job
_advance, _calls = job.ReluJob.advance, []
def advance(self, lo, hi, inputs):
    _advance(self, lo, hi, inputs)
    _calls.append(hi)
    if len(_calls) == 3:
        os.kill(os.getpid(), signal.{sig})
job.ReluJob.advance = advance
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_during_the_run_keeps_the_frames_and_exits_130(run_cli, tmp_path, sig):
    p = dyn_process(tmp_path, ["simulate", "relu", "--frames", "400", "--no-gif", *SMALL],
                    DURING_RUN.format(sig=sig))
    assert p.returncode == 130, p.stderr
    assert p.stdout.startswith("interrupted at step") and p.stderr == "", (p.stdout, p.stderr)
    ds = dyn.load(tmp_path / "relu.nc")
    assert ds.attrs["status"] == f"interrupted at step {int(ds.step[-1])}" and ds.attrs["signal"] == sig
    assert 3 < ds.sizes["time"] < 401 and np.isfinite(ds.w).all()
    assert leftovers(tmp_path) == []
    code, out, err = run_cli("simulate", "relu", "--from", "relu.nc", "--frames", "2", "-o", "more.nc", "--no-gif", "-q")
    more = dyn.load(tmp_path / "more.nc")  # continued to completion: the signal no longer describes the file
    assert code == 0 and more.attrs["status"] == "completed" and "signal" not in more.attrs


DURING_TEST_LOSS = """
import os, signal
from dyn.flows.relu import population
_loss = population.population_loss
def population_loss(*args):
    os.kill(os.getpid(), signal.{sig})
    return _loss(*args)
population.population_loss = population_loss
"""


@pytest.mark.parametrize("sig", ["SIGINT"])  # SIGTERM and SIGHUP take the same path (KeyboardInterrupt)
def test_a_signal_during_the_test_loss_keeps_every_frame(tmp_path, sig):
    p = dyn_process(tmp_path, ["simulate", "relu", "--frames", "20", "--width", "4", "--test-loss", "exact",
                               "--no-gif", "-q"], DURING_TEST_LOSS.format(sig=sig))
    assert p.returncode == 130, p.stderr
    assert p.stdout.startswith("interrupted at step") and "wrote relu.nc" in p.stdout, (p.stdout, p.stderr)
    ds = dyn.load(tmp_path / "relu.nc")
    assert ds.sizes["time"] == 21 and np.isfinite(ds.w).all()  # every frame was computed: all are kept
    assert np.isnan(ds.loss_test).all() and "interrupted" in ds.loss_test.attrs["estimator"]
    more = dyn.simulate("relu", init=ds, frames=5)  # and it continues like any interrupted run
    assert int(more.time[0]) == 21


DURING_WRITE = """
import os, signal
import dyn.io.netcdf as netcdf
_netcdf_bytes = netcdf.netcdf_bytes  # the in-memory write dyn.save uses for a run of this size
def netcdf_bytes(*args, **kwargs):
    for _ in range({times}):
        os.kill(os.getpid(), signal.SIGTERM)
    return _netcdf_bytes(*args, **kwargs)
netcdf.netcdf_bytes = netcdf_bytes
"""


def test_a_signal_during_the_write_finishes_the_write(tmp_path):
    (tmp_path / "relu.nc").write_bytes(b"old")
    p = dyn_process(tmp_path, ["simulate", "relu", "--frames", "5", *SMALL], DURING_WRITE.format(times=1))
    assert p.returncode == 130, p.stderr
    assert p.stderr.strip() == "dyn: SIGTERM: finishing writing relu.nc first (interrupt again to abort it)"
    assert p.stdout.startswith("completed:") and "interrupted by SIGTERM: no animation" in p.stdout
    assert dyn.load(tmp_path / "relu.nc").sizes["time"] == 6  # the whole run, no animation
    assert leftovers(tmp_path) == []


def test_a_second_signal_aborts_the_write_and_keeps_the_old_file(tmp_path):
    (tmp_path / "relu.nc").write_bytes(b"old")
    p = dyn_process(tmp_path, ["simulate", "relu", "--frames", "5", *SMALL], DURING_WRITE.format(times=2))
    assert p.returncode == 130, p.stderr
    assert p.stderr.strip().splitlines()[-1] == \
        "dyn: interrupted while writing relu.nc: not written (an old relu.nc is unchanged)"
    assert (tmp_path / "relu.nc").read_bytes() == b"old"
    assert leftovers(tmp_path) == []


DURING_GIF = """
import os, signal
from dyn.render import writers
_write, _frames = writers.GifWriter.write, []
def write(self, rgb):
    _frames.append(1)
    if len(_frames) == 3:
        os.kill(os.getpid(), signal.{sig})
    return _write(self, rgb)
writers.GifWriter.write = write
"""


@pytest.mark.parametrize("sig", ["SIGINT"])  # SIGTERM and SIGHUP take the same path (KeyboardInterrupt)
def test_a_signal_during_the_animation_keeps_the_run(tmp_path, sig):
    p = dyn_process(tmp_path, ["simulate", "relu", "--frames", "10", *SMALL], DURING_GIF.format(sig=sig))
    assert p.returncode == 130 and one_line_error(p.stderr.replace("dyn: interrupted", "dyn: error: interrupted"))
    assert "interrupted while rendering relu.gif: wrote relu.nc, no animation" in p.stderr
    assert dyn.load(tmp_path / "relu.nc").attrs["status"] == "completed"
    assert leftovers(tmp_path) == []  # no relu.gif, no temporary


BEFORE_RUN = """
import os, signal
from dyn.flows.relu import job
def draw_students(cfg):
    os.kill(os.getpid(), signal.SIGTERM)
    raise AssertionError("the signal should have stopped the draw")
job.draw_students = draw_students
"""


def test_a_signal_before_the_run_writes_nothing(tmp_path):
    p = dyn_process(tmp_path, ["simulate", "relu", "--frames", "5", *SMALL], BEFORE_RUN)
    assert p.returncode == 130, p.stderr
    assert p.stderr.strip() == "dyn: interrupted before anything was written"
    assert leftovers(tmp_path, keep=()) == []


# --- item 5: temporaries --------------------------------------------------------------------------------

KILLED_AT_RENAME = """
import os, signal
def replace(src, dst):
    os.kill(os.getpid(), signal.SIGKILL)  # the temporary is complete, the rename never happens
os.replace = replace
"""


def test_a_killed_writer_leaves_a_temporary_that_the_next_write_removes(tmp_path):
    p = dyn_process(tmp_path, ["simulate", "relu", "--frames", "3", "--no-gif", *SMALL], KILLED_AT_RENAME)
    assert p.returncode == -signal.SIGKILL
    stale = leftovers(tmp_path, keep=())
    assert len(stale) == 1 and stale[0].startswith(".relu.nc.") and stale[0].endswith(".tmp.nc"), stale
    (tmp_path / "other").mkdir()  # a write in another folder leaves it alone
    dyn.save(dyn.load(tmp_path / stale[0]), tmp_path / "other" / "x.nc")
    assert leftovers(tmp_path, keep=("other",)) == stale
    dyn.save(dyn.load(tmp_path / stale[0]), tmp_path / "copy.nc")  # the next write into its folder
    assert leftovers(tmp_path, keep=("other",)) == ["copy.nc"]


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    from dyn.io import atomic

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = atomic._host()
        mine = tmp_path / f".run.nc.{host}-{live.pid}.abc123.tmp.nc"  # a live process writing
        reused = tmp_path / f".run.nc.{host}-{live.pid}.def456.tmp.nc"  # same pid, written before it started
        other = tmp_path / f".run.nc.elsewhere-{live.pid}.ghi789.tmp.nc"  # another host: cannot tell
        for path in (mine, reused, other):
            path.write_bytes(b"partial")
        old = time.time() - 3600
        os.utime(reused, (old, old))
        removed = atomic.remove_stale_temporaries(tmp_path)
        assert removed == [reused] and mine.exists() and other.exists()
    finally:
        live.kill()
        live.wait()
    assert atomic.remove_stale_temporaries(tmp_path) == [mine]  # its writer is dead now


# --- item 6: damage is detected -------------------------------------------------------------------------


def data_offset(path, name):
    """Byte offset of variable ``name``'s (first chunk of) data in the file."""
    with h5py.File(path, "r") as f:
        dset = f[name]
        return dset.id.get_chunk_info(0).byte_offset if dset.chunks else dset.id.get_offset()


@pytest.mark.parametrize("name", ["w", "loss_train", "step"])
def test_damaged_data_is_an_error_not_numbers(run_cli, tmp_path, name):
    run_cli("simulate", "relu", "--frames", "5", "--no-gif", *SMALL)
    data = bytearray((tmp_path / "relu.nc").read_bytes())
    data[data_offset(tmp_path / "relu.nc", name) + 7] ^= 0x5A
    (tmp_path / "bad.nc").write_bytes(bytes(data))
    for argv in (["info", "bad.nc"], ["simulate", "relu", "--from", "bad.nc", "-o", "more.nc", "--no-gif"],
                 ["animate", "bad.nc"], ["plot", "bad.nc"]):
        code, out, err = run_cli(*argv)
        assert code == 1 and one_line_error(err), (argv, err)
        assert f"bad.nc is damaged: the data of variable {name!r}" in err, err
    assert leftovers(tmp_path, keep=("relu.nc", "bad.nc")) == []


def test_every_array_is_checksummed_and_compressed(tmp_path):
    ds = dyn.simulate("relu", frames=3, width=4, replicas=2)
    dyn.save(ds, tmp_path / "run.nc")
    with h5py.File(tmp_path / "run.nc", "r") as f:
        placeholder = b"This is a netCDF dimension but not a netCDF variable"  # a dim without coordinate: no data
        arrays = [k for k, v in f.items() if isinstance(v, h5py.Dataset) and v.ndim and v.dtype.kind in "biuf"
                  and not np.asarray(v.attrs.get("NAME", b"")).tobytes().startswith(placeholder)]
        assert {"w", "a", "b", "loss_train", "loss_test", "diverged_at", "step"} <= set(arrays)
        for name in arrays:
            assert f[name].fletcher32 and f[name].shuffle and f[name].compression == "gzip", name


# --- item 8: full disk ----------------------------------------------------------------------------------


def small_file_limit(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG, as a full disk fails
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_write_failure_in_the_kernel_is_one_line_and_damages_nothing(tmp_path):
    """The kernel refuses the write half way (RLIMIT_FSIZE: a real failing write(2), as on a full disk):
    one line, exit 1, the old file intact, no temporary, nothing from HDF5 on stderr, no crash."""
    (tmp_path / "relu.nc").write_bytes(b"precious")
    p = dyn_process(tmp_path, ["simulate", "relu", "--frames", "100", "--no-gif", *SMALL],
                    preexec_fn=small_file_limit(40_000))
    assert p.returncode == 1 and one_line_error(p.stderr), p.stderr[-2000:]
    assert "cannot write relu.nc: File too large" in p.stderr and "Exception ignored" not in p.stderr
    assert (tmp_path / "relu.nc").read_bytes() == b"precious"
    assert leftovers(tmp_path) == []


def test_no_space_left_is_one_line(run_cli, tmp_path, monkeypatch):
    from dyn.io import netcdf

    (tmp_path / "relu.nc").write_bytes(b"precious")

    def full(path, data):
        open(path, "wb").write(bytes(data)[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(netcdf, "write_bytes", full)
    code, out, err = run_cli("simulate", "relu", "--frames", "5", "--no-gif", *SMALL)
    assert code == 1 and one_line_error(err) and "No space left on device" in err, err
    assert (tmp_path / "relu.nc").read_bytes() == b"precious" and leftovers(tmp_path) == []


def test_a_disk_too_small_is_refused_before_writing(run_cli, tmp_path, monkeypatch):
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=1000))
    code, out, err = run_cli("simulate", "relu", "--frames", "5", "--no-gif", *SMALL)
    assert code == 1 and one_line_error(err) and "but the disk has 0.000954 MiB free" in err, err
    assert leftovers(tmp_path, keep=()) == []


# --- item 9: tracebacks become one line -----------------------------------------------------------------


@pytest.mark.parametrize("argv, code, words", [
    (["simulate", "relu", "--width", "100000000000000000000000"], 2, "width must be at most"),
    (["simulate", "relu", "--seed", "100000000000000000000"], 2, "seed must be at most"),
    (["simulate", "relu", "--seed", str(2**63 - 1), "--replicas", "2"], 2, "seed + replicas - 1 must be at most"),
    (["simulate", "sphere", "--seed", str(2**63 - 2), "--replicas", "3"], 2, "seed + replicas - 1 must be at most"),
    (["simulate", "som", "--seed", str(2**63 - 1), "--replicas", "2"], 2, "seed + replicas - 1 must be at most"),
    (["simulate", "som", "--rows", "100000000000000000000"], 2, "rows must be at most"),
])
def test_huge_integers_are_one_line(run_cli, argv, code, words):
    got, out, err = run_cli(*argv)
    assert got == code and one_line_error(err) and words in err, err


def test_the_largest_seeds_run_and_are_stored_exactly(tmp_path):
    ds = dyn.simulate("relu", frames=2, width=3, seed=2**63 - 2, replicas=2, test_loss="none")
    dyn.save(ds, tmp_path / "run.nc")
    assert list(dyn.load(tmp_path / "run.nc").seed.values) == [2**63 - 2, 2**63 - 1]


def damage(path, out, how):
    ds = dyn.load(path)
    if how == "config not JSON":
        ds.attrs["config"] = "{not json"
    elif how == "no status":
        del ds.attrs["status"]
    elif how == "no w":
        ds = ds.drop_vars("w")
    dyn.save(ds, out)
    if how == "status bytes":  # a damaged byte inside an attribute's text: not valid UTF-8
        data = bytearray(path.read_bytes())
        at = data.index(b"completed")
        data[at + 2] = 0xFF
        out.write_bytes(bytes(data))


@pytest.mark.parametrize("how, words", [
    ("config not JSON", "stored config is damaged"),
    ("no status", "has no 'status' attribute"),
    ("status bytes", "attribute 'status' of the file is not valid text"),
])
@pytest.mark.parametrize("command", ["info", "animate", "plot", "from"])
def test_damaged_attributes_are_one_line(run_cli, tmp_path, how, words, command):
    run_cli("simulate", "relu", "--frames", "3", "--no-gif", *SMALL)
    damage(tmp_path / "relu.nc", tmp_path / "bad.nc", how)
    argv = ["simulate", "relu", "--from", "bad.nc", "-o", "more.nc", "-q"] if command == "from" else [command, "bad.nc"]
    code, out, err = run_cli(*argv)
    assert code == 1 and one_line_error(err) and words in err, err
    assert leftovers(tmp_path, keep=("relu.nc", "bad.nc")) == []


@pytest.mark.parametrize("flow", ["relu", "sphere"])
def test_continuing_a_run_without_its_weights_is_one_line(run_cli, tmp_path, flow):
    run_cli("simulate", flow, "--no-gif", "-q", "-o", "run.nc", *(["--frames", "3"] if flow == "relu" else ["--steps", "5"]))
    damage(tmp_path / "run.nc", tmp_path / "bad.nc", "no w")
    code, out, err = run_cli("simulate", flow, "--from", "bad.nc", "-o", "more.nc", "-q")
    assert code == 1 and one_line_error(err) and "No variable named 'w'" in err, err


def test_a_study_store_given_as_a_run_is_one_line(run_cli, tmp_path):
    (tmp_path / "s.zarr").mkdir()
    code, out, err = run_cli("info", "s.zarr")
    assert code == 2 and one_line_error(err) and "is a folder, not a run file" in err, err


NOISY_LOAD = """
import warnings
from dyn.io import netcdf
_load = netcdf.load
def load(path):
    warnings.warn("a library's chatter", UserWarning)  # as zarr and h5py warn on their way to an error
    return _load(path)
netcdf.load = load
"""


def test_warnings_around_an_error_are_not_printed_and_shown_after_success(tmp_path):
    (tmp_path / "bad.nc").write_bytes(b"garbage")
    p = dyn_process(tmp_path, ["info", "bad.nc"], NOISY_LOAD)
    assert p.returncode == 1 and one_line_error(p.stderr), p.stderr
    dyn.save(dyn.simulate("relu", frames=2, width=3, test_loss="none"), tmp_path / "good.nc")
    p = dyn_process(tmp_path, ["info", "good.nc"], NOISY_LOAD)
    assert p.returncode == 0 and "UserWarning: a library's chatter" in p.stderr, p.stderr


# --- item 10: sizes checked before anything is drawn ----------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["simulate", "relu", "--width", "1000000000"],
    ["simulate", "relu", "--replicas", "1000000000"],
    ["simulate", "relu", "--frames", "1000000000000"],
    ["simulate", "relu", "--train-size", "100000000000", "--frames", "2"],
])
def test_relu_sizes_are_checked_before_anything_is_drawn(run_cli, tmp_path, monkeypatch, argv):
    from dyn.flows.relu import job

    def must_not_draw(*args, **kwargs):
        raise AssertionError("drew before checking the memory")

    monkeypatch.setattr(job, "draw_students", must_not_draw)
    monkeypatch.setattr(job, "draw_teacher", must_not_draw)
    code, out, err = run_cli(*argv)
    assert code == 1 and one_line_error(err) and "GiB" in err and "of memory is free" in err, err


@pytest.mark.parametrize("argv, drawn", [
    (["simulate", "som", "--replicas", "1000000000"], "initial_weights"),  # drawn replica by replica
    (["simulate", "som", "--n", "100000000000"], "builtin"),  # the data set
])
def test_som_sizes_are_checked_before_anything_is_drawn(run_cli, monkeypatch, argv, drawn):
    from dyn.flows.som import data, job

    def must_not_draw(*args, **kwargs):
        raise AssertionError("drew before checking the memory")

    monkeypatch.setattr(job if drawn == "initial_weights" else data, drawn, must_not_draw)
    code, out, err = run_cli(*argv)
    assert code == 1 and one_line_error(err) and "of memory is free" in err, err


def test_notebook_rng_with_a_trillion_frames_is_refused_at_once(tmp_path):
    t = time.perf_counter()
    p = dyn_process(tmp_path, ["simulate", "relu", "--rng", "notebook", "--seed", "18", "--frames", "1000000000000"],
                    timeout=120)
    assert p.returncode == 1 and one_line_error(p.stderr) and "of memory is free" in p.stderr, p.stderr
    assert time.perf_counter() - t < 60


def test_free_memory_counts_what_the_kernel_can_reclaim():
    from dyn.engine.steps import free_memory

    with open("/proc/meminfo") as fh:
        info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in fh}
    assert free_memory() >= 0.5 * min(info["MemAvailable"], info["MemFree"] + info.get("Cached", 0))
    assert socket.gethostname()  # the temporaries' names use it
