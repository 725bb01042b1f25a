"""Benchmark of the linear flow against seed 003's loops and PyTorch, in one process.

    python studies/benchmarks/linear.py          # prints a table of times and ratios

(a) the seed's hinge run (10,000 steps), squared run (100,000 steps) and data flow (500,000 steps): the
    seed's loops ported to Python 3 (tests/seed003.py, its loss monitor included) against dyn's kernel on
    the same sample order, and dyn.simulate end to end (kernel, 501 snapshots measured on all data, Dataset);
(b) the MLP 2-5-5-1, 100,000 steps of one sample: PyTorch CPU (float64, autograd, one thread: its fastest
    here for a network this small) doing the same per-sample SGD, against dyn's kernel (the same final
    weights to 1e-9) and end to end.

Times are CPU seconds of this process (``time.process_time``, every thread counted), the fastest of a few
runs, and ratios are taken on them: the project's machine is shared, and under load wall-clock times of
short runs mostly measure the other jobs. The wall-clock time of each row is printed beside it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests"))

import seed003 as S  # noqa: E402
from roofline import line, machine  # noqa: E402


def step_counts(sizes):
    """(flops, bytes) of one single-sample step of the network ``sizes`` (e.g. [2, 1]: the linear model; [2, 5, 5,
    1]: the MLP), counted from kernels.py: forward 2 P (P parameters, biases included), the loss and its slope
    ~6, backward 2 P for the weight gradient and 2 sum(n_l n_(l+1)) for the deltas below the top layer, the
    gradient zeroed and the update 3 P; bytes: the parameters read three times and written once, the gradient
    written twice and read once, the sample and its label (everything in L1)."""
    P = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    back = sum(a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    return 2 * P + 6 + 2 * P + 2 * back + 3 * P, 8 * (7 * P + sizes[0] + 2)


def data_counts(D=2):
    """(flops, bytes) of a data-flow step: the linear model's output 2 D + 1, the loss and its slope ~6, the
    point's gradient and move 4 D; the point read and written, theta and the label read."""
    return 2 * D + 1 + 6 + 4 * D, 8 * (2 * D + D + 1 + 2)


def timed(fn, repeat=3):
    """((fastest CPU seconds, its wall seconds), the last result) of ``repeat`` calls of ``fn``."""
    best, out = (np.inf, np.inf), None
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        out = fn()
        best = min(best, (time.process_time() - c, time.perf_counter() - w))
    return best, out


def row(name, seconds, baseline=None, target=None):
    cpu, wall = seconds
    ratio = f"{baseline[0] / cpu:8.1f}x" if baseline else " " * 9
    goal = f"  (target {target})" if target else ""
    print(f"{name:<64s}{cpu:9.4f} s {ratio}   wall {wall:8.4f} s{goal}", flush=True)


def kernel_time(repeat=3, **options):
    """The fastest of ``repeat`` runs of the job's kernel over the whole run (one call; the order drawn or given
    beforehand, nothing measured), and the job."""
    from dyn.flows import get_flow
    from dyn.flows.linear.job import prepare

    cfg = get_flow("linear").config.from_kwargs(**{k: v for k, v in options.items() if k not in ("init", "order",
                                                                                             "data", "labels")})
    best, job = (np.inf, np.inf), None
    for _ in range(repeat):
        job = prepare(cfg, **{k: options[k] for k in ("init", "order", "data", "labels") if k in options})
        order = job.inputs(0, job.frames)
        c, w = time.process_time(), time.perf_counter()
        job.advance(0, job.frames, order)
        best = min(best, (time.process_time() - c, time.perf_counter() - w))
    return best, job


def torch_mlp(x, y, W, order, lr):
    import torch

    Wt = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in W]
    X, T = torch.tensor(x), torch.tensor(y[:, 0])
    for k in order:
        a = X[k]
        for l, w in enumerate(Wt):
            z = a @ w[:-1] + w[-1]
            a = torch.relu(z) if l < len(Wt) - 1 else z
        ((T[k] - a[0]) ** 2).backward()
        with torch.no_grad():
            for w in Wt:
                w -= lr * w.grad
                w.grad = None
    return [w.detach().numpy() for w in Wt]


