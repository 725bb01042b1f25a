"""Which teacher neuron does each student neuron point at? Directions in (w, b) space.

A neuron's hyperplane and half-space are those of u = (w, b) in R^(d+1): relu(w.x + b) = |u| relu(u/|u| . (x, 1)),
so two neurons compute the same feature up to scale exactly when their u point the same way. The
cosine of a zero u (a constant neuron) is NaN: it has no direction.
"""

from __future__ import annotations

import numpy as np

from dyn.analysis.particles import check_relu, finite_snapshots, lead, student, teacher, wrap

ANGLE = 10.0  # degrees: a teacher neuron is covered by a student within this angle


def _cosines(ds):
    """(time, replica, neuron, teacher_neuron) cosines between the students' and the teacher's (w, b)."""
    u = student(ds)[..., 1:]
    tu = teacher(ds)[:, 1:]
    nu = np.linalg.norm(u, axis=-1)
    nt = np.linalg.norm(tu, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (u @ tu.T) / (nu[..., None] * nt)
    cos[~((nu[..., None] > 0) & (nt > 0))] = np.nan
    return np.clip(cos, -1.0, 1.0)


def cosine(ds):
    """The cosine between every student neuron's (w_k, b_k) and every teacher neuron's (w_j, b_j)."""
    check_relu(ds)
    return wrap(ds, _cosines(ds), ("neuron", "teacher_neuron"), "cosine",
                "cosine between the student's (w_k, b_k) and the teacher's (w_j, b_j); NaN for a zero (w, b)")


def nearest_teacher(ds):
    """Each student neuron's nearest teacher neuron (largest cosine); -1 for a zero (w, b) or a NaN state."""
    check_relu(ds)
    cos = _cosines(ds)
    some = np.isfinite(cos).any(axis=-1)
    near = np.where(some, np.argmax(np.nan_to_num(cos, nan=-np.inf), axis=-1), -1)
    return wrap(ds, near.astype(np.int64), ("neuron",), "nearest_teacher",
                "teacher neuron of largest cosine with the student's (w_k, b_k); -1 if it has no direction")


def _best(ds, same_sign):
    """(time, replica, teacher_neuron): the largest cosine to each teacher neuron over the eligible
    students (-1 if none is); NaN where the snapshot is not finite."""
    cos = _cosines(ds)
    if same_sign:
        a = lead(ds, "a")
        ok = np.sign(a)[..., None] == np.sign(ds["teacher_a"].values)
        cos = np.where(ok, cos, np.nan)
    best = np.max(np.nan_to_num(cos, nan=-np.inf), axis=2)
    best = np.where(np.isfinite(best), best, -1.0)
    best[~finite_snapshots(ds)] = np.nan
    return best


def teacher_alignment(ds, same_sign=True):
    """For each teacher neuron, the largest cosine of a student neuron's (w, b) with its (w, b).

    ``same_sign``: only students whose output weight a_k has the sign of the teacher's a_j count (a
    student pointing the same way with the opposite sign subtracts the feature instead of adding it).
    -1 where no student counts; NaN where the snapshot is not finite (a diverged replica)."""
    check_relu(ds)
    how = "students with a_k of the teacher's sign" if same_sign else "every student"
    return wrap(ds, _best(ds, same_sign), ("teacher_neuron",), "teacher_alignment",
                f"largest cosine between the teacher's (w_j, b_j) and a student's (w_k, b_k), over {how}; "
                "-1 if there is none", same_sign=int(same_sign))


def alignment(ds, same_sign=True):
    """The mean over teacher neurons of :func:`teacher_alignment`: 1 when each has a student on its ray."""
    check_relu(ds)
    return wrap(ds, _best(ds, same_sign).mean(axis=-1), (), "alignment",
                "mean over teacher neurons of the largest cosine of a student (teacher_alignment)",
                same_sign=int(same_sign))


def covered(ds, angle=ANGLE, same_sign=True):
    """How many teacher neurons have a student neuron within ``angle`` degrees of their (w, b)
    (students of the same output sign, with ``same_sign``); NaN where the snapshot is not finite."""
    check_relu(ds)
    best = _best(ds, same_sign)
    count = (best >= np.cos(np.radians(angle))).sum(axis=-1).astype(np.float64)
    count[np.isnan(best).any(axis=-1)] = np.nan
    return wrap(ds, count, (), "covered",
                f"teacher neurons with a student within {angle:g} degrees in (w, b)"
                + (" and of the same output sign" if same_sign else ""), units="neuron", angle=float(angle),
                same_sign=int(same_sign))
