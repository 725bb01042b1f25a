"""The analysis of a relu run as one Dataset, its short table, and the per-replica metrics studies keep."""

from __future__ import annotations

import numpy as np

from dyn.analysis import activity, directions, motion, transport
from dyn.analysis.directions import ANGLE
from dyn.analysis.convergence import final
from dyn.analysis.particles import check_relu

# the per-snapshot scalars: the table's columns, the names a study's keep.metrics accepts (final values)
SUMMARY = ("alignment", "covered", "w2", "lazy", "balancedness_drift", "mean_speed", "dead_fraction")


def summary_functions(angle=ANGLE, same_sign=True, x=None, dead=None):
    """name -> function of a relu Dataset, for every name of SUMMARY (``dead``: the dead neurons, if known)."""
    return {
        "alignment": lambda ds: directions.alignment(ds, same_sign),
        "covered": lambda ds: directions.covered(ds, angle, same_sign),
        "w2": transport.wasserstein2,
        "lazy": motion.lazy,
        "balancedness_drift": motion.balancedness_drift,
        "mean_speed": motion.mean_speed,
        "dead_fraction": lambda ds: activity.dead_fraction(ds, x, dead),
    }


def analyze(ds, *, angle=ANGLE, same_sign=True, x=None):
    """Every analysis of the relu run ``ds`` over its snapshots, as one Dataset.

    Per neuron: ``cosine`` (to each teacher neuron), ``nearest_teacher``, ``relative_change``,
    ``balancedness``, ``speed``, ``dead``; per teacher neuron: ``teacher_alignment``; per snapshot: the
    SUMMARY scalars, and the run's ``loss_test``. ``angle`` (degrees) and ``same_sign`` define a covered
    teacher neuron; ``x`` (n, d) replaces the Gaussian probe for dead neurons.
    """
    import xarray as xr

    check_relu(ds)
    dead = activity.dead(ds, x)
    parts = [directions.cosine(ds), directions.nearest_teacher(ds), directions.teacher_alignment(ds, same_sign),
             motion.relative_change(ds), motion.balancedness(ds), motion.speed(ds), dead]
    parts += [f(ds) for f in summary_functions(angle, same_sign, x, dead).values()]
    out = xr.Dataset({part.name: part for part in parts})
    for name in ("loss_test", "loss_train"):
        if name in ds:
            out[name] = ds[name]
    keep = ("flow", "config", "seed", "teacher_seed", "status", "schema_version", "dyn_version")
    out.attrs = {k: ds.attrs[k] for k in keep if k in ds.attrs}
    out.attrs.update(kind="analysis", angle=float(angle), same_sign=int(same_sign))
    return out


def snapshots_shown(n):
    """Indices of the first, middle and last snapshots (fewer when there are fewer)."""
    return sorted({0, (n - 1) // 2, n - 1})


def table(an):
    """Lines of a short table of the analysis ``an`` at the first, middle and last snapshot (the mean
    over replicas when there are several)."""
    cols = [("loss_test", "loss_test", "{:.3g}"), ("alignment", "alignment", "{:.3f}"),
            ("covered", "covered", "{:.3g}"), ("w2", "W2", "{:.3g}"), ("lazy", "lazy", "{:.3g}"),
            ("balancedness_drift", "bal. drift", "{:.2g}"), ("mean_speed", "speed", "{:.2g}"),
            ("dead_fraction", "dead", "{:.2f}")]
    cols = [c for c in cols if c[0] in an]
    header = ["time", "step"] + [c[1] for c in cols]
    rows = []
    for i in snapshots_shown(an.sizes["time"]):
        snap = an.isel(time=i)
        row = [str(int(snap["time"])), str(int(snap["step"])) if "step" in snap.coords else "-"]
        for name, _, fmt in cols:
            value = float(np.nanmean(snap[name].values)) if np.isfinite(snap[name].values).any() else np.nan
            row.append(fmt.format(value) if np.isfinite(value) else "nan")
        rows.append(row)
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(header)]
    lines = ["  ".join(h.rjust(wd) for h, wd in zip(header, widths))]
    lines += ["  ".join(v.rjust(wd) for v, wd in zip(r, widths)) for r in rows]
    if "replica" in an.dims:
        lines.append(f"(means over {an.sizes['replica']} replicas)")
    if "covered" in an:
        lines.append(f"covered: teacher neurons (of {an.sizes['teacher_neuron']}) with a student within "
                     f"{an.attrs.get('angle', ANGLE):g} degrees; dead: on {an['dead'].attrs.get('probe', 'the probe')}")
    return lines


def metrics(ds, names):
    """{name: the last finite value per replica} of the SUMMARY analyses named in ``names``."""
    check_relu(ds)
    functions = summary_functions()
    out = {}
    for name in names:
        series = functions[name](ds)
        out[name] = final(series.to_dataset(name=name), name)
        out[name].attrs.update(description=f"last finite value of the analysis {name}: {series.attrs['description']}",
                               units=series.attrs["units"])
    return out
