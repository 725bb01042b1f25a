"""Configuration of the som flow; the defaults follow the rule (the forum's layer, or MiniSom's).

Options whose default depends on the rule are ``None`` until :meth:`SomConfig.validate` resolves
them: ``topographic`` gets the forum's setup (20 x 20, ``sphere`` data in D = 128, lr 0.001,
momentum 0.9, batch 1024, sigma 5, constant rates, inputs and weights L2-normalised in the loss,
weights ~ N(0, 1/D)); ``online``, ``batch`` and ``heskes`` get MiniSom 2.3.6's (10 x 10 on the
``ring``, D = 2, sigma 1, lr 0.5, asymptotic decays, weights ~ MiniSom's random init).
"""

from __future__ import annotations

from dataclasses import dataclass

from dyn.config import (Config, choice, device_option, dtype_option, integer, option, real, replicas_option,
                        resolve_record, seed_option)
from dyn.errors import UsageError

RULES = ("online", "topographic", "batch", "heskes")
TOPOLOGIES = ("rectangular", "hexagonal")
NEIGHBOURHOODS = ("gaussian", "mexican_hat", "bubble", "triangle")
LR_DECAYS = ("constant", "asymptotic_decay", "inverse_decay_to_zero", "linear_decay_to_zero")
SIGMA_DECAYS = ("constant", "asymptotic_decay", "inverse_decay_to_one", "linear_decay_to_one")
BUILTIN_DATA = ("uniform", "ring", "blobs", "sphere", "digits")
WEIGHTS_INITS = ("uniform", "normal", "sample")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float64", "float32")  # dyn.engine.precision.DTYPES (a module that imports numba: not for the config)
# what each snapshot can be measured by (measure.py); short names for the command line
MEASURES = ("quantization_error", "topographic_error", "topographic_loss", "heskes_energy")
MEASURE_ALIASES = {"qe": "quantization_error", "te": "topographic_error", "loss": "topographic_loss",
                   "energy": "heskes_energy"}
RULE_OBJECTIVE = {"topographic": "topographic_loss", "heskes": "heskes_energy"}
# snapshot spacing: an online map unfolds in its first 1% of samples (86% of its net displacement on the ring),
# so its snapshots are log-spaced; the forum's 300 batches and 50 epochs are recorded at every step anyway
RECORD = {"online": "log", "heskes": "log", "topographic": "even", "batch": "even"}
MAX_MEASURED = 50  # snapshots measured by default (besides the initial one)

# kernel codes (kernels.py and neighbourhood.py read these numbers)
DECAY_CODES = {"constant": 0, "asymptotic_decay": 1, "inverse_decay_to_zero": 2, "linear_decay_to_zero": 3,
               "inverse_decay_to_one": 4, "linear_decay_to_one": 5}
NEIGHBOURHOOD_CODES = {"gaussian": 0, "mexican_hat": 1, "bubble": 2, "triangle": 3, "forum_gaussian": 4}

FORUM = dict(rows=20, cols=20, data="sphere", dim=128, lr=0.001, momentum=0.9, batch=1024, sigma=5.0,
             steps=300, lr_decay="constant", sigma_decay="constant", normalize=True, weights_init="normal")
MINISOM = dict(rows=10, cols=10, data="ring", sigma=1.0, lr=0.5, lr_decay="asymptotic_decay",
               sigma_decay="asymptotic_decay", normalize=False, weights_init="uniform")
DEFAULT_STEPS = {"online": 20000, "heskes": 20000, "batch": 50}
DEFAULT_N = 2000
DEFAULT_DIM = {"uniform": 2, "ring": 2, "blobs": 2, "sphere": 3}


def both(key):
    """The default by rule, as ``--help`` shows it: T for topographic (the forum's), M for MiniSom's rules."""
    return f"T: {FORUM[key]}; M: {MINISOM[key]}"


