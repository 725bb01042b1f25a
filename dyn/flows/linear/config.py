"""Configuration of the linear flow; the defaults are seed 003's first run, ``as_seed`` picks any of its runs.

Fields whose default depends on the run (``loss``, ``lr``, ``steps``, ``layers``...) are None ("not
given") until :meth:`LinearConfig.validate` resolves them from the seed's run that matches the options
given: an option given explicitly always wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from dyn.config import (Config, choice, device_option, dtype_option, float64_only, integer, option, real,
                        replicas_option, seed_option)
from dyn.errors import RunError, UsageError

LOSSES = ("squared", "hinge", "logistic")
MODELS = ("linear", "mlp")
TRAINS = ("weights", "data")
GRADIENTS = ("exact", "seed")
BUILTIN_DATA = ("blobs", "moons", "circles", "outliers")
SEED_RUNS_NAMES = ("squared", "hinge", "data", "mlp")
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_N = 2000

# Seed 003's runs (SEED-NOTES.md): SGD one sample at a time, drawn with replacement, on its two blobs.
SEED_RUNS = {
    "squared": dict(model="linear", train="weights", loss="squared", lr=0.001, steps=100_000),
    "hinge": dict(model="linear", train="weights", loss="hinge", lr=0.01, steps=10_000),
    # optimize_data: the classifier trained first by the hinge run with eta 0.001, 100,000 steps, then fixed
    "data": dict(model="linear", train="data", loss="hinge", lr=0.05, steps=500_000, fit_lr=0.001, fit_steps=100_000),
    # the second MLP, 2-5-5-1 with biases, its hidden layers' broadcast weight update as written
    "mlp": dict(model="mlp", train="weights", loss="squared", lr=0.001, steps=100_000, layers=[5, 5], gradient="seed"),
}
FIT = dict(fit_lr=0.001, fit_steps=100_000)


def base_run(model, train, loss):
    """The seed's run whose numbers fill the options not given (without ``as_seed``)."""
    if train == "data":
        return {**SEED_RUNS["data"], "model": model or "linear"}
    if model == "mlp":
        return {**SEED_RUNS["mlp"], "gradient": "exact", "loss": loss or "squared"}
    if loss in ("hinge", "logistic"):
        return {**SEED_RUNS["hinge"], "loss": loss}
    return SEED_RUNS["squared"]


def parse_layers(value):
    """Hidden widths from a list or a string such as "5,5" or "[5, 5]"; [] for none."""
    if isinstance(value, str):
        text = value.strip().strip("[]()").strip()
        try:
            value = [int(v) for v in text.replace(" ", ",").split(",") if v] if text else []
        except ValueError:
            raise UsageError(f"layers must be hidden widths such as 5,5; got {value!r}") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise UsageError(f"layers must be a list of hidden widths such as [5, 5]; got {value!r}")
    out = [integer("layers width", v) for v in value]
    for v in out:
        if v < 1:
            raise UsageError(f"layers must have widths >= 1, got {out}")
    return out


