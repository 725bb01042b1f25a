"""dyn on a GPU against PyTorch on the same GPU, ready to run where one exists.

    python studies/benchmarks/gpu.py [--replicas 4096] [--frames 500] [--dtype float32]

Row 1: an ensemble of seed 002's run (m = 20, d = 2, 4 teacher neurons, the seed's schedule: 17,660 steps
of 20 samples), ``--replicas`` runs at once: dyn ``device="cuda"`` (one CUDA block a replica, one launch per
block of frames) against PyTorch CUDA batched over replicas (the vmap-style form: every tensor has a
leading replica axis, one kernel launch per operation per step), float64, the same schedule, no test loss.
Row 2: Thomson's problem, N = 4,096 points on S^2 (Riesz s = 1, Riemannian gradient, ``--sphere-steps``):
dyn against PyTorch CUDA in the dense pair-matrix form (an N x N x 3 difference tensor a step).
Row 3: a 100 x 100 self-organising map, batch rule, 10,000 uniform points in 2-D, ``--som-epochs`` epochs: dyn
against PyTorch CUDA (``cdist`` + ``argmin`` for the winners, the Gaussian neighbourhood as a dense
units x points matrix, the weighted mean as one matmul).
``--dtype float32`` runs every row in float32 on both sides (dyn's ``dtype="float32"``: float32 arithmetic
and records; consumer GPUs run float64 at 1/32 or 1/64 of their float32 rate).
Without a GPU (or without numba-cuda / a CUDA build of torch) it says what is missing and exits 0; a flow
whose CUDA kernels refuse an option prints that line instead of its row.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import row, timed  # noqa: E402


def frame_sizes(frames):
    return [100 * int(math.log(10.0 + 10.0 * i)) for i in range(frames)]


def torch_batched(replicas, frames, width=20, dim=2, batch=20, lr=0.5, dtype="float64"):
    """Minibatch SGD of ``replicas`` students at once on CUDA, gradients written out (as dyn's kernel)."""
    import torch

    dev, f64 = torch.device("cuda"), getattr(torch, dtype)  # f64: the run's float type
    g = torch.Generator(device=dev).manual_seed(0)
    ta, tw, tb = (torch.randn(*s, generator=g, device=dev, dtype=f64) for s in ((4,), (4, dim), (4,)))
    a = torch.randn(replicas, width, generator=g, device=dev, dtype=f64)
    w = 0.05 * torch.nn.functional.normalize(torch.randn(replicas, width, dim, generator=g, device=dev, dtype=f64), dim=2)
    b = torch.zeros(replicas, width, device=dev, dtype=f64)
    for n in frame_sizes(frames):
        x = torch.randn(replicas, n, dim, generator=g, device=dev, dtype=f64)
        y = (ta * torch.relu(x @ tw.T + tb)).mean(2)
        for s in range(0, n, batch):
            xb, yb = x[:, s:s + batch], y[:, s:s + batch]
            z = torch.baddbmm(b[:, None], xb, w.transpose(1, 2))
            err = (torch.relu(z) @ a[:, :, None])[..., 0] / width - yb
            c = (err / (width * xb.shape[1]))[..., None]
            gz = c * (z >= 0).to(f64) * a[:, None]
            a -= lr * (c * torch.relu(z)).sum(1)
            w -= lr * gz.transpose(1, 2) @ xb
            b -= lr * gz.sum(1)
    torch.cuda.synchronize()
    return a


def torch_thomson(n, steps, lr, dim=3, seed=0, dtype="float64"):
    """Riemannian gradient descent on the Riesz s = 1 energy of ``n`` unit vectors, dense pair form."""
    import torch

    dev, f64 = torch.device("cuda"), getattr(torch, dtype)  # f64: the run's float type
    g = torch.Generator(device=dev).manual_seed(seed)
    x = torch.nn.functional.normalize(torch.randn(n, dim, generator=g, device=dev, dtype=f64), dim=1)
    eye = torch.eye(n, device=dev, dtype=torch.bool)
    for _ in range(steps):
        diff = x[:, None, :] - x[None, :, :]
        r = diff.norm(dim=2).masked_fill(eye, 1.0)
        grad = -(diff / r[..., None] ** 3).masked_fill(eye[..., None], 0.0).sum(1)
        grad -= (grad * x).sum(1, keepdim=True) * x
        x = torch.nn.functional.normalize(x - lr * grad, dim=1)
    torch.cuda.synchronize()
    return x


def torch_batch_som(rows, cols, points, epochs, sigma=10.0, seed=0, dtype="float64"):
    """The batch SOM rule: winners by cdist + argmin, then every unit moves to its neighbourhood-weighted mean."""
    import torch

    dev, f64 = torch.device("cuda"), getattr(torch, dtype)  # f64: the run's float type
    g = torch.Generator(device=dev).manual_seed(seed)
    data = torch.rand(points, 2, generator=g, device=dev, dtype=f64)
    weights = torch.rand(rows * cols, 2, generator=g, device=dev, dtype=f64)
    ii, jj = torch.meshgrid(torch.arange(rows, device=dev), torch.arange(cols, device=dev), indexing="ij")
    grid = torch.stack([ii.flatten(), jj.flatten()], 1).to(f64)
    for _ in range(epochs):
        winners = torch.cdist(data, weights).argmin(1)
        h = torch.exp(-torch.cdist(grid, grid[winners]) ** 2 / (2 * sigma**2))  # units x points
        weights = (h @ data) / h.sum(1, keepdim=True)
    torch.cuda.synchronize()
    return weights


def dyn_row(name, flow, options, small):
    """Time the whole ``dyn.simulate`` of ``flow`` on CUDA (compiled first on ``small``); None if it refuses."""
    import dyn
    from dyn.errors import DynError

    try:
        dyn.simulate(flow, device="cuda", **{**options, **small})
    except DynError as err:
        print(f"{name}: {err}")
        return None
    seconds, _ = timed(lambda: dyn.simulate(flow, device="cuda", **options), repeat=2)
    row(name, seconds)
    return seconds


def torch_row(name, fn, warm, seconds):
    """Time ``fn`` on torch CUDA (after ``warm``) and print dyn's ratio against it."""
    try:
        import torch

        if not torch.cuda.is_available():
            raise ImportError("torch has no CUDA")
    except ImportError as err:
        print(f"torch CUDA row skipped: {err}")
        return
    warm()
    t_torch, _ = timed(fn, repeat=2)
    row(name, t_torch)
    if seconds:
        row("dyn cuda against torch cuda", seconds, baseline=t_torch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=4096)
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--sphere-steps", type=int, default=1000)
    parser.add_argument("--som-epochs", type=int, default=20)
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    args = parser.parse_args()

    from dyn.engine.device import cuda_available, cuda_installed

    if not cuda_installed() or not cuda_available():
        print("no GPU here (numba-cuda " + ("installed" if cuda_installed() else "not installed")
              + ", numba.cuda.is_available() False): nothing to measure")
        return 0
    dt = args.dtype
    options = dict(replicas=args.replicas, frames=args.frames, test_loss="none", rng="counter", dtype=dt)
    t = dyn_row(f"dyn cuda, seed 002 x {args.replicas} replicas (whole dyn.simulate)", "relu", options, dict(frames=2))
    torch_row(f"torch cuda batched, the same ({dt})", lambda: torch_batched(args.replicas, args.frames, dtype=dt),
              lambda: torch_batched(8, 2, dtype=dt), t)

    n, steps, lr = 4096, args.sphere_steps, 1e-5
    options = dict(objective="riesz", s=1.0, vectors=n, dim=3, update="riemannian", lr=lr, steps=steps, dtype=dt)
    t = dyn_row(f"dyn cuda, Thomson N = {n}, {steps} steps", "sphere", options, dict(vectors=16, steps=2))
    torch_row("torch cuda, the same (dense pair form)", lambda: torch_thomson(n, steps, lr, dtype=dt),
              lambda: torch_thomson(16, 2, lr, dtype=dt), t)

    epochs = args.som_epochs
    options = dict(rule="batch", rows=100, cols=100, data="uniform", n=10_000, dim=2, steps=epochs, dtype=dt)
    t = dyn_row(f"dyn cuda, som 100 x 100 batch, {epochs} epochs", "som", options, dict(rows=4, cols=4, n=50, steps=2))
    torch_row("torch cuda, the same", lambda: torch_batch_som(100, 100, 10_000, epochs, dtype=dt),
              lambda: torch_batch_som(4, 4, 50, 2, dtype=dt), t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
