"""Frame writers: GIF with one fixed palette, streamed frame by frame; MP4 through ffmpeg.

Both take RGB frames (PIL images) one at a time and hold at most the previous frame: a GIF
frame is mapped to the fixed palette without dithering (1 byte a pixel), cropped to the box that
changed since the previous frame, its unchanged pixels made transparent (the previous frame shows
through them, and LZW packs their long runs of one index: the som GIF of ``dyn simulate som``
16.5 MB -> 4.1 MB), and written at once; an MP4 frame goes down ffmpeg's stdin.
Both write to a temporary file that replaces the target only when the whole animation succeeded.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import numpy as np

from dyn.errors import RunError, UsageError
from dyn.io.atomic import atomic_path


TRANSPARENT = 255  # the palette index of "unchanged since the previous frame"; colours use 0..254


def palette_from(frames, colors=TRANSPARENT):
    """A fixed "P" palette image of ``colors`` colours fitted to sample frames (e.g. the first and a fully
    drawn one); the index ``TRANSPARENT`` is left out, for the pixels a frame does not change."""
    from PIL import Image

    stacked = Image.new("RGB", (frames[0].width, sum(f.height for f in frames)))
    top = 0
    for f in frames:
        stacked.paste(f, (0, top))
        top += f.height
    palette = stacked.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    rgb = np.array(palette.getpalette()[:3 * colors], dtype=np.int64).reshape(-1, 3)
    # the background stays exactly white: Pillow's palette lookup is coarse and would pick any entry near it
    rgb[np.argmax(rgb.sum(1))] = 255
    rgb[rgb.min(1) >= 244] = 255
    palette.putpalette(rgb.astype(np.uint8).ravel().tolist())
    return palette


def rgbx(frame):
    """A frame as an H x W x 4 uint8 array, RGB and one padding byte a pixel (a :class:`dyn.render.blit.Frame`'s
    own array; any other RGB image converted)."""
    array = getattr(frame, "array", None)
    if array is not None and array.ndim == 3 and array.shape[2] == 4 and array.flags.c_contiguous:
        return array
    rgb = np.asarray(frame.convert("RGB") if array is None else array)[:, :, :3]
    out = np.full(rgb.shape[:2] + (4,), 255, np.uint8)
    out[:, :, :3] = rgb
    return out


class GifWriter:
    """Frames mapped to the fixed palette; each written as the box that changed since the previous frame.

    A frame with ``array`` (H x W x 4 uint8, RGB and a padding byte: one uint32 a pixel) and ``boxes``
    (:class:`dyn.render.blit.Frame`: where it may differ from the previous frame) is compared with the previous
    one inside the box holding them, and only its changed pixels are mapped to the palette (by Pillow, as a
    whole-frame ``quantize`` maps them: a colour's index depends on the colour alone; each colour once, then
    remembered); any other RGB image is compared everywhere.
    """

    def __init__(self, file, fps, palette):
        from PIL import GifImagePlugin, Image

        self._gif, self._image = GifImagePlugin, Image
        self.file, self.palette = file, palette
        self.duration = int(round(1000 / fps))
        self.previous = None  # palette indices of the previous frame
        self.previous_packed = None  # and its pixels as uint32
        self.count = 0
        self._table = None  # palette index of each packed RGB colour seen (16 MB, made on first use)

    def _indices(self, keys):
        """Palette indices of colours packed as R | G << 8 | B << 16 (uint32): a table of every colour
        seen so far (TRANSPARENT where not yet seen), each new colour mapped once by Pillow."""
        if self._table is None:
            self._table = np.full(1 << 24, TRANSPARENT, np.uint8)
        index = self._table[keys]
        new = index == TRANSPARENT
        if new.any():
            unique = np.unique(keys[new])
            rgb = np.stack([unique & 255, (unique >> 8) & 255, (unique >> 16) & 255], axis=1).astype(np.uint8)
            img = self._image.frombytes("RGB", (len(unique), 1), rgb.tobytes())
            self._table[unique] = np.asarray(img.quantize(palette=self.palette, dither=self._image.Dither.NONE))[0]
            index = self._table[keys]
        return index

    def write(self, rgb):
        array = rgbx(rgb)
        packed = array.view(np.uint32)[:, :, 0]
        if self.previous is None:
            img = self._image.frombuffer("RGBX", (array.shape[1], array.shape[0]), array, "raw", "RGBX", 0, 1) \
                .convert("RGB").quantize(palette=self.palette, dither=self._image.Dither.NONE)
            index = np.array(img)
            header, _ = self._gif.getheader(img, None, {"loop": 0, "duration": self.duration})
            for chunk in header:
                self.file.write(chunk)
            box = (0, 0, index.shape[1], index.shape[0])
            frame, extra = img, {}
            self.previous, self.previous_packed = index, packed.copy()
        else:
            boxes = getattr(rgb, "boxes", None)
            if boxes is None:
                r0, r1, c0, c1 = 0, array.shape[0], 0, array.shape[1]
            else:
                b = np.array(boxes or [(0, 1, 0, 1)]).reshape(-1, 4)
                r0, r1, c0, c1 = max(int(b[:, 0].min()), 0), int(b[:, 1].max()), max(int(b[:, 2].min()), 0), int(b[:, 3].max())
            new = packed[r0:r1, c0:c1]
            changed = new != self.previous_packed[r0:r1, c0:c1]
            rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
            if len(rows) == 0:  # identical frame: a one-pixel update keeps the frame count honest
                box = (0, 0, 1, 1)
                sub = np.array([[TRANSPARENT]], np.uint8)
            else:
                a0, a1, b0, b1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
                h, w = a1 - a0, b1 - b0
                at = np.flatnonzero(changed[a0:a1, b0:b1])  # flat positions in the changed box
                values = np.ascontiguousarray(new[a0:a1, b0:b1]).ravel()[at]
                index = self._indices(values & 0xFFFFFF)
                sub = np.full(h * w, TRANSPARENT, np.uint8)
                sub[at] = index
                sub = sub.reshape(h, w)
                box = (c0 + b0, r0 + a0, c0 + b1, r0 + a1)
                width = packed.shape[1]
                flat = (at // w + box[1]) * width + at % w + box[0]  # in the whole frame
                self.previous.ravel()[flat] = index
                self.previous_packed.ravel()[flat] = values
            frame = self._image.frombytes("P", (box[2] - box[0], box[3] - box[1]), sub.tobytes())
            extra = {"transparency": TRANSPARENT}
        for chunk in self._gif.getdata(frame, offset=box[:2], duration=self.duration,
                                       disposal=1, **extra):
            self.file.write(chunk)
        self.count += 1

    def close(self):
        self.file.write(b";")


class Mp4Writer:
    def __init__(self, path, fps, size):
        import imageio_ffmpeg

        w, h = size
        self.pad = (h % 2, w % 2)  # yuv420p needs even sides
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{w + self.pad[1]}x{h + self.pad[0]}", "-r", str(fps), "-i", "-", "-an", "-c:v", "libx264",
               "-pix_fmt", "yuv420p", "-f", "mp4", str(path)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        self.count = 0

    def _changed(self, array, boxes):
        """(rows, cols, colours) of the pixels that differ from the previous frame, looked for only in the tiles
        ``boxes`` touch (every tile when None); the previous frame is brought up to date."""
        T = TILE
        height, width = array.shape[:2]
        if boxes is None:
            touched = np.ones((-(-height // T), -(-width // T)), bool)
        else:
            touched = np.zeros((-(-height // T), -(-width // T)), bool)
            for r0, r1, c0, c1 in boxes:
                if r0 < r1 and c0 < c1:
                    touched[r0 // T:(r1 - 1) // T + 1, c0 // T:(c1 - 1) // T + 1] = True
        tr, tc = np.nonzero(touched)
        offsets = np.arange(T)
        r = np.minimum(tr[:, None] * T + offsets, height - 1)[:, :, None]  # (tiles, T, 1): edge rows repeat
        c = np.minimum(tc[:, None] * T + offsets, width - 1)[:, None, :]
        new, old = array[r, c], self.previous_rgb[r, c]  # (tiles, T, T, 3)
        diff = new != old
        changed = diff[..., 0] | diff[..., 1] | diff[..., 2]
        k, i, j = np.nonzero(changed)
        rows, cols = tr[k] * T + i, tc[k] * T + j
        colours = new[k, i, j]
        self.previous_rgb[rows, cols] = colours
        return rows, cols, colours

    def write(self, rgb):
        array = rgbx(rgb)[:, :, :3]
        if any(self.pad):
            array = np.pad(array, ((0, self.pad[0]), (0, self.pad[1]), (0, 0)))
        try:
            self.proc.stdin.write(np.ascontiguousarray(array).tobytes())
        except BrokenPipeError:
            raise RunError(f"ffmpeg stopped: {self.proc.stderr.read().decode(errors='replace').strip()}") from None
        self.count += 1

    def close(self):
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise RunError(f"ffmpeg failed: {self.proc.stderr.read().decode(errors='replace').strip()}")

    def abort(self):
        self.proc.kill()
        self.proc.wait()


def check_suffix(path):
    suffix = Path(path).suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise UsageError(f"cannot write {path}: animations are .gif or .mp4")
    return suffix


@contextlib.contextmanager
def open_writer(path, fps, size, palette):
    """A writer for ``path`` (.gif or .mp4, or a binary file object for an in-memory GIF)."""
    if hasattr(path, "write"):
        writer = GifWriter(path, fps, palette)
        yield writer
        writer.close()
        return
    suffix = check_suffix(path)
    with atomic_path(path) as tmp:
        if suffix == ".gif":
            with open(tmp, "wb") as fh:
                writer = GifWriter(fh, fps, palette)
                yield writer
                writer.close()
        else:
            writer = Mp4Writer(tmp, fps, size)
            try:
                yield writer
            except BaseException:
                writer.abort()
                raise
            writer.close()
