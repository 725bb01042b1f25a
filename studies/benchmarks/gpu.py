"""dyn on a GPU against PyTorch on the same GPU, ready to run where one exists.

    python studies/benchmarks/gpu.py [--replicas 4096] [--frames 500]

Row 1: an ensemble of seed 002's run (m = 20, d = 2, 4 teacher neurons, the seed's schedule: 17,660 steps
of 20 samples), ``--replicas`` runs at once: dyn ``device="cuda"`` (one CUDA block a replica, one launch per
block of frames) against PyTorch CUDA batched over replicas (the vmap-style form: every tensor has a
leading replica axis, one kernel launch per operation per step), float64, the same schedule, no test loss.
Without a GPU (or without numba-cuda / a CUDA build of torch) it says what is missing and exits 0.
Sphere (Thomson N = 4,096) and som (100 x 100 batch) rows wait for their CUDA kernels: the script says so.
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


def torch_batched(replicas, frames, width=20, dim=2, batch=20, lr=0.5):
    """Minibatch SGD of ``replicas`` students at once on CUDA, gradients written out (as dyn's kernel)."""
    import torch

    dev, f64 = torch.device("cuda"), torch.float64
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=4096)
    parser.add_argument("--frames", type=int, default=500)
    args = parser.parse_args()

    from dyn.engine.device import cuda_available, cuda_installed

    if not cuda_installed() or not cuda_available():
        print("no GPU here (numba-cuda " + ("installed" if cuda_installed() else "not installed")
              + ", numba.cuda.is_available() False): nothing to measure")
        return 0
    import dyn

    options = dict(replicas=args.replicas, frames=args.frames, test_loss="none", rng="counter")
    dyn.simulate("relu", device="cuda", **{**options, "frames": 2})  # compile
    t_dyn, _ = timed(lambda: dyn.simulate("relu", device="cuda", **options), repeat=2)
    row(f"dyn cuda, seed 002 x {args.replicas} replicas (whole dyn.simulate)", t_dyn)
    try:
        import torch

        if not torch.cuda.is_available():
            raise ImportError("torch has no CUDA")
        torch_batched(8, 2)
        t_torch, _ = timed(lambda: torch_batched(args.replicas, args.frames), repeat=2)
        row(f"torch cuda batched, the same (float64)", t_torch)
        row("dyn cuda against torch cuda", t_dyn, baseline=t_torch)
    except ImportError as err:
        print(f"torch CUDA row skipped: {err}")
    print("sphere (Thomson N = 4,096) and som (100 x 100 batch): no CUDA kernels yet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
