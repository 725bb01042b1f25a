"""The relu flow's trajectories against independent truth: the seed's code, numpy, finite differences."""

import numba
import numpy as np
import pytest
import xarray as xr

import dyn
from relu_reference import batch_loss, kernel_gradient, numpy_run, small_problem
from seed002 import notebook


def test_kernel_matches_numpy_reference_with_given_arrays():
    init, teacher, x = small_problem()
    ds = dyn.simulate("relu", width=5, teacher_width=3, dim=3, frames=6, schedule="constant", steps_per_frame=3,
                      batch=7, lr=0.3, init=init, teacher=teacher, inputs=x, test_loss="none")
    ref = numpy_run(*init.values(), *teacher.values(), x, 0.3, [[7] * 3] * 6)
    for t, (a, w, b) in enumerate(ref, start=1):
        np.testing.assert_allclose(ds.a[t], a, rtol=0, atol=1e-10)
        np.testing.assert_allclose(ds.w[t], w, rtol=0, atol=1e-10)
        np.testing.assert_allclose(ds.b[t], b, rtol=0, atol=1e-10)
    assert int(ds.step[-1]) == 18 and int(ds.samples_seen[-1]) == 126


def test_seed_schedule_uses_partial_last_batch():
    init, teacher, x = small_problem(n=2000)
    ds = dyn.simulate("relu", width=5, teacher_width=3, dim=3, frames=3, batch=30, lr=0.2, init=init,
                      teacher=teacher, inputs=x, test_loss="none")
    # frames of 100 int(log(10 + 10 i)) = 200, 200, 300 samples: batches of 30 and a last partial one
    batches = [[30] * 6 + [20], [30] * 6 + [20], [30] * 10]
    ref = numpy_run(*init.values(), *teacher.values(), x, 0.2, batches)
    np.testing.assert_allclose(ds.w[-1], ref[-1][1], rtol=0, atol=1e-10)
    assert list(ds.step.values) == [0, 7, 14, 24]


def test_full_batch_gradient_descent_on_training_set():
    init, teacher, x = small_problem(n=50)
    ds = dyn.simulate("relu", width=5, teacher_width=3, dim=3, frames=4, steps_per_frame=5, train_size=50,
                      lr=0.4, init=init, teacher=teacher, inputs=x, test_loss="none")
    a, w, b = init["a"], init["w"], init["b"]
    for _ in range(20):
        (a, w, b), = numpy_run(a, w, b, *teacher.values(), x, 0.4, [[50]])
    np.testing.assert_allclose(ds.a[-1], a, atol=1e-10)
    assert np.all(np.diff(ds.loss_train[1:]) < 0)  # small-step GD decreases the training loss


def test_notebook_mode_is_the_seed_draw_for_draw():
    (ta, tw, tb), history = notebook(frames=10)
    ds = dyn.simulate("relu", rng="notebook", seed=18, frames=10, test_loss="none")
    np.testing.assert_allclose(ds.teacher_a, ta, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ds.teacher_w, tw, rtol=0, atol=1e-12)
    for t, (a, w, b) in enumerate(history):
        np.testing.assert_allclose(ds.a[t], a, rtol=0, atol=1e-12)
        np.testing.assert_allclose(ds.w[t], w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(ds.b[t], b, rtol=0, atol=1e-12)
    assert int(ds.samples_seen[1]) == 400  # frame 0 trained twice


def test_gradient_matches_finite_differences():
    init, teacher, x = small_problem(seed=7, n=9)
    grad = kernel_gradient(init, teacher, x)
    h = 1e-6
    for name in "awb":
        for idx in np.ndindex(init[name].shape):
            plus = {k: np.array(v, float) for k, v in init.items()}
            minus = {k: np.array(v, float) for k, v in init.items()}
            plus[name][idx] += h
            minus[name][idx] -= h
            fd = (batch_loss(plus, teacher, x) - batch_loss(minus, teacher, x)) / (2 * h)
            assert grad[name][idx] == pytest.approx(fd, abs=1e-8)


def test_replica_r_equals_single_run_with_seed_plus_r():
    ds = dyn.simulate("relu", replicas=3, seed=5, frames=20, test_loss="none")
    for r in range(3):
        one = dyn.simulate("relu", seed=5 + r, frames=20, test_loss="none")
        np.testing.assert_array_equal(ds.w.isel(replica=r), one.w)
        np.testing.assert_array_equal(ds.loss_train.isel(replica=r), one.loss_train)
    assert not np.allclose(ds.w.isel(replica=0), ds.w.isel(replica=1))
    np.testing.assert_array_equal(ds.teacher_w, one.teacher_w)  # one teacher shared by all


def test_teacher_and_student_streams_are_distinct():
    ds = dyn.simulate("relu", seed=0, teacher_seed=0, frames=1, width=4, test_loss="none")
    assert not np.allclose(ds.a[0], ds.teacher_a)
    other = dyn.simulate("relu", seed=1, teacher_seed=0, frames=1, width=4, test_loss="none")
    np.testing.assert_array_equal(other.teacher_w, ds.teacher_w)


def test_continued_run_equals_unbroken_run():
    whole = dyn.simulate("relu", frames=30, replicas=2, test_loss="none")
    part = dyn.simulate("relu", frames=12, replicas=2, test_loss="none")
    rest = dyn.simulate("relu", init=part, frames=18)
    assert list(rest.time.values) == list(range(13, 31))
    joined = xr.concat([part, rest], dim="time", data_vars="minimal", coords="minimal", compat="override")
    np.testing.assert_array_equal(joined.w, whole.w)
    np.testing.assert_array_equal(joined.step, whole.step)
    np.testing.assert_array_equal(joined.samples_seen, whole.samples_seen)


def test_notebook_continuation_replays_the_random_state():
    whole = dyn.simulate("relu", rng="notebook", seed=18, frames=6, test_loss="none")
    part = dyn.simulate("relu", rng="notebook", seed=18, frames=2, test_loss="none")
    rest = dyn.simulate("relu", init=part, frames=4)
    np.testing.assert_array_equal(rest.w[-1], whole.w[-1])


def test_same_numbers_on_one_and_two_threads():
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = dyn.simulate("relu", replicas=3, frames=15, test_loss="none")
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = dyn.simulate("relu", replicas=3, frames=15, test_loss="none")
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.w, two.w)


