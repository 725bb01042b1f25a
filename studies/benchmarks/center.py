"""Benchmark of the center flow against PyTorch on the CPU, in one process, and the seed's run end to end.

    python studies/benchmarks/center.py            # prints times and ratios (needs torch and mlxtend)

The same network (x -> relu(x W1 + b1) -> h = a W2 + b2 -> h W3 + b3), float64, the same initial weights,
the same batches (in order), softmax cross-entropy + center loss, torch.optim.Adam, the centroid update
vectorised (index_add_), and the probe's features (1,000 samples) after the last step:

(a) the seed's size: the MNIST subset's 4,000 training digits, D = 784, hidden 256, batch 128 (target >= 1x);
    dyn runs its sparse first layer on MNIST (81 % of the pixels are 0); the BLAS path it takes for dense
    inputs is timed too, on the same data;
(b) the digits size: D = 64, hidden 32, batch 128 (target >= 10x: PyTorch's per-step overhead dominates);
(c) ``dyn simulate center`` (25 epochs of the subset, 389 snapshots, NetCDF, 195-frame GIF), the whole
    command in a fresh process, warm numba cache (target < 30 s).
dyn's time is one kernel call for all the steps (``job.advance``), the Dataset left out; PyTorch's is its loop.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from roofline import bandwidth, line, machine  # noqa: E402
from timing import best, row  # noqa: E402

PEAKS = []  # the machine's, measured once


def step_counts(D, H, B, K=10, nnz=None):
    """(flops, bytes) of a center step, counted from the kernel: the first layer's product forward and its
    weight gradient backward, 2 B D H each (2 nnz H on the sparse path, nnz the batch's nonzero inputs);
    the 2-wide bottleneck and the K-way head 4 B (H + K) forward and 8 B (H + K) backward; softmax and the
    center loss ~25 B K; Adam ~12 flops a parameter. Bytes: Adam reads theta, its gradient and both moments
    and writes three of them (7 x 8 bytes a parameter), and the first layer's weights are read twice and
    their gradient written once."""
    P = D * H + 3 * H + 2 + 3 * K
    first = 2 * (nnz if nnz is not None else B * D) * H
    return 2 * first + 12 * B * (H + K) + 25 * B * K + 12 * P, 8 * (7 * P + 3 * D * H)

def problem(data, hidden, steps, batch=128):
    from dyn.flows.center.config import CenterConfig
    from dyn.flows.center.data import digits, initial_state, mnist, split

    x, y = mnist() if data == "mnist" else digits()
    probe, train = split(y, None, 0)
    cfg = CenterConfig(data="array", labels="array", hidden=hidden, batch=batch, steps=steps, record_every=steps,
                       shuffle=False)
    theta, c = initial_state(cfg, x.shape[1], 10)
    return cfg, x[train], y[train], x[probe], y[probe], theta[0], c[0]


def dyn_time(cfg, x, y, xp, yp, dense=False, repeat=2):
    """Seconds of one kernel call running every step (and the probe's features at the end)."""
    from dyn.flows.center import FLOW

    def once():
        job = FLOW.prepare(cfg, data=x, labels=y, probe=xp, probe_labels=yp)
        if dense:  # the BLAS path dyn takes for dense inputs
            empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
            job.data, job.probe_data = empty, empty
        inputs = job.inputs(0, job.frames)
        t = time.perf_counter()
        job.advance(0, job.frames, inputs)
        return time.perf_counter() - t, job

    once()
    times = [once() for _ in range(repeat)]
    return min(t for t, _ in times), times[0][1]


def torch_run(cfg, x, y, xp, theta, c, D, K=10):
    """The same training in PyTorch (float64 autograd, torch.optim.Adam): returns a function of no arguments
    that runs it and returns (W1, centroids, probe features)."""
    import torch
    import torch.nn.functional as F

    H, B, steps = cfg.hidden, cfg.batch, cfg.steps
    per = len(x) // B
    xt, yt, xpt = torch.tensor(x), torch.tensor(y), torch.tensor(xp)
    sizes = [D * H, H, 2 * H, 2, 2 * K, K]
    parts = np.split(theta, np.cumsum(sizes)[:-1])
    shapes = [(D, H), (H,), (H, 2), (2,), (2, K), (K,)]

    def run():
        W1, b1, W2, b2, W3, b3 = (torch.tensor(p.reshape(s), requires_grad=True) for p, s in zip(parts, shapes))
        cc = torch.tensor(c)
        opt = torch.optim.Adam([W1, b1, W2, b2, W3, b3], lr=cfg.lr)
        for s in range(steps):
            a = (s % per) * B
            xb, yb = xt[a:a + B], yt[a:a + B]
            h = torch.relu(xb @ W1 + b1) @ W2 + b2
            loss = F.cross_entropy(h @ W3 + b3, yb) + cfg.gain * F.mse_loss(h, cc[yb])
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                hb = h.detach()
                delta = torch.zeros_like(cc).index_add_(0, yb, cc[yb] - hb)
                count = torch.bincount(yb, minlength=K).to(cc.dtype)
                cc -= cfg.alpha * delta / (1 + count)[:, None]
        with torch.no_grad():
            hp = torch.relu(xpt @ W1 + b1) @ W2 + b2
        return W1.detach().numpy(), cc.numpy(), hp.numpy()

    return run


def compare(label, data, hidden, steps, target, dense_too=False):
    import torch

    cfg, x, y, xp, yp, theta, c = problem(data, hidden, steps)
    run = torch_run(cfg, x, y, xp, theta, c, x.shape[1])
    print(f"{label}: {steps} steps, torch {torch.__version__}", flush=True)
    t_torch = {}
    for threads in (1, 2):  # on a shared machine one thread is often the faster: the baseline is the faster
        torch.set_num_threads(threads)
        run()
        t_torch[threads] = best(run, 2)
        row(f"  PyTorch CPU, float64, {threads} thread{'s' * (threads > 1)}", t_torch[threads])
    W1, cc, hp = run()
    t_dyn, job = dyn_time(cfg, x, y, xp, yp)
    D = x.shape[1]
    err = max(float(abs(job.theta[0, :D * hidden].reshape(D, hidden) - W1).max()), float(abs(job.c[0] - cc).max()),
              float(abs(job.rec["h"][0, -1] - hp).max()))
    row("  dyn" + (" (sparse first layer)" if dense_too else ""), t_dyn, min(t_torch.values()), target)
    if not PEAKS:
        PEAKS.append(machine())
        print(f"  {PEAKS[0]}")
    peaks, D, B = PEAKS[0], x.shape[1], cfg.batch
    flops, nbytes = step_counts(D, hidden, B, nnz=np.count_nonzero(x) / len(x) * B if dense_too else None)
    line(f"D = {D}, hidden {hidden}, batch {B}" + (", sparse first layer" if dense_too else ""), flops, nbytes,
         steps, t_dyn, peaks.one, bandwidth(peaks, nbytes))
    print(f"  dyn - torch after the run: max |difference| {err:.1e} (W1, centroids, probe features)", flush=True)
    if dense_too:
        t_dense = dyn_time(cfg, x, y, xp, yp, dense=True)[0]
        row("  dyn (BLAS first layer, as for dense inputs)", t_dense, min(t_torch.values()))
        line(f"D = {D}, hidden {hidden}, batch {B}, BLAS first layer", *step_counts(D, hidden, B), steps, t_dense,
             peaks.one, bandwidth(peaks, nbytes))


def end_to_end():
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "dyn.cli", "simulate", "center", "-q", "-o", os.path.join(tmp, "center.nc")]
        subprocess.run(cmd, check=True, capture_output=True)  # numba's cache and the OS's file cache warm
        t = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()
        row("dyn simulate center (seed's run, NetCDF and GIF, whole command)", time.perf_counter() - t,
            target="< 30 s")
        print(f"  {out}")


if __name__ == "__main__":
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    compare("(a) MNIST subset, D = 784, hidden 256, batch 128", "mnist", 256, 100, ">= 1x", dense_too=True)
    compare("(b) digits, D = 64, hidden 32, batch 128", "digits", 32, 500, ">= 10x")
    end_to_end()
    print(f"load average {os.getloadavg()[0]:.1f}")
