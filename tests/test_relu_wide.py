"""The step-blocked kernel of wide relu students (dyn/flows/relu/wide.py) against the per-sample kernel, a
plain-numpy run, and itself on one and two threads."""

import numba
import numpy as np
import pytest

import dyn
from dyn.flows.relu import kernels, wide
from dyn.flows.relu.job import prepare
from dyn.flows.relu.config import ReluConfig
from dyn.flows.relu.schedule import plan
from relu_reference import numpy_run


def problem(m, d=2, M=4, frames=12, seed=0, radius=0.05):
    """A seed-002-like problem: the seed's growing frames, students at ``radius``, inputs given."""
    g = np.random.default_rng(seed)
    p = plan(ReluConfig(width=m, dim=d, frames=frames), range(frames))
    wb = g.standard_normal((m, d + 1))
    wb *= radius / np.linalg.norm(wb, axis=1, keepdims=True)
    student = (g.standard_normal(m), wb[:, :d].copy(), wb[:, d].copy())
    teacher = (g.standard_normal(M), g.standard_normal((M, d)), g.standard_normal(M))
    return p, g.standard_normal((p.fresh, d)), student, teacher


def run(advance, p, x, student, teacher, lr=0.5, train_a=True, bias=True):
    """One replica through the plan's frames with ``advance`` (a kernel's frame loop); (state, snaps, diverged_at)."""
    a, w, b = student
    m, d = w.shape
    F = len(p.frame_steps)
    state = kernels.State(a[None].copy(), np.ascontiguousarray(w.T[None]), b[None].copy())
    snaps = kernels.Snaps(np.full((1, F, m), np.nan), np.full((1, F, m, d), np.nan), np.full((1, F, m), np.nan),
                          np.full((1, F), np.nan))
    diverged = np.array([-1])
    advance(state, kernels.Consts(*teacher, lr, train_a, bias), kernels.Inputs(x[None], p.starts, p.sizes),
            p.frame_steps, 0, snaps, 0, diverged)
    return state, snaps, diverged


def relative(u, v):
    return np.max(np.abs(u - v)) / max(np.max(np.abs(v)), 1e-300)


@pytest.fixture
def tiles_on_threads(monkeypatch):
    """Split every student's tiles across the threads, however narrow and however busy the machine."""
    monkeypatch.setattr(wide, "THREADS_FROM", 1)
    monkeypatch.setattr(wide, "cores_idle", lambda: True)


@pytest.mark.parametrize("m, d, M, train_a, bias", [(700, 2, 4, True, True), (300, 3, 3, False, True),
                                                    (520, 5, 2, True, False)])
@pytest.mark.parametrize("threads", [False, True])
def test_wide_kernel_equals_the_per_sample_kernel(m, d, M, train_a, bias, threads, monkeypatch):
    monkeypatch.setattr(wide, "THREADS_FROM", 1 if threads else 10**9)
    monkeypatch.setattr(wide, "cores_idle", lambda: True)
    p, x, student, teacher = problem(m, d, M)
    if not bias:
        student[2][:] = 0.0
    ref_state, ref, _ = run(kernels.advance_serial, p, x, student, teacher, train_a=train_a, bias=bias)
    state, snaps, diverged = run(wide.advance, p, x, student, teacher, train_a=train_a, bias=bias)
    assert diverged[0] == -1
    for got, want in zip(snaps, ref):
        assert relative(got, want) < 1e-12
    for got, want in zip(state, ref_state):
        assert relative(got, want) < 1e-12
    assert relative(state.wt, np.ascontiguousarray(student[1].T)) > 1e-3  # the students did move
    if not train_a:
        np.testing.assert_array_equal(state.a[0], student[0])
    if not bias:
        assert not state.b.any()


def test_wide_kernel_equals_plain_numpy():
    m, d = 300, 3
    p, x, student, teacher = problem(m, d, 3, frames=3, radius=0.5)
    _, snaps, _ = run(wide.advance, p, x, student, teacher, lr=0.3)
    steps = np.cumsum(p.frame_steps)
    batches = [list(p.sizes[lo:hi]) for lo, hi in zip(np.concatenate([[0], steps[:-1]]), steps)]
    ref = numpy_run(*student, *teacher, x, 0.3, batches)
    for f, (a, w, b) in enumerate(ref):
        np.testing.assert_allclose(snaps.a[0, f], a, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(snaps.w[0, f], w, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(snaps.b[0, f], b, rtol=1e-12, atol=1e-14)


def test_same_numbers_on_one_and_two_threads_and_serial(tiles_on_threads):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread on this machine")
    p, x, student, teacher = problem(2000, frames=8)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run(wide.advance, p, x, student, teacher)
        numba.set_num_threads(2)
        two = run(wide.advance, p, x, student, teacher)
    finally:
        numba.set_num_threads(before)
    wide.THREADS_FROM = 10**9  # the tiles one after the other on the calling thread (undone by the fixture)
    serial = run(wide.advance, p, x, student, teacher)
    for other in (two, serial):
        for got, want in zip(other[1], one[1]):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("threads", [False, True])
def test_divergence_stops_at_the_per_sample_kernels_step(threads, monkeypatch):
    monkeypatch.setattr(wide, "THREADS_FROM", 1 if threads else 10**9)
    monkeypatch.setattr(wide, "cores_idle", lambda: True)
    p, x, student, teacher = problem(600, frames=30, radius=1.0)
    _, ref, ref_diverged = run(kernels.advance_serial, p, x, student, teacher, lr=3e3)  # at step 76 of 645
    _, snaps, diverged = run(wide.advance, p, x, student, teacher, lr=3e3)
    assert diverged[0] > 0 and diverged[0] == ref_diverged[0]
    ends = np.cumsum(p.frame_steps)
    done = ends < diverged[0]  # frames that ended before the step that diverged
    assert done.any() and not done.all()
    assert np.isfinite(snaps.w[0, done]).all() and np.isnan(snaps.w[0, ~done]).all()
    np.testing.assert_allclose(snaps.w[0, done], ref.w[0, done], rtol=1e-9)


def test_tiles_are_split_only_wide_and_on_idle_cores(monkeypatch):
    monkeypatch.setattr(wide, "cores_idle", lambda: True)
    assert wide.split_tiles(wide.THREADS_FROM) == (numba.get_num_threads() > 1)
    assert not wide.split_tiles(wide.THREADS_FROM - 1)
    monkeypatch.setattr(wide, "cores_idle", lambda: False)
    assert not wide.split_tiles(10 * wide.THREADS_FROM)


def test_the_job_picks_the_wide_kernel_from_its_threshold():
    assert prepare(ReluConfig(width=wide.WIDE_FROM, frames=1)).kernel() is wide.advance
    assert prepare(ReluConfig(width=wide.WIDE_FROM - 1, frames=1)).kernel() is not wide.advance


def test_a_wide_run_diverges_through_dyn_simulate():
    ds = dyn.simulate("relu", width=wide.WIDE_FROM, lr=1e4, radius=1.0, frames=30, replicas=2, test_loss="none")
    first = int(ds.diverged_at.min())
    assert first > 0 and ds.attrs["status"].startswith(f"diverged at step {first}")
    assert (ds.diverged_at > 0).all()
