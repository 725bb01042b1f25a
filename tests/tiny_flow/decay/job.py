import numpy as np

from dyn.engine import loop
from dyn.engine.steps import StepJob
from dyn.flows.decay import kernels
from dyn.io.schema import run_dataset


class DecayJob(StepJob):
    def __init__(self, cfg, x, start=None):
        super().__init__(cfg.steps, cfg.record_every, cfg.replicas, {"x": (cfg.particles,), "loss": ()}, start=start)
        self.cfg, self.x = cfg, np.array(x, dtype=np.float64)
        if self.initial:
            self.rec["x"][:, 0] = self.x

    def inputs(self, lo, hi):
        return 0

    def advance(self, lo, hi, inputs):
        loop.advance(kernels, self.replicas)(
            kernels.State(self.x), kernels.Consts(self.cfg.stiffness, self.cfg.lr), inputs, self.block_steps(lo, hi),
            self.step_at(lo), kernels.Snaps(self.rec["x"], self.rec["loss"]), self.slot(lo), self.diverged_at)

    def finish(self, frames_done, status):
        rec, clocks = self.records(frames_done), self.clocks(frames_done)
        data = {"x": (("replica", "time", "particle"), rec["x"]), "loss": (("replica", "time"), rec["loss"])}
        coords = {name: ("time", value) for name, value in clocks.items()}
        return run_dataset(data, coords, self.cfg, {"x": ("positions", "1"), "loss": ("frame's mean loss", "1")},
                           status, flow="decay")


def prepare(cfg, *, init=None, start=None):
    x = init if init is not None else np.random.default_rng(cfg.seed).normal(size=(cfg.replicas, cfg.particles))
    return DecayJob(cfg, np.reshape(x, (cfg.replicas, cfg.particles)), start=start)


def resume(ds, cfg, start):
    return {"init": ds["x"].isel(time=-1).values}
