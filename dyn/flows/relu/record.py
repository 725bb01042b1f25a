"""The Dataset of a relu run: snapshots, teacher, clocks, losses, metadata."""

from __future__ import annotations

import numpy as np

from dyn.engine.streams import TEST, stream
from dyn.io.schema import run_dataset

MC_TEST_SIZE = 10_000

VARIABLES = {
    "a": ("output weight a_k of each student neuron", "1"),
    "w": ("input weights w_k of each student neuron", "1"),
    "b": ("bias b_k of each student neuron", "1"),
    "teacher_a": ("output weight of each teacher neuron", "1"),
    "teacher_w": ("input weights of each teacher neuron", "1"),
    "teacher_b": ("bias of each teacher neuron", "1"),
    "position": ("a_k * w_k, the picture's coordinates (the first two of w; (a w, a b) when dim = 1)", "1"),
    "teacher_position": ("a * w of each teacher neuron, as position", "1"),
    "loss_train": ("mean minibatch loss 1/2 (f - f*)^2 over the steps of the frame (before each update); "
                   "NaN at time 0, the initial state, which no step has led to", "1"),
    "loss_test": ("population loss 1/2 E(f(x) - f*(x))^2, x ~ N(0, I)", "1"),
    "diverged_at": ("first step whose loss was not finite, -1 if none", "step"),
    "step": ("SGD steps taken", "step"),
    "samples_seen": ("samples used in gradients so far", "sample"),
    "time": ("frame index: time 0 is the initial state, time t the state after frame t - 1", "frame"),
    "neuron": ("student neuron index", "1"),
    "flow_time": ("train 'population': flow time t = step x lr x scale of the gradient flow", "1"),
    "grad_norm": ("train 'population': norm of the exact gradient over the trained parameters at the snapshot",
                  "1"),
    "converged_at": ("train 'population': the step whose gradient norm fell below tol, -1 if none", "step"),
    "grad_evals": ("train 'population': exact gradients evaluated", "1"),
    "final_loss": ("exact population loss at the end point", "1"),
    "final_grad_norm": ("norm of the exact gradient over the trained parameters at the end point", "1"),
    "hessian_eigenvalues": ("smallest eigenvalues of the Hessian of the population loss at the end point "
                            "(central differences of the exact gradient), ascending", "1"),
    "certificate": ("the end point: global (loss < tol_loss), spurious (gradient < tol, Hessian PSD to "
                    "tol_hessian), saddle, not converged, or diverged", "1"),
    "teacher_neuron": ("teacher neuron index", "1"),
    "coord": ("picture coordinates x, y", "1"),
}


def positions(a, w, b):
    """(..., n, 2): a * (w_0, w_1), or a * (w_0, b) when d = 1."""
    second = w[..., 1] if w.shape[-1] > 1 else b
    return np.stack([a * w[..., 0], a * second], axis=-1)


def test_loss(cfg, a, w, b, teacher, skip=False):
    """loss_test for snapshots (..., n): exact, Monte Carlo on a fixed set, or NaN; and its estimator.
    ``skip``: NaN, the run having been interrupted while it was computed. Computed in float64 (of a float32
    run's snapshots and teacher) and given in the snapshots' float type."""
    kind = cfg.resolved_test_loss
    shape = a.shape[:-1]
    if kind == "none" or skip:
        return np.full(shape, np.nan, a.dtype), \
            "none: interrupted before it was computed" if skip else "none: not computed"
    from dyn.flows.relu import population

    flat = [np.ascontiguousarray(v.reshape((-1,) + v.shape[len(shape):]), dtype=np.float64) for v in (a, w, b)]
    teacher = [np.asarray(v, dtype=np.float64) for v in teacher]
    if kind == "exact":
        loss = population.population_loss(*flat, *teacher)
        how = "exact: closed form of E[relu(u) relu(v)] (bivariate normal CDF, Genz's method)"
    else:
        x = stream(cfg.teacher_seed, TEST).standard_normal((MC_TEST_SIZE, cfg.dim))
        loss = population.monte_carlo_loss(*flat, *teacher, x)
        how = f"monte-carlo estimate on a fixed test set of {MC_TEST_SIZE} samples (stream teacher_seed, TEST)"
    return loss.reshape(shape).astype(a.dtype, copy=False), how


def to_dataset(cfg, rec, teacher, clocks, diverged_at, status, skip_test_loss=False, *, extra=None,
               extra_coords=None):
    """Assemble the run's Dataset; ``rec`` arrays are (replica, time, ...); ``extra``: more variables
    {name: (dims, values)}, ``extra_coords`` more coordinates."""
    loss, how = test_loss(cfg, rec["a"], rec["w"], rec["b"], teacher, skip=skip_test_loss)
    lead = ("replica", "time")
    data = {
        "a": (lead + ("neuron",), rec["a"]),
        "w": (lead + ("neuron", "dim"), rec["w"]),
        "b": (lead + ("neuron",), rec["b"]),
        "position": (lead + ("neuron", "coord"), positions(rec["a"], rec["w"], rec["b"])),
        "loss_train": (lead, rec["loss_train"]),
        "loss_test": (lead, loss),
        "diverged_at": (("replica",), diverged_at.copy()),
        "teacher_a": (("teacher_neuron",), teacher.a),
        "teacher_w": (("teacher_neuron", "dim"), teacher.w),
        "teacher_b": (("teacher_neuron",), teacher.b),
        "teacher_position": (("teacher_neuron", "coord"), positions(teacher.a, teacher.w, teacher.b)),
        **(extra or {}),
    }
    coords = {
        "time": ("time", clocks["time"]),
        "step": ("time", clocks["step"]),
        "samples_seen": ("time", clocks["samples_seen"]),
        "neuron": ("neuron", np.arange(cfg.width)),
        "teacher_neuron": ("teacher_neuron", np.arange(cfg.teacher_width)),
        "coord": ("coord", ["x", "y"]),
        **(extra_coords or {}),
    }
    ds = run_dataset(data, coords, cfg, VARIABLES, status, flow="relu", teacher_seed=cfg.teacher_seed,
                     test_loss=cfg.resolved_test_loss)
    ds["loss_test"].attrs["estimator"] = how
    return ds
