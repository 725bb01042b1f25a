"""The command line: one line and the right exit status for bad input, files never damaged."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

import dyn
from conftest import one_line_error
from dyn.flows.relu import job as relu_job


@pytest.mark.parametrize("argv, code, words", [
    (["simulate", "relu", "--width", "-1"], 2, "width must be >= 1"),
    (["simulate", "relu", "--width", "0"], 2, "width must be >= 1"),
    (["simulate", "relu", "--radius", "0"], 2, "radius must be > 0"),
    (["simulate", "relu", "--radius", "nan"], 2, "radius must be finite"),
    (["simulate", "relu", "--lr", "inf"], 2, "lr must be finite"),
    (["simulate", "relu", "--schedule", "weird"], 2, "schedule must be one of"),
    (["simulate", "relu", "--widht", "3"], 2, "No such option"),
    (["simulate", "relu", "--width", "abc"], 2, "--width"),
    (["simulate", "nope"], 2, "No such command"),
    (["simulate", "relu", "--from", "missing.nc"], 2, "no such file"),
    (["simulate", "relu", "--device", "cuda"], 1, "device 'cuda' is not available"),
    (["simulate", "relu", "-o", "no/such/dir/run.nc"], 1, "cannot write"),
    (["info", "missing.nc"], 2, "no such file"),
])
def test_bad_input_is_one_line_and_touches_nothing(run_cli, tmp_path, argv, code, words):
    (tmp_path / "relu.nc").write_bytes(b"precious")
    (tmp_path / "relu.gif").write_bytes(b"precious too")
    got, out, err = run_cli(*argv)
    assert got == code, err
    assert one_line_error(err), err
    assert words in err
    assert (tmp_path / "relu.nc").read_bytes() == b"precious"
    assert (tmp_path / "relu.gif").read_bytes() == b"precious too"


def test_corrupt_input_file_is_exit_1(run_cli, tmp_path):
    (tmp_path / "bad.nc").write_bytes(b"garbage")
    for argv in (["info", "bad.nc"], ["simulate", "relu", "--from", "bad.nc", "-o", "x.nc"], ["plot", "bad.nc"]):
        code, out, err = run_cli(*argv)
        assert code == 1 and one_line_error(err), err


def test_simulate_writes_the_run_and_continues_it(run_cli, tmp_path):
    code, out, err = run_cli("simulate", "relu", "--frames", "6", "--width", "4", "--no-gif", "-q")
    assert code == 0, err
    assert out.startswith("completed: loss_test") and "relu.nc" in out
    first = dyn.load(tmp_path / "relu.nc")
    assert first.sizes["time"] == 7
    code, out, err = run_cli("simulate", "relu", "--from", "relu.nc", "--frames", "4", "-o", "more.nc", "--no-gif")
    assert code == 0, err
    more = dyn.load(tmp_path / "more.nc")
    assert list(more.time.values) == list(range(11))
    whole = dyn.simulate("relu", frames=10, width=4)
    for name in ("w", "a", "b"):  # a and b too: the junction frame was once overwritten by the continuation
        assert float(abs(more[name] - whole[name]).max()) == 0.0, name
    assert json.loads(more.attrs["config"])["frames"] == 10 and more.attrs["continues"].startswith("relu.nc: completed")


def test_a_continuation_that_diverges_says_so(run_cli, tmp_path):
    """The joined file carries the continuation's status, diverged_at and config, and exits 1."""
    run_cli("simulate", "relu", "--frames", "3", "--width", "4", "--no-gif", "-q")
    code, out, err = run_cli("simulate", "relu", "--from", "relu.nc", "--frames", "5", "--lr", "1e200",
                             "--radius", "1", "-o", "more.nc", "--no-gif", "-q", "--test-loss", "none")
    assert code == 1 and out.startswith("diverged at step"), (out, err)
    more = dyn.load(tmp_path / "more.nc")
    assert more.attrs["status"].startswith("diverged at step") and int(more.diverged_at) > 0
    assert json.loads(more.attrs["config"])["lr"] == 1e200
    assert np.isfinite(more.w.isel(time=3)).all() and np.isnan(more.w.isel(time=-1)).all()


def test_diverged_run_is_written_and_exits_1(run_cli, tmp_path):
    code, out, err = run_cli("simulate", "relu", "--lr", "1e4", "--radius", "1", "--frames", "30", "--no-gif",
                             "--test-loss", "none")
    assert code == 1
    assert out.startswith("diverged at step")
    assert dyn.load(tmp_path / "relu.nc").attrs["status"].startswith("diverged at step")


def test_ctrl_c_keeps_finished_frames_and_exits_130(run_cli, tmp_path, monkeypatch):
    calls = []
    advance = relu_job.ReluJob.advance

    def interrupted(self, lo, hi, inputs):
        advance(self, lo, hi, inputs)
        calls.append(hi)
        if len(calls) == 3:
            signal.raise_signal(signal.SIGINT)  # as if the user pressed Ctrl-C during this block

    monkeypatch.setattr(relu_job.ReluJob, "advance", interrupted)
    code, out, err = run_cli("simulate", "relu", "--frames", "200", "--test-loss", "none")
    assert code == 130
    ds = dyn.load(tmp_path / "relu.nc")
    assert ds.attrs["status"] == f"interrupted at step {int(ds.step[-1])}"
    assert ds.sizes["time"] == calls[2] + 1 and not (tmp_path / "relu.gif").exists()


def test_version_and_fast_help():
    code = subprocess.run([sys.executable, "-c", "import sys; from dyn.cli import main; sys.exit(main(['--version']))"],
                          capture_output=True, text=True)
    assert code.returncode == 0 and code.stdout.strip() == f"dyn {dyn.__version__}"
    probe = ("import sys; from dyn.cli.app import app; "
             "print(sorted(m for m in ('numpy', 'numba', 'xarray', 'matplotlib', 'scipy') if m in sys.modules))")
    heavy = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert heavy.stdout.strip() == "[]", heavy.stdout + heavy.stderr  # --help never loads the heavy stack


@pytest.mark.parametrize("config", ['{"width": "x"}', "not json", "[1, 2]"])
def test_continuing_a_run_whose_config_is_damaged_is_a_runtime_error(run_cli, tmp_path, config):
    run_cli("simulate", "relu", "--frames", "2", "--width", "4", "--no-gif", "-q")
    ds = dyn.load(tmp_path / "relu.nc")
    ds.attrs["config"] = config
    dyn.save(ds, tmp_path / "bad.nc")
    code, out, err = run_cli("simulate", "relu", "--from", "bad.nc", "-o", "more.nc", "--no-gif", "-q")
    assert code == 1 and one_line_error(err) and "stored config is damaged" in err, err
    assert not (tmp_path / "more.nc").exists()


def test_out_of_memory_is_one_line(run_cli, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(dyn.engine.runner, "run", no_memory)
    code, out, err = run_cli("simulate", "relu", "--frames", "2", "--no-gif", "-q")
    assert code == 1 and one_line_error(err) and "out of memory" in err, err
