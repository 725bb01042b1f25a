"""Dead neurons: never active on the data.

Under x ~ N(0, I_d) a neuron with w != 0 is active (w.x + b > 0) with probability Phi(b / |w|) > 0, so
"never active" is a statement about a finite set. The set used is a fixed Gaussian probe: PROBE_SIZE
samples x ~ N(0, I_d) from the stream (teacher_seed, PROBE), the same for every snapshot and replica
of a run (a neuron active with probability below ~1/PROBE_SIZE is likely to be called dead). Any other
set (a training set, real data) can be passed as ``x``. A neuron is dead when w_k.x + b_k <= 0 for every
x of the set: it has no output and no gradient there (a zero neuron, w = 0 and b = 0, counts as dead).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dyn.analysis.particles import check_relu, finite_snapshots, lead, wrap
from dyn.engine.streams import PROBE, stream
from dyn.errors import UsageError

PROBE_SIZE = 10_000


def probe(ds, n=PROBE_SIZE):
    """The run's Gaussian probe: (n, d) samples from the stream (teacher_seed, PROBE)."""
    return stream(int(ds.attrs.get("teacher_seed", 0)), PROBE).standard_normal((n, ds.sizes["dim"]))


@njit(cache=True)
def never_active(w, b, x, out):
    """out[k] = True when w[k].x + b[k] <= 0 for every row x of ``x``; NaN rows of w count as active (not dead).
    A scan that stops at the first active sample: most neurons are decided within a few."""
    for k in range(w.shape[0]):
        dead = True
        for i in range(x.shape[0]):
            z = b[k]
            for q in range(x.shape[1]):
                z += w[k, q] * x[i, q]
            if not z <= 0.0:
                dead = False
                break
        out[k] = dead


def _never_active(w, b, x):
    flat_w = np.ascontiguousarray(w.reshape(-1, w.shape[-1]))
    out = np.empty(len(flat_w), dtype=np.bool_)
    never_active(flat_w, np.ascontiguousarray(b.reshape(-1)), np.ascontiguousarray(x), out)
    return out.reshape(b.shape)


def _dead(ds, x):
    if x is None:
        x, how = probe(ds), f"a fixed Gaussian probe of {PROBE_SIZE} samples (stream teacher_seed, PROBE)"
    else:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != ds.sizes["dim"] or not len(x):
            raise UsageError(f"x must be a set of samples (n, {ds.sizes['dim']}); got shape {x.shape}")
        how = f"the given set of {len(x)} samples"
    return _never_active(lead(ds, "w"), lead(ds, "b"), x), how


def dead(ds, x=None):
    """True for a student neuron with w_k.x + b_k <= 0 on every sample of the probe (or of ``x`` (n, d))."""
    check_relu(ds)
    out, how = _dead(ds, x)
    return wrap(ds, out, ("neuron",), "dead", f"never active (w_k.x + b_k <= 0) on {how}", probe=how)


def dead_fraction(ds, x=None, dead_neurons=None):
    """The fraction of the student's neurons that are :func:`dead` (given as ``dead_neurons`` if already
    computed); NaN where the snapshot is not finite."""
    check_relu(ds)
    if dead_neurons is None:
        dead_neurons = dead(ds, x)
    out = dead_neurons.values if "replica" in dead_neurons.dims else dead_neurons.values[:, None]
    frac = out.mean(axis=-1)
    frac[~finite_snapshots(ds)] = np.nan
    how = dead_neurons.attrs["probe"]
    return wrap(ds, frac, (), "dead_fraction", f"fraction of neurons never active on {how}", probe=how)
