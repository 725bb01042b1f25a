"""``dyn.simulate``: the one entry point shared by notebooks, the CLI and studies."""

from __future__ import annotations

from dyn.engine import runner
from dyn.engine.steps import resume_start
from dyn.errors import DynError, RunError, UsageError
from dyn.flows import get_flow


def simulate(flow, *, progress=False, join=False, **options):
    """Simulate ``flow`` and return its run as an :class:`xarray.Dataset`.

    ``options`` are the flow's config fields (e.g. ``width=20, radius=0.05, seed=0`` for relu) and
    the arrays the flow accepts (relu: ``init``, ``teacher``, ``inputs``). ``init`` may be a Dataset
    of an earlier run: the result is then its next ``frames`` frames (sphere: ``steps`` steps), whose
    coordinates continue; with ``join=True`` it is the whole run, ``dyn.join(init, next)``, as
    ``dyn simulate --from`` writes it.
    """
    spec = get_flow(flow)
    given = dict(options)  # as the caller wrote them, for the run's "command" attr
    # an array option given as a string is a config option of the same name (som: data="ring")
    arrays = {k: options.pop(k) for k in spec.arrays if options.get(k) is not None and not isinstance(options[k], str)}
    for k in spec.arrays:
        if not isinstance(options.get(k), str):
            options.pop(k, None)
    for k in arrays:  # an array given for a config option of the same name marks that option "array"
        if k in spec.config.field_names():
            options[k] = "array"
    init = arrays.get("init")
    if join and not hasattr(init, "data_vars"):
        raise UsageError("join=True joins a continuation to the run it continues: give init=<that run's Dataset>")
    if init is not None and hasattr(init, "data_vars"):
        if init.attrs.get("flow") != spec.name:
            raise UsageError(f"init is a {init.attrs.get('flow')!r} run, not a {spec.name!r} run")
        if spec.resume is None:
            raise UsageError(f"continuing a {spec.name} run is not supported: run it again with more steps")
        cfg = spec.config.from_json(init.attrs["config"]).check_continuation(**options)
        try:
            start = resume_start(init)
            for key, value in spec.resume(init, cfg, start).items():
                arrays[key] = value if key == "init" else arrays.get(key, value)
        except (KeyError, IndexError, TypeError, ValueError) as err:  # a variable the run should have is missing
            if isinstance(err, DynError):
                raise
            what = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
            what = what.split(". ")[0].splitlines()[0][:200] if what else type(err).__name__
            raise RunError(f"cannot continue this {spec.name} run ({what}): it is not a complete run") from None
        job = spec.prepare(cfg, start=start, **arrays)
    else:
        if spec.infer is not None:  # sizes the arrays imply (sphere: vectors, dim from init), unless given
            implied = spec.infer(options, arrays)
            options.update({k: v for k, v in implied.items() if options.get(k) is None})
        job = spec.prepare(spec.config.from_kwargs(**options), **arrays)
    ds = runner.run(job, progress=progress)
    shown = ", ".join(f"{k}={v!r}" if isinstance(v, (str, int, float, bool, type(None))) else f"{k}=<{type(v).__name__}>"
                      for k, v in given.items())
    ds.attrs["command"] = f"dyn.simulate({flow!r}{', ' if shown else ''}{shown})"
    if join:
        from dyn.io.join import join as join_runs

        return join_runs(init, ds)
    return ds
