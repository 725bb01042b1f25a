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
    (["--device", "cuda"], 1, "not available yet"),
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
    assert gif.n_frames == ds.sizes["time"] == 401


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
    pts = picture_of(ds).points(4)
    assert np.all(np.linalg.norm(pts, axis=1) <= 1 + 1e-12)
    if dim == 2:
        np.testing.assert_allclose(pts, ds.w.isel(time=4).values / np.linalg.norm(ds.w.isel(time=4).values, axis=1)[:, None])
    fig = dyn.plot(ds, tmp_path / "run.png")
    loss_ax, angle_ax = fig.axes
    assert loss_ax.get_yscale() == "log" and len(loss_ax.lines[0].get_xdata()) == 40
    assert len(angle_ax.lines) == 2 * 3 + 2  # theta of each (sample, vector), its legend entry, the minimum angle
