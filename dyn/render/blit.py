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

Per frame the background is restored, the moving points drawn on it with ``draw_artist``, and the
RGB image handed to the writer. The title is drawn by Pillow onto that image, in matplotlib's
font: Agg lays out and rasterises text glyph by glyph, which would cost more than the rest of the
frame. Trails that keep every past position are drawn incrementally into
the cached background, so that a frame costs the same at the end as at the start; a trail of the
last N positions redraws those N each frame.
"""

from __future__ import annotations

import numpy as np


def finite(points):
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    return points[np.isfinite(points).all(axis=1)]


class Canvas:
    """An Agg figure with the picture's static layer and its animated artists."""

    def __init__(self, picture, dpi):
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
        self._title_font = None

    def _draw_title(self, image, text):
        from matplotlib import font_manager
        from PIL import ImageDraw, ImageFont

        if self._title_font is None:
            px = max(8, round(11 * self.fig.dpi / 72))
            self._title_font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), px)
        top = self.size[1] - self.ax.bbox.y1 - 6  # just above the axes' top edge, in image rows
        draw = ImageDraw.Draw(image)
        step = round(1.25 * self._title_font.size)
        for k, line in enumerate(reversed(text.split("\n"))):  # bottom line first, each centred
            draw.text((self.ax.bbox.x0 + self.ax.bbox.width / 2, top - k * step), line, fill="black",
                      font=self._title_font, anchor="md")

    def add_to_background(self, points):
        """Draw trail points once, into the cached background."""
        pts = finite(points)
        if len(pts):
            self.canvas.restore_region(self.background)
            self.trail.set_data(pts[:, 0], pts[:, 1])
            self.ax.draw_artist(self.trail)
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def frame(self, i, recent=None):
        """The RGB image of snapshot ``i``; ``recent`` are trail points drawn for this frame only."""
        from PIL import Image

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
        image = Image.frombuffer("RGBA", self.size, self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
        title = self.picture.title(i)
        if title:
            self._draw_title(image, title)
        return image

    def probe(self, times):
        """A frame with every trail point drawn: the colours the animation will use (for the palette)."""
        saved = self.background
        self.add_to_background(np.concatenate([self.picture.points(i) for i in times]))
        image = self.frame(times[-1])
        self.background = saved
        return image


def render(picture, writer_factory, *, trail=None, dpi=100, progress=None):
    """Draw ``picture.times`` and hand each RGB image to the writer ``writer_factory(size, palette_frames)``."""
    canvas = Canvas(picture, dpi)
    times = list(picture.times)
    first = canvas.frame(times[0])
    with writer_factory(canvas.size, [first, canvas.probe(times)]) as writer:
        for n, i in enumerate(times):
            recent = None
            if trail is None:
                if n:
                    canvas.add_to_background(picture.points(times[n - 1]))
            elif trail > 0 and n:
                recent = finite(np.concatenate([picture.points(j) for j in times[max(0, n - trail):n]]))
            writer.write(canvas.frame(i, recent))
            if progress:
                progress(n + 1)
    return len(times)
