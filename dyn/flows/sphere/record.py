"""The Dataset of a sphere run: snapshots of the vectors, what is measured at them, the loss of every step."""

from __future__ import annotations

import numpy as np

from dyn.flows.sphere import kernels
from dyn.flows.sphere.config import OBJECTIVES, OPERATORS
from dyn.flows.sphere.measure import measure
from dyn.io.schema import run_dataset

VARIABLES = {
    "w": ("the vectors w_k as the run holds them (unit norm, except under project='before', where the state "
          "is the unnormalised result of the last step, and before the first step with draw='cube')", "1"),
    "x": ("the data points x_n of the angular objective (fixed)", "1"),
    "loss": ("the objective at the snapshot's vectors", "1"),
    "loss_iter": ("the objective at the vectors where step iteration + 1 took its gradient (every step)", "1"),
    "grad_radial": ("|component of the objective's gradient (exact or the seed's formula, as configured, not "
                    "accumulated) along w_k/|w_k||, at the snapshot", "1"),
    "grad_tangent": ("norm of the gradient's component tangent to the sphere at w_k/|w_k|, at the snapshot", "1"),
    "norm_before": ("norm of each vector just before it was put back on the sphere in the frame's last step: "
                    "|w - lr v| (projected 'after', Riemannian; for the exponential map the point the "
                    "normalising retraction would see), |w| before the seed's normalise-then-step; time 0: |w_0|",
                    "1"),
    "theta": ("angle theta_nk between data point x_n and vector w_k", "rad"),
    "min_angle": ("minimum angle between two vectors, in radians (the command line's summary, dyn plot and the "
                  "animation show it in degrees)", "rad"),
    "momentum_buffer": ("momentum buffer v after the last step (v <- momentum v + gradient; Riemannian: in the "
                        "tangent space where the last step was taken); a continued run starts from it", "1"),
    "gradient_sum": ("sum of every gradient so far (accumulate=True: the seed never clears its gradient), after "
                     "the last step; a continued run starts from it", "1"),
    "diverged_at": ("first step whose objective was not finite, -1 if none", "step"),
    "step": ("optimisation steps taken", "step"),
    "time": ("snapshot index: time 0 is the initial state, time t the state after frame t - 1", "frame"),
    "iteration": ("index of the step (0-based): loss_iter[i] is the objective before step i + 1", "step"),
    "vector": ("vector index k", "1"),
    "sample": ("data point index n", "1"),
    "dim": ("coordinate index of the ambient space R^dim", "1"),
}


def energy_description(cfg):
    """What ``energy`` holds: the objective's energy, or the Riesz s-energy for the angular objective."""
    if cfg.objective == "mhe":
        return (f"MHE energy 1/(M(M-1)) sum_(i != j) f_s(|u_i - u_j|) of the directions u = w/|w|, s = {cfg.s:g} "
                "(f_s(z) = z^-s, log(1/z) for s = 0; Liu et al. 2018's normalisation)")
    return (f"Riesz energy sum_(i<j) |u_i - u_j|^-s of the directions u = w/|w|, s = {cfg.s:g} "
            "(-sum log|u_i - u_j| for s = 0; s = 1 is the Thomson problem)")


def codes(cfg):
    """The integer codes the kernels take: objective, operator, gradient, step rule."""
    if cfg.update == "projected":
        rule = kernels.BEFORE if cfg.project == "before" else kernels.AFTER
    else:
        rule = kernels.EXPONENTIAL if cfg.retraction == "exponential" else kernels.TANGENT
    return (OBJECTIVES.index(cfg.objective), OPERATORS.index(cfg.operator),
            kernels.SEED if cfg.gradient == "seed" else kernels.EXACT, rule)


def measured(cfg, w, x):
    """loss, grad_radial, grad_tangent, energy, min_angle of every snapshot ``w`` (R, T, M, d): computed in float64
    (a float32 run's from its float32 vectors and data), kept in the run's float type."""
    R, T, M, _ = w.shape
    out = {"loss": np.full((R, T), np.nan), "grad_radial": np.full((R, T, M), np.nan),
           "grad_tangent": np.full((R, T, M), np.nan), "energy": np.full((R, T), np.nan),
           "min_angle": np.full((R, T), np.nan)}
    obj, op, grad, _ = codes(cfg)
    kind = kernels.MHE if cfg.objective == "mhe" else kernels.RIESZ
    measure(np.ascontiguousarray(w), np.ascontiguousarray(x, dtype=np.float64), obj, op, cfg.k,
            cfg.s, grad, kind, out["loss"], out["grad_radial"], out["grad_tangent"], out["energy"], out["min_angle"])
    return {name: values.astype(cfg.dtype, copy=False) for name, values in out.items()}


def angles(w, x):
    """theta (R, T, N, M) between the data points x (R or 1, N, d) and the vectors w (R, T, M, d)."""
    u = w / np.linalg.norm(w, axis=-1, keepdims=True)
    xh = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return np.arccos(np.clip(np.einsum("rtmd,rnd->rtnm", u, np.broadcast_to(xh, (w.shape[0],) + xh.shape[1:])),
                             -1.0, 1.0))


def to_dataset(cfg, rec, x, loss_iter, clocks, diverged_at, status, buffers):
    """Assemble the run's Dataset; ``rec`` arrays are (replica, time, ...); ``buffers`` (replica, vector, dim)
    the optimiser's, kept when the run uses them (momentum_buffer for momentum > 0, gradient_sum to accumulate)."""
    lead = ("replica", "time")
    data = {
        "w": (lead + ("vector", "dim"), rec["w"]),
        "norm_before": (lead + ("vector",), rec["norm_before"]),
        "loss_iter": (("replica", "iteration"), loss_iter),
        "diverged_at": (("replica",), diverged_at.copy()),
    }
    for name, used in (("momentum_buffer", cfg.momentum > 0), ("gradient_sum", cfg.accumulate)):
        if used:
            data[name] = (("replica", "vector", "dim"), buffers[name].copy())
    for name, values in measured(cfg, rec["w"], x).items():
        data[name] = (lead + (("vector",) if values.ndim == 3 else ()), values)
    coords = {
        "time": ("time", clocks["time"]), "step": ("time", clocks["step"]),
        "iteration": ("iteration", clocks["iteration"]),
        "vector": ("vector", np.arange(cfg.vectors)), "dim": ("dim", np.arange(cfg.dim)),
    }
    if cfg.objective == "angular":
        data["theta"] = (lead + ("sample", "vector"), angles(rec["w"], x))
        data["x"] = ((("replica",) if x.shape[0] > 1 else ()) + ("sample", "dim"), x if x.shape[0] > 1 else x[0])
        coords["sample"] = ("sample", np.arange(cfg.samples))
    return run_dataset(data, coords, cfg, {**VARIABLES, "energy": (energy_description(cfg), "1")}, status,
                       flow="sphere")
