"""Configuration of the relu flow; the defaults are seed 002's experiment."""

from __future__ import annotations

import math
from dataclasses import dataclass

from dyn.config import (DTYPES, Config, choice, device_option, dtype_option, integer, option, real, replicas_option,
                        seed_option)
from dyn.errors import RunError, UsageError

SCHEDULES = ("seed", "constant")
SCALINGS = ("seed", "mean-field")
RNGS = ("default", "notebook", "counter")
TEST_LOSSES = ("auto", "exact", "monte-carlo", "none")
DEVICES = ("auto", "cpu", "cuda")
TRAINS = ("samples", "set", "population")
INTEGRATORS = ("euler", "dopri5")
INITS = ("sphere", "xavier", "array")
TEACHERS = ("random", "orthogonal", "array")
EXACT_AUTO_LIMIT = 100_000  # test_loss="auto" is exact while (m + M)**2 <= this


def seed_frame_samples(i):
    """Samples drawn by frame ``i`` of the seed's schedule: ``100 * int(log(10 + 10 i))``."""
    return 100 * int(math.log(10.0 + 10.0 * i))


@dataclass(frozen=True)
class ReluConfig(Config):
    """A student of ``width`` ReLU neurons learning a teacher of ``teacher_width`` by SGD.

    f(x) = 1/m sum_k a_k relu(w_k . x + b_k), x ~ N(0, I_dim); loss 1/2 (f(x) - f*(x))^2.
    """

    flow = "relu"

    width: int = option(20, "Student neurons m.", fixed=True)
    radius: float = option(0.05, "Initial norm of (w, b).")
    dim: int = option(2, "Input dimension d.", fixed=True)
    teacher_width: int = option(4, "Teacher neurons M.", fixed=True)
    lr: float = option(0.5, "Learning rate.")
    batch: int = option(20, "Minibatch size.", fixed=True)
    frames: int = option(500, "Frames (snapshots after the initial one).")
    steps_per_frame: int = option(20, "Steps a frame, constant schedule or GD.")
    schedule: str = option("seed", "seed (frame i: 100 int(log(10+10i)) fresh samples) or constant.", fixed=True)
    scaling: str = option("seed", "seed (plain gradient) or mean-field (gradient x m).")
    train_size: int | None = option(None, "Full-batch GD on a fixed training set of this size.", fixed=True,
                                    show="none: fresh samples")
    replicas: int = replicas_option()
    seed: int = seed_option("Seed of the student and the data.")
    teacher_seed: int = option(0, "Seed of the teacher.", fixed=True)
    rng: str = option("default", "default, notebook (seed 002 draw for draw; use --seed 18), or counter "
                      "(Philox4x32-10 keyed by seed, step and sample: the same inputs on every device).", fixed=True)
    test_loss: str = option("auto", "auto, exact, monte-carlo or none.")
    device: str = device_option()
    dtype: str = dtype_option()
    train: str = option("samples", "samples (SGD on fresh samples), set (GD on train_size samples) or population "
                        "(GD on the exact loss under x ~ N(0, I)).", fixed=True)
    integrator: str = option("euler", "population: euler (GD, step lr) or dopri5 (the gradient flow, adaptive; "
                             "lr is then the flow time between steps).")
    rtol: float = option(1e-8, "dopri5: error tolerance (relative and absolute) of each substep.")
    tol: float | None = option(None, "population: stop when the gradient norm is below this.", show="none: no stop")
    tol_loss: float = option(1e-6, "population: an end point below this loss is a global minimum.")
    tol_hessian: float = option(1e-6, "population: an end point is a minimum if the Hessian's smallest eigenvalue "
                                "is >= -this.")
    bias: bool = option(True, "Neurons have biases (else b = 0, fixed; the teacher's too).",
                        flags=("--bias/--no-bias",), fixed=True)
    train_a: bool = option(True, "Train the output weights a (else frozen at their initial values).",
                           flags=("--train-a/--freeze-a",), fixed=True)
    init: str = option("sphere", "sphere ((w, b) of norm radius, a ~ N(0, 1)) or xavier (w ~ Glorot uniform, "
                       "a = 1, b = 0), or array (given).")
    teacher: str = option("random", "random (a ~ N(0, 1), |(w, b)| = 1), orthogonal (w_j = e_j, a = 1, b = 0: "
                          "Safran & Shamir's) or array (given).", fixed=True)

    def validate(self):
        self._set(
            width=integer("width", self.width, 1),
            radius=real("radius", self.radius, positive=True),
            dim=integer("dim", self.dim, 1),
            teacher_width=integer("teacher_width", self.teacher_width, 1),
            lr=real("lr", self.lr, positive=True),
            batch=integer("batch", self.batch, 1),
            frames=integer("frames", self.frames, 1),
            steps_per_frame=integer("steps_per_frame", self.steps_per_frame, 1),
            replicas=integer("replicas", self.replicas, 1),
            seed=integer("seed", self.seed, 0),
            teacher_seed=integer("teacher_seed", self.teacher_seed, 0),
        )
        if self.train_size is not None:
            self._set(train_size=integer("train_size", self.train_size, 1))
        self._check_training()
        choice("schedule", self.schedule, SCHEDULES)
        choice("scaling", self.scaling, SCALINGS)
        choice("rng", self.rng, RNGS)
        choice("test_loss", self.test_loss, TEST_LOSSES)
        choice("device", self.device, DEVICES)
        choice("dtype", self.dtype, DTYPES)
        if self.rng == "notebook":
            self._check_notebook()
        if self.rng == "counter" and self.seed + self.replicas - 1 > 0xFFFFFFFF:
            raise UsageError(f"rng 'counter' keys its streams by seed + replica, a 32-bit word: seed + replicas - 1 "
                             f"must be at most {0xFFFFFFFF:,}, got {self.seed + self.replicas - 1:,}")

    def _check_training(self):
        choice("train", self.train, TRAINS)
        choice("integrator", self.integrator, INTEGRATORS)
        choice("init", self.init, INITS)
        choice("teacher", self.teacher, TEACHERS)
        self._set(rtol=real("rtol", self.rtol, positive=True), tol_loss=real("tol_loss", self.tol_loss, positive=True),
                  tol_hessian=real("tol_hessian", self.tol_hessian, positive=True))
        for name in ("bias", "train_a"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.tol is not None:
            self._set(tol=real("tol", self.tol, positive=True))
        if self.train_size is not None and self.train == "samples":
            self._set(train="set")  # today's meaning of train_size
        if self.train == "set" and self.train_size is None:
            raise UsageError("train 'set' needs train_size (the size of the training set)")
        if self.teacher == "orthogonal" and self.teacher_width > self.dim:
            raise UsageError(f"an orthogonal teacher needs teacher_width <= dim, got {self.teacher_width} neurons "
                             f"in {self.dim} dimensions")
        if self.train == "population":
            if self.train_size is not None:
                raise UsageError("train 'population' is the exact loss under x ~ N(0, I): drop train_size")
            if self.rng == "notebook":
                raise UsageError("train 'population' draws no samples: rng 'notebook' does not apply")
            if self.schedule != "seed":
                raise UsageError("train 'population' takes steps_per_frame steps a frame: schedule does not apply")
            if self.dtype != "float64":
                raise UsageError(f"train 'population' computes in float64: dtype {self.dtype!r} does not apply")
        else:
            if self.integrator != "euler":
                raise UsageError(f"integrator {self.integrator!r} integrates the population gradient flow: "
                                 f"use train 'population'")
            if self.tol is not None:
                raise UsageError("tol stops on the exact gradient's norm: use train 'population'")

    def _check_notebook(self):
        if self.replicas > 1:
            raise UsageError("rng 'notebook' draws everything from one RandomState: replicas must be 1")
        if self.schedule != "seed" or self.train_size is not None:
            raise UsageError("rng 'notebook' reproduces the seed's schedule: use schedule 'seed' and no train_size")
        if self.init == "xavier" or self.teacher == "orthogonal" or not self.bias:
            raise UsageError("rng 'notebook' draws the seed's networks: use init 'sphere', a random teacher and biases")
        # frame i draws 100 int(log(10 + 10 i)) samples: every multiple of 100 from frame 0's to the last frame's
        # (log(10 + 10 i) grows by less than 1 a frame), so check those, not every frame
        for n in range(seed_frame_samples(0), seed_frame_samples(self.frames - 1) + 1, 100):
            parts = n // self.batch
            if parts == 0 or n % parts:
                raise UsageError(
                    f"rng 'notebook' splits each frame as the seed does (np.split into n // batch equal parts): "
                    f"batch {self.batch} cannot split a frame of {n} samples"
                )

    @property
    def resolved_test_loss(self):
        if self.test_loss != "auto":
            return self.test_loss
        return "exact" if (self.width + self.teacher_width) ** 2 <= EXACT_AUTO_LIMIT else "monte-carlo"
