"""Comparisons with PyTorch (an optional peer: skipped where torch is not installed)."""

import numpy as np
import pytest

from relu_reference import kernel_gradient, small_problem

torch = pytest.importorskip("torch")


def test_gradient_matches_torch_autograd():
    init, teacher, x = small_problem(seed=11, n=16)
    a, w, b = (torch.tensor(np.asarray(init[k], float), requires_grad=True) for k in "awb")
    ta, tw, tb = (torch.tensor(np.asarray(teacher[k], float)) for k in "awb")
    X = torch.tensor(x)
    f = (a * torch.relu(X @ w.T + b)).mean(1)
    y = (ta * torch.relu(X @ tw.T + tb)).mean(1)
    (0.5 * ((f - y) ** 2).mean()).backward()
    grad = kernel_gradient(init, teacher, x)
    for name, t in (("a", a), ("w", w), ("b", b)):
        np.testing.assert_allclose(grad[name], t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_benchmark_baseline_learns_like_dyn():
    """The PyTorch baseline of studies/benchmarks does the same algorithm: its loss falls as dyn's does."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "studies" / "benchmarks"))
    from relu_baselines import torch_run

    snaps = torch_run(20, frames=60)
    moved = [float((s - snaps[0]).abs().max()) for s in snaps]
    assert moved[-1] > 10 * moved[1] > 0  # the neurons travel, as in dyn's run of the same schedule
