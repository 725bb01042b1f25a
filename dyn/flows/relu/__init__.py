"""The relu flow: mean-field two-layer ReLU networks, a student of width m learning a teacher (seed 002)."""

from dyn.flows.base import Flow
from dyn.flows.relu.config import ReluConfig
from dyn.flows.relu.job import prepare, resume


def summary(ds):
    final = ds["loss_test"].isel(time=-1)
    initial = ds["loss_test"].isel(time=0)
    return f"loss_test {float(initial.mean()):.3g} -> {float(final.mean()):.3g} ({ds.attrs['test_loss']})"


FLOW = Flow(name="relu", config=ReluConfig, prepare=prepare, resume=resume,
            arrays=("init", "teacher", "inputs"), summary=summary)
