"""The drawing loop every animation shares: a cached background, blitted moving points, trails.

A flow's picture (``dyn.flows.<flow>.picture.Picture(ds, style=, replica=, xlim=, ylim=)``) gives:

- ``figsize`` (inches), ``times`` (indices of the snapshots to show, in order); optionally
  ``axes_rect`` (left, bottom, width, height as fractions of the figure) to place the axes;
- ``draw_static(ax)``: what never moves (axes, limits, teacher, grid), drawn once;
- ``points(i)``: (n, 2) positions of the moving particles at snapshot ``i`` (NaN rows are skipped);
- ``point_style`` / ``trail_style``: keyword arguments of ``ax.plot`` for them (markers, no line:
  ``Line2D`` draws markers directly, where a scatter collection re-measures its marker every draw);
- ``title(i)``: a title string for snapshot ``i`` (lines separated by "\n"), or None;
- optionally ``overlay_styles`` (a list of ``ax.plot`` keyword dicts) and ``overlays(i)`` (one (x, y)
  pair of arrays each): more moving artists drawn every frame, e.g. a SOM's mesh (line segments
  separated by NaN) or the points on the far side of a sphere;
- optionally ``default_trail``: the trail used when the caller asks for none in particular
  (None: every past position, as the seed; 0: no trail);
- optionally ``animated_artists()`` (artists it made in ``draw_static``, in any axes of the figure,
  e.g. an image, or markers that must never be hidden such as a teacher's) and ``update_artists(i)``
  (sets their data for snapshot ``i``): drawn every frame, last, above the moving points.

Per frame the background is restored and the moving marks drawn on it. Where every moving mark is a
marker (``ls="none"``: relu's students, trails and teacher), each is stamped from an image Agg drew
once (:mod:`dyn.render.sprites`: the pixels Agg would draw, at the pixel it would anchor them) into a
numpy RGB frame, only the boxes that changed since the previous frame are restored, and the writer is
told which box changed; otherwise (lines, images, a SOM's mesh) the artists are drawn with
``draw_artist`` on the restored Agg background. The title is drawn onto the image from glyphs Pillow
rasterised once, in matplotlib's font: Agg lays out and rasterises text glyph by glyph, which would
cost more than the rest of the frame. Trails that keep every past position are drawn incrementally
into the cached background, so that a frame costs the same at the end as at the start; a trail of the
last N positions redraws those N each frame.
"""

from __future__ import annotations

import numpy as np


def finite(points):
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    return points[np.isfinite(points).all(axis=1)]


class Frame:
    """An RGB frame (``array``: H x W x 4 uint8, RGB and a padding byte, so that a pixel compares as one uint32)
    and ``boxes``, a list of (row0, row1, col0, col1) holding every
    pixel that changed since the previous frame (None: anywhere). Where a PIL image is asked for
    (``quantize``, ``convert``, ``tobytes``, ``np.asarray``) it behaves as one."""

    def __init__(self, array, boxes=None):
        self.array, self.boxes = array, boxes
        self.height, self.width = array.shape[:2]
        self.size = (self.width, self.height)

    @property
    def rgb(self):
        return self.array[:, :, :3]

    def image(self):
        from PIL import Image

        return Image.fromarray(np.ascontiguousarray(self.rgb), "RGB")

    def __array__(self, dtype=None, copy=None):
        return np.array(self.rgb, dtype=dtype)

    def quantize(self, *args, **kwargs):
        return self.image().quantize(*args, **kwargs)

    def convert(self, *args, **kwargs):
        return self.image().convert(*args, **kwargs)

    def tobytes(self):
        return np.ascontiguousarray(self.rgb).tobytes()


def _markers_only(artist):
    from matplotlib.lines import Line2D

    return isinstance(artist, Line2D) and artist.get_linestyle() in ("None", "none", "", " ") \
        and artist.get_marker() not in (None, "None", "none", "", " ")


