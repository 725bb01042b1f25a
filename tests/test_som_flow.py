"""The som flow as users meet it: data sets and files, options, replicas, the Dataset, CLI, pictures."""

import numpy as np
import pytest

import dyn
from conftest import one_line_error
from dyn.flows.som.config import SomConfig


@pytest.fixture(scope="session")
def ring_run():
    return dyn.simulate("som", steps=2000, n=400, measures="all")


def test_defaults_follow_the_rule():
    online, topo = SomConfig(), SomConfig(rule="topographic")
    assert (online.rows, online.cols, online.data, online.dim, online.sigma, online.lr) == (10, 10, "ring", 2, 1.0, 0.5)
    assert (online.lr_decay, online.sigma_decay, online.normalize, online.momentum) == \
        ("asymptotic_decay", "asymptotic_decay", False, 0.0)
    assert (topo.rows, topo.cols, topo.data, topo.dim, topo.batch, topo.lr, topo.momentum, topo.sigma) == \
        (20, 20, "sphere", 128, 1024, 0.001, 0.9, 5.0)
    assert topo.normalize and topo.lr_decay == "constant" and topo.weights_init == "normal"


def test_default_run_unfolds_the_map(ring_run):
    ds = ring_run
    assert ds.attrs["flow"] == "som" and ds.attrs["status"] == "completed"
    assert ds.w.dims == ("time", "unit", "dim") and ds.sizes["unit"] == 100
    assert int(ds.step[-1]) == 2000 and ds.sizes["time"] == 501  # record_every 4, initial state included
    qe, te = ds.quantization_error.values, ds.topographic_error.values
    measured = np.isfinite(qe)  # 500 log-spaced snapshots: about 50 measured, log-spaced too, and the last
    steps = ds.step.values[measured]
    assert measured.sum() == 51 and measured[-1] and list(steps[:8]) == list(range(8))
    ratios = steps[-20:] / steps[-21:-1]
    assert ratios.max() < 1.3 * ratios.min()  # evenly spaced on a log axis
    assert qe[-1] < 0.5 * qe[0] and te[-1] < 0.3 < te[0]
    assert np.all(ds.heskes_energy.values[measured] <= ds.topographic_loss.values[measured] + 1e-12)
    assert ds.sigma.values[0] == 1.0 and ds.lr.values[-1] == pytest.approx(0.5 / 3)  # asymptotic decay at T
    for name in ("w", "quantization_error", "topographic_error", "topographic_loss", "heskes_energy", "sigma", "lr",
                 "coords", "data", "diverged_at", "step"):
        assert ds[name].attrs["description"] and "units" in ds[name].attrs


def test_replica_r_is_the_run_with_seed_plus_r():
    for rule, extra in (("online", {}), ("topographic", dict(dim=8, n=100, batch=16, rows=4, cols=5, shuffle=True)),
                        ("batch", {}), ("heskes", dict(rows=4, cols=4))):
        opts = dict(rule=rule, steps=30, n=120, **{**dict(rows=5, cols=5), **extra}) if rule != "topographic" \
            else dict(rule=rule, steps=30, **extra)
        many = dyn.simulate("som", replicas=3, seed=4, **opts)
        one = dyn.simulate("som", seed=6, **opts)
        np.testing.assert_array_equal(many.w.isel(replica=2).values, one.w.values)
        np.testing.assert_array_equal(many.quantization_error.isel(replica=2).values, one.quantization_error.values)
        assert float(abs(many.w.isel(replica=0) - many.w.isel(replica=1)).max()) > 0


def test_shuffle_reshuffles_each_epoch_and_in_order_cycles():
    from dyn.flows.som.data import Order

    ordered = Order(5, 2, False, [0]).block(1, 4)
    assert list(ordered[0]) == [2, 3, 4, 0, 1, 2, 3, 4]
    shuffled = Order(5, 1, True, [0, 1]).block(0, 10)
    for r in range(2):
        assert sorted(shuffled[r, :5]) == sorted(shuffled[r, 5:]) == [0, 1, 2, 3, 4]
    assert list(shuffled[0, :5]) != list(shuffled[0, 5:]) or list(shuffled[1, :5]) != list(shuffled[1, 5:])
    np.testing.assert_array_equal(Order(5, 1, True, [7]).block(3, 4)[0], Order(5, 1, True, [7]).block(0, 7)[0, 3:])


