"""A tiny flow that lives in tests only: gradient descent on 1/2 k |x|^2, copied into a copy of dyn by
tests/test_flow_contract.py to show that a flow is its folder and nothing else."""

from dyn.flows.base import Flow, lazy
from dyn.flows.decay.config import DecayConfig

FLOW = Flow(name="decay", config=DecayConfig, prepare=lazy("dyn.flows.decay.job", "prepare"),
            resume=lazy("dyn.flows.decay.job", "resume"), help="Gradient descent on 1/2 k |x|^2 (a test flow).")
