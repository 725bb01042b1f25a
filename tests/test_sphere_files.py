"""The sphere flow on disk and on screen: the command line, NetCDF round trips, GIFs and plots."""

import json

import numpy as np
import pytest
import xarray as xr
from PIL import Image

import dyn
from dyn.flows import get_flow
from dyn.render.animate import picture_of
from dyn.render.blit import Canvas
from conftest import one_line_error


@pytest.mark.parametrize("argv, code, words", [
    (["--vectors", "0"], 2, "vectors must be >= 1"),
    (["--dim", "1"], 2, "dim must be >= 2"),
    (["--lr", "-0.1"], 2, "lr must be > 0"),
    (["--lr", "nan"], 2, "lr must be finite"),
    (["--objective", "coulomb"], 2, "objective must be one of"),
    (["--gradient", "seed"], 2, "needs objective 'angular'"),
    (["--samples", "3"], 2, "samples applies to the angular objective"),
    (["--momentum", "1.5"], 2, "momentum must be in [0, 1)"),
    (["--vector", "3"], 2, "No such option"),
    (["--steps", "many"], 2, "--steps"),
    (["--from", "missing.nc"], 2, "no such file"),
    (["--device", "cuda"], 1, "device 'cuda' is not available"),
    (["-o", "no/such/dir/run.nc"], 1, "cannot write"),
])
def test_bad_input_is_one_line_and_touches_nothing(run_cli, tmp_path, argv, code, words):
    (tmp_path / "sphere.nc").write_bytes(b"precious")
    (tmp_path / "sphere.gif").write_bytes(b"precious too")
    got, out, err = run_cli("simulate", "sphere", *argv)
    assert got == code, err
    assert one_line_error(err) and words in err, err
    assert (tmp_path / "sphere.nc").read_bytes() == b"precious"
    assert (tmp_path / "sphere.gif").read_bytes() == b"precious too"


def test_bare_command_runs_thomson_and_writes_run_and_gif(run_cli, tmp_path):
    code, out, err = run_cli("simulate", "sphere", "--steps", "400", "-q")
    assert code == 0, err
    assert out.startswith("completed: loss") and "sphere.nc, sphere.gif" in out
    ds = dyn.load(tmp_path / "sphere.nc")
    cfg = json.loads(ds.attrs["config"])
    assert (cfg["objective"], cfg["s"], cfg["vectors"], cfg["dim"], cfg["update"]) == ("riesz", 1.0, 12, 3, "riemannian")
    gif = Image.open(tmp_path / "sphere.gif")
    shown = picture_of(ds).times  # the snapshots in which a vector moved, and the last: Thomson settles early
    assert ds.sizes["time"] == 401 and gif.n_frames == len(shown) and shown[-1] == 400 and 50 < len(shown) < 200


def test_as_seed_from_the_command_line(run_cli, tmp_path):
    code, out, err = run_cli("simulate", "sphere", "--as-seed", "--steps", "40", "--no-gif", "-q")
    assert code == 0, err
    cfg = json.loads(dyn.load(tmp_path / "sphere.nc").attrs["config"])
    assert cfg["as_seed"] and cfg["dim"] == 1000 and cfg["gradient"] == "seed" and cfg["steps"] == 40
    code, out, err = run_cli("simulate", "sphere", "--as-seed", "--no-accumulate", "--steps", "40", "--no-gif",
                             "-o", "fixed.nc")
    assert code == 0 and json.loads(dyn.load(tmp_path / "fixed.nc").attrs["config"])["accumulate"] is False


@pytest.mark.parametrize("kw", [dict(objective="angular", vectors=3, dim=5, samples=4, replicas=2, steps=30),
                                dict(objective="mhe", s=0.0, vectors=5, steps=30)])
def test_round_trip_is_identical(tmp_path, kw):
    ds = dyn.simulate("sphere", **kw)
    back = dyn.load(dyn.save(ds, tmp_path / "run.nc"))
    xr.testing.assert_identical(back, ds)
    for name in back.variables:
        assert back[name].attrs["description"] and "units" in back[name].attrs, name
    assert back.attrs["flow"] == "sphere" and back.attrs["status"] == "completed"
    metrics = get_flow("sphere").metrics(back)
    assert set(metrics) >= {"final_loss", "final_energy", "final_min_angle"}
    assert metrics["final_loss"].dims == (("replica",) if "replica" in ds.dims else ())


