"""The linear flow on disk and on screen: the command line, bad input, continuation, GIFs and plots."""

import json

import numpy as np
import pytest
from PIL import Image

import dyn
from dyn.flows.linear import kernels
from dyn.flows.linear.record import params_of
from dyn.render.animate import picture_of
from dyn.render.blit import Canvas
from conftest import one_line_error


def write_files(folder):
    (folder / "two.csv").write_text("0,0,1\n1,1,2\n")
    (folder / "one.csv").write_text("0,0,1\n1,1,1\n")
    (folder / "flat.npy").write_bytes(b"")
    np.save(folder / "far.npy", np.array([0, 5000]))
    np.save(folder / "cube.npy", np.zeros((2, 2, 2)))


@pytest.mark.parametrize("argv, code, words", [
    (["--lr", "-0.1"], 2, "lr must be > 0"),
    (["--model", "mlp", "--layers", "5,0"], 2, "layers must have widths >= 1"),
    (["--model", "mlp", "--layers", "five"], 2, "layers must be hidden widths"),
    (["--loss", "cubic"], 2, "loss must be one of"),
    (["--as-seed", "perceptron"], 2, "as_seed must be one of"),
    (["--data", "two.csv"], 2, "labels must be -1 or +1"),
    (["--data", "one.csv"], 2, "one class only"),
    (["--data", "cube.npy"], 2, "at least 2 columns"),
    (["--data", "missing.csv"], 2, "no such file"),
    (["--order", "far.npy", "--steps", "2"], 2, "order indices must be in 0..1999"),
    (["--order", "far.npy", "--steps", "5"], 2, "order must hold steps x batch = 5"),
    (["--order", "order.txt"], 2, "order must be a .npy/.csv file"),
    (["--gradient", "seed"], 2, "needs model 'mlp'"),
    (["--fit-lr", "0.1"], 2, "apply to train 'data'"),
    (["--layers", "5"], 2, "layers applies to model 'mlp'"),
    (["--data", "moons", "--dim", "3"], 2, "dim must be 2"),
    (["--steps", "many"], 2, "--steps"),
    (["--from", "missing.nc"], 2, "no such file"),
    (["--device", "cuda"], 1, "kernels are CPU only"),
    (["-o", "no/such/dir/run.nc"], 1, "cannot write"),
])
def test_bad_input_is_one_line_and_touches_nothing(run_cli, tmp_path, argv, code, words):
    write_files(tmp_path)
    (tmp_path / "linear.nc").write_bytes(b"precious")
    (tmp_path / "linear.gif").write_bytes(b"precious too")
    got, out, err = run_cli("simulate", "linear", *argv)
    assert got == code, err
    assert one_line_error(err) and words in err, err
    assert (tmp_path / "linear.nc").read_bytes() == b"precious"
    assert (tmp_path / "linear.gif").read_bytes() == b"precious too"


def test_python_bad_arrays_are_usage_errors():
    x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    for kwargs, words in ((dict(data=x, labels=np.array([1, 0, -1])), "labels must be -1 or +1"),
                          (dict(data=x), "needs labels="),
                          (dict(data=x, labels=np.ones(2)), "3 points but labels of shape (2,)"),
                          (dict(data=x, labels=np.array([1, -1, 1]), order=np.array([0, 3])), "order indices"),
                          (dict(init={"w": np.zeros(3), "b": 0.0}), "init w must have shape (2,)"),
                          (dict(model="mlp", layers=[5], init=[np.zeros((3, 5))]), "init must be 2 matrices"),
                          (dict(model="mlp", layers=[5, 5], init=[np.zeros((3, 5)), np.zeros((5, 5)),
                                                                  np.zeros((6, 1))]), "init layer 1 must have shape")):
        with pytest.raises(dyn.UsageError) as err:
            dyn.simulate("linear", steps=2, **kwargs)
        assert words in str(err.value), (words, str(err.value))


