"""The relu flow: mean-field two-layer ReLU networks, a student of width m learning a teacher (seed 002).

Importing this package is cheap (the CLI reads the config for ``--help``); the kernels load on first use.
"""

from dyn.flows.base import Flow, lazy
from dyn.flows.relu.config import ReluConfig


def summary(ds):
    loss = ds["loss_test"]
    return f"loss_test {float(loss.isel(time=0).mean()):.3g} -> {float(loss.isel(time=-1).mean()):.3g} " \
           f"({ds.attrs['test_loss']})"


def metrics(ds):
    """Per-replica summaries a study keeps: final losses and when the test loss fell 100-fold."""
    from dyn.analysis import convergence_step, final

    out = {"final_loss_test": final(ds, "loss_test"), "final_loss_train": final(ds, "loss_train"),
           "convergence_step": convergence_step(ds, "loss_test", factor=1e-2)}
    if "certificate" in ds:  # train="population": the end point's certificate, 1.0 for the label it got
        for name in ("global", "spurious", "saddle", "not converged"):
            out[name.replace(" ", "_")] = (ds["certificate"] == name).astype(float)
        out["final_grad_norm"] = ds["final_grad_norm"]
        out["min_hessian_eigenvalue"] = ds["hessian_eigenvalues"].isel(eigenvalue=0)
    return out


# the analysis a study keeps when its spec names it: the last finite value of each per-snapshot scalar
# of dyn.analysis (the names of dyn.analysis.report.SUMMARY; a test checks that they agree)
ANALYSIS_METRICS = ("alignment", "covered", "w2", "lazy", "balancedness_drift", "mean_speed", "dead_fraction")

FLOW = Flow(name="relu", config=ReluConfig, prepare=lazy("dyn.flows.relu.job", "prepare"),
            resume=lazy("dyn.flows.relu.job", "resume"),
            arrays=("init", "teacher", "inputs"), help='Two-layer ReLU student learning a teacher by SGD (seed 002).',
            summary=summary, metrics=metrics, infer=lazy("dyn.flows.relu.state", "shape_options"),
            optional_metrics=ANALYSIS_METRICS, compute_optional=lazy("dyn.analysis.report", "metrics"))
