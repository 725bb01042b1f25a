"""``dyn.animate``: a run's Dataset to a GIF or MP4 (or an inline GIF in Jupyter)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from dyn.config import choice, integer, real
from dyn.engine.progress import Progress
from dyn.errors import UsageError
from dyn.render.blit import render
from dyn.render.writers import check_suffix, open_writer, palette_from

STYLES = ("auto", "dyn", "seed")


def limits(name, value):
    """None, or axis limits (lo, hi): two finite numbers with lo < hi."""
    if value is None:
        return None
    try:
        lo, hi = (real(name, v) for v in value)
    except (TypeError, ValueError) as err:
        if isinstance(err, UsageError) and "finite" in str(err):
            raise UsageError(f"{name} must be two finite numbers LO HI, got {tuple(value)}") from None
        raise UsageError(f"{name} must be two numbers LO HI, got {value!r}") from None
    if not lo < hi:
        raise UsageError(f"{name} must have LO < HI, got {lo} {hi}")
    return lo, hi


def picture_of(ds, *, style="auto", replica=0, xlim=None, ylim=None, every=1):
    """The flow's picture of ``ds`` (``dyn.flows.<flow>.picture.Picture``)."""
    from dyn.flows import get_flow

    xlim, ylim = limits("xlim", xlim), limits("ylim", ylim)
    flow = ds.attrs.get("flow")
    try:
        module = get_flow(flow).picture_module()
    except (ImportError, UsageError):
        raise UsageError(f"no picture for flow {flow!r}") from None
    choice("style", style, STYLES)
    if style == "auto":
        style = "seed" if json.loads(ds.attrs.get("config", "{}")).get("rng") == "notebook" else "dyn"
    if "replica" in ds.dims:
        if not 0 <= replica < ds.sizes["replica"]:
            raise UsageError(f"replica must be in 0..{ds.sizes['replica'] - 1}, got {replica}")
        ds = ds.isel(replica=replica)
    return module.Picture(ds, style=style, xlim=xlim, ylim=ylim, every=integer("every", every, 1))


def animate(ds, path=None, *, fps=30, trail="auto", every=1, dpi=100, xlim=None, ylim=None, style="auto",
            replica=0, progress=False):
    """Render ``ds`` to ``path`` (.gif or .mp4) and return the path.

    ``trail``: "auto" (the flow's default: every past position for relu, as the seed), None every
    past position, N the last N, 0 none; ``every=K`` keeps
    every K-th snapshot (and the last). Without ``path``, returns an inline GIF for Jupyter.
    """
    fps = integer("fps", fps, 1)
    dpi = integer("dpi", dpi, 10)
    if path is not None:
        check_suffix(path)
    picture = picture_of(ds, style=style, replica=replica, xlim=xlim, ylim=ylim, every=every)
    if trail == "auto":
        trail = getattr(picture, "default_trail", None)
    if trail is not None:
        trail = integer("trail", trail, 0)
    target = io.BytesIO() if path is None else Path(path)

    def writer(size, samples):
        return open_writer(target, fps, size, palette_from(samples))

    with Progress(len(picture.times), "rendering", enabled=progress) as bar:
        render(picture, writer, trail=trail, dpi=dpi, progress=bar.update)
    if path is None:
        return InlineGif(target.getvalue())
    return target


class InlineGif:
    """An animation held in memory; Jupyter displays it inline (``_repr_html_``), ``data`` holds the GIF."""

    def __init__(self, data):
        self.data = data

    def _repr_html_(self):
        import base64

        return f'<img src="data:image/gif;base64,{base64.b64encode(self.data).decode("ascii")}"/>'

    def save(self, path):
        from dyn.io.atomic import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_bytes(self.data)
        return path
