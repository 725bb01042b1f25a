"""The som flow: self-organising maps whose units are the particles (seed 004).

Rules: ``online`` Kohonen and the ``batch`` map as MiniSom 2.3.6 computes them, ``heskes`` (the
winner minimises the neighbourhood-weighted distance, a true gradient of an energy) and
``topographic``, the forum's layer trained by SGD with momentum. Importing this package is cheap
(the CLI reads the config for ``--help``); the kernels load on first use.
"""

from dyn.flows.base import Flow, lazy
from dyn.flows.som.config import SomConfig


def unstack_grid(ds):
    """``ds`` with ``unit`` unstacked to (grid_row, grid_col): see :func:`dyn.flows.som.record.unstack_grid`."""
    from dyn.flows.som.record import unstack_grid as unstack

    return unstack(ds)


def summary(ds):
    qe, te = ds["quantization_error"], ds["topographic_error"]
    return (f"{ds.attrs['rule']} {ds.attrs['rows']}x{ds.attrs['cols']}: QE {float(qe.isel(time=0).mean()):.3g} -> "
            f"{float(qe.isel(time=-1).mean()):.3g}, TE {float(te.isel(time=-1).mean()):.3g}")


def metrics(ds):
    """Per-replica summaries a study keeps: final QE, TE, topographic loss, Heskes energy, weight norm.

    A measure the run did not record (``measures``) is NaN, so that every run has the same metrics."""
    from dyn.analysis import final

    out = {}
    for k in ("quantization_error", "topographic_error", "topographic_loss", "heskes_energy", "weight_norm"):
        out[f"final_{k}"] = final(ds, k) if k in ds else (final(ds, "weight_norm") * float("nan")).assign_attrs(
            description=f"{k} was not measured (measures=)")
    return out


FLOW = Flow(name="som", config=SomConfig, prepare=lazy("dyn.flows.som.job", "prepare"),
            resume=lazy("dyn.flows.som.job", "resume"), arrays=("init", "data"),
            help="Self-organising map: MiniSom's rules, Heskes', or the forum's topographic layer (seed 004). Defaults [T: ...; M: ...]: T for rule topographic (the forum's setup), M for online, batch, heskes (MiniSom's).",
            summary=summary, metrics=metrics)