def test_continuing_a_run_with_an_explicit_order_needs_the_next_indices():
    x, t = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]]), np.array([1.0, -1.0, 1.0])
    ds = dyn.simulate("linear", data=x, labels=t, order=np.array([0, 1, 2, 1]), steps=4)
    with pytest.raises(dyn.UsageError, match="continuing it needs order="):
        dyn.simulate("linear", init=ds, steps=2)
    more = dyn.simulate("linear", init=ds, steps=2, order=np.array([2, 2]))
    whole = dyn.simulate("linear", data=x, labels=t, order=np.array([0, 1, 2, 1, 2, 2]), steps=6)
    np.testing.assert_array_equal(params_of(more)[0, -1], params_of(whole)[0, -1])


def test_an_mlp_init_implies_the_model_and_its_widths():
    W = [np.zeros((3, 4)), np.zeros((5, 2)), np.zeros((3, 1))]
    ds = dyn.simulate("linear", init=W, steps=10)
    cfg = json.loads(ds.attrs["config"])
    assert cfg["model"] == "mlp" and cfg["layers"] == [4, 2]
    with pytest.raises(dyn.UsageError, match="init layer 1 must have shape"):
        dyn.simulate("linear", init=W, layers=[4, 3], steps=10)


def test_bare_command_is_the_seeds_first_run_and_writes_run_and_gif(run_cli, tmp_path):
    code, out, err = run_cli("simulate", "linear", "--steps", "2000", "-q")
    assert code == 0, err
    assert out.startswith("completed: linear, squared loss") and "linear.nc, linear.gif" in out
    ds = dyn.load(tmp_path / "linear.nc")
    cfg = json.loads(ds.attrs["config"])
    assert (cfg["loss"], cfg["lr"], cfg["model"], cfg["batch"], cfg["data"], cfg["n"]) == \
        ("squared", 0.001, "linear", 1, "blobs", 2000)
    np.testing.assert_array_equal(ds["label"].values, np.r_[-np.ones(1000), np.ones(1000)])
    assert np.all(params_of(ds)[0, 0] == 0)  # w and b start at 0
    assert Image.open(tmp_path / "linear.gif").n_frames == ds.sizes["time"] == 501


@pytest.mark.parametrize("as_seed, check", [
    ("hinge", {"loss": "hinge", "lr": 0.01, "steps": 10000}),
    ("squared", {"loss": "squared", "lr": 0.001, "steps": 100000}),
    ("data", {"train": "data", "loss": "hinge", "lr": 0.05, "steps": 500000, "fit_lr": 0.001, "fit_steps": 100000}),
    ("mlp", {"model": "mlp", "layers": [5, 5], "gradient": "seed", "lr": 0.001, "steps": 100000}),
])
def test_as_seed_sets_the_seeds_numbers(as_seed, check):
    from dyn.flows.linear.config import LinearConfig

    cfg = LinearConfig.from_kwargs(as_seed=as_seed)
    assert {k: getattr(cfg, k) for k in check} == check
    assert LinearConfig.from_kwargs(as_seed=as_seed, lr=0.5).lr == 0.5  # an explicit option wins


def test_continuing_from_the_command_line_joins_the_run(run_cli, tmp_path):
    assert run_cli("simulate", "linear", "--model", "mlp", "--steps", "1000", "--no-gif", "-q")[0] == 0
    code, out, err = run_cli("simulate", "linear", "--from", "linear.nc", "--steps", "1000", "--no-gif", "-q",
                             "-o", "more.nc")
    assert code == 0, err
    more = dyn.load(tmp_path / "more.nc")
    whole = dyn.simulate("linear", model="mlp", steps=2000, record_every=2)
    assert int(more.step[-1]) == 2000
    np.testing.assert_array_equal(params_of(more)[0, -1], params_of(whole)[0, -1])
    code, out, err = run_cli("simulate", "linear", "--from", "linear.nc", "--layers", "3,3", "--no-gif")
    assert code == 2 and one_line_error(err) and "cannot change layers" in err


