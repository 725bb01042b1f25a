"""Animations and plots: frame counts, sizes, pixels where the particles are, files never damaged."""

import numpy as np
import pytest
from PIL import Image

import dyn
from dyn.render import writers
from dyn.render.animate import picture_of
from dyn.render.blit import Canvas
from conftest import frames_of


@pytest.fixture(scope="module")
def run():
    return dyn.simulate("relu", frames=12, width=5)


def pixel_of(ds, point, style):
    canvas = Canvas(picture_of(ds, style=style), dpi=100)
    x, y = canvas.ax.transData.transform(point)
    return int(round(canvas.size[1] - y)), int(round(x))


def test_seed_style_gif(run, tmp_path):
    path = dyn.animate(run, tmp_path / "seed.gif", style="seed")
    frames = frames_of(path)
    assert len(frames) == 12  # the notebook never drew the initial state
    assert frames[0].shape == (600, 1000, 3)
    last = frames[-1]
    teacher = run.teacher_position.values
    for point in run.position.isel(time=-1).values:
        row, col = pixel_of(run, point, "seed")
        r, g, b = last[row, col]
        if np.hypot(*(teacher - point).T).min() > 0.1:
            assert b > 150 and r < 100, (point, last[row, col])  # a blue student at its a*w
        else:  # under a teacher: the translucent red teacher is drawn above it (purple), never hidden by it
            assert b > 120 and r > 80, (point, last[row, col])
    # an early position no later point covers is drawn grey in the trail
    final = run.position.isel(time=-1).values
    for point in run.position.isel(time=1).values:
        if np.min(np.abs(final - point).max(1)) > 0.05:
            row, col = pixel_of(run, point, "seed")
            r, g, b = last[row, col]
            assert abs(r - g) < 20 and abs(g - b) < 20 and 100 < r < 250, last[row, col]
            break
    else:
        pytest.fail("no trail point away from the final positions")


def test_dyn_style_frames_and_every(run, tmp_path):
    assert len(frames_of(dyn.animate(run, tmp_path / "all.gif"))) == 13  # with the initial state
    assert len(frames_of(dyn.animate(run, tmp_path / "every.gif", every=5, trail=3))) == 4  # 0, 5, 10, 12
    first = frames_of(dyn.animate(run, tmp_path / "none.gif", trail=0))[-1]
    assert (first == 255).all(axis=2).mean() > 0.5  # white background survives the fixed palette


def test_mp4(run, tmp_path):
    import imageio_ffmpeg

    path = dyn.animate(run, tmp_path / "run.mp4", dpi=50)
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == 13


def test_bad_suffix_and_failed_render_leave_files_alone(run, tmp_path, monkeypatch):
    with pytest.raises(dyn.UsageError, match=".gif or .mp4"):
        dyn.animate(run, tmp_path / "run.avi")
    target = tmp_path / "run.gif"
    target.write_bytes(b"precious")
    calls = []

    def failing(self, rgb):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")

    monkeypatch.setattr(writers.GifWriter, "write", failing)
    with pytest.raises(dyn.RunError, match="disk full"):
        dyn.animate(run, target)
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.gif"]


def test_diverged_run_renders(tmp_path):
    ds = dyn.simulate("relu", lr=1e4, radius=1.0, frames=8, width=4, test_loss="none")
    assert ds.attrs["status"].startswith("diverged")
    assert len(frames_of(dyn.animate(ds, tmp_path / "div.gif"))) == 9
    dyn.plot(ds, tmp_path / "div.png")


def test_plot(run, tmp_path):
    fig = dyn.plot(run, tmp_path / "loss.png")
    loss_ax, final_ax = fig.axes
    assert loss_ax.get_yscale() == "log" and len(loss_ax.lines) == 2
    assert Image.open(tmp_path / "loss.png").size[0] > 500
    with pytest.raises(dyn.UsageError):
        dyn.plot(run, tmp_path / "loss.txt")


def test_inline_gif(run, tmp_path):
    image = dyn.animate(run.isel(time=slice(0, 3)), dpi=30)
    assert image.data[:6] == b"GIF89a"
    assert image._repr_html_().startswith('<img src="data:image/gif;base64,R0lGODlh')  # base64 of GIF89a
    assert Image.open(image.save(tmp_path / "inline.gif")).n_frames == 3