@dataclass(frozen=True)
class LinearConfig(Config):
    """SGD on a linear model f(x) = w . x + b or a small ReLU network (linear output), or on the data.

    ``train='weights'`` moves the parameters; ``train='data'`` moves the data points x_i <- x_i - lr dL/dx_i
    under a fixed classifier (seed 003's optimize_data).
    """

    flow = "linear"

    loss: str | None = option(None, "squared (t - y)^2, hinge max(0, 1 - t y) or logistic log(1 + exp(-t y)).",
                              show="squared; hinge for train data")
    model: str | None = option(None, "linear (w . x + b) or mlp (ReLU hidden layers, linear output, biases).",
                               fixed=True, show="linear")
    layers: str | None = option(None, "Hidden widths of the mlp, e.g. 5,5.", fixed=True, show="5,5")
    train: str | None = option(None, "weights (SGD on the parameters) or data (the points move, the classifier is "
                               "fixed).", fixed=True, show="weights")
    gradient: str | None = option(None, "exact, or seed (mlp: the seed's broadcast hidden-layer update as written).",
                                  show="exact; as seed mlp: seed")
    lr: float | None = option(None, "Learning rate.", show="squared 0.001; hinge, logistic 0.01; data 0.05")
    steps: int | None = option(None, "SGD steps.", show="squared, mlp 100000; hinge, logistic 10000; data 500000")
    batch: int = option(1, "Samples a step (the gradient is their mean).")
    shuffle: bool = option(False, "Epochs of shuffled passes instead of draws with replacement (the seed).",
                           flags=("--shuffle/--with-replacement",), show="no: with replacement")
    order: str | None = option(None, "A .npy/.csv file of the sample indices to use, steps x batch of them.",
                               show="drawn")
    data: str = option("blobs", "blobs (the seed's), moons, circles, outliers (blobs and a far +1 cluster), or a "
                       ".npy/.csv file of rows x_1..x_D, label (-1 or +1).", fixed=True)
    n: int | None = option(None, "Points of a generated data set (blobs: half of each class).", fixed=True,
                           show=str(DEFAULT_N))
    dim: int | None = option(None, "Dimension D of the blobs.", fixed=True, show="2")
    noise: float = option(0.1, "Noise of moons and circles (scikit-learn's).", fixed=True)
    data_seed: int = option(0, "Seed of a generated data set (shared by the replicas).", fixed=True)
    fit_lr: float | None = option(None, "train data: lr of the SGD that fits the classifier first (no init).",
                                  show=str(FIT["fit_lr"]))
    fit_steps: int | None = option(None, "train data: steps of that fit.", show=str(FIT["fit_steps"]))
    record_every: int | None = option(None, "Steps between snapshots.", show="max(1, steps // 500)")
    as_seed: str | None = option(None, "One of the seed's runs: squared, hinge, data or mlp; other options override it.",
                                 fixed=True, show="none")
    replicas: int = replicas_option()
    seed: int = seed_option("Seed of the initial weights and the sample order.")
    device: str = device_option()
    dtype: str = dtype_option(float32=False)

    def validate(self):
        if self.as_seed is not None:
            choice("as_seed", self.as_seed, SEED_RUNS_NAMES)
            base = SEED_RUNS[self.as_seed]
        else:
            base = base_run(self.model, self.train, self.loss)
        given = {k: getattr(self, k) for k in ("loss", "model", "layers", "train", "gradient", "lr", "steps",
                                                "fit_lr", "fit_steps") if getattr(self, k) is not None}
        resolved = {"model": "linear", "train": "weights", "gradient": "exact", **base, **given}
        self._set(**resolved)
        for name, choices in (("loss", LOSSES), ("model", MODELS), ("train", TRAINS), ("gradient", GRADIENTS),
                              ("device", DEVICES)):
            choice(name, getattr(self, name), choices)
        float64_only("linear", self.dtype)
        if self.model == "mlp":
            self._set(layers=parse_layers(self.layers if self.layers is not None else [5, 5]))
            if not self.layers:
                raise UsageError("model 'mlp' needs at least one hidden layer (layers, e.g. 5,5)")
        elif self.layers is not None and parse_layers(self.layers):
            raise UsageError("layers applies to model 'mlp' (model is 'linear')")
        else:
            self._set(layers=[])
        if self.gradient == "seed" and self.model != "mlp":
            raise UsageError("gradient 'seed' is the seed's MLP update: it needs model 'mlp'")
        self._set(lr=real("lr", self.lr, positive=True), steps=integer("steps", self.steps, 1),
                  batch=integer("batch", self.batch, 1), replicas=integer("replicas", self.replicas, 1),
                  seed=integer("seed", self.seed, 0), data_seed=integer("data_seed", self.data_seed, 0),
                  noise=real("noise", self.noise))
        if self.noise < 0:
            raise UsageError(f"noise must be >= 0, got {self.noise}")
        if not isinstance(self.shuffle, bool):
            if self.shuffle in (0, 1):
                self._set(shuffle=bool(self.shuffle))
            else:
                raise UsageError(f"shuffle must be true or false, got {self.shuffle!r}")
        if self.train == "data":
            self._set(fit_lr=real("fit_lr", self.fit_lr if self.fit_lr is not None else FIT["fit_lr"], positive=True),
                      fit_steps=integer("fit_steps", self.fit_steps if self.fit_steps is not None else
                                        FIT["fit_steps"], 0))
        elif "fit_lr" in given or "fit_steps" in given:
            raise UsageError("fit_lr and fit_steps apply to train 'data' (they fit its fixed classifier)")
        else:
            self._set(fit_lr=None, fit_steps=None)
        if self.record_every is not None:
            self._set(record_every=integer("record_every", self.record_every, 1))
        if self.order is not None and self.order != "array" and not str(self.order).lower().endswith((".npy", ".csv")):
            raise UsageError(f"order must be a .npy/.csv file of sample indices (or an array in Python); got {self.order!r}")
        if self.order is not None and self.shuffle:
            raise UsageError("order gives the samples explicitly: it cannot be combined with shuffle")
        self._resolve_data()
        if self.device == "cuda":
            raise RunError("device 'cuda' is not available for the linear flow (its kernels are CPU only; relu, sphere and som have CUDA ones): use --device cpu or auto")

    def _resolve_data(self):
        if not isinstance(self.data, str) or not self.data:
            raise UsageError("data must be a built-in set name or a .npy/.csv path (arrays go in data=)")
        builtin = self.data in BUILTIN_DATA
        if self.data != "array" and not builtin and not self.data.lower().endswith((".npy", ".csv")):
            raise UsageError(f"data must be one of {', '.join(BUILTIN_DATA)} or a .npy/.csv file; got {self.data!r}")
        if self.n is not None:
            if not builtin:
                raise UsageError(f"n sets the size of a generated data set; {self.data!r} has its own size")
            self._set(n=integer("n", self.n, 2))
        elif builtin:
            self._set(n=DEFAULT_N)
        if self.dim is not None:
            self._set(dim=integer("dim", self.dim, 1))
            if self.data in ("moons", "circles") and self.dim != 2:
                raise UsageError(f"{self.data} are 2-D: dim must be 2, got {self.dim}")
        elif builtin:
            self._set(dim=2)

    def check_continuation(self, **overrides):
        if "layers" in overrides and overrides["layers"] is not None:
            overrides["layers"] = parse_layers(overrides["layers"])
        return super().check_continuation(**overrides)

    @property
    def widths(self):
        """Hidden widths then the output: the layers after the input."""
        return list(self.layers) + [1]

    def describe_run(self):
        """One phrase: what this run is, for attrs and summaries."""
        net = "linear" if self.model == "linear" else "mlp, hidden " + ",".join(str(w) for w in self.layers)
        return f"{net}, {self.loss} loss, train {self.train}" + (f", as seed {self.as_seed}" if self.as_seed else "")