def test_data_file_with_labels_in_the_last_column(run_cli, tmp_path):
    rng = np.random.default_rng(0)
    x = np.r_[rng.standard_normal((50, 3)) - 2, rng.standard_normal((50, 3)) + 2]
    np.savetxt(tmp_path / "pts.csv", np.c_[x, np.r_[-np.ones(50), np.ones(50)]], delimiter=",")
    code, out, err = run_cli("simulate", "linear", "--data", "pts.csv", "--loss", "hinge", "--steps", "3000", "-q")
    assert code == 0, err
    ds = dyn.load(tmp_path / "linear.nc")
    assert ds.sizes["dim"] == 3 and float(ds.accuracy[-1]) == 1.0
    np.testing.assert_allclose(ds["x"].values, x)
    assert Image.open(tmp_path / "linear.gif").n_frames == ds.sizes["time"]  # D = 3 drawn in its first two coordinates


def test_background_is_the_jitted_grid_evaluation_and_its_zero_contour():
    ds = dyn.simulate("linear", loss="hinge", steps=3000)
    pic = picture_of(ds)
    theta = params_of(ds)[0, -1]
    Z = pic.field.values(theta)
    X, Y = np.meshgrid(pic.field.xs, pic.field.ys)
    np.testing.assert_allclose(Z, theta[0] * X + theta[1] * Y + theta[2], atol=1e-12)
    cx, cy = pic.field.contour()
    ok = np.isfinite(cx)
    assert ok.sum() > 50  # a line across the extent, on the boundary w . x + b = 0
    np.testing.assert_allclose(theta[0] * cx[ok] + theta[1] * cy[ok] + theta[2], 0, atol=1e-9)


def test_mlp_zero_contour_lies_on_the_boundary():
    ds = dyn.simulate("linear", model="mlp", layers=[8, 8], loss="logistic", lr=0.01, data="moons", steps=20000)
    pic = picture_of(ds)
    theta = params_of(ds)[0, -1]
    pic.field.values(theta)
    cx, cy = pic.field.contour()
    pts = np.c_[cx, cy][np.isfinite(cx)]
    f = np.empty(len(pts))
    kernels.outputs(theta, pic.field.sizes, pic.field.offs, pts, f)
    grid_step = pic.field.xs[1] - pic.field.xs[0]
    # piecewise-linear f: its zero crossing interpolated on a grid edge is off by at most slope x grid step
    assert np.abs(f).max() < 0.2 * max(1.0, np.abs(pic.field.Z).max()) * grid_step


def test_data_flow_picture_marks_the_crossed_points():
    ds = dyn.simulate("linear", train="data", loss="hinge", lr=0.05, steps=100_000, shuffle=True,
                      init={"w": np.array([1.0, 1.0]), "b": -3.0})
    pic = picture_of(ds, every=50)
    canvas = Canvas(pic, dpi=40)
    canvas.frame(pic.times[-1])
    crossed = sum(len(pic.crossed[c].get_xdata()) for c in (-1, 1))
    t, x0 = ds["label"].values, ds["x"].isel(time=0).values
    assert crossed == int((t * (x0 @ [1.0, 1.0] - 3.0) <= 0).sum()) > 0  # every misclassified point crossed
    assert sum(len(pic.dots[c].get_xdata()) for c in (-1, 1)) == len(t) - crossed
    trail = pic.trails[1].get_xdata()
    assert len(trail) == (1000 * (min(len(pic.times), 1 + 8) + 1))  # the last 8 shown snapshots, NaN-separated


def test_plot_has_the_flows_panels(tmp_path):
    ds = dyn.simulate("linear", train="data", steps=5000, fit_steps=3000)
    fig = dyn.plot(ds, tmp_path / "p.png")
    assert len(fig.axes) >= 3 and (tmp_path / "p.png").stat().st_size > 10_000
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert "the seed's monitor (first half, / n/2)" in labels
