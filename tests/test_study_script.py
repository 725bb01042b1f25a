"""``dyn.study`` from a plain script (no ``if __name__ == "__main__":`` guard), from ``python -m`` and from
stdin: the script's body runs once, in the driver, never again in the LocalCluster's workers; and the
study's figure from Python (``dyn.study_plot``)."""

import os
import subprocess
import sys
import types

import pytest

import dyn
from dyn.study.run import main_module_hidden, run

# 3 points x 1 seed: the driver computes the first and the last, the third goes to a worker
SPEC = """flow = "relu"
seeds = 1
[fixed]
frames = 4
width = 3
test_loss = "none"
[sweep]
radius = [0.05, 0.5, 1.0]
[[figure]]
kind = "bands"
metric = "final_loss_train"
x = "radius"
"""

BODY = """import os
import dyn
with open("bodies.txt", "a") as f:
    f.write(f"{os.getpid()}\\n")
ds = dyn.study("s.toml", "s.zarr", workers=1)
print("done", int((ds.status == 1).sum()), ds.attrs["flow"])
"""


@pytest.mark.parametrize("how", ["script", "module", "stdin"])
def test_a_plain_script_runs_its_body_once(tmp_path, how):
    (tmp_path / "s.toml").write_text(SPEC)
    (tmp_path / "plain.py").write_text(BODY)
    argv = {"script": [sys.executable, "plain.py"], "module": [sys.executable, "-m", "plain"],
            "stdin": [sys.executable, "-"]}[how]
    proc = subprocess.run(argv, cwd=tmp_path, input=BODY if how == "stdin" else None, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines() == ["done 3 relu"], proc.stdout
    assert len((tmp_path / "bodies.txt").read_text().split()) == 1  # the workers never ran the body


def test_main_module_hidden_while_the_block_runs_and_restored(monkeypatch):
    main = types.ModuleType("__main__")
    main.__file__ = "/somewhere/script.py"
    main.__spec__ = types.SimpleNamespace(name="script")
    monkeypatch.setitem(sys.modules, "__main__", main)
    from multiprocessing import spawn

    assert spawn.get_preparation_data("w").get("init_main_from_name") == "script"
    with main_module_hidden():
        data = spawn.get_preparation_data("w")
        assert "init_main_from_path" not in data and "init_main_from_name" not in data  # nothing to re-import
        assert not hasattr(main, "__file__") and main.__spec__ is None
    assert main.__file__ == "/somewhere/script.py" and main.__spec__.name == "script"
    with pytest.raises(KeyError):  # restored even when the block fails
        with main_module_hidden():
            raise KeyError("x")
    assert main.__file__ == "/somewhere/script.py"


def test_study_plot_returns_the_figure_and_writes_it(tmp_path, dask_client):
    from PIL import Image

    (tmp_path / "s.toml").write_text(SPEC.replace("[0.05, 0.5, 1.0]", "[0.05, 0.31622776601683794]"))
    run(tmp_path / "s.toml", tmp_path / "s.zarr", client=dask_client, progress=False)
    fig = dyn.study_plot(tmp_path / "s.zarr")
    title = fig._suptitle.get_text()
    assert title.startswith("s: flow relu; ") and title.endswith("(1 seed a point)") and "{" not in title
    assert all(part in title for part in ("frames = 4", "width = 3", "test_loss = none"))
    ax = fig.axes[0]
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels(minor=True) + ax.get_xticklabels() if t.get_text()]
    assert labels and all(len(t.replace("\u2212", "-")) <= 8 for t in labels), labels  # 3 significant digits
    small = dyn.study_plot(tmp_path / "s.zarr", tmp_path / "small.png", dpi=40)
    big = dyn.study_plot(tmp_path / "s.zarr", tmp_path / "big.png", dpi=80)
    assert small.axes and big.axes
    assert Image.open(tmp_path / "big.png").size[0] == 2 * Image.open(tmp_path / "small.png").size[0]
    with pytest.raises(dyn.UsageError, match="no such study store"):
        dyn.study_plot(tmp_path / "nothing.zarr")


def test_a_run_saves_while_the_study_client_is_open(dask_client, tmp_path):
    """The tests' shared client is no process-wide default: with it as dask's scheduler, xarray takes the write
    lock of every later ``dyn.save`` in the process from it, and the save fails (each test passes alone, and
    fails after a study test in the same process)."""
    from dask.base import get_scheduler

    assert getattr(get_scheduler(), "__self__", None) is not dask_client
    ds = dyn.simulate("sphere", steps=5, vectors=3)
    dyn.save(ds, tmp_path / "s.nc")
    assert (dyn.load(tmp_path / "s.nc").w.values == ds.w.values).all()
