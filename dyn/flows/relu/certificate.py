"""What the end point of a population run is: a global minimum, a spurious one, a saddle, or not converged.

Per replica, at the final parameters: the exact population loss, the norm of its gradient over the trained
parameters, and the smallest eigenvalues of its Hessian (central differences of the closed-form gradient,
:func:`dyn.flows.relu.population_grad.hessian_eigenvalues`). The label:

- ``global``: loss < tol_loss;
- ``not converged``: otherwise, if the gradient norm is >= tol (tol: the run's, else DEFAULT_TOL);
- ``spurious``: otherwise, if the smallest Hessian eigenvalue is >= -tol_hessian (a local minimum, to tolerance);
- ``saddle``: otherwise (a direction of negative curvature);
- ``diverged``: the replica's parameters are not finite;
- ``not computed``: the run was interrupted while it finished.
"""

from __future__ import annotations

import numpy as np

from dyn.flows.relu.population_grad import hessian_eigenvalues, pack, population_gradient

DEFAULT_TOL = 1e-6  # the gradient norm below which an end point counts as critical when the run has no tol
EIGENVALUES = 3  # the smallest Hessian eigenvalues kept
LABELS = ("global", "spurious", "saddle", "not converged", "diverged", "not computed")


def label(loss, grad_norm, min_eig, *, tol, tol_loss, tol_hessian):
    """The certificate's label of one end point (see the module docstring)."""
    if not np.isfinite(loss):
        return "diverged"
    if loss < tol_loss:
        return "global"
    if not grad_norm < tol:
        return "not converged"
    return "spurious" if min_eig >= -tol_hessian else "saddle"


def loss_and_grad_norm(a, w, b, teacher, *, bias=True, train_a=True):
    """The exact loss at one student and the norm of its gradient over the trained parameters."""
    loss, ga, gw, gb = population_gradient(a, w, b, *teacher, bias=bias)
    g = np.empty(w.size + (a.size if train_a else 0) + (b.size if bias else 0))
    pack(ga, gw, gb, train_a, bias, g)
    return loss, float(np.linalg.norm(g))


def end_point(a, w, b, teacher, *, bias=True, train_a=True, k=EIGENVALUES):
    """(loss, gradient norm over the trained parameters, the k smallest Hessian eigenvalues) at one student."""
    loss, gnorm = loss_and_grad_norm(a, w, b, teacher, bias=bias, train_a=train_a)
    eig = hessian_eigenvalues(a, w, b, *teacher, k=k, bias=bias, train_a=train_a)
    return loss, gnorm, np.pad(eig, (0, k - len(eig)), constant_values=np.nan)


def certify(cfg, state, teacher, diverged_at, skip=False):
    """The certificate's variables {name: (dims, values)} for the replicas of a run's final ``state``
    (``skip``: NaN and the label "not computed", for a run interrupted while finishing)."""
    R, k = cfg.replicas, EIGENVALUES
    loss, gnorm, eig = np.full(R, np.nan), np.full(R, np.nan), np.full((R, k), np.nan)
    labels = []
    tol = cfg.tol if cfg.tol is not None else DEFAULT_TOL
    for r in range(R):
        if skip:
            labels.append("not computed")
            continue
        params = (state.a[r], state.w[r], state.b[r])
        if diverged_at[r] < 0 and all(np.isfinite(p).all() for p in params):
            loss[r], gnorm[r], eig[r] = end_point(*params, teacher, bias=cfg.bias, train_a=cfg.train_a, k=k)
        labels.append(label(loss[r], gnorm[r], eig[r, 0], tol=tol, tol_loss=cfg.tol_loss,
                            tol_hessian=cfg.tol_hessian))
    return {"final_loss": (("replica",), loss), "final_grad_norm": (("replica",), gnorm),
            "hessian_eigenvalues": (("replica", "eigenvalue"), eig),
            "certificate": (("replica",), np.array(labels, dtype=object).astype(str))}
