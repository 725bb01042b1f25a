"""``dyn simulate FLOW``: one command per flow folder, generated from the flow's config.

Every config field declared with :func:`dyn.config.option` becomes an option (its help, flags and the
default as ``--help`` shows it come from the field); the options every flow shares (``--from``, ``-o``,
``--gif``/``--no-gif``, ``--quiet``) are declared once, here. A flow needs no CLI code of its own.
"""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path
from typing import Annotated, Optional

import typer


def _opt(help, *names, **kw):
    return typer.Option(*names, help=help, show_default=False, **kw)


def _base(tp):
    """int for ``int | None`` and ``Optional[int]``; the type itself otherwise."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0]
    return tp


def _config_parameter(name, tp, default, meta):
    """The typer parameter of one config field: None (not given) unless the user sets it."""
    tp = _base(tp)
    show = meta.get("show") if meta.get("show") is not None else default
    help = meta.get("help", "")
    if show is not None:
        help = f"{help.rstrip('.')} [{'no' if show is False else show}]."
    flags = tuple(meta.get("flags") or ())
    if tp is bool and len(flags) == 1 and "/" not in flags[0]:  # a switch such as --as-seed: off means not given
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=False,
                                 annotation=Annotated[bool, _opt(help, *flags)])
    if tp is bool and not flags:
        flags = (f"--{name.replace('_', '-')}/--no-{name.replace('_', '-')}",)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[Optional[tp], _opt(help, *flags)])


def _shared_parameters(flow):
    """``--from`` (where the flow can continue a run), ``-o``, ``--gif``, ``--no-gif``, ``--quiet``."""
    P = inspect.Parameter
    more = "--frames more frames" if "frames" in flow.config.field_names() else "--steps more steps"
    params = []
    if flow.resume is not None:
        params.append(P("source", P.KEYWORD_ONLY, default=None,
                        annotation=Annotated[Optional[Path], _opt(f"Continue this run (.nc) for {more}.", "--from")]))
    params += [
        P("output", P.KEYWORD_ONLY, default=Path(f"{flow.name}.nc"),
          annotation=Annotated[Path, _opt(f"The run's NetCDF file [{flow.name}.nc].", "-o", "--output")]),
        P("gif", P.KEYWORD_ONLY, default=None,
          annotation=Annotated[Optional[Path], _opt("The animation [OUTPUT with .gif].", "--gif")]),
        P("no_gif", P.KEYWORD_ONLY, default=False,
          annotation=Annotated[bool, _opt("Do not render the animation.", "--no-gif")]),
        P("quiet", P.KEYWORD_ONLY, default=False, annotation=Annotated[bool, _opt("No progress bars.", "--quiet", "-q")]),
    ]
    return params


def command(flow):
    """The ``dyn simulate <flow>`` command function of ``flow`` (a :class:`~dyn.flows.base.Flow`)."""
    fields = flow.config.options()
    names = [name for name, *_ in fields]
    params = [_config_parameter(*field) for field in fields] + _shared_parameters(flow)

    def run(**given):
        from dyn.cli.common import simulate_and_write

        options = {k: (None if v is False and k in switches else v) for k, v in given.items() if k in names}
        return simulate_and_write(flow.name, options, source=given.get("source"), output=given["output"],
                                  gif=False if given["no_gif"] else given["gif"], quiet=given["quiet"])

    switches = {p.name for p in params if p.annotation.__origin__ is bool and p.name in names}
    run.__signature__ = inspect.Signature(params)
    run.__annotations__ = {p.name: p.annotation for p in params}
    run.__name__ = flow.name
    run.__doc__ = flow.help
    return run


def add_commands(app):
    """One ``simulate`` subcommand per flow folder."""
    from dyn.flows import flow_names, get_flow

    for name in flow_names():
        flow = get_flow(name)
        app.command(name, help=flow.help)(command(flow))