def test_data_sets_and_files(tmp_path):
    for name, dim in (("uniform", 3), ("blobs", 2), ("sphere", 3)):
        ds = dyn.simulate("som", data=name, dim=dim, n=50, steps=10, rows=3, cols=3)
        assert ds.data.shape == (50, dim)
    sphere = dyn.simulate("som", data="sphere", dim=5, n=30, steps=2, rows=2, cols=2).data.values
    np.testing.assert_allclose(np.linalg.norm(sphere, axis=1), 1.0)
    assert np.all(sphere >= 0)  # the forum's z ~ U[0, 1)^D: the positive orthant only
    x = np.random.default_rng(0).random((40, 3))
    np.save(tmp_path / "x.npy", x)
    np.savetxt(tmp_path / "x.csv", x, delimiter=",")
    a = dyn.simulate("som", data=str(tmp_path / "x.npy"), steps=20, rows=3, cols=3)
    b = dyn.simulate("som", data=str(tmp_path / "x.csv"), steps=20, rows=3, cols=3)
    c = dyn.simulate("som", data=x, steps=20, rows=3, cols=3)
    np.testing.assert_allclose(a.w, c.w, atol=1e-12)
    np.testing.assert_allclose(b.w, c.w, atol=1e-12)
    assert '"data": "array"' in c.attrs["config"] and a.sizes["dim"] == 3


def test_digits_from_scikit_learn():
    pytest.importorskip("sklearn")
    ds = dyn.simulate("som", data="digits", steps=100, rows=4, cols=4, weights_init="sample")
    assert ds.data.shape == (1797, 64) and float(ds.data.max()) == 1.0
    assert float(ds.quantization_error[-1]) < float(ds.quantization_error[0])


@pytest.mark.parametrize("argv, code, words", [
    (["--rule", "kohonen"], 2, "rule must be one of"),
    (["--rows", "0"], 2, "rows must be >= 1"),
    (["--sigma", "0"], 2, "sigma must be > 0"),
    (["--lr-decay", "fast"], 2, "lr_decay must be one of"),
    (["--neighbourhood", "cone"], 2, "neighbourhood must be one of"),
    (["--momentum", "0.5"], 2, "momentum applies to rule 'topographic' only"),
    (["--rule", "topographic", "--momentum", "1.5"], 2, "momentum must be in [0, 1)"),
    (["--normalize"], 2, "normalize and project apply"),
    (["--data", "ring", "--dim", "3"], 2, "the ring is 2-D"),
    (["--data", "moon"], 2, "data must be one of"),
    (["--data", "missing.npy"], 2, "no such file"),
    (["--data", "bad.npy"], 1, "cannot read bad.npy"),
    (["--data", "bad.csv"], 1, "cannot read bad.csv"),
    (["--data", "nan.csv"], 2, "contains NaN"),
    (["--data", "cube.npy"], 2, "must have shape (n, D)"),
    (["--data", "empty.csv"], 1, "holds no data"),
    (["--data", "empty.npy"], 1, "holds no data"),
    (["--data", "complex.npy"], 2, "must be real numbers"),
    (["--data", "digits", "--n", "5"], 2, "has its own size"),
    (["--topology", "hexagonal", "--toroidal", "--cols", "5"], 2, "even number of cols"),
    (["--device", "cuda"], 1, "is not available"),
])
def test_bad_input_is_one_line_and_touches_nothing(run_cli, tmp_path, argv, code, words):
    (tmp_path / "som.nc").write_bytes(b"precious")
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    (tmp_path / "bad.csv").write_text("1,2\nfoo,bar\n")
    (tmp_path / "nan.csv").write_text("1,2\nnan,3\n")
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    (tmp_path / "empty.csv").write_text("")
    np.save(tmp_path / "empty.npy", np.zeros((0, 2)))
    np.save(tmp_path / "complex.npy", np.array([[1 + 2j, 3.0]]))
    got, out, err = run_cli("simulate", "som", *argv, "--steps", "5", "--no-gif", "-q")
    assert got == code, err
    assert one_line_error(err), err
    assert words in err
    assert (tmp_path / "som.nc").read_bytes() == b"precious"


