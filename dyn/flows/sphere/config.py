"""Configuration of the sphere flow; the defaults are the Thomson problem, ``as_seed`` is seed 000's run.

Fields that ``as_seed`` sets default to None ("not given") and are resolved in ``validate``: an
option given explicitly always wins over both the defaults and the seed's setup.
"""

from __future__ import annotations

from dataclasses import dataclass

from dyn.config import (DTYPES, Config, choice, device_option, dtype_option, integer, option, real, replicas_option,
                        resolve_record, seed_option)
from dyn.errors import UsageError

OBJECTIVES = ("angular", "riesz", "mhe")
OPERATORS = ("cosine", "linear", "sigmoid")
UPDATES = ("projected", "riemannian")
PROJECTS = ("after", "before")
RETRACTIONS = ("normalize", "exponential")
GRADIENTS = ("exact", "seed")
DRAWS = ("sphere", "cube")
DEVICES = ("auto", "cpu", "cuda")

# Resolved when not given: the Thomson problem (12 vectors on S^2) ...
DEFAULTS = dict(objective="riesz", operator="cosine", vectors=12, dim=3, samples=5, update="riemannian",
                project="after", gradient="exact", accumulate=False, lr=0.05, steps=4000, draw="sphere")
# ... or seed 000's whole run (SEED-NOTES.md): cos theta squared, N=5 points, d=1000, M=4, x and W ~ U[0,1),
# Chainer's SGD default lr 0.01, 10000 steps, its backward, normalise-then-step and gradient accumulation.
SEED_SETUP = dict(objective="angular", operator="cosine", vectors=4, dim=1000, samples=5, update="projected",
                  project="before", gradient="seed", accumulate=True, lr=0.01, steps=10000, draw="cube")


@dataclass(frozen=True)
class SphereConfig(Config):
    """``vectors`` unit vectors w_k in R^dim moved by (projected or Riemannian) gradient descent.

    Objectives: ``angular`` sum_nk g(theta_nk)^2 over data points x_n (g the ``operator``), ``riesz``
    sum_{i<j} |w_i - w_j|^-s (-log for s = 0), ``mhe`` the MHE paper's normalised energy of w/|w|.
    Snapshots: ``record="log"`` (default) at log-spaced steps, ``"even"`` every ``record_every`` steps.
    """

    flow = "sphere"

    objective: str | None = option(None, "angular, riesz or mhe.", fixed=True, show=f"{DEFAULTS['objective']}; as seed {SEED_SETUP['objective']}")
    operator: str | None = option(None, "cosine, linear or sigmoid: g(theta) of the angular objective.", show="cosine")
    k: float = option(1.0, "Steepness of the sigmoid operator.")
    s: float = option(1.0, "Riesz/MHE exponent s >= 0 (0: logarithmic, 1: Thomson).")
    vectors: int | None = option(None, "Vectors M.", fixed=True, show=f"{DEFAULTS['vectors']}; as seed {SEED_SETUP['vectors']}")
    dim: int | None = option(None, "Dimension d of the ambient space.", fixed=True, show=f"{DEFAULTS['dim']}; as seed {SEED_SETUP['dim']}")
    samples: int | None = option(None, "Data points N of the angular objective.", fixed=True, show="5")
    update: str | None = option(None, "projected or riemannian.", show=f"{DEFAULTS['update']}; as seed {SEED_SETUP['update']}")
    project: str | None = option(None, "Projected: normalise after the step, or before it (the seed).",
                                 show=f"{DEFAULTS['project']}; as seed {SEED_SETUP['project']}")
    retraction: str = option("normalize", "Riemannian: normalize or exponential (exact geodesic).")
    momentum: float = option(0.0, "Momentum in [0, 1).")
    gradient: str | None = option(None, "exact, or seed (the seed's backward as written).", show=f"{DEFAULTS['gradient']}; as seed {SEED_SETUP['gradient']}")
    accumulate: bool | None = option(None, "Apply the sum of all gradients so far (the seed).",
                                     flags=("--accumulate/--no-accumulate",), show=f"{DEFAULTS['accumulate']}; as seed {SEED_SETUP['accumulate']}")
    lr: float | None = option(None, "Learning rate.", show=f"{DEFAULTS['lr']}; as seed {SEED_SETUP['lr']}")
    steps: int | None = option(None, "Optimisation steps.", show=f"{DEFAULTS['steps']}; as seed {SEED_SETUP['steps']}")
    record_every: int | None = option(None, "Steps between snapshots, with record even.",
                                      show="max(1, steps // 500)")
    record: str | None = option(None, "Snapshot steps: log (log-spaced: every step at first, then further apart) or "
                                "even (every record_every steps).", show="log; even with --record-every")
    draw: str | None = option(None, "Initial vectors and data: sphere (uniform) or cube (U[0,1)^d).", fixed=True,
                              show=f"{DEFAULTS['draw']}; as seed {SEED_SETUP['draw']}")
    as_seed: bool = option(False, "Seed 000's whole run, quirks and all; other options override it.",
                           flags=("--as-seed",), fixed=True)
    replicas: int = replicas_option()
    seed: int = seed_option("Seed of the vectors and the data.")
    device: str = device_option()
    dtype: str = dtype_option()

    def validate(self):
        if not isinstance(self.as_seed, bool):
            raise UsageError(f"as_seed must be True or False, got {self.as_seed!r}")
        base = SEED_SETUP if self.as_seed else DEFAULTS
        given = {key: getattr(self, key) for key in base if getattr(self, key) is not None}
        self._set(**{**base, **given})
        if self.objective != "angular" and given.get("samples", 0) != 0:
            raise UsageError(f"samples applies to the angular objective, not {self.objective!r}")
        self._set(
            k=real("k", self.k, positive=True),
            s=real("s", self.s),
            vectors=integer("vectors", self.vectors, 1),
            dim=integer("dim", self.dim, 2),
            samples=integer("samples", self.samples, 1) if self.objective == "angular" else 0,
            momentum=real("momentum", self.momentum),
            lr=real("lr", self.lr, positive=True),
            steps=integer("steps", self.steps, 1),
            replicas=integer("replicas", self.replicas, 1),
            seed=integer("seed", self.seed, 0),
        )
        if self.record_every is not None:
            self._set(record_every=integer("record_every", self.record_every, 1))
        # the motion is front-loaded (the Thomson run settles in its first few hundred steps): log-spaced snapshots
        self._set(record=resolve_record(self.record, self.record_every, "log"))
        for name, choices in (("objective", OBJECTIVES), ("operator", OPERATORS), ("update", UPDATES),
                              ("project", PROJECTS), ("retraction", RETRACTIONS), ("gradient", GRADIENTS),
                              ("draw", DRAWS), ("device", DEVICES), ("dtype", DTYPES)):
            choice(name, getattr(self, name), choices)
        if not isinstance(self.accumulate, bool):
            raise UsageError(f"accumulate must be True or False, got {self.accumulate!r}")
        if self.s < 0:
            raise UsageError(f"s must be >= 0, got {self.s}")
        if not 0 <= self.momentum < 1:
            raise UsageError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.gradient == "seed" and self.objective != "angular":
            raise UsageError("gradient 'seed' is the seed's AngleFunction.backward: it needs objective 'angular'")
        if self.objective != "angular" and self.vectors < 2:
            raise UsageError(f"the {self.objective} energy needs at least 2 vectors, got {self.vectors}")
