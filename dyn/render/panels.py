"""The panels ``dyn plot --panels`` can draw: the default ones (loss curves, final positions) and those of
the relu analysis (:mod:`dyn.analysis`), each against the step."""

from __future__ import annotations

import numpy as np

from dyn.errors import UsageError
from dyn.flows.drawing import one_replica

BASIC = ("loss", "final")
ANALYSIS = ("alignment", "w2", "lazy", "balancedness", "speed", "dead")
PANELS = BASIC + ANALYSIS


def check_panels(panels):
    """The panel names of ``panels`` (a list or "a,b,c"), checked: UsageError naming the choices."""
    names = [p.strip() for p in panels.split(",")] if isinstance(panels, str) else list(panels)
    if not names or not all(names):
        raise UsageError(f"--panels takes a comma-separated list of: {', '.join(PANELS)}")
    for name in names:
        if name not in PANELS:
            raise UsageError(f"unknown panel {name!r}; choose from: {', '.join(PANELS)}")
    return names


def _lines(ax, ds, arr, label=None, **style):
    """One line per replica of ``arr`` (time[, replica]) against the step."""
    values = arr.transpose("time", ...).values.reshape(ds.sizes["time"], -1)
    step = ds["step"].values
    for r in range(values.shape[1]):
        ax.plot(step, values[:, r], alpha=1.0 if values.shape[1] == 1 else 0.6,
                label=label if r == 0 else None, **style)
    ax.set_xlabel("step")


def _log_if_positive(ax, arr):
    """A log axis where the positive values span more than a decade."""
    v = arr.values[np.isfinite(arr.values) & (arr.values > 0)]
    if len(v) and v.max() > 10 * v.min():
        ax.set_yscale("log")


def alignment_panel(ds, ax, replica=0):
    from dyn.analysis import covered, teacher_alignment
    from dyn.analysis.directions import ANGLE

    best = one_replica(teacher_alignment(ds), replica)
    for j in range(best.sizes["teacher_neuron"]):
        ax.plot(ds["step"].values, best.isel(teacher_neuron=j).values, lw=1.2, label=f"teacher {j}")
    ax.axhline(np.cos(np.radians(ANGLE)), color="k", ls=":", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("step")
    ax.set_ylabel("best cosine of a student (same sign of a)")
    end = one_replica(covered(ds), replica).values[-1]
    ax.set_title(f"covered at the end: {end:.0f} of {best.sizes['teacher_neuron']} (within {ANGLE:g} degrees)",
                 fontsize=9)
    ax.legend(loc="lower right", fontsize=8)


def w2_panel(ds, ax, replica=0):
    from dyn.analysis import wasserstein2

    w2 = wasserstein2(ds)
    _lines(ax, ds, w2, color="tab:purple")
    _log_if_positive(ax, w2)
    ax.set_ylabel("W2(student, teacher), particles (a, w, b)")


def lazy_panel(ds, ax, replica=0):
    from dyn.analysis import lazy, relative_change

    per = one_replica(relative_change(ds), replica)
    for k in range(per.sizes["neuron"]):
        ax.plot(ds["step"].values, per.isel(neuron=k).values, color="grey", lw=0.6, alpha=0.6,
                label="per neuron" if k == 0 else None)
    whole = lazy(ds)
    _lines(ax, ds, whole, label="all parameters", color="tab:red", lw=2.0)
    _log_if_positive(ax, whole)
    ax.set_ylabel("|theta(t) - theta(0)| / |theta(0)|")
    ax.legend(loc="lower right", fontsize=8)


def balancedness_panel(ds, ax, replica=0):
    from dyn.analysis import balancedness

    per = one_replica(balancedness(ds), replica)
    for k in range(per.sizes["neuron"]):
        ax.plot(ds["step"].values, per.isel(neuron=k).values, lw=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("a_k^2 - |w_k|^2 - b_k^2 (conserved by gradient flow)")


def speed_panel(ds, ax, replica=0):
    from dyn.analysis import mean_speed

    speed = mean_speed(ds)
    _lines(ax, ds, speed, color="tab:green")
    _log_if_positive(ax, speed)
    ax.set_ylabel("mean |d theta_k| per step")


def dead_panel(ds, ax, replica=0):
    from dyn.analysis import dead_fraction

    frac = dead_fraction(ds)
    _lines(ax, ds, frac, color="k")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("fraction of dead neurons (Gaussian probe)")


DRAW = {"alignment": alignment_panel, "w2": w2_panel, "lazy": lazy_panel, "balancedness": balancedness_panel,
        "speed": speed_panel, "dead": dead_panel}
