"""A flow is its folder: a tiny flow (tests/tiny_flow/decay) copied into a copy of dyn runs from Python and
from the CLI, continues, and obeys its closed form, with no edit anywhere else."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import dyn
    import dyn.flows

    assert dyn.__file__.startswith(sys.argv[1]), dyn.__file__
    assert "decay" in dyn.flows.flow_names()
    ds = dyn.simulate("decay", particles=3, stiffness=2.0, lr=0.1, steps=20, record_every=5, replicas=2, seed=1)
    x0 = ds.x.isel(time=0).values
    exact = x0[None] * (1 - 0.1 * 2.0) ** ds.step.values[:, None, None]
    assert np.allclose(ds.x.values, exact, rtol=1e-13, atol=0), abs(ds.x.values - exact).max()
    half = dyn.simulate("decay", particles=3, stiffness=2.0, lr=0.1, steps=10, record_every=5, replicas=2, seed=1)
    rest = dyn.simulate("decay", init=half, steps=10)
    assert list(rest.step.values) == [15, 20], rest.step.values
    assert np.array_equal(rest.x.isel(time=-1).values, ds.x.isel(time=-1).values)
    print("ok", ds.sizes["time"])
""")


def copy_of_dyn_with_the_flow(tmp):
    """dyn and its CLI copied as installed (cli/ is the package dyn.cli), the tiny flow's folder dropped in."""
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc")
    shutil.copytree(ROOT / "dyn", tmp / "dyn", ignore=ignore)
    shutil.copytree(ROOT / "cli", tmp / "dyn" / "cli", ignore=ignore)
    shutil.copytree(ROOT / "tests" / "tiny_flow" / "decay", tmp / "dyn" / "flows" / "decay", ignore=ignore)
    return {**os.environ, "PYTHONPATH": str(tmp), "NUMBA_CACHE_DIR": str(tmp / "cache")}


def test_a_flow_folder_alone_is_a_flow(tmp_path):
    env = copy_of_dyn_with_the_flow(tmp_path)
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == ["ok", "5"]

    cli = [sys.executable, "-m", "dyn.cli", "simulate"]
    help_ = subprocess.run(cli + ["decay", "--help"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert help_.returncode == 0 and "--stiffness" in help_.stdout and "--replicas" in help_.stdout, help_.stdout
    listed = subprocess.run(cli + ["--help"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "decay" in listed.stdout, listed.stdout
    bad = subprocess.run(cli + ["decay", "--particles", "0"], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and "particles" in bad.stderr + bad.stdout and "Traceback" not in bad.stderr
    made = subprocess.run(cli + ["decay", "-o", "decay.nc", "--no-gif", "--quiet"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-3000:]
    assert (tmp_path / "decay.nc").stat().st_size > 0
