"""``dyn.animate``: a run's Dataset to a GIF or MP4 (or an inline GIF in Jupyter)."""

from __future__ import annotations

import io
import json
import os
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


def pick_replica(ds, replica=0):
    """``(ds of that replica, caption)``: one replica of an ensemble and the line naming it ("replica 2 of 4,
    seed 5"), or ``ds`` itself and None when the run has one replica (then ``replica`` must be 0)."""
    replica = integer("replica", replica, 0)
    if "replica" not in ds.dims:
        if replica != 0:
            raise UsageError(f"replica must be 0: this run has one replica (got {replica})")
        return ds, None
    n = ds.sizes["replica"]
    if replica >= n:
        raise UsageError(f"replica must be in 0..{n - 1}: this run has {n} replicas (got {replica})")
    one = ds.isel(replica=replica)
    seed = f", seed {int(one['seed'])}" if "seed" in one.coords else ""
    return one, f"replica {replica} of {n}{seed}"


def picture_of(ds, *, style="auto", replica=0, xlim=None, ylim=None, every=1):
    """The flow's picture of ``ds`` (``dyn.flows.<flow>.picture.Picture``); a run with replicas shows
    ``replica`` and says which in the first line of every title; ``every="auto"``: the picture's
    ``default_every`` (1 if it has none)."""
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
    ds, caption = pick_replica(ds, replica)
    if every == "auto":
        every = getattr(module.Picture, "default_every", 1)
    picture = module.Picture(ds, style=style, xlim=xlim, ylim=ylim, every=integer("every", every, 1))
    if caption is not None:
        title = picture.title
        picture.title = lambda i: "\n".join(t for t in (caption, title(i)) if t)
    return picture


def animate(ds, path=None, *, fps=30, trail="auto", every="auto", dpi=100, xlim=None, ylim=None, style="auto",
            replica=0, progress=False):
    """Render ``ds`` as an animation; return it as an :class:`Animation`.

    With ``path`` (.gif or .mp4) the file is written (atomically) and the Animation is that file
    (``os.PathLike``: ``Image.open(dyn.animate(ds, "a.gif"))`` works); without, the GIF is held in
    memory. Either way Jupyter displays the result inline and ``.save(path)`` writes it (again), as
    ``dyn.plot`` returns a Figure that Jupyter displays and ``savefig`` writes.

    ``trail``: "auto" (the flow's default: every past position for relu, as the seed), None every
    past position, N the last N, 0 none; ``every=K`` keeps every K-th snapshot (and the last), "auto"
    the flow's default (som: 2, its mesh changes everywhere each frame; others 1);
    ``replica``: which replica of an ensemble to show (its title says which); ``style``: "dyn",
    "seed" (the notebook's look) or "auto" (seed for ``rng="notebook"`` runs).
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
        return Animation(data=target.getvalue())
    return Animation(path=target)


class Animation(os.PathLike):
    """What :func:`dyn.animate` returns: a GIF held in memory (``data``) or a written file (``path``, and
    then the object is that path: ``os.fspath``). Jupyter displays it inline; ``save(path)`` writes it."""

    def __init__(self, *, data=None, path=None):
        self._data, self.path = data, None if path is None else Path(path)

    @property
    def data(self):
        """The file's bytes (GIF or MP4)."""
        return self._data if self._data is not None else self.path.read_bytes()

    @property
    def format(self):
        return "gif" if self.path is None else self.path.suffix.lower()[1:]

    def __fspath__(self):
        if self.path is None:
            raise TypeError("this animation is held in memory: save(path) writes it")
        return str(self.path)

    def __str__(self):
        return str(self.path) if self.path is not None else repr(self)

    def __repr__(self):
        where = str(self.path) if self.path is not None else f"in memory, {len(self._data):,} bytes"
        return f"<dyn.Animation {self.format}: {where}>"

    def _repr_html_(self):
        import base64

        text = base64.b64encode(self.data).decode("ascii")
        if self.format == "mp4":
            return f'<video controls loop autoplay muted src="data:video/mp4;base64,{text}"></video>'
        return f'<img src="data:image/gif;base64,{text}"/>'

    def save(self, path):
        """Write the animation to ``path`` (same format), atomically; returns ``path`` as a Path."""
        from dyn.io.atomic import atomic_path

        path = Path(path)
        if path.suffix.lower()[1:] != self.format:
            raise UsageError(f"cannot write {path}: this animation is a .{self.format}")
        with atomic_path(path) as tmp:
            tmp.write_bytes(self.data)
        return path

