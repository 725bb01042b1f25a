"""``dyn analyze``, ``dyn plot --panels`` and studies keeping analysis metrics: outputs and bad input."""

import sys

import numpy as np
import pytest

import dyn
from conftest import one_line_error
from dyn.analysis import covered, wasserstein2

pytest.importorskip("ot")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A short relu run (2 replicas) and a short sphere run, on disk."""
    folder = tmp_path_factory.mktemp("runs")
    dyn.save(dyn.simulate("relu", frames=20, replicas=2), folder / "r.nc")
    dyn.save(dyn.simulate("sphere", steps=20), folder / "s.nc")
    return folder


def test_analyze_prints_a_table_and_writes_the_analysis(run_cli, runs, tmp_path):
    code, out, err = run_cli("analyze", str(runs / "r.nc"), "-o", "an.nc", "--angle", "15")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["time", "step", "loss_test"]
    assert [line.split()[0] for line in lines[2:5]] == ["0", "10", "20"]  # first, middle, last snapshot
    assert "means over 2 replicas" in out and "within 15 degrees" in out and "wrote an.nc" in out
    an = dyn.load(tmp_path / "an.nc")
    np.testing.assert_array_equal(an["covered"], dyn.analyze(dyn.load(runs / "r.nc"), angle=15)["covered"])
    assert an.attrs["kind"] == "analysis" and an.attrs["angle"] == 15.0
    assert an["w2"].dims == ("time", "replica") and an["cosine"].dims == ("time", "replica", "neuron", "teacher_neuron")
    ds = dyn.load(runs / "r.nc")
    np.testing.assert_allclose(an["w2"], wasserstein2(ds))


def test_analyze_refuses_a_non_relu_run_and_keeps_the_output(run_cli, runs, tmp_path):
    (tmp_path / "an.nc").write_text("precious")
    code, out, err = run_cli("analyze", str(runs / "s.nc"), "-o", "an.nc")
    assert code == 2 and one_line_error(err) and "needs a relu run; this is a 'sphere' run" in err
    assert (tmp_path / "an.nc").read_text() == "precious"
    code, _, err = run_cli("analyze", "missing.nc")
    assert code == 2 and one_line_error(err) and "no such file" in err
    code, _, err = run_cli("analyze", str(runs / "r.nc"), "-o", "no/such/folder/an.nc")
    assert code == 1 and one_line_error(err)


def test_analyze_without_pot_is_one_line(run_cli, runs, monkeypatch):
    monkeypatch.setitem(sys.modules, "ot", None)
    code, _, err = run_cli("analyze", str(runs / "r.nc"))
    assert code == 1 and one_line_error(err) and "pip install pot" in err


def test_plot_panels(run_cli, runs, tmp_path):
    code, out, err = run_cli("plot", str(runs / "r.nc"), "--panels", "loss,alignment,w2,lazy", "-o", "p.png")
    assert code == 0, err
    assert (tmp_path / "p.png").stat().st_size > 10_000
    fig = dyn.plot(dyn.load(runs / "r.nc"), panels=["balancedness", "speed", "dead", "final", "loss"])
    assert sum(ax.get_visible() for ax in fig.axes) == 5
    assert all(ax.lines for ax in fig.axes if ax.get_visible())


def test_plot_bad_panels(run_cli, runs, tmp_path):
    code, _, err = run_cli("plot", "missing.nc", "--panels", "loss,nope")  # refused before the file is read
    assert code == 2 and one_line_error(err) and "unknown panel 'nope'; choose from: loss, final, alignment" in err
    code, _, err = run_cli("plot", str(runs / "s.nc"), "--panels", "loss,w2", "-o", "p.png")
    assert code == 2 and one_line_error(err) and "needs a relu run" in err
    assert not (tmp_path / "p.png").exists()
    code, _, err = run_cli("plot", str(runs / "s.nc"), "--panels", "loss", "-o", "p.png")  # basic panels: any flow
    assert code == 0, err


def test_a_study_keeps_analysis_metrics(tmp_path):
    """keep.metrics accepts analysis names (kept only when named); a wrong name lists them."""
    spec = tmp_path / "s.toml"
    spec.write_text('flow = "relu"\nseeds = 2\n[fixed]\nframes = 5\n'
                    '[keep]\nmetrics = ["final_loss_test", "w2", "covered", "dead_fraction"]\n')
    st = dyn.study(spec, tmp_path / "s.zarr")  # one task: computed in the driver
    ds = dyn.simulate("relu", frames=5, replicas=2)
    np.testing.assert_allclose(st["w2"].values, wasserstein2(ds).isel(time=-1).values)
    np.testing.assert_allclose(st["covered"].values, covered(ds).isel(time=-1).values)
    assert "lazy" not in st and "final_loss_train" not in st
    from dyn.study.spec import parse_spec

    with pytest.raises(dyn.UsageError, match="has no metric 'w3'; it has: final_loss_test, final_loss_train, "
                                             "convergence_step, alignment, covered, w2, lazy"):
        parse_spec({"flow": "relu", "keep": {"metrics": ["w3"]}})