def test_python_errors_are_usage_errors():
    with pytest.raises(dyn.UsageError, match="init must have shape"):
        dyn.simulate("som", rows=3, cols=3, steps=5, init=np.zeros((8, 2)))
    with pytest.raises(dyn.UsageError, match="data contains NaN"):
        dyn.simulate("som", steps=5, data=np.array([[0.0, np.nan]]))
    with pytest.raises(dyn.UsageError, match="cannot change lr when continuing"):  # tests/test_som_continue.py
        dyn.simulate("som", init=dyn.simulate("som", steps=4, rows=2, cols=2), steps=4, lr=0.1)


def test_cli_writes_run_picture_and_plot(run_cli, tmp_path):
    code, out, err = run_cli("simulate", "som", "--steps", "300", "--n", "200", "--rows", "5", "--cols", "6",
                             "--topology", "hexagonal", "-q")
    assert code == 0, err
    assert out.startswith("completed: online 5x6: QE") and "som.gif" in out
    assert (tmp_path / "som.gif").stat().st_size > 1000
    ds = dyn.load(tmp_path / "som.nc")
    assert ds.sizes["time"] == 301 and ds.coords["grid_row"].values[7] == 1
    code, out, err = run_cli("plot", "som.nc")
    assert code == 0 and (tmp_path / "som.png").stat().st_size > 1000, err


def test_picture_mesh_joins_grid_neighbours_and_projects_high_dimensions():
    from dyn.flows.som.picture import Picture

    ds = dyn.simulate("som", rows=2, cols=3, steps=10, n=50)
    pic = Picture(ds)
    x, y = pic.overlays(0)[0]
    assert len(x) == 7 * 3 and np.isnan(x[2::3]).all()  # 2 x 3 grid: 7 edges, NaN after each
    assert pic.default_trail == 0 and pic.animated_artists() == [] and pic.figsize == (6, 6)
    np.testing.assert_allclose(pic.points(3), ds.w.values[3])
    high = dyn.simulate("som", rule="topographic", rows=3, cols=3, dim=6, n=40, batch=8, steps=5)
    pos = Picture(high).points(5)
    assert pos.shape == (9, 2) and np.isfinite(pos).all()