class Canvas:
    """An Agg figure with the picture's static layer and its animated artists."""

    def __init__(self, picture, dpi, trail=None):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.picture = picture
        self.fig = Figure(figsize=picture.figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        rect = getattr(picture, "axes_rect", None)
        self.ax = self.fig.add_axes(rect) if rect is not None else self.fig.add_subplot()
        picture.draw_static(self.ax)
        self.extra = list(picture.animated_artists()) if hasattr(picture, "animated_artists") else []
        for artist in self.extra:
            artist.set_animated(True)  # kept out of the cached background
        self.trail, = self.ax.plot([], [], ls="none", animated=True, **picture.trail_style)
        self.moving, = self.ax.plot([], [], ls="none", animated=True, **picture.point_style)
        self.overlays = [self.ax.plot([], [], animated=True, **style)[0]
                         for style in getattr(picture, "overlay_styles", ())]
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.size = self.canvas.get_width_height()
        px = max(8, round(11 * dpi / 72))
        self._title_font = _font(px)
        self._titles = None
        # stamping: every moving mark a marker, and a trail drawn into the background (or none)
        self.stamped = (trail is None or trail == 0) and all(
            _markers_only(a) for a in [self.trail, self.moving, *self.overlays, *self.extra])
        self._base = np.array(self.canvas.buffer_rgba())  # the static layer and trails so far (RGB, 255)
        self._base[:, :, 3] = 255
        self._rgb = self._base.copy()
        self._drawn = []  # boxes of _rgb that differ from _base
        self._sprites = {}
        self._matrix = None  # (the axes' data-to-pixel matrix, or None where not linear), once asked

    # -- stamping (numpy) ------------------------------------------------------------------------------

    def _sprite(self, artist):
        from dyn.render.sprites import Sprite

        key = id(artist)
        if key not in self._sprites:
            style = {"marker": artist.get_marker(), "ms": artist.get_markersize(), "mew": artist.get_markeredgewidth(),
                     "mfc": artist.get_markerfacecolor(), "mec": artist.get_markeredgecolor(),
                     "alpha": artist.get_alpha(), "antialiased": artist.get_antialiased(),
                     "fillstyle": artist.get_fillstyle()}
            self._sprites[key] = Sprite(style, self.fig.dpi)
        return self._sprites[key]

    def _stamp(self, artist, points, rgb, boxes):
        from dyn.render.sprites import agg_clip, agg_pixels, linear_matrix

        if not artist.get_visible() or len(points) == 0:
            return
        height = self.size[1]
        if self._matrix is None:
            self._matrix = (linear_matrix(self.ax),)
        rows, cols = agg_pixels(self.ax, points, height, self._matrix[0])
        clip = agg_clip(self.ax, height) if artist.get_clip_on() else (0, height, 0, self.size[0])
        self._sprite(artist).stamp(rgb, rows, cols, clip, boxes)

    def _add_stamped(self, points):
        boxes = []
        self._stamp(self.trail, finite(points), self._base[:, :, :3], boxes)
        for r0, r1, c0, c1 in boxes:
            self._rgb[r0:r1, c0:c1] = self._base[r0:r1, c0:c1]
        self._drawn += boxes  # shown in the next frame's box

    def _draw_stamped(self, i):
        """Frame ``i`` into the shared RGB buffer (valid until the next call), with the box that changed."""
        base = self._base
        changed = self._drawn
        for r0, r1, c0, c1 in changed:
            self._rgb[r0:r1, c0:c1] = base[r0:r1, c0:c1]
        rgb = self._rgb[:, :, :3]
        boxes = []
        if self.overlays:
            for line, (x, y) in zip(self.overlays, self.picture.overlays(i)):
                self._stamp(line, finite(np.column_stack([np.ravel(x), np.ravel(y)])), rgb, boxes)
        self._stamp(self.moving, finite(self.picture.points(i)), rgb, boxes)
        if self.extra:
            self.picture.update_artists(i)
            for artist in self.extra:
                self._stamp(artist, finite(artist.get_xydata()), rgb, boxes)
        title = self.picture.title(i)
        if title:
            boxes.append(self._title_writer().draw(rgb, title, *self._title_place()))
        boxes = [b for b in boxes if b is not None]
        self._drawn = boxes
        return Frame(self._rgb, changed + boxes)

    # -- Agg -------------------------------------------------------------------------------------------

    def _title_place(self):
        """Centre column, bottom row and line step of the title: just above the axes' top edge."""
        box = self.ax.bbox
        return box.x0 + box.width / 2, self.size[1] - box.y1 - 6, round(1.25 * self._title_font.size)

    def _title_writer(self):
        from dyn.render.sprites import TitleWriter

        if self._titles is None:
            self._titles = TitleWriter(self._title_font)
        return self._titles

    def _add_agg(self, points):
        pts = finite(points)
        if len(pts):
            self.canvas.restore_region(self.background)
            self.trail.set_data(pts[:, 0], pts[:, 1])
            self.ax.draw_artist(self.trail)
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def _draw_agg(self, i, recent=None):
        self.canvas.restore_region(self.background)
        if recent is not None and len(recent):
            self.trail.set_data(recent[:, 0], recent[:, 1])
            self.ax.draw_artist(self.trail)
        for line, (x, y) in zip(self.overlays, self.picture.overlays(i) if self.overlays else ()):
            line.set_data(x, y)
            self.ax.draw_artist(line)
        pts = finite(self.picture.points(i))
        self.moving.set_data(pts[:, 0], pts[:, 1])
        self.ax.draw_artist(self.moving)
        if self.extra:
            self.picture.update_artists(i)
            for artist in self.extra:
                self.ax.draw_artist(artist)
        rgbx = np.array(self.canvas.buffer_rgba())
        rgbx[:, :, 3] = 255
        title = self.picture.title(i)
        if title:
            self._title_writer().draw(rgbx[:, :, :3], title, *self._title_place())
        return Frame(rgbx)

    # -- what render and tests call ----------------------------------------------------------------------

    def add_to_background(self, points):
        """Draw trail points once, into the cached background."""
        if self.stamped:
            self._add_stamped(points)
        else:
            self._add_agg(points)

    def draw(self, i, recent=None):
        """The frame of snapshot ``i`` (a :class:`Frame`; when stamped, its array is reused by the next call);
        ``recent`` are trail points drawn for this frame only (Agg path)."""
        if self.stamped and (recent is None or not len(recent)):
            return self._draw_stamped(i)
        return self._draw_agg(i, recent)

    def frame(self, i, recent=None):
        """The RGB image of snapshot ``i`` (a :class:`Frame` of its own: ``np.asarray`` gives its pixels)."""
        out = self.draw(i, recent)
        return Frame(out.array.copy())

    def probe(self, times):
        """A frame with every trail point drawn: the colours the animation will use (for the palette). Drawn by
        Agg in one call, leaving the background as it was."""
        saved = self.background
        self._add_agg(np.concatenate([self.picture.points(i) for i in times]))
        image = self._draw_agg(times[-1])
        self.background = saved
        return image


def _font(px):
    from matplotlib import font_manager
    from PIL import ImageFont

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), px)


def render(picture, writer_factory, *, trail=None, dpi=100, progress=None):
    """Draw ``picture.times`` and hand each RGB frame to the writer ``writer_factory(size, palette_frames)``."""
    canvas = Canvas(picture, dpi, trail=trail)
    times = list(picture.times)
    first = canvas.frame(times[0])
    with writer_factory(canvas.size, [first.image(), canvas.probe(times).image()]) as writer:
        for n, i in enumerate(times):
            recent = None
            if trail is None:
                if n:
                    canvas.add_to_background(picture.points(times[n - 1]))
            elif trail > 0 and n:
                recent = finite(np.concatenate([picture.points(j) for j in times[max(0, n - trail):n]]))
            writer.write(canvas.draw(i, recent) if n else Frame(first.array))
            if progress:
                progress(n + 1)
    return len(times)
