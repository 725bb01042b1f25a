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


class GifWriter:
    def __init__(self, file, fps, palette):
        from PIL import GifImagePlugin, Image

        self._gif, self._image = GifImagePlugin, Image
        self.file, self.palette = file, palette
        self.duration = int(round(1000 / fps))
        self.previous = None
        self.count = 0

    def write(self, rgb):
        img = rgb.quantize(palette=self.palette, dither=self._image.Dither.NONE)
        index = np.asarray(img)
        if self.previous is None:
            header, _ = self._gif.getheader(img, None, {"loop": 0, "duration": self.duration})
            for chunk in header:
                self.file.write(chunk)
            box = (0, 0, index.shape[1], index.shape[0])
            frame, extra = img, {}
        else:
            changed = index != self.previous
            rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
            if len(rows) == 0:  # identical frame: a one-pixel update keeps the frame count honest
                rows, cols = np.array([0]), np.array([0])
            box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
            part = (slice(box[1], box[3]), slice(box[0], box[2]))
            sub = np.where(changed[part], index[part], TRANSPARENT).astype(np.uint8)
            frame = self._image.frombytes("P", (box[2] - box[0], box[3] - box[1]), sub.tobytes())
            extra = {"transparency": TRANSPARENT}
        for chunk in self._gif.getdata(frame, offset=box[:2], duration=self.duration,
                                       disposal=1, **extra):
            self.file.write(chunk)
        self.previous = index
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

    def write(self, rgb):
        if any(self.pad):
            rgb = rgb.crop((0, 0, rgb.width + self.pad[1], rgb.height + self.pad[0]))
        try:
            self.proc.stdin.write(rgb.tobytes())
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