@pytest.fixture
def little_memory(monkeypatch):
    """1 GiB free, and no drawing allowed: the memory check must come first."""
    import dyn.flows.sphere.job as job
    from dyn.engine import steps

    def no_draw(cfg):
        raise AssertionError("drew the vectors before checking the memory")

    monkeypatch.setattr(steps, "free_memory", lambda: 2**30)
    monkeypatch.setattr(job, "draw_vectors", no_draw)
    monkeypatch.setattr(job, "draw_data", no_draw)


@pytest.mark.parametrize("kw, words", [
    (dict(steps=10**9), "loss of every step 7.45 GiB"),
    (dict(dim=100_000, vectors=100_000, steps=1), "vectors and buffers"),
    (dict(objective="angular", vectors=3, dim=2000, samples=200_000, steps=1), "data"),
    (dict(vectors=300, dim=2000, steps=1000, record_every=1), "snapshots"),
])
def test_a_run_too_big_for_memory_is_refused_before_allocating(little_memory, kw, words):
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(dyn.RunError, match="of memory is free") as err:
            dyn.simulate("sphere", **kw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert words in str(err.value) and peak < 2**20, (str(err.value), peak)  # nothing big was allocated


@pytest.mark.parametrize("argv, code, words", [
    (["--steps", "1000000000"], 1, "but only 1.0 GiB of memory is free"),
    (["--dim", "100000", "--vectors", "100000", "--steps", "1"], 1, "vectors and buffers"),
    (["--steps", "99999999999999999999"], 2, "steps must be at most"),
])
def test_absurd_sizes_are_one_line_errors(run_cli, little_memory, argv, code, words):
    got, out, err = run_cli("simulate", "sphere", *argv)
    assert got == code and one_line_error(err) and words in err, err


def test_memory_gone_after_the_check_is_one_line(run_cli, monkeypatch):
    import dyn.flows.sphere.job as job

    def gone(cfg):
        raise MemoryError("Unable to allocate 7.45 GiB")

    monkeypatch.setattr(job, "draw_vectors", gone)
    got, out, err = run_cli("simulate", "sphere", "--steps", "5")
    assert got == 1 and one_line_error(err) and "out of memory" in err, err


def test_continued_runs_count_their_steps_against_the_int64_clock():
    from dyn.engine.steps import MAX_STEPS, StepJob

    with pytest.raises(dyn.UsageError, match="steps must be at most"):
        StepJob(10, None, 1, {"w": (2,)}, step0=MAX_STEPS - 5, frame0=3)


def test_above_three_dimensions_the_top_three_principal_directions_are_shown_as_s2(tmp_path):
    """Vectors in a 3-D subspace of R^10 (the Riesz flow keeps them there): the picture is that S^2 up to a
    rotation or reflection, so every pairwise angle is kept, and front/back follow the 3-D view."""
    rng = np.random.default_rng(4)
    q = np.linalg.qr(rng.standard_normal((10, 3)))[0]  # (10, 3) orthonormal
    w3 = rng.standard_normal((6, 3))
    w3 /= np.linalg.norm(w3, axis=1, keepdims=True)
    ds = dyn.simulate("sphere", vectors=6, dim=10, init=w3 @ q.T, steps=30, lr=0.02)
    pic = picture_of(ds)
    for i in (0, 15, 30):
        xy, front = pic.xy[i], pic.front[i]
        assert np.all(np.linalg.norm(xy, axis=1) <= 1 + 1e-12)
        z = np.where(front, 1.0, -1.0) * np.sqrt(np.clip(1 - (xy ** 2).sum(1), 0, None))
        p = np.column_stack([xy, z])  # back to S^2 from the orthographic view
        u = ds.w.isel(time=i).values @ q
        np.testing.assert_allclose(p @ p.T, u @ u.T, rtol=0, atol=1e-9)
    assert "top 3 principal directions" in pic.label and "S^2" in pic.label
    assert (~pic.front).any() and pic.front.any()  # both hemispheres are used
    Image.open(dyn.animate(ds, tmp_path / "ten.gif", every=10)).seek(3)


def pixel(canvas, xy):
    x, y = canvas.ax.transData.transform(xy)
    return int(round(canvas.size[1] - y)), int(round(x))


def test_front_points_solid_and_back_points_faint(tmp_path):
    from dyn.flows.sphere.picture import view_basis

    right, up, toward = view_basis()
    front, back = toward + 0.6 * right, -toward - 0.6 * right + 0.1 * up
    w = np.stack([front, back]) / np.linalg.norm([front, back], axis=1)[:, None]
    ds = dyn.simulate("sphere", vectors=2, init=w, steps=3, lr=1e-9)
    path = dyn.animate(ds, tmp_path / "two.gif", trail=0)
    im = Image.open(path)
    im.seek(im.n_frames - 1)
    last = np.asarray(im.convert("RGB")).astype(int)
    canvas = Canvas(picture_of(ds), dpi=100)
    r, g, b = last[pixel(canvas, (w[0] @ right, w[0] @ up))]
    assert b > 140 and r < 80, (r, g, b)  # solid tab:blue
    r, g, b = last[pixel(canvas, (w[1] @ right, w[1] @ up))]
    assert 150 < r < 235 and b > r, (r, g, b)  # the same blue, faint


@pytest.mark.parametrize("dim", [2, 6])
def test_circle_and_projection_pictures_and_plot(tmp_path, dim):
    ds = dyn.simulate("sphere", objective="angular", vectors=3, dim=dim, samples=2, steps=40)
    frames = Image.open(dyn.animate(ds, tmp_path / "run.gif", every=10)).n_frames
    assert frames == 5
    pts = picture_of(ds).xy[4]  # front and back: points(4) and the overlay
    assert np.all(np.linalg.norm(pts, axis=1) <= 1 + 1e-12)
    if dim == 2:
        np.testing.assert_allclose(pts, ds.w.isel(time=4).values / np.linalg.norm(ds.w.isel(time=4).values, axis=1)[:, None])
    fig = dyn.plot(ds, tmp_path / "run.png")
    loss_ax, angle_ax = fig.axes
    assert loss_ax.get_yscale() == "log" and len(loss_ax.lines[0].get_xdata()) == 40
    assert len(angle_ax.lines) == 2 * 3 + 2  # theta of each (sample, vector), its legend entry, the minimum angle


def test_plot_shows_convergence_as_the_loss_above_its_minimum_on_log_axes():
    ds = dyn.simulate("sphere", steps=600)  # Thomson: settles to rounding within a few hundred steps
    loss_ax, angle_ax = dyn.plot(ds).axes
    line = loss_ax.lines[0]
    loss = ds.loss_iter.values
    want = loss - loss.min()
    want[want <= 0] = np.nan
    np.testing.assert_array_equal(line.get_ydata(), want)
    assert loss_ax.get_yscale() == "log" and loss_ax.get_xscale() == "symlog" and "minimum" in line.get_label()
    np.testing.assert_allclose(angle_ax.lines[-1].get_ydata(), np.degrees(ds.min_angle.values))  # shown in degrees
    moving = dyn.simulate("sphere", as_seed=True, steps=300)  # still falling at the end: the loss itself
    line = dyn.plot(moving).axes[0].lines[0]
    np.testing.assert_array_equal(line.get_ydata(), moving.loss_iter.values)
    assert "still changing" in line.get_label()
    even = dyn.plot(dyn.simulate("sphere", steps=600, record="even")).axes[0]
    assert even.get_xscale() == "linear"


def test_animation_leaves_out_the_snapshots_in_which_nothing_moved():
    ds = dyn.simulate("sphere", steps=600)
    pic = picture_of(ds)
    from dyn.flows.sphere.picture import AXES_RECT, FIGSIZE

    half_pixel = 0.5 * 2.16 / (100 * AXES_RECT[2] * FIGSIZE[0])  # the axes (5.2 inches at 100 dpi): 2.16 units
    shown = pic.times
    last = ds.sizes["time"] - 1  # snapshot indices: 500 log-spaced snapshots after the initial state
    assert shown[0] == 0 and shown[-1] == last == 500 and 30 < len(shown) < 300
    for a, b in zip(shown[:-2], shown[1:-1]):  # each frame shown moved since the one before it ...
        assert np.abs(pic.xy[b] - pic.xy[a]).max() >= half_pixel or (pic.front[a] != pic.front[b]).any()
    for i in set(range(last)) - set(shown):  # ... and each one left out had not moved since the last shown
        a = max(j for j in shown if j < i)
        assert np.abs(pic.xy[i] - pic.xy[a]).max() < half_pixel and (pic.front[a] == pic.front[i]).all()


def test_min_angle_is_stored_in_radians_and_shown_in_degrees(run_cli, tmp_path):
    code, out, err = run_cli("simulate", "sphere", "--steps", "300", "--no-gif", "-q")
    ds = dyn.load(tmp_path / "sphere.nc")
    assert ds.min_angle.attrs["units"] == "rad" and "degrees" in ds.min_angle.attrs["description"]
    assert f"min angle {np.degrees(float(ds.min_angle[-1])):.2f} deg" in out
    assert picture_of(ds).title(300).endswith(f"min angle {np.degrees(float(ds.min_angle[300])):.2f} deg")
    metric = dyn.flows.get_flow("sphere").metrics(ds)["final_min_angle"]
    assert metric.attrs["units"] == "rad" and float(metric) == float(ds.min_angle[-1])
