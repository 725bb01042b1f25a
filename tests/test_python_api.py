"""The Python API as a new user meets it: continuations joined, sizes inferred from arrays, too few input
rows refused with the count, what dyn.plot and dyn.animate return, the Dataset's coordinates and notes."""

import json
import os

import numpy as np
import pytest
from PIL import Image

import dyn
from dyn.flows.relu.config import seed_frame_samples


def test_join_is_the_unbroken_run_and_simulate_join_true_is_the_same():
    ds = dyn.simulate("relu", frames=6, width=4)
    kept = ds.copy(deep=True)
    more = dyn.simulate("relu", init=ds, frames=5)
    assert ds.identical(kept)  # continuing a run leaves it alone (its last a and b were overwritten once)
    assert list(more.time.values) == list(range(7, 12))  # the continuation alone: the new frames
    whole = dyn.join(ds, more)
    unbroken = dyn.simulate("relu", frames=11, width=4)
    assert list(whole.time.values) == list(range(12))
    for name in ("w", "a", "b", "loss_train", "loss_test", "step", "samples_seen"):
        np.testing.assert_array_equal(whole[name].values, unbroken[name].values, err_msg=name)
    assert json.loads(whole.attrs["config"])["frames"] == 11
    assert whole.attrs["continues"] == "the run given as init: completed at step " + str(int(ds.step[-1]))
    again = dyn.simulate("relu", init=ds, frames=5, join=True)
    np.testing.assert_array_equal(again.w.values, whole.w.values)
    with pytest.raises(dyn.UsageError, match="join=True joins a continuation"):
        dyn.simulate("relu", frames=3, join=True)
    with pytest.raises(dyn.UsageError, match="more does not continue ds"):
        dyn.join(ds, ds)
    with pytest.raises(dyn.UsageError, match="is a 'relu' run and more a 'sphere' run"):
        dyn.join(ds, dyn.simulate("sphere", steps=5))


def test_join_of_a_step_counted_flow_joins_its_per_step_log(tmp_path):
    ds = dyn.simulate("sphere", steps=40, vectors=5)
    dyn.save(ds, tmp_path / "s.nc")
    loaded = dyn.load(tmp_path / "s.nc")
    whole = dyn.join(loaded, dyn.simulate("sphere", init=loaded, steps=30))
    unbroken = dyn.simulate("sphere", steps=70, vectors=5, record_every=1)
    np.testing.assert_allclose(whole.loss_iter.values, unbroken.loss_iter.values, rtol=0, atol=1e-12)
    assert whole.sizes["iteration"] == 70 and whole.attrs["continues"].endswith("s.nc: completed at step 40")


def test_the_cli_joins_with_the_library_function(run_cli, tmp_path, monkeypatch):
    calls = []
    real = dyn.join

    def spy(ds, more, **kw):
        calls.append(kw)
        return real(ds, more, **kw)

    monkeypatch.setattr(dyn, "join", spy)
    run_cli("simulate", "relu", "--frames", "3", "--width", "3", "--no-gif", "-q")
    code, out, err = run_cli("simulate", "relu", "--from", "relu.nc", "--frames", "2", "-o", "m.nc", "--no-gif", "-q")
    assert code == 0, err
    assert calls == [{"source": tmp_path.joinpath("relu.nc").relative_to(tmp_path)}]
    assert dyn.load(tmp_path / "m.nc").sizes["time"] == 6


def test_sphere_infers_vectors_and_dim_from_init_and_data():
    rng = np.random.default_rng(0)
    w0, x = rng.standard_normal((4, 10)), rng.standard_normal((5, 10))
    ds = dyn.simulate("sphere", objective="angular", init=w0, data=x, steps=20)
    assert (ds.sizes["vector"], ds.sizes["dim"], ds.sizes["sample"]) == (4, 10, 5)
    unit = w0 / np.linalg.norm(w0, axis=1, keepdims=True)
    np.testing.assert_allclose(ds.w.isel(time=0).values / np.linalg.norm(ds.w.isel(time=0).values, axis=1,
                                                                          keepdims=True), unit, rtol=1e-12)
    ds = dyn.simulate("sphere", init=np.stack([w0, w0[::-1]]), replicas=2, steps=5)  # a replica axis
    assert (ds.sizes["replica"], ds.sizes["vector"], ds.sizes["dim"]) == (2, 4, 10)
    with pytest.raises(dyn.UsageError, match=r"init must have shape \(6, 10\)"):  # given sizes still win
        dyn.simulate("sphere", init=w0, vectors=6, steps=5)
    assert "init=<ndarray>" in dyn.simulate("sphere", init=w0, steps=2).attrs["command"]


