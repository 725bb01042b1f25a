"""How far and how fast the neurons move, and what gradient flow keeps fixed.

theta_k = (a_k, w_k, b_k) in R^(d+2); "the start" is the first snapshot of the Dataset (time 0 of a new
run; the first snapshot kept, for a continued or trimmed one).

- lazy vs rich: ||theta(t) - theta(0)|| / ||theta(0)||, per neuron and over all parameters. Small values
  all along: the lazy (kernel) regime, where the network stays near its linearisation; order one and
  more: the rich (feature-learning) regime where neurons travel to the teacher's.
- balancedness a_k^2 - |w_k|^2 - b_k^2: along the gradient flow of 1/2 (f - f*)^2 with f = 1/m sum a_k
  relu(w_k.x + b_k), d/dt a_k^2 = -2 a_k dL/da_k = -(2/m) a_k E[e relu(z_k)] and d/dt (|w_k|^2 + b_k^2)
  = -(2/m) a_k E[e relu'(z_k) z_k] (e = f - f*, z_k = w_k.x + b_k), equal since relu'(z) z = relu(z):
  conserved for any data and either scaling (the seed's or mean-field: one factor for all parameters),
  exactly in continuous time. A step of size lr changes it by lr^2 |g|^2-order terms, so its drift
  over a fixed flow time shrinks like lr: the discretisation error made visible. (Not conserved when
  some parameters are frozen: output weights not trained, biases fixed.)
- speed: |theta_k(t_i) - theta_k(t_(i-1))| / (clock_i - clock_(i-1)), the displacement per step (or per
  unit of another clock) between consecutive snapshots; NaN at the first.
"""

from __future__ import annotations

import numpy as np

from dyn.analysis.particles import check_relu, lead, student, wrap


def _relative(num, den):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def relative_change(ds):
    """|theta_k(t) - theta_k(0)| / |theta_k(0)| per neuron (NaN where theta_k(0) = 0)."""
    check_relu(ds)
    theta = student(ds)
    out = _relative(np.linalg.norm(theta - theta[:1], axis=-1), np.linalg.norm(theta[:1], axis=-1))
    return wrap(ds, out, ("neuron",), "relative_change",
                "|theta_k(t) - theta_k(0)| / |theta_k(0)|, theta_k = (a_k, w_k, b_k), from the first snapshot")


def lazy(ds):
    """||theta(t) - theta(0)|| / ||theta(0)|| over all the student's parameters: the lazy-vs-rich measure."""
    check_relu(ds)
    theta = student(ds)
    num = np.sqrt(((theta - theta[:1]) ** 2).sum(axis=(2, 3)))
    out = _relative(num, np.sqrt((theta[:1] ** 2).sum(axis=(2, 3))))
    return wrap(ds, out, (), "lazy",
                "||theta(t) - theta(0)|| / ||theta(0)|| over every a_k, w_k, b_k (small: lazy; order 1: rich)")


def _balancedness(ds):
    a, w, b = lead(ds, "a"), lead(ds, "w"), lead(ds, "b")
    return a * a - (w * w).sum(axis=-1) - b * b


def balancedness(ds):
    """a_k^2 - |w_k|^2 - b_k^2 per neuron: conserved by gradient flow (see the module doc)."""
    check_relu(ds)
    return wrap(ds, _balancedness(ds), ("neuron",), "balancedness",
                "a_k^2 - |w_k|^2 - b_k^2 (conserved by the gradient flow; its drift is discretisation)")


def balancedness_drift(ds):
    """max_k |B_k(t) - B_k(0)| of the balancedness B_k: zero along the exact gradient flow."""
    check_relu(ds)
    bal = _balancedness(ds)
    out = np.abs(bal - bal[:1]).max(axis=-1)
    return wrap(ds, out, (), "balancedness_drift",
                "max over neurons of |(a_k^2 - |w_k|^2 - b_k^2)(t) - (same)(0)|: zero for the exact gradient flow")


def _speed(ds, clock):
    theta = student(ds)
    c = np.asarray(ds[clock].values, dtype=np.float64)
    out = np.full(theta.shape[:3], np.nan)
    if len(c) > 1:
        dt = np.diff(c)[:, None, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[1:] = np.where(dt > 0, np.linalg.norm(np.diff(theta, axis=0), axis=-1) / np.where(dt > 0, dt, 1.0),
                               np.nan)
    return out


def speed(ds, clock="step"):
    """|theta_k(t_i) - theta_k(t_(i-1))| / (clock_i - clock_(i-1)) per neuron; NaN at the first snapshot."""
    check_relu(ds)
    return wrap(ds, _speed(ds, clock), ("neuron",), "speed",
                f"displacement of theta_k = (a_k, w_k, b_k) per {clock} since the previous snapshot",
                units=f"1/{clock}", clock=clock)


def mean_speed(ds, clock="step"):
    """The mean over neurons of :func:`speed`."""
    check_relu(ds)
    return wrap(ds, _speed(ds, clock).mean(axis=-1), (), "mean_speed",
                f"mean over neurons of the displacement per {clock} since the previous snapshot",
                units=f"1/{clock}", clock=clock)
