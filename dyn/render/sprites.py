"""Marks and titles stamped with numpy: each marker style rendered once by Agg, then copied per point.

Agg places every marker of a ``Line2D`` at whole pixels (``draw_markers`` shifts the transformed
positions by half a pixel and truncates them), so a marker's image is the same wherever it lands: :class:`Sprite` renders
it once on black and once on white, which gives its coverage and colour per pixel, and
:meth:`Sprite.stamp` composites it (source over) into an RGB array at the pixel Agg would have used,
clipped to the axes as Agg clips. A frame of points then costs a few small numpy operations per
point instead of a draw of the whole artist through Agg.

:class:`TitleWriter` draws a title line by line from glyphs rasterised once by Pillow (FreeType, the
font matplotlib uses), composed into words (kept while they recur) laid at their pen positions: the
per-frame text costs a few array products, not a layout and rasterisation of every string.
"""

from __future__ import annotations

import math

import numpy as np


class Sprite:
    """One marker style (keyword arguments of ``ax.plot``) at ``dpi``: its coverage and premultiplied colour."""

    def __init__(self, style, dpi):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.transforms import IdentityTransform

        ms = float(style.get("ms", style.get("markersize", 6.0)))
        mew = float(style.get("mew", style.get("markeredgewidth", 1.0)))
        half = int(math.ceil((ms / 2 + mew) * dpi / 72)) + 3
        side = 2 * half + 1
        layers = []
        for face in ("black", "white"):
            fig = Figure(figsize=(side / dpi, side / dpi), dpi=dpi, facecolor=face)
            canvas = FigureCanvasAgg(fig)
            width, height = canvas.get_width_height()
            fig.add_artist(Line2D([half + 0.25], [height - half - 0.25], transform=IdentityTransform(),
                                  **{**style, "ls": "none"}))
            canvas.draw()
            layers.append(np.asarray(canvas.buffer_rgba())[:, :, :3].astype(np.float32))
        black, white = layers
        alpha = 1.0 - (white - black).mean(axis=2, keepdims=True) / 255.0
        ink = (alpha[:, :, 0] > 1e-3).nonzero()
        if len(ink[0]) == 0:  # an invisible style (ms 0): nothing to stamp
            self.empty = True
            return
        self.empty = False
        r0, r1, c0, c1 = ink[0].min(), ink[0].max() + 1, ink[1].min(), ink[1].max() + 1
        self.alpha = np.ascontiguousarray(alpha[r0:r1, c0:c1])  # (h, w, 1)
        self.keep = 1.0 - self.alpha
        self.color = np.ascontiguousarray(black[r0:r1, c0:c1])  # premultiplied, 0..255
        # where the marker's anchor pixel (half, half) sits relative to the patch's top-left corner
        self.dr, self.dc = int(r0) - half, int(c0) - half
        self.shape = self.alpha.shape[:2]

    def stamp(self, rgb, rows, cols, clip, boxes=None):
        """Composite the sprite into ``rgb`` (uint8, H x W x 3) with its anchor at pixel (row, col) for each
        pair; ``clip`` = (row0, row1, col0, col1) bounds where ink may land; each box written goes to ``boxes``."""
        if self.empty:
            return
        h, w = self.shape
        R0, R1, C0, C1 = clip
        for r, c in zip(rows, cols):
            top, left = int(r) + self.dr, int(c) + self.dc
            a0, a1, b0, b1 = max(top, R0), min(top + h, R1), max(left, C0), min(left + w, C1)
            if a0 >= a1 or b0 >= b1:
                continue
            sub = (slice(a0 - top, a1 - top), slice(b0 - left, b1 - left))
            target = rgb[a0:a1, b0:b1]
            mixed = target * self.keep[sub] + self.color[sub]
            np.rint(mixed, out=mixed)
            target[...] = mixed
            if boxes is not None:
                boxes.append((a0, a1, b0, b1))


def agg_pixels(ax, points, height, matrix=None):
    """(rows, cols) of the pixels where Agg anchors markers at data ``points`` (n, 2) of ``ax``; ``matrix``: the
    3 x 3 affine matrix of ``ax.transData`` when the axes are linear (faster), else None."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    if matrix is not None:
        xy = points @ matrix[:2, :2].T + matrix[:2, 2]
    else:
        xy = ax.transData.transform(points)
    ok = np.isfinite(xy).all(axis=1) & (np.abs(xy) < 1e9).all(axis=1)
    xy = xy[ok]
    return np.floor(height - xy[:, 1] + 0.5).astype(np.int64), np.floor(xy[:, 0] + 0.5).astype(np.int64)


def linear_matrix(ax):
    """The affine matrix of ``ax.transData`` if its scales are linear (data to pixels), else None."""
    if ax.get_xscale() != "linear" or ax.get_yscale() != "linear" or ax.name != "rectilinear":
        return None
    return ax.transData.get_affine().get_matrix().copy()


def agg_clip(ax, height):
    """The axes' clip rectangle as Agg rounds it: (row0, row1, col0, col1)."""
    box = ax.bbox
    return (int(round(height - box.y1)), int(round(height - box.y0)), int(round(box.x0)), int(round(box.x1)))


