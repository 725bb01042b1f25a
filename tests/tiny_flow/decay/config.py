from dataclasses import dataclass

from dyn.config import Config, option, replicas_option, seed_option
from dyn.errors import UsageError


@dataclass(frozen=True)
class DecayConfig(Config):
    particles: int = option(3, "Particles.", fixed=True)
    stiffness: float = option(2.0, "k of the loss 1/2 k |x|^2.")
    lr: float = option(0.1, "Learning rate.")
    steps: int = option(20, "Steps.")
    record_every: int = option(5, "Steps between snapshots.")
    replicas: int = replicas_option()
    seed: int = seed_option("Seed of the initial particles.")

    def validate(self):
        if self.particles < 1 or self.steps < 1 or self.record_every < 1:
            raise UsageError("particles, steps and record_every must be at least 1")
