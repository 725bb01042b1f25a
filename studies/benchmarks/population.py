"""dyn's population gradient descent against PyTorch CPU autograd of the same closed-form loss (float64).

Safran & Shamir's setting (no biases, output weights frozen at 1, orthogonal teacher of k neurons in d = k
dimensions, Xavier init): the loss is the arc-cosine kernel's closed form (Cho & Saul 2009),

    L = 1/2 [1'K 1 / m^2 - 2 1'K* 1 / (m M) + 1'K** 1 / M^2],  K(w, v) = |w||v| (sin t + (pi - t) cos t) / (2 pi),

written in torch as a user would (cosines clamped to [-1 + 1e-12, 1 - 1e-12] so that acos has a finite
derivative; the diagonal |w|^2 / 2), differentiated by autograd. dyn's side is its own engine: a population
job advanced block after block (per step), and the whole run by ``dyn.simulate`` (with its end-point
certificate). Run: ``python studies/benchmarks/population.py``.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from timing import best, row  # noqa: E402

THREADS = None  # torch's default thread count, read in main()


def setting(m, k, seed=0):
    from dyn.flows.relu.config import ReluConfig
    from dyn.flows.relu.state import draw_students, draw_teacher

    cfg = ReluConfig(width=m, dim=k, teacher_width=k, teacher="orthogonal", init="xavier", bias=False,
                     train_a=False, train="population", seed=seed, lr=2.0, scaling="mean-field")
    return cfg, draw_students(cfg), draw_teacher(cfg)


def torch_loss(w, tw, m, M):
    import torch

    def K(u, v, same):
        nu, nv = u.norm(dim=1), v.norm(dim=1)
        rho = ((u @ v.T) / (nu[:, None] * nv[None, :])).clamp(-1 + 1e-12, 1 - 1e-12)
        t = torch.acos(rho)
        out = nu[:, None] * nv[None, :] * (torch.sin(t) + (math.pi - t) * rho) / (2 * math.pi)
        if same:
            eye = torch.eye(u.shape[0], dtype=torch.bool)
            out = torch.where(eye, (nu * nu / 2)[:, None].expand_as(out), out)
        return out

    return 0.5 * (K(w, w, True).sum() / m**2 - 2 * K(w, tw, False).sum() / (m * M) + K(tw, tw, True).sum() / M**2)


def torch_steps(w0, tw, steps, dt, tol=None):
    """``steps`` steps of GD (dt) on the torch loss; with ``tol``, until the gradient norm is below it."""
    import torch

    w = torch.tensor(w0, requires_grad=True)
    twt = torch.tensor(tw)
    m, M = w0.shape[0], tw.shape[0]
    for n in range(steps):
        loss = torch_loss(w, twt, m, M)
        (g,) = torch.autograd.grad(loss, w)
        if tol is not None and float(g.norm()) < tol:
            return n, w.detach().numpy()
        with torch.no_grad():
            w -= dt * g
    return steps, w.detach().numpy()


def dyn_steps(cfg, student, teacher, steps):
    """Seconds per step of dyn's population job, advanced through the engine's frame loop."""
    from dyn.flows.relu.population_job import PopulationJob

    cfg = cfg.replace(frames=10, steps_per_frame=max(1, steps // 10))
    job = PopulationJob(cfg, student, teacher)
    job.advance(0, 1, job.inputs(0, 1))  # compile / warm
    t = time.perf_counter()
    job.advance(1, 10, job.inputs(1, 10))
    return (time.perf_counter() - t) / (9 * cfg.steps_per_frame), job


def per_step(m, k, steps):
    import torch

    torch.set_default_dtype(torch.float64)
    cfg, student, teacher = setting(m, k)
    dt = cfg.lr * m
    w0 = student.w[0]
    dyn_s, job = dyn_steps(cfg, student, teacher, steps)
    n = max(3, steps // 10)
    torch_s = {}
    for threads in sorted({1, THREADS}):  # on a loaded machine a second thread can cost more than it gives
        torch.set_num_threads(threads)
        torch_s[threads] = best(lambda: torch_steps(w0, teacher.w, n, dt), repeat=2) / n
    torch.set_num_threads(THREADS)
    return dyn_s, torch_s


def agreement(m, k, steps=50):
    """max |w_dyn - w_torch| after ``steps`` steps from the same init (the clamp costs torch ~1e-6 at most)."""
    import dyn

    cfg, student, teacher = setting(m, k)
    ds = dyn.simulate("relu", **{**cfg.to_dict(), "frames": 1, "steps_per_frame": steps})
    _, w = torch_steps(student.w[0], teacher.w, steps, cfg.lr * m)
    return float(np.abs(ds.w.isel(time=-1).values - w).max())


def whole_run(k, tol, steps):
    import dyn

    cfg, student, teacher = setting(k, k)
    t = time.perf_counter()
    ds = dyn.simulate("relu", **{**cfg.to_dict(), "frames": 100, "steps_per_frame": steps // 100, "tol": tol})
    dyn_s = time.perf_counter() - t
    import torch

    torch.set_num_threads(1)  # its faster setting at this size (see the per-step rows)
    t = time.perf_counter()
    n, _ = torch_steps(student.w[0], teacher.w, steps, cfg.lr * k, tol=tol)
    torch_s = time.perf_counter() - t
    torch.set_num_threads(THREADS)
    return dyn_s, torch_s, ds, n


def main():
    import numba
    import torch

    global THREADS
    THREADS = torch.get_num_threads()
    print(f"load: {os.getloadavg()}, numba threads {numba.get_num_threads()}, torch threads {torch.get_num_threads()}")
    print(f"agreement after 50 steps (k = m = 6): max |w_dyn - w_torch| = {agreement(6, 6):.2e}")
    for m, k, steps in ((20, 20, 2000), (1000, 20, 20)):
        dyn_s, torch_s = per_step(m, k, steps)
        for threads, sec in torch_s.items():
            row(f"torch autograd, m = {m}, k = d = {k}: a step, {threads} thread(s)", sec)
        row(f"dyn population, m = {m}, k = d = {k}: a step", dyn_s, min(torch_s.values()),
            ">= 10x" if m == 20 else None)
    dyn_s, torch_s, ds, n = whole_run(20, 1e-8, 20_000)
    print(f"whole k = 20 run (euler, tol 1e-8, at most 20,000 steps): dyn {ds.attrs['status']!r}, "
          f"{str(ds.certificate.values)}; torch stopped after {n} steps")
    row("torch autograd, k = 20, the whole run", torch_s)
    row("dyn, k = 20, the whole run (with its certificate)", dyn_s, torch_s)


if __name__ == "__main__":
    main()