def main():
    x, y = S.seed_data()
    t = y[:, 0]
    rs = np.random.RandomState(0)
    orders = {"hinge": rs.randint(2000, size=10_000), "squared": rs.randint(2000, size=100_000),
              "fit": rs.randint(2000, size=100_000), "data": rs.randint(2000, size=500_000),
              "mlp": rs.randint(2000, size=100_000)}
    W = [rs.randn(3, 5), rs.randn(6, 5), rs.randn(6, 1)]
    # the baselines first, before numba starts its worker threads
    seed_times, weights = {}, {}
    for name, loss, eta in (("hinge", S.loss_hinge(), 0.01), ("squared", S.loss(), 0.001)):
        f = S.model(2)
        seed_times[name], _ = timed(lambda: S.optimize().run(x, y, f, loss, len(orders[name]), eta, orders[name]),
                                     repeat=1)
        weights[name] = f.w[0]
    clf = S.model(2)
    S.optimize().run(x, y, clf, S.loss_hinge(), 100_000, 0.001, orders["fit"])
    seed_times["data"], moved = timed(lambda: S.optimize_data().run(x.copy(), y, clf, S.loss_hinge(), 500_000, 0.05,
                                                                     orders["data"]), repeat=1)
    try:
        import torch

        torch.set_num_threads(1)
        t_torch, W_torch = timed(lambda: torch_mlp(x, y, W, orders["mlp"], 0.001), repeat=1)
    except ImportError:
        print("torch not installed: the PyTorch row is skipped")
        t_torch = None

    import dyn

    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; numba threads "
          f"{__import__('numba').get_num_threads()}")
    for name in ("hinge", "mlp", "data"):  # compile / load the cache
        dyn.simulate("linear", as_seed=name, steps=10, **({"fit_steps": 10} if name == "data" else {}))
    common = dict(data=x, labels=t)
    peaks = machine()
    print(peaks)
    for name in ("hinge", "squared"):
        k, job = kernel_time(as_seed=name, order=orders[name], **common)
        assert np.abs(job.theta[0] - weights[name]).max() < 1e-10
        e2e, _ = timed(lambda: dyn.simulate("linear", as_seed=name, order=orders[name], **common))
        row(f"(a) seed {name} run, {len(orders[name]):,} steps: the seed's loop ported", seed_times[name])
        row(f"(a) ... dyn kernel (same weights to 1e-10)", k, seed_times[name], ">= 200x, < 50 ms")
        line(f"{name}, linear model D = 2", *step_counts([2, 1]), len(orders[name]), k[0], peaks.one,
             bound="a step is a chain of dependent scalar operations on a few numbers: latency, not flops")
        row(f"(a) ... dyn.simulate end to end", e2e, seed_times[name])
    init = {"w": clf.w[0, :2], "b": clf.w[0, 2]}
    k, job = kernel_time(as_seed="data", order=orders["data"], init=init, **common)
    assert np.abs(job.X[0] - moved).max() < 1e-10
    e2e, _ = timed(lambda: dyn.simulate("linear", as_seed="data", order=orders["data"], init=init, **common))
    row("(a) seed data flow, 500,000 steps: the seed's exercise completed, ported", seed_times["data"])
    row("(a) ... dyn kernel (same positions to 1e-10)", k, seed_times["data"], ">= 200x, < 50 ms")
    line("data flow, one point a step", *data_counts(), len(orders["data"]), k[0], peaks.one, bound="latency")
    row("(a) ... dyn.simulate end to end (positions of 2,000 points x 501 snapshots)", e2e, seed_times["data"])
    mlp = dict(model="mlp", layers=[5, 5], steps=100_000, init=W, order=orders["mlp"], **common)
    k, job = kernel_time(**mlp)
    line("MLP 2-5-5-1, one sample a step", *step_counts([2, 5, 5, 1]), 100_000, k[0], peaks.one,
         bound="layers of 5: too narrow for SIMD, each layer waits for the one before")
    e2e, ds = timed(lambda: dyn.simulate("linear", **mlp))
    if t_torch is not None:
        gap = max(np.abs(ds[f"weight{l}"].values[-1] - W_torch[l]).max() for l in range(3))
        assert gap < 1e-9, gap
        row("(b) MLP 2-5-5-1, 100,000 steps: PyTorch CPU float64, 1 thread", t_torch)
        row(f"(b) ... dyn kernel (same weights to {gap:.0e})", k, t_torch, ">= 50x")
        row("(b) ... dyn.simulate end to end", e2e, t_torch)
    else:
        row("(b) MLP 2-5-5-1, 100,000 steps: dyn kernel", k)


if __name__ == "__main__":
    main()
