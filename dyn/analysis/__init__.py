"""Metrics of recorded runs: convergence (any flow), and the analysis of a relu run.

Every relu analysis is a function of the run's Dataset returning a labelled DataArray over time (and
replica where the run has replicas): see :mod:`dyn.analysis.directions`, :mod:`~dyn.analysis.transport`,
:mod:`~dyn.analysis.motion`, :mod:`~dyn.analysis.activity`; :func:`analyze` gathers them in one Dataset.
"""

from dyn.analysis.activity import dead, dead_fraction, probe
from dyn.analysis.directions import alignment, cosine, covered, nearest_teacher, teacher_alignment
from dyn.analysis.convergence import convergence_step, final
from dyn.analysis.motion import balancedness, balancedness_drift, lazy, mean_speed, relative_change, speed
from dyn.analysis.report import SUMMARY, analyze, table
from dyn.analysis.transport import wasserstein2

__all__ = ["SUMMARY", "alignment", "analyze", "balancedness", "balancedness_drift", "convergence_step", "cosine",
           "covered", "dead", "dead_fraction", "final", "lazy", "mean_speed", "nearest_teacher", "probe",
           "relative_change", "speed", "table", "teacher_alignment", "wasserstein2"]
