"""Pictures a reader can read: legends that say what the marks are, axes fitted to the data, a teacher
never hidden by a student, the replica shown named in the title, GIF frames that decode to what was drawn."""

import numpy as np
import pytest
from PIL import Image

import dyn
from dyn.render.animate import picture_of
from dyn.render.blit import Canvas
from conftest import frames_of


@pytest.fixture(scope="module")
def relu_run():
    return dyn.simulate("relu", frames=60, width=6)


@pytest.fixture(scope="module")
def ensemble():
    return dyn.simulate("relu", frames=8, width=4, replicas=3, seed=5)


def legend_texts(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def test_relu_legend_says_what_each_mark_is(relu_run):
    canvas = Canvas(picture_of(relu_run), dpi=50)
    texts = " | ".join(legend_texts(canvas.ax))
    for words in ("student", "teacher neuron", "trail", "teacher direction"):
        assert words in texts, texts
    # the legend sits below the axes, where no particle is ever drawn
    legend_box = canvas.ax.get_legend().get_window_extent(canvas.canvas.get_renderer())
    assert legend_box.y1 < canvas.ax.bbox.y0


def test_relu_axes_fit_the_data(relu_run):
    pic = picture_of(relu_run)
    pts = np.concatenate([relu_run.position.values.reshape(-1, 2), relu_run.teacher_position.values, [[0.0, 0.0]]])
    for lim, values in ((pic.xlim, pts[:, 0]), (pic.ylim, pts[:, 1])):
        data_span = values.max() - values.min()
        assert lim[0] <= values.min() and values.max() <= lim[1]
        assert data_span / (lim[1] - lim[0]) > 0.85, (lim, values.min(), values.max())  # no empty half
    # the axes box follows the data's shape within 3:4 .. 3:2: to scale unless the data are narrower
    canvas = Canvas(pic, dpi=50)
    box_ratio = canvas.ax.bbox.width / canvas.ax.bbox.height
    span_ratio = (pic.xlim[1] - pic.xlim[0]) / (pic.ylim[1] - pic.ylim[0])
    assert box_ratio == pytest.approx(float(np.clip(span_ratio, 0.75, 1.5)), rel=0.02)


@pytest.mark.parametrize("style", ["dyn", "seed"])
def test_a_teacher_is_never_hidden_by_a_student(relu_run, style, tmp_path):
    """A student placed just off a teacher covers part of its mark: the teacher's colour still shows there."""
    ds = relu_run.copy(deep=True)
    pic = picture_of(ds, style=style)
    canvas = Canvas(pic, dpi=100)
    teacher = ds.teacher_position.values[0]
    # a pixel of the teacher's mark, `reach` pixels right of its centre (dyn: on the ring; seed: inside the disc)
    ring = pic.teacher_style.get("mfc") == "none"
    reach = pic.teacher_style["ms"] / 2 * 100 / 72 - (0.0 if ring else 1.5)
    to_data = canvas.ax.transData.inverted()
    centre = canvas.ax.transData.transform(teacher)
    on_mark = to_data.transform(centre + [reach, 0.0])
    pos = ds["position"].values
    pos[-1, :] = to_data.transform(centre + [reach + 2.0, 0.0])  # every student over the mark's right edge
    ds["position"].values[:] = pos
    pic = picture_of(ds, style=style, xlim=pic.xlim, ylim=pic.ylim)
    canvas = Canvas(pic, dpi=100)
    image = np.asarray(canvas.frame(pic.times[-1])).astype(int)
    x, y = canvas.ax.transData.transform(on_mark)
    r, g, b = image[int(round(canvas.size[1] - y)), int(round(x))]
    assert r > 80 and r > g + 40, (style, (r, g, b))  # red (seed: translucent red over blue), not the student's blue


def test_the_replica_shown_is_named_in_the_title_and_chosen(ensemble, tmp_path, run_cli):
    for r in range(3):
        title = picture_of(ensemble, replica=r).title(0)
        assert title.splitlines()[0] == f"replica {r} of 3, seed {5 + r}"
        assert "step 0" in title.splitlines()[1]
    one = dyn.simulate("relu", frames=8, width=4, seed=6)
    assert "replica" not in picture_of(one).title(0)
    np.testing.assert_array_equal(picture_of(ensemble, replica=1).points(8), one.position.values[8])
    with pytest.raises(dyn.UsageError, match=r"replica must be in 0..2: this run has 3 replicas \(got 3\)"):
        picture_of(ensemble, replica=3)
    with pytest.raises(dyn.UsageError, match="replica must be 0: this run has one replica"):
        picture_of(one, replica=1)
    dyn.save(ensemble, tmp_path / "ens.nc")
    code, out, err = run_cli("animate", "ens.nc", "-o", "r1.gif", "--replica", "1", "--dpi", "40")
    assert code == 0, err
    code, out, err = run_cli("animate", "ens.nc", "-o", "r0.gif", "--dpi", "40")
    a, b = frames_of(tmp_path / "r1.gif"), frames_of(tmp_path / "r0.gif")
    assert len(a) == len(b) == 9 and (a[-1] != b[-1]).any()
    code, out, err = run_cli("animate", "ens.nc", "-o", "r9.gif", "--replica", "9")
    assert code == 2 and err.strip() == "dyn: error: replica must be in 0..2: this run has 3 replicas (got 9)"
    assert not (tmp_path / "r9.gif").exists()
    code, out, err = run_cli("plot", "ens.nc", "-o", "r2.png", "--replica", "2", "--dpi", "40")
    assert code == 0, err
    fig = dyn.plot(ensemble, replica=2)
    assert fig._suptitle.get_text() == "replica 2 of 3, seed 7"


def test_multi_line_titles_are_drawn_above_the_axes(ensemble):
    pic = picture_of(ensemble, replica=1)
    canvas = Canvas(pic, dpi=100)
    with_title = np.asarray(canvas.frame(0)).astype(int)
    pic.title = lambda i: None
    without = np.asarray(canvas.frame(0)).astype(int)
    rows = np.flatnonzero((with_title != without).any(axis=(1, 2)))
    top = canvas.size[1] - canvas.ax.bbox.y1
    assert len(rows) and rows.max() < top  # ink above the axes only
    line = round(1.25 * canvas._title_font.size)
    assert rows.max() - rows.min() > line  # two lines of text


def test_sphere_legend_names_the_data_stars(tmp_path):
    seed = dyn.simulate("sphere", as_seed=True, steps=20)
    texts = " ".join(legend_texts(Canvas(picture_of(seed), dpi=40).ax))
    assert "data point x_n" in texts and "vector w_k" in texts and "far side" in texts
    thomson = dyn.simulate("sphere", steps=20)
    texts = " ".join(legend_texts(Canvas(picture_of(thomson), dpi=40).ax))
    assert "vector w_k" in texts and "data point" not in texts


def test_gif_frames_decode_to_the_drawn_frames(relu_run, tmp_path):
    """Unchanged pixels are written transparent: decoded, every frame is still the frame drawn."""
    from dyn.render import writers

    drawn = []
    original = writers.GifWriter.write

    def keep(self, rgb):
        drawn.append(np.asarray(rgb.quantize(palette=self.palette, dither=Image.Dither.NONE).convert("RGB")))
        original(self, rgb)

    writers.GifWriter.write = keep
    try:
        path = dyn.animate(relu_run, tmp_path / "r.gif", dpi=40, every=3)
    finally:
        writers.GifWriter.write = original
    decoded = frames_of(path)
    assert len(decoded) == len(drawn) == 21
    for k, (got, want) in enumerate(zip(decoded, drawn)):
        np.testing.assert_array_equal(got, want, err_msg=f"frame {k}")


def test_som_gif_is_small(tmp_path):
    """The mesh moves everywhere every frame: the default GIF keeps every other snapshot, aliased lines
    and transparent unchanged pixels (the bare `dyn simulate som` GIF: 16.5 MB before, 3.4 MB now)."""
    ds = dyn.simulate("som", steps=4000)
    assert ds.sizes["time"] == 501
    path = dyn.animate(ds, tmp_path / "som.gif", dpi=50)
    assert Image.open(path).n_frames == 251
    every_frame = dyn.animate(ds, tmp_path / "all.gif", dpi=50, every=1)
    assert Image.open(every_frame).n_frames == 501
    assert path.path.stat().st_size < 0.75 * every_frame.path.stat().st_size
