"""The som flow as users meet it: data sets and files, options, replicas, the Dataset, CLI, pictures."""

import numpy as np
import pytest

import dyn
from conftest import one_line_error
from dyn.flows.som.config import SomConfig


@pytest.fixture(scope="session")
def ring_run():
    return dyn.simulate("som", steps=2000, n=400)


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
    assert qe[-1] < 0.5 * qe[0] and te[-1] < 0.3 < te[0]
    assert np.all(ds.heskes_energy.values <= ds.topographic_loss.values + 1e-12)
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
    (["--device", "cuda"], 1, "not available yet"),
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
    with pytest.raises(dyn.UsageError, match="not supported"):
        dyn.simulate("som", init=dyn.simulate("som", steps=4, rows=2, cols=2), steps=4)


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
    opts = dict(rule="topographic", rows=4, cols=5, dim=8, n=100, batch=16, steps=20, replicas=3)
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