@dataclass(frozen=True)
class SomConfig(Config):
    """A self-organising map of ``rows`` x ``cols`` units with weights in R^dim, trained by ``rule``.

    ``steps`` counts samples (online, heskes), batches (topographic) or epochs (batch); ``record``:
    snapshots at log-spaced steps ("log", the default of online and heskes) or every ``record_every``
    steps ("even", the default of topographic and batch, and whenever record_every is given). ``measures``:
    what each snapshot records besides its weights (names of ``MEASURES``, their short names qe, te,
    loss, energy, or "all"; a list or a comma-separated string); QE, TE and the rule's own objective
    (the topographic loss for ``topographic``, the Heskes energy for ``heskes``) always. They are
    measured at every ``measure_every``-th snapshot and the last one (default: every snapshot up to
    ``MAX_MEASURED`` frames, then about that many, log-spaced in step when ``record="log"``), NaN at the others.
    """

    flow = "som"

    rule: str = option("online", "online (MiniSom's Kohonen), batch (train_batch_offline), heskes, or topographic "
                       "(the forum's layer, SGD + momentum).", fixed=True)
    rows: int | None = option(None, "Grid rows.", fixed=True, show=both('rows'))
    cols: int | None = option(None, "Grid columns.", fixed=True, show=both('cols'))
    topology: str = option("rectangular", "rectangular or hexagonal.", fixed=True)
    toroidal: bool = option(False, "Wrap the grid into a torus.", flags=("--toroidal/--flat",), fixed=True, show="no")
    data: str | None = option(None, "uniform, ring, blobs, sphere, digits, or a .npy/.csv file.", fixed=True,
                              show=both('data'))
    n: int | None = option(None, "Points of a generated data set.", fixed=True, show=str(DEFAULT_N))
    dim: int | None = option(None, "Dimension D.", fixed=True, show="sphere with T: 128; sphere: 3; others 2; files: theirs")
    steps: int | None = option(None, "Samples (online, heskes), batches (topographic) or epochs (batch).",
                               show=f"T: {FORUM['steps']}; online, heskes: {DEFAULT_STEPS['online']}; "
                                    f"batch: {DEFAULT_STEPS['batch']}")
    schedule_steps: int | None = option(None, "Steps the decays of lr and sigma run over (MiniSom's max_iter); a "
                                        "run to be continued sets the whole run's.", fixed=True, show="steps")
    record_every: int | None = option(None, "Steps between snapshots, with record even.",
                                      show="max(1, steps // 500)")
    record: str | None = option(None, "Snapshot steps: log (log-spaced: every step at first, then further apart) or "
                                "even (every record_every steps).",
                                show="online, heskes: log; T, batch: even; even with --record-every")
    sigma: float | None = option(None, "Neighbourhood width.", fixed=True, show=both('sigma'))
    lr: float | None = option(None, "Learning rate.", fixed=True, show=both('lr'))
    lr_decay: str | None = option(None, "constant, asymptotic_decay, inverse_decay_to_zero, linear_decay_to_zero.",
                                  fixed=True, show=both('lr_decay'))
    sigma_decay: str | None = option(None, "constant, asymptotic_decay, inverse_decay_to_one, linear_decay_to_one.",
                                     fixed=True, show=both('sigma_decay'))
    neighbourhood: str = option("gaussian", "gaussian, mexican_hat, bubble or triangle.", fixed=True,
                                show="gaussian; with T: the forum's exp(-d^2/(2 sigma^2 + 1e-5))")
    momentum: float | None = option(None, "SGD momentum, topographic only.", fixed=True, show=f"T: {FORUM['momentum']}")
    batch: int | None = option(None, "Batch size, topographic only.", fixed=True, show=f"T: {FORUM['batch']}")
    normalize: bool | None = option(None, "Loss on L2-normalised copies, topographic only.",
                                    flags=("--normalize/--no-normalize",), fixed=True, show="T: yes")
    project: bool = option(False, "Renormalise the weights after each step, topographic only.",
                           flags=("--project/--no-project",), fixed=True, show="no")
    weights_init: str | None = option(None, "uniform (MiniSom's), normal (N(0, 1/D)) or sample.", fixed=True,
                                      show=both('weights_init'))
    shuffle: bool = option(False, "Reshuffle the data each epoch.", flags=("--shuffle/--in-order",), fixed=True,
                           show="no: in order, cycling")
    measures: str | None = option(None, "Measures besides QE, TE and the rule's objective: topographic_loss, "
                                  "heskes_energy (loss, energy), or all; comma-separated (a list in Python).",
                                  show="none")
    measure_every: int | None = option(None, "Snapshots between measured ones; the last is always measured.",
                                       show="1 up to 50 frames, then about 50 measured, log-spaced with "
                                            "record log")
    replicas: int = replicas_option()
    seed: int = seed_option("Seed of the initial weights and the sample order.")
    data_seed: int = option(0, "Seed of a generated data set.", fixed=True)
    device: str = device_option()
    dtype: str = dtype_option()

    def validate(self):
        choice("rule", self.rule, RULES)
        topo = self.rule == "topographic"
        base = FORUM if topo else MINISOM
        for key in ("rows", "cols", "data", "sigma", "lr", "lr_decay", "sigma_decay", "normalize", "weights_init"):
            if getattr(self, key) is None:
                self._set(**{key: base[key]})
        if self.steps is None:
            self._set(steps=FORUM["steps"] if topo else DEFAULT_STEPS[self.rule])
        for key in ("momentum", "batch"):
            if getattr(self, key) is None:
                self._set(**{key: FORUM[key] if topo else (0.0 if key == "momentum" else 1)})
            elif not topo and getattr(self, key) != (0.0 if key == "momentum" else 1):
                raise UsageError(f"{key} applies to rule 'topographic' only (rule is {self.rule!r})")
        if not topo and (self.normalize or self.project):
            raise UsageError(f"normalize and project apply to rule 'topographic' only (rule is {self.rule!r})")
        self._set(
            rows=integer("rows", self.rows, 1), cols=integer("cols", self.cols, 1),
            steps=integer("steps", self.steps, 1), sigma=real("sigma", self.sigma, positive=True),
            lr=real("lr", self.lr, positive=True), momentum=real("momentum", self.momentum),
            batch=integer("batch", self.batch, 1), replicas=integer("replicas", self.replicas, 1),
            seed=integer("seed", self.seed, 0), data_seed=integer("data_seed", self.data_seed, 0),
            toroidal=_flag("toroidal", self.toroidal), normalize=_flag("normalize", self.normalize),
            project=_flag("project", self.project), shuffle=_flag("shuffle", self.shuffle),
        )
        self._set(schedule_steps=integer("schedule_steps", self.steps if self.schedule_steps is None
                                         else self.schedule_steps, 1))
        self.check_schedule(self.steps)
        if self.rows * self.cols < 2:
            raise UsageError("the map needs at least 2 units (rows x cols >= 2)")
        if not 0.0 <= self.momentum < 1.0:
            raise UsageError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.record_every is not None:
            self._set(record_every=integer("record_every", self.record_every, 1))
        self._set(record=resolve_record(self.record, self.record_every, RECORD[self.rule]))
        if self.rule == "batch" and not self.lr <= 1.0:
            raise UsageError(f"the batch rule's lr must be in (0, 1] (w <- (1 - lr) w + lr * the neighbourhood "
                             f"mean), got {self.lr}")
        self._set(measures=_measures(self.measures, self.rule))
        if self.measure_every is not None:
            self._set(measure_every=integer("measure_every", self.measure_every, 1))
        choice("topology", self.topology, TOPOLOGIES)
        choice("neighbourhood", self.neighbourhood, NEIGHBOURHOODS)
        choice("lr_decay", self.lr_decay, LR_DECAYS)
        choice("sigma_decay", self.sigma_decay, SIGMA_DECAYS)
        choice("weights_init", self.weights_init, WEIGHTS_INITS)
        choice("device", self.device, DEVICES)
        choice("dtype", self.dtype, DTYPES)
        if self.toroidal and self.topology == "hexagonal" and self.cols % 2:
            raise UsageError("a toroidal hexagonal map needs an even number of cols (the row offsets alternate)")
        if not isinstance(self.data, str) or not self.data:
            raise UsageError("data must be a built-in set name or a .npy/.csv path (arrays go in data=)")
        self._resolve_data()

    def _resolve_data(self):
        builtin = self.data in BUILTIN_DATA
        if self.data == "array":  # dyn.simulate(..., data=ARRAY): n and dim are the array's (checked against it)
            if self.n is not None:
                self._set(n=integer("n", self.n, 1))
            if self.dim is not None:
                self._set(dim=integer("dim", self.dim, 1))
            return
        if not builtin and not self.data.lower().endswith((".npy", ".csv")):
            raise UsageError(f"data must be one of {', '.join(BUILTIN_DATA)} or a .npy/.csv file; got {self.data!r}")
        if self.n is not None:
            if not builtin or self.data == "digits":
                raise UsageError(f"n sets the size of a generated data set; {self.data!r} has its own size")
            self._set(n=integer("n", self.n, 1))
        elif builtin and self.data != "digits":
            self._set(n=DEFAULT_N)
        if self.dim is not None:
            self._set(dim=integer("dim", self.dim, 1))
            if self.data == "ring" and self.dim != 2:
                raise UsageError(f"the ring is 2-D: dim must be 2, got {self.dim}")
            if self.data == "digits" and self.dim != 64:
                raise UsageError(f"digits are 8 x 8 images: dim must be 64, got {self.dim}")
        elif builtin:
            if self.data == "digits":
                self._set(dim=64)
            elif self.data == "sphere" and self.rule == "topographic":
                self._set(dim=FORUM["dim"])
            else:
                self._set(dim=DEFAULT_DIM[self.data])

    def check_schedule(self, last_step):
        """Refuse (UsageError) a run reaching ``last_step`` past the end of a linear decay (lr would turn negative,
        sigma fall below 1 and on towards 0); the other decays go on past ``schedule_steps`` as their formulas do."""
        linear = [name for name, value in (("lr_decay", self.lr_decay), ("sigma_decay", self.sigma_decay))
                  if value.startswith("linear")]
        if linear and last_step > self.schedule_steps:
            raise UsageError(f"{linear[0]} {getattr(self, linear[0])!r} ends at schedule_steps = "
                             f"{self.schedule_steps:,}: the run would reach step {last_step:,}")

    @property
    def units(self):
        return self.rows * self.cols

    @property
    def samples_per_step(self):
        return self.batch if self.rule == "topographic" else 1


def _measures(value, rule):
    """The measures a run records, as a tuple in MEASURES order: QE, TE and the rule's objective always."""
    names = [RULE_OBJECTIVE[rule]] if rule in RULE_OBJECTIVE else []
    if value is not None:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"measures must be names (a list or a comma-separated string), got {value!r}")
        for v in value:
            if v == "all":
                names.extend(MEASURES)
                continue
            name = MEASURE_ALIASES.get(v, v)
            if name not in MEASURES:
                raise UsageError(f"measures: unknown measure {v!r}; choose from "
                                 f"{', '.join(MEASURES)} (or qe, te, loss, energy, all)")
            names.append(name)
    names = set(names) | {"quantization_error", "topographic_error"}
    return tuple(m for m in MEASURES if m in names)


def _flag(name, value):
    if not isinstance(value, bool):
        if value in (0, 1):
            return bool(value)
        raise UsageError(f"{name} must be true or false, got {value!r}")
    return value