def test_above_three_dimensions_the_animation_shows_the_u_matrix_over_time():
    """D > 3: beside the mesh, the U-matrix of each snapshot (an image) and a cursor on the QE/TE curves."""
    from dyn.flows.som.grid import make_grid, umatrix
    from dyn.render.animate import picture_of
    from dyn.render.blit import Canvas

    ds = dyn.simulate("som", rule="topographic", rows=3, cols=4, dim=6, n=40, batch=8, steps=6)
    pic = picture_of(ds)
    canvas = Canvas(pic, dpi=40)
    first = np.asarray(canvas.frame(0))
    image, cursor = pic.animated_artists()
    last = np.asarray(canvas.frame(6))
    want = umatrix(ds.w.values[6], make_grid(3, 4, "rectangular", False)).reshape(3, 4)
    np.testing.assert_allclose(image.get_array(), want)
    assert cursor.get_xdata()[0] == float(ds.step[6])
    assert len(canvas.fig.axes) == 4  # mesh, U-matrix, QE and its TE twin
    right = slice(first.shape[1] // 2, None)
    assert (first[:, right] != last[:, right]).any()  # the side panels move
    assert pic.figsize == (12, 6)


@pytest.mark.parametrize("opts", [dict(rule="topographic", dim=6, n=40, batch=8, steps=6),
                                  dict(rule="online", dim=5, data="uniform", n=60, steps=50)])
def test_plot_above_three_dimensions_has_three_panels_that_do_not_overlap(opts):
    """dyn plot of a D > 3 map: curves, U-matrix (with its colour bar) and map side by side, no layout warning."""
    import warnings

    from matplotlib.transforms import Bbox

    ds = dyn.simulate("som", rows=3, cols=4, **opts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tight_layout's warnings fail the test
        fig = dyn.plot(ds)
        renderer = fig.canvas.get_renderer()
    groups = {}  # a twin axis shares its host's position: one group each
    for ax in fig.axes:
        groups.setdefault(tuple(np.round(ax.get_position().bounds, 6)), []).append(ax.get_tightbbox(renderer))
    boxes = [Bbox.union(b) for b in groups.values()]
    assert len(boxes) == 4  # QE/TE curves (with the TE twin), U-matrix, its colour bar, the map
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert overlap_w <= 0 or overlap_h <= 0, (i, j, a, b)
    assert max(b.x1 for b in boxes) <= fig.bbox.width + 1 and min(b.x0 for b in boxes) >= -1  # inside the figure


def test_metrics_for_studies(ring_run):
    m = dyn.flows.get_flow("som").metrics(ring_run)
    assert set(m) >= {"final_quantization_error", "final_topographic_error", "final_topographic_loss"}
    assert float(m["final_quantization_error"]) == float(ring_run.quantization_error[-1])


def test_divergence_is_reported():
    x = np.random.default_rng(0).random((50, 4))
    ds = dyn.simulate("som", rule="topographic", rows=3, cols=3, data=x, batch=10, steps=40, lr=1e200,
                      momentum=0.0, normalize=False)
    assert ds.attrs["status"].startswith("diverged at step")
    assert int(ds.diverged_at) > 0 and np.isnan(ds.w.values[-1]).all()


def test_online_rule_diverges_before_any_measure_is_infinite():
    """lr 20 makes every update overshoot: the run stops at the first step whose sample is at a non-finite
    distance from a unit, so every snapshot it keeps has finite measures (it used to complete with
    infinite measures for most of its snapshots)."""
    ds = dyn.simulate("som", lr=20.0, lr_decay="constant", sigma=1.5, sigma_decay="constant", steps=4000, n=400,
                      measures="all", measure_every=1)
    assert ds.attrs["status"].startswith("diverged at step") and int(ds.diverged_at) > 0
    alive = np.isfinite(ds.w.values).all(axis=(1, 2))
    assert alive[0] and not alive[-1]
    for name in ("quantization_error", "topographic_error", "topographic_loss", "heskes_energy"):
        assert np.isfinite(ds[name].values[alive]).all() and np.isnan(ds[name].values[~alive]).all()
    k = np.flatnonzero(alive)[-1]
    assert ds.step.values[k] < int(ds.diverged_at) <= ds.step.values[k + 1]  # in the frame after the last snapshot


def test_a_snapshot_whose_measures_overflow_ends_the_replica_there():
    """Finite weights far enough out for the measures to overflow: the replica diverges at that snapshot."""
    from dyn.flows.som import FLOW

    job = FLOW.prepare(SomConfig(rows=3, cols=3, steps=40, n=50, record_every=4, replicas=2))
    job.advance(0, job.frames, job.inputs(0, job.frames))
    assert (job.diverged_at == -1).all()
    job.rec["w"][1, 6] = 1e200  # every unit: no data point has a finite distance to its best unit
    job.measure(np.arange(11), pick=False)
    assert list(job.diverged_at) == [-1, 24] and int(job.steps[6]) == 24
    assert np.isnan(job.rec["w"][1, 6:]).all() and np.isfinite(job.rec["w"][1, :6]).all()
    assert np.isnan(job.rec["quantization_error"][1, 6:]).all() and np.isfinite(job.rec["w"][0]).all()


def test_batch_rule_refuses_a_learning_rate_above_one(run_cli, tmp_path):
    with pytest.raises(dyn.UsageError, match=r"batch rule's lr must be in \(0, 1\]"):
        SomConfig(rule="batch", lr=1.5)
    assert SomConfig(rule="batch", lr=1.0).lr == 1.0
    code, out, err = run_cli("simulate", "som", "--rule", "batch", "--lr", "2")
    assert code == 2 and one_line_error(err) and "(0, 1]" in err and not (tmp_path / "som.nc").exists()


def test_measures_every_few_snapshots_and_the_last():
    ds = dyn.simulate("som", rows=3, cols=3, steps=100, n=40, measure_every=7)
    qe = ds.quantization_error.values
    assert list(np.flatnonzero(np.isfinite(qe))) == list(range(0, 100, 7)) + [100]
    every = dyn.simulate("som", rows=3, cols=3, steps=100, n=40, measure_every=1)
    np.testing.assert_array_equal(every.w, ds.w)  # measuring does not touch the trajectory
    np.testing.assert_allclose(every.quantization_error.values[::7], qe[::7], rtol=1e-13)
    assert np.isfinite(dyn.simulate("som", rows=3, cols=3, steps=5000, n=40).quantization_error.values).sum() == 51
    even = dyn.simulate("som", rows=3, cols=3, steps=5000, n=40, record="even").quantization_error.values
    assert list(np.flatnonzero(np.isfinite(even))) == list(range(0, 501, 10))
    assert np.isfinite(dyn.simulate("som", rows=3, cols=3, steps=50, n=40).quantization_error.values).all()
    with pytest.raises(dyn.UsageError, match="measure_every must be >= 1"):
        SomConfig(measure_every=0)


def _h(rows, cols, name, sigma, topology="rectangular", toroidal=False, rule="online"):
    from dyn.flows.som.grid import make_grid
    from dyn.flows.som.job import neighbourhood_code
    from dyn.flows.som.measure import neighbourhood_matrix

    cfg = SomConfig(rule=rule, rows=rows, cols=cols, neighbourhood=name, topology=topology, toroidal=toroidal)
    return neighbourhood_matrix(make_grid(rows, cols, topology, toroidal), neighbourhood_code(cfg), sigma)


def test_toroidal_grid_wraps_neighbourhoods_and_topographic_error():
    from dyn.flows.som.grid import adjacent, make_grid

    H = _h(4, 5, "gaussian", 1.0, toroidal=True)
    assert H[0, 4] == pytest.approx(H[0, 1]) and H[0, 15] == pytest.approx(H[0, 5])  # (0,0)-(0,4), (0,0)-(3,0)
    assert _h(4, 5, "gaussian", 1.0)[0, 4] < 1e-3
    assert adjacent(make_grid(4, 5, toroidal=True))[0, 19] and not adjacent(make_grid(4, 5))[0, 19]
    hexa = _h(4, 6, "gaussian", 1.0, "hexagonal", True)
    np.testing.assert_allclose(hexa, hexa.T)
    assert np.isclose(hexa.sum(1), hexa.sum(1)[0]).all()  # every unit sees the same torus


def test_heskes_rule_matches_numpy_reference():
    rng = np.random.default_rng(8)
    x, w0 = rng.uniform(-1, 1, (30, 2)), rng.normal(0, 0.3, (12, 2))
    steps, sigma0, lr0 = 25, 1.5, 0.4
    ds = dyn.simulate("som", rule="heskes", rows=3, cols=4, data=x, init=w0, steps=steps, sigma=sigma0, lr=lr0,
                      topology="hexagonal")
    w = w0.copy()
    for t in range(steps):
        sig, eta = sigma0 / (1 + t / (steps / 2)), lr0 / (1 + t / (steps / 2))
        H = _h(3, 4, "gaussian", sig, "hexagonal")
        xi = x[t % len(x)]
        c = np.argmin(H @ ((xi - w) ** 2).sum(1))
        w = w + (H[c] * eta)[:, None] * (xi - w)
    np.testing.assert_allclose(ds.w[-1], w, rtol=0, atol=1e-12)


@pytest.mark.parametrize("topology, neighbourhood", [("hexagonal", "gaussian"), ("rectangular", "mexican_hat")])
def test_topographic_rule_on_the_general_neighbourhood_path(topology, neighbourhood):
    from dyn.flows.som import theory as th

    rng = np.random.default_rng(9)
    z, w0 = rng.random((16, 5)), rng.normal(0, 0.5, (12, 5))
    ds = dyn.simulate("som", rule="topographic", rows=3, cols=4, data=z, init=w0, steps=1, batch=16, lr=0.02,
                      momentum=0.0, sigma=1.2, topology=topology, neighbourhood=neighbourhood)
    H = _h(3, 4, neighbourhood, 1.2, topology, rule="topographic")
    expected = w0 - 0.02 * th.forum_gradient(w0, z, H, th.winners(w0, z))
    np.testing.assert_allclose(ds.w[-1], expected, rtol=0, atol=1e-13)


def test_results_do_not_depend_on_the_thread_count():
    import numba

    before = numba.get_num_threads()
    opts = dict(rule="topographic", rows=4, cols=5, dim=8, n=100, batch=16, steps=20, replicas=3, measures="all")
    try:
        numba.set_num_threads(1)
        one = dyn.simulate("som", **opts)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = dyn.simulate("som", **opts)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.w, two.w)
    np.testing.assert_array_equal(one.heskes_energy, two.heskes_energy)


def test_help_states_the_rule_dependent_defaults(run_cli):
    code, out, err = run_cli("simulate", "som", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "[T: 20; M: 10]" in text and "[T: 0.001; M: 0.5]" in text and "T for rule topographic" in text


def test_shuffled_order_is_a_permutation_each_epoch_and_linear_in_length():
    """Every epoch of a shuffled block is a permutation of the data; blocks split anywhere agree."""
    from dyn.flows.som.data import Order

    order = Order(7, 3, True, [5, 6])
    whole = order.block(0, 20)  # 60 samples: 8 epochs of 7 and a part
    assert whole.shape == (2, 60)
    for r in range(2):
        for e in range(8):
            assert sorted(whole[r, 7 * e:7 * e + 7]) == list(range(7))
    assert (np.concatenate([order.block(0, 9), order.block(9, 11)], axis=1) == whole).all()
    assert (whole[0] != whole[1]).any()


def test_a_data_array_sets_the_size_and_refuses_a_contradicting_one():
    x = np.random.default_rng(0).random((40, 3))
    ds = dyn.simulate("som", data=x, dim=3, rows=3, cols=3, steps=10)
    assert ds.sizes["dim"] == 3 and ds.sizes["sample"] == 40
    with pytest.raises(dyn.UsageError, match="data array has 3 columns"):
        dyn.simulate("som", data=x, dim=4, rows=3, cols=3, steps=10)
    with pytest.raises(dyn.UsageError, match="a data array has its own size"):
        dyn.simulate("som", data=x, n=7, rows=3, cols=3, steps=10)


def test_an_online_map_is_recorded_at_log_spaced_steps_and_plotted_on_a_log_step_axis():
    """The map unfolds in its first 1% of samples: online and heskes runs record log-spaced snapshots."""
    assert (SomConfig().record, SomConfig(rule="heskes").record) == ("log", "log")
    assert (SomConfig(rule="topographic").record, SomConfig(rule="batch").record) == ("even", "even")
    assert SomConfig(record_every=10).record == "even"
    ds = dyn.simulate("som", rows=4, cols=4, steps=3000, n=100)
    steps = ds.step.values
    assert ds.sizes["time"] == 501 and list(steps[:51]) == list(range(51)) and steps[-1] == 3000
    assert dyn.plot(ds).axes[0].get_xscale() == "symlog"
    even = dyn.simulate("som", rows=4, cols=4, steps=3000, n=100, record="even")
    assert list(even.step.values[:3]) == [0, 6, 12] and dyn.plot(even).axes[0].get_xscale() == "linear"
    np.testing.assert_array_equal(even.w.values[-1], ds.w.values[-1])  # the spacing never changes the run


def test_unstack_grid_puts_each_unit_at_its_row_and_column():
    from dyn.flows.som import unstack_grid

    ds = dyn.simulate("som", rule="topographic", rows=3, cols=4, dim=5, n=30, batch=4, steps=6, replicas=2,
                      topology="hexagonal")
    grid = unstack_grid(ds)
    assert grid.w.dims == ("time", "replica", "grid_row", "grid_col", "dim") and "unit" not in grid.dims
    assert grid.momentum_buffer.dims == ("replica", "grid_row", "grid_col", "dim")
    for k in range(12):
        i, j = divmod(k, 4)
        np.testing.assert_array_equal(grid.w.sel(grid_row=i, grid_col=j).values, ds.w.isel(unit=k).values)
        np.testing.assert_array_equal(grid["coords"].sel(grid_row=i, grid_col=j).values,
                                      ds["coords"].isel(unit=k).values)
    np.testing.assert_array_equal(grid.quantization_error, ds.quantization_error)

