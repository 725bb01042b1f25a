"""The sphere flow: unit vectors moved by projected or Riemannian gradient descent (seed 000, SphereNet).

Importing this package is cheap (the CLI reads the config for ``--help``); the kernels load on first use.
"""

import math

from dyn.flows.base import Flow, lazy
from dyn.flows.sphere.config import SphereConfig


def summary(ds):
    """loss first -> last, the final minimum angle and energy (replica means)."""
    first, last = ds.isel(time=0), ds.isel(time=-1)
    return (f"loss {float(first.loss.mean()):.4g} -> {float(last.loss.mean()):.4g}; "
            f"min angle {math.degrees(float(last.min_angle.mean())):.2f} deg; energy {float(last.energy.mean()):.9g}")


def metrics(ds):
    """Per-replica summaries a study keeps: final loss, energy and minimum angle, when the loss fell 1000-fold."""
    from dyn.analysis import convergence_step, final

    angle = final(ds, "min_angle").assign_attrs(units="rad", description="final minimum angle between two vectors")
    return {"final_loss": final(ds, "loss"), "final_energy": final(ds, "energy"),
            "final_min_angle": angle, "convergence_step": convergence_step(ds, "loss", factor=1e-3)}


FLOW = Flow(name="sphere", config=SphereConfig, prepare=lazy("dyn.flows.sphere.job", "prepare"),
            resume=lazy("dyn.flows.sphere.job", "resume"), arrays=("init", "data"),
            help='Unit vectors by projected or Riemannian descent (seed 000).',
            summary=summary, metrics=metrics, infer=lazy("dyn.flows.sphere.state", "shape_options"))
