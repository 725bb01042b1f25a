"""The Wasserstein-2 distance between the student's and the teacher's measures (mean-field picture).

Chizat & Bach (2018, "On the global convergence of gradient descent for over-parameterized models
using optimal transport") write a network f = 1/m sum_k phi(theta_k) as the integral of phi against
the empirical measure mu = 1/m sum_k delta_(theta_k) of its particles theta_k = (a_k, w_k, b_k) in
R^(d+2), here phi(theta)(x) = a relu(w.x + b); in the many-particle limit gradient flow on the
particles is the Wasserstein-2 gradient flow of mu. The teacher f* = 1/M sum_j phi(theta*_j) is the
measure nu = 1/M sum_j delta_(theta*_j). So the particles are theta = (a, w, b) itself (not a w, nor
(w, b) weighted by |a|), each student of mass 1/m and each teacher neuron of mass 1/M, and

    W2(mu, nu)^2 = min over couplings pi of sum_kj pi_kj |theta_k - theta*_j|^2,

solved exactly (network simplex, POT's ``ot.emd2``). W2 = 0 means every student sits on a teacher
particle with mass matching (m/M students on each, for f = 1/m sum); it is not invariant under
the rescaling (a, w, b) -> (c a, w/c, b/c), which leaves f unchanged, so a student with zero loss
may sit at W2 > 0 (compare ``loss_test``).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from dyn.analysis.particles import check_relu, student, teacher, wrap
from dyn.errors import RunError


# POT probes every array framework it can import (torch alone costs seconds); the analysis passes numpy
# arrays only, so a framework not imported yet is switched off for POT's import (POT reads these once).
BACKENDS = {"torch": "POT_BACKEND_DISABLE_PYTORCH", "jax": "POT_BACKEND_DISABLE_JAX",
            "tensorflow": "POT_BACKEND_DISABLE_TENSORFLOW", "cupy": "POT_BACKEND_DISABLE_CUPY"}


def _ot():
    if "ot" not in sys.modules:
        for module, key in BACKENDS.items():
            if module not in sys.modules:
                os.environ.setdefault(key, "1")
    try:
        import ot
    except ImportError:
        raise RunError("the Wasserstein distance needs POT (Python Optimal Transport): "
                       "pip install pot, or pip install 'dyn[analysis]'") from None
    return ot


def w2_distance(x, y, ot=None):
    """W2 between the uniform measures on the rows of x (n, p) and of y (n', p); NaN if x is not finite."""
    ot = ot or _ot()
    if not np.isfinite(x).all():
        return np.nan
    cost = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    px, py = np.full(len(x), 1.0 / len(x)), np.full(len(y), 1.0 / len(y))
    return float(np.sqrt(max(ot.emd2(px, py, cost, numItermax=max(100_000, 50 * cost.size)), 0.0)))


def wasserstein2(ds):
    """W2 between the student's measure 1/m sum delta_(a_k, w_k, b_k) and the teacher's 1/M sum
    delta_(a_j, w_j, b_j) in R^(d+2), at every snapshot (see the module doc); NaN for a diverged state."""
    check_relu(ds)
    ot = _ot()
    theta, target = student(ds), teacher(ds)
    out = np.array([[w2_distance(theta[t, r], target, ot) for r in range(theta.shape[1])]
                    for t in range(theta.shape[0])]).reshape(theta.shape[:2])
    return wrap(ds, out, (), "w2",
                "Wasserstein-2 distance between the particle measures 1/m sum delta(a_k, w_k, b_k) and "
                "1/M sum delta(a_j, w_j, b_j) of student and teacher (Chizat & Bach 2018; exact, POT ot.emd2)")
