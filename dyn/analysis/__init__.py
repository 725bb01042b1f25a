"""Metrics of recorded runs (functions of Datasets, flow-agnostic)."""

from dyn.analysis.convergence import convergence_step, final

__all__ = ["convergence_step", "final"]