def test_divergence_keeps_snapshots_and_sets_status():
    ds = dyn.simulate("relu", lr=1e4, radius=1.0, frames=40, replicas=2, test_loss="none")
    first = int(ds.diverged_at.min())
    assert first > 0
    assert ds.attrs["status"].startswith(f"diverged at step {first}")
    for r in range(2):
        stop = int(ds.diverged_at[r])
        assert stop > 0
        done = ds.step.values < stop  # snapshots taken before the divergence are kept, NaN after
        w = ds.w.isel(replica=r).values
        assert np.isfinite(w[done]).all()
        assert np.isnan(w[~done][1:]).all()


def test_mean_field_scaling_multiplies_the_step_by_width():
    init, teacher, x = small_problem()
    kw = dict(width=5, teacher_width=3, dim=3, frames=1, schedule="constant", steps_per_frame=1, batch=10,
              init=init, teacher=teacher, inputs=x, test_loss="none")
    seed = dyn.simulate("relu", lr=0.5, **kw)
    mf = dyn.simulate("relu", lr=0.1, scaling="mean-field", **kw)
    np.testing.assert_allclose(mf.w[-1] - mf.w[0], seed.w[-1] - seed.w[0], atol=1e-14)


def test_given_inputs_too_few_is_a_clear_error():
    init, teacher, x = small_problem(n=30)
    with pytest.raises(dyn.UsageError, match="inputs hold 30 rows"):
        dyn.simulate("relu", width=5, teacher_width=3, dim=3, frames=2, init=init, teacher=teacher, inputs=x)


@pytest.mark.parametrize("bad, match", [
    # sizes follow from the arrays unless given: given sizes that disagree with them are refused
    ({"width": 20, "init": {"a": np.zeros(3), "w": np.zeros((3, 2)), "b": np.zeros(3)}}, "expected"),
    ({"dim": 2, "teacher": {"a": np.zeros(4), "w": np.zeros((4, 3)), "b": np.zeros(4)}}, "expected"),
    ({"dim": 2, "inputs": np.zeros((10, 3))}, "inputs must have shape"),
    ({"width": 0}, "width must be >= 1"),
    ({"radius": float("inf")}, "radius must be finite"),
    ({"rng": "notebook", "replicas": 2}, "replicas must be 1"),
    ({"rng": "notebook", "batch": 70, "frames": 20}, "cannot split a frame of 500"),
    ({"rng": "notebook", "batch": 201}, "cannot split a frame of 200"),
    ({"wdith": 3}, "did you mean 'width'"),
])
def test_bad_arguments_are_usage_errors(bad, match):
    with pytest.raises(dyn.UsageError, match=match):
        dyn.simulate("relu", **{"frames": 2, **bad})


def test_cuda_is_a_clear_runtime_error():
    with pytest.raises(dyn.RunError, match="not available"):
        dyn.simulate("relu", device="cuda")


def test_seed_default_run_learns_the_teacher(seed_run):
    loss = seed_run.loss_test.values
    assert seed_run.attrs["status"] == "completed" and seed_run.attrs["test_loss"] == "exact"
    assert seed_run.sizes["time"] == 501 and int(seed_run.step[-1]) == 17_660
    assert int(seed_run.samples_seen[-1]) == 353_200
    assert loss[-1] < loss[0] / 10
    assert np.isnan(seed_run.loss_train[0]) and np.isfinite(seed_run.loss_train[1:]).all()
    np.testing.assert_allclose(seed_run.position.sel(coord="x"), seed_run.a * seed_run.w.isel(dim=0))


def test_test_loss_choice_is_recorded():
    wide = dyn.simulate("relu", width=400, frames=2, test_loss="auto")
    assert wide.attrs["test_loss"] == "monte-carlo" and "monte-carlo" in wide.loss_test.attrs["estimator"]
    exact = dyn.simulate("relu", width=400, frames=2, test_loss="exact")
    # the Monte Carlo estimate on 1e4 samples agrees with the closed form to a few percent
    np.testing.assert_allclose(wide.loss_test, exact.loss_test, rtol=0.05)


def test_run_too_big_for_memory_is_refused_before_running():
    with pytest.raises(dyn.RunError, match="GiB of snapshots"):
        dyn.simulate("relu", width=100_000, frames=1_000_000)