class TitleWriter:
    """Black text lines centred on a column, the bottom line's descender at a row, from glyphs rasterised
    once; each word is composed once into a strip of coverage (words that recur, such as "step", are
    kept) and laid at its pen position."""

    def __init__(self, font):
        self.font = font
        self.ascent, self.descent = font.getmetrics()
        self.glyphs, self.words = {}, {}
        self.space = font.getlength(" ")

    def _glyph(self, ch):
        if ch not in self.glyphs:
            from PIL import Image, ImageDraw

            x0, y0, x1, y1 = self.font.getbbox(ch, anchor="ls")
            advance = self.font.getlength(ch)
            if x1 <= x0 or y1 <= y0:
                self.glyphs[ch] = (None, 0, 0, advance)
            else:
                mask = Image.new("L", (x1 - x0, y1 - y0), 0)
                ImageDraw.Draw(mask).text((-x0, -y0), ch, fill=255, font=self.font, anchor="ls")
                keep = 1.0 - np.asarray(mask, dtype=np.float32) / 255.0
                self.glyphs[ch] = (keep, x0, y0, advance)
        return self.glyphs[ch]

    def _word(self, word):
        """(keep (h, w): 1 - coverage, its left edge relative to the pen, its top relative to the baseline,
        the word's advance)."""
        if word not in self.words:
            glyphs = [self._glyph(ch) for ch in word]
            pens = np.cumsum([0.0] + [g[3] for g in glyphs])
            inked = [(g, int(round(p))) for g, p in zip(glyphs, pens[:-1]) if g[0] is not None]
            if not inked:
                entry = (None, 0, 0, float(pens[-1]))
            else:
                left = min(x + g[1] for g, x in inked)
                right = max(x + g[1] + g[0].shape[1] for g, x in inked)
                top = min(g[2] for g, x in inked)
                bottom = max(g[2] + g[0].shape[0] for g, x in inked)
                keep = np.ones((bottom - top, right - left), np.float32)
                for (g, x) in inked:
                    r, c = g[2] - top, x + g[1] - left
                    keep[r:r + g[0].shape[0], c:c + g[0].shape[1]] *= g[0]
                entry = (keep[:, :, None], left, top, float(pens[-1]))
            if len(self.words) > 256:  # numbers change every frame: keep the cache small
                self.words.clear()
            self.words[word] = entry
        return self.words[word]

    def draw(self, rgb, text, centre, bottom, step):
        """Draw ``text`` (lines split at "\\n") into ``rgb``; return the box (row0, row1, col0, col1) it may
        have inked, or None."""
        height, width = rgb.shape[:2]
        box = None
        for k, line in enumerate(reversed(text.split("\n"))):
            words = [self._word(w) for w in line.split(" ")]
            baseline = int(round(bottom - k * step - self.descent))
            start = centre - (sum(w[3] for w in words) + self.space * (len(words) - 1)) / 2
            pen = start
            for keep, x0, y0, advance in words:
                if keep is not None:
                    top, left = baseline + y0, int(round(pen)) + x0
                    h, w = keep.shape[:2]
                    a0, a1, b0, b1 = max(top, 0), min(top + h, height), max(left, 0), min(left + w, width)
                    if a0 < a1 and b0 < b1:
                        target = rgb[a0:a1, b0:b1]
                        mixed = target * keep[a0 - top:a1 - top, b0 - left:b1 - left]
                        np.rint(mixed, out=mixed)
                        target[...] = mixed
                pen += advance + self.space
            line_box = (max(baseline - self.ascent - 2, 0), min(baseline + self.descent + 2, height),
                        max(int(start) - 3, 0), min(int(pen) + 4, width))
            if line_box[0] < line_box[1] and line_box[2] < line_box[3]:
                box = _union(box, line_box)
        return box


def _union(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))


def union(boxes):
    """The smallest box (row0, row1, col0, col1) holding every box of ``boxes`` (None if there are none)."""
    if not boxes:
        return None
    b = np.array(boxes)
    return int(b[:, 0].min()), int(b[:, 1].max()), int(b[:, 2].min()), int(b[:, 3].max())