def test_relu_infers_its_sizes_from_the_arrays():
    rng = np.random.default_rng(1)
    init = {"a": rng.standard_normal(7), "w": rng.standard_normal((7, 3)), "b": np.zeros(7)}
    teacher = {"a": rng.standard_normal(2), "w": rng.standard_normal((2, 3)), "b": np.zeros(2)}
    ds = dyn.simulate("relu", frames=2, init=init, teacher=teacher)
    assert (ds.sizes["neuron"], ds.sizes["dim"], ds.sizes["teacher_neuron"]) == (7, 3, 2)
    np.testing.assert_array_equal(ds.w.isel(time=0).values, init["w"])
    ds = dyn.simulate("relu", frames=2, inputs=rng.standard_normal((seed_frame_samples(0) + seed_frame_samples(1), 5)))
    assert ds.sizes["dim"] == 5


def test_too_few_input_rows_is_one_line_that_says_how_many():
    need = sum(seed_frame_samples(i) for i in range(40))
    assert need == 17_900  # the README's example
    x = np.random.default_rng(0).standard_normal((need - 1, 2))
    with pytest.raises(dyn.UsageError) as err:
        dyn.simulate("relu", frames=40, inputs=x)
    text = str(err.value)
    assert "\n" not in text and "inputs hold 17,899 rows but the run consumes 17,900" in text
    ds = dyn.simulate("relu", frames=40, inputs=np.vstack([x, x[:1]]), test_loss="none")
    assert int(ds.samples_seen[-1]) == need
    with pytest.raises(dyn.UsageError, match="consumes 800"):  # constant: frames x steps_per_frame x batch
        dyn.simulate("relu", frames=4, schedule="constant", steps_per_frame=10, batch=20, inputs=x[:799])


def test_plot_returns_a_figure_and_animate_an_animation(tmp_path):
    from matplotlib.figure import Figure

    ds = dyn.simulate("relu", frames=5, width=3)
    fig = dyn.plot(ds, tmp_path / "p.png", dpi=50)
    assert isinstance(fig, Figure) and (tmp_path / "p.png").exists()
    big = dyn.plot(ds, tmp_path / "q.png", dpi=100)
    assert Image.open(tmp_path / "q.png").size[0] == 2 * Image.open(tmp_path / "p.png").size[0] and big.axes
    anim = dyn.animate(ds, tmp_path / "a.gif", dpi=30)
    assert isinstance(anim, dyn.Animation) and os.fspath(anim) == str(tmp_path / "a.gif") == str(anim)
    assert Image.open(anim).n_frames == 6 and anim.data[:6] == b"GIF89a"
    assert anim._repr_html_().startswith('<img src="data:image/gif;base64,')
    inline = dyn.animate(ds, dpi=30)
    assert inline.path is None and inline.data[:6] == b"GIF89a"
    with pytest.raises(TypeError, match="held in memory"):
        os.fspath(inline)
    assert Image.open(inline.save(tmp_path / "b.gif")).n_frames == 6
    with pytest.raises(dyn.UsageError, match="this animation is a .gif"):
        inline.save(tmp_path / "b.mp4")
    assert dyn.animate.__doc__.count("Animation") >= 2 and "Figure" in dyn.plot.__doc__


@pytest.mark.parametrize("flow, options", [("relu", {"frames": 2, "width": 3}),
                                           ("som", {"steps": 20, "rows": 2, "cols": 2, "n": 30}),
                                           ("sphere", {"steps": 3, "dim": 4, "vectors": 3})])
def test_every_dim_has_a_coordinate(flow, options, tmp_path):
    ds = dyn.simulate(flow, **options)
    assert set(ds.dims) <= set(ds.coords), set(ds.dims) - set(ds.coords)
    np.testing.assert_array_equal(ds["dim"].values, np.arange(ds.sizes["dim"]))
    assert ds["dim"].attrs["description"]
    dyn.save(ds, tmp_path / "r.nc")
    np.testing.assert_array_equal(dyn.load(tmp_path / "r.nc")["dim"].values, np.arange(ds.sizes["dim"]))


def test_loss_train_says_why_its_first_value_is_nan():
    ds = dyn.simulate("relu", frames=2, width=3)
    assert np.isnan(ds.loss_train.values[0]) and np.isfinite(ds.loss_train.values[1:]).all()
    assert "NaN at time 0" in ds.loss_train.attrs["description"]
    som = dyn.simulate("som", rule="topographic", steps=4, rows=2, cols=2, n=20, dim=3, batch=4)
    assert np.isnan(som.loss_train.values[0]) and "NaN at time 0" in som.loss_train.attrs["description"]
