"""What a user would write instead of dyn for seed 002's experiment: the baselines of relu.py.

- ``seed_frames``: the seed's algorithm as written (pure Python objects, tests/seed002.py).
- ``torch_run``: a vectorised PyTorch CPU version with hand-written gradients, float64, all cores,
  the same schedule and batching as dyn's default, no test loss.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np


def frame_sizes(frames):
    return [100 * int(math.log(10.0 + 10.0 * i)) for i in range(frames)]


def seed_frames(frames, width=20):
    """Seconds a frame of the seed's own code, measured on its first ``frames`` frames."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    from seed002 import notebook

    t = time.perf_counter()
    notebook(frames=frames, width=width)
    return (time.perf_counter() - t) / (frames + 1)  # frame 0 runs twice


def torch_run(width, frames=500, batch=20, lr=0.5, dim=2, seed=0):
    """Minibatch SGD on 1/2 (f - f*)^2 with the gradients written out, as in dyn's kernel."""
    import torch

    torch.set_default_dtype(torch.float64)
    g = torch.Generator().manual_seed(seed)
    ta, tw, tb = torch.randn(4, generator=g), torch.randn(4, dim, generator=g), torch.randn(4, generator=g)
    a, w, b = torch.randn(width, generator=g), torch.randn(width, dim, generator=g), torch.randn(width, generator=g)
    nrm = torch.sqrt((w * w).sum(1) + b * b) / 0.05
    w, b = w / nrm[:, None], b / nrm
    snaps = []
    with torch.no_grad():
        for n in frame_sizes(frames):
            x = torch.randn(n, dim, generator=g)
            y = (ta * torch.relu(x @ tw.T + tb)).mean(1)
            for s in range(0, n, batch):
                xb, yb = x[s:s + batch], y[s:s + batch]
                z = torch.addmm(b, xb, w.T)
                err = (torch.relu(z) @ a) / width - yb
                c = (err / (width * len(xb)))[:, None]
                act = (z >= 0).to(z.dtype) * a
                ga = (c * torch.relu(z)).sum(0)
                gz = c * act
                a -= lr * ga
                w -= lr * (gz.T @ xb)
                b -= lr * gz.sum(0)
            snaps.append(w.clone())
    return snaps
