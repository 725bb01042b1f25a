"""The sphere flow's runs: Thomson minima, step rules, the seed's loop, replicas, records."""

import json

import numba
import numpy as np
import pytest

import dyn
import sphere_reference as ref
from seed000 import seed_loop

THOMSON = {2: 0.5, 3: 1.732050808, 4: 3.674234614, 5: 6.474691495, 6: 9.985281374, 12: 49.165253058}


@pytest.fixture(scope="module")
def seed_arrays():
    rs = np.random.RandomState(0)
    return rs.random_sample((5, 1000)), rs.random_sample((1000, 4))  # x (N, d), W (d, M) as the notebook


@pytest.fixture(scope="module")
def seed_run(seed_arrays):
    x, W = seed_arrays
    return dyn.simulate("sphere", as_seed=True, init=W.T, data=x)


@pytest.mark.parametrize("n", sorted(THOMSON))
def test_thomson_minima_from_random_starts(n):
    ds = dyn.simulate("sphere", vectors=n, replicas=3, seed=10 * n, steps=3000)
    np.testing.assert_allclose(ds.energy.isel(time=-1).values, THOMSON[n], atol=1e-6)
    assert float(ds.grad_tangent.isel(time=-1).max()) < 1e-5  # a critical point on the sphere


def test_seed_run_equals_a_numpy_port_of_the_notebook(seed_run, seed_arrays):
    x, W = seed_arrays
    L, final = seed_loop(x, W, 10000)
    assert seed_run.sizes["iteration"] == 10000 and seed_run.sizes["time"] == 501
    np.testing.assert_allclose(seed_run.loss_iter.values, L, rtol=0, atol=1e-10)
    np.testing.assert_allclose(seed_run.w.isel(time=-1).values, final.T, rtol=0, atol=1e-10)
    assert L[2] > L[1] > L[0]  # the seed's gradient first points uphill (SEED-NOTES.md)
    assert L[-1] < 1e-3 * L[0]


def test_as_seed_sets_the_whole_run_and_options_override_it():
    ds = dyn.simulate("sphere", as_seed=True, steps=200)
    cfg = json.loads(ds.attrs["config"])
    assert (cfg["objective"], cfg["vectors"], cfg["dim"], cfg["samples"], cfg["lr"], cfg["draw"]) == \
        ("angular", 4, 1000, 5, 0.01, "cube")
    assert (cfg["gradient"], cfg["project"], cfg["accumulate"], cfg["steps"]) == ("seed", "before", True, 200)
    x, w0 = ds.x.values, ds.w.isel(time=0).values
    assert (x >= 0).all() and (x < 1).all() and (w0 >= 0).all() and np.linalg.norm(w0, axis=1).min() > 5
    right = dyn.simulate("sphere", as_seed=True, gradient="exact", accumulate=False)
    assert right.loss_iter[1] < right.loss_iter[0] and float(right.loss[-1]) < 1e-20
    assert np.degrees(float(right.min_angle[-1])) > 45  # the exact gradient keeps the vectors apart ...
    assert np.degrees(float(dyn.simulate("sphere", as_seed=True).min_angle[-1])) < 0.1  # ... the seed's merge them


def one_step(rule, lr, w, obj="riesz", **kw):
    update = "projected" if rule in ("after", "before") else "riemannian"
    extra = {"project": rule} if update == "projected" else {"retraction": "exponential" if rule == "exponential"
                                                             else "normalize"}
    return dyn.simulate("sphere", objective=obj, vectors=len(w), dim=w.shape[1], init=w, steps=1, lr=lr,
                        update=update, **extra, **kw).w.isel(time=-1).values


@pytest.mark.parametrize("rule", ["after", "before", "tangent", "exponential"])
@pytest.mark.parametrize("mu", [0.0, 0.9])
def test_steps_match_the_numpy_reference(rule, mu):
    w = ref.unit(np.random.default_rng(2).standard_normal((6, 3)))
    ds = dyn.simulate("sphere", vectors=6, init=w, steps=7, record_every=1, lr=0.03, momentum=mu,
                      update="projected" if rule in ("after", "before") else "riemannian",
                      project="before" if rule == "before" else "after",
                      retraction="exponential" if rule == "exponential" else "normalize")
    v, norms = np.zeros_like(w), []
    for _ in range(7):
        w, v, n = ref.step(w, ref.riesz_grad(w, 1.0), v, rule, 0.03, mu)
        norms.append(n)
    np.testing.assert_allclose(ds.w.isel(time=-1).values, w, rtol=0, atol=1e-13)
    np.testing.assert_allclose(ds.norm_before.values[1:], norms, rtol=1e-13)


def test_projected_and_riemannian_agree_to_second_order():
    w = ref.unit(np.random.default_rng(3).standard_normal((5, 3)))
    gaps = []
    for lr in (0.02, 0.01, 0.005):
        # the seed's order leaves the step off the sphere: compare where the next normalisation puts it
        steps = {rule: ref.unit(one_step(rule, lr, w)) for rule in ("after", "before", "tangent", "exponential")}
        gaps.append([np.abs(steps[r] - steps["tangent"]).max() for r in ("after", "before", "exponential")])
        assert np.abs(steps["after"] - w).max() > 10 * max(gaps[-1])  # the step itself is first order
    ratios = np.array(gaps)[:-1] / np.array(gaps)[1:]
    np.testing.assert_allclose(ratios[:, :2], 4.0, rtol=0.1)  # halving lr quarters the gap: O(lr^2)
    assert (ratios[:, 2] > 7).all()  # normalisation is a second-order retraction: O(lr^3) from the geodesic


@pytest.mark.parametrize("retraction, along", [("exponential", lambda a: a), ("normalize", np.arctan)])
def test_one_great_circle_step_is_exact(retraction, along):
    """L = cos^2 theta of one vector and one data point: the step stays on the great circle through them and
    turns theta by lr |grad_T| = lr 2 cos(theta) sin(theta) (exponential map), atan of it (normalisation)."""
    theta0, lr = 0.7, 0.3
    x = np.array([[1.0, 0.0, 0.0, 0.0]])
    w = np.array([[np.cos(theta0), np.sin(theta0), 0.0, 0.0]])
    got = dyn.simulate("sphere", objective="angular", samples=1, vectors=1, dim=4, init=w, data=x, steps=1, lr=lr,
                       update="riemannian", retraction=retraction).w.isel(time=-1).values[0]
    theta1 = theta0 + along(lr * 2 * np.cos(theta0) * np.sin(theta0))
    np.testing.assert_allclose(got, [np.cos(theta1), np.sin(theta1), 0, 0], rtol=0, atol=1e-15)


def test_replica_r_is_the_run_with_seed_plus_r():
    for kw in (dict(vectors=7, steps=60), dict(objective="angular", vectors=3, dim=5, samples=4, steps=60)):
        many = dyn.simulate("sphere", replicas=3, seed=5, **kw)
        one = dyn.simulate("sphere", seed=7, **kw)
        for name in ("w", "loss", "loss_iter", "energy", "grad_tangent"):
            np.testing.assert_array_equal(many[name].isel(replica=2).values, one[name].values)
        if "x" in one:
            np.testing.assert_array_equal(many.x.isel(replica=2).values, one.x.values)


def test_results_do_not_depend_on_the_thread_count():
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = dyn.simulate("sphere", replicas=3, steps=50)
    finally:
        numba.set_num_threads(before)
    many = dyn.simulate("sphere", replicas=3, steps=50)
    for name in ("w", "loss_iter", "loss", "grad_radial", "energy"):
        np.testing.assert_array_equal(one[name].values, many[name].values)


def test_records_and_clocks():
    ds = dyn.simulate("sphere", steps=1003, record="even")
    assert ds.attrs["status"] == "completed" and int(ds.diverged_at) == -1
    assert list(ds.step.values[:3]) == [0, 2, 4] and int(ds.step[-1]) == 1003 and ds.sizes["time"] == 503
    # the snapshot's loss is the objective where the next step takes its gradient
    np.testing.assert_allclose(ds.loss.values[:-1], ds.loss_iter.values[ds.step.values[:-1]], rtol=1e-14)
    w = ds.w.values
    np.testing.assert_allclose(ds.energy.values, [ref.riesz(v, 1.0) for v in ref.unit(w)], rtol=1e-12)
    cos = np.einsum("tid,tjd->tij", w, w) - 2 * np.eye(12)
    np.testing.assert_allclose(ds.min_angle.values, np.arccos(cos.max(axis=(1, 2))), rtol=1e-10)
    g = np.stack([ref.riesz_grad(v, 1.0) for v in w])
    radial = np.sum(g * w, axis=2)
    np.testing.assert_allclose(ds.grad_radial.values, np.abs(radial), rtol=1e-10)
    np.testing.assert_allclose(ds.grad_tangent.values, np.linalg.norm(g - radial[..., None] * w, axis=2),
                               rtol=1e-7, atol=1e-12)


def test_angles_and_norm_before_renormalisation(seed_run):
    theta = seed_run.theta.isel(time=7).values  # (sample, vector)
    want = np.arccos(ref.unit(seed_run.x.values) @ ref.unit(seed_run.w.isel(time=7).values).T)
    np.testing.assert_allclose(theta, want, rtol=1e-12)
    ds = dyn.simulate("sphere", as_seed=True, steps=30, record_every=1)  # normalise, then step:
    np.testing.assert_allclose(ds.norm_before.values[1:], np.linalg.norm(ds.w.values[:-1], axis=2), rtol=1e-14)


def test_coinciding_vectors_diverge_and_keep_earlier_snapshots():
    w = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 1.0, 0]])
    ds = dyn.simulate("sphere", vectors=3, init=w, steps=20, record_every=5)
    assert ds.attrs["status"] == "diverged at step 1" and int(ds.diverged_at) == 1
    assert np.isfinite(ds.w.isel(time=0)).all() and np.isnan(ds.w.isel(time=slice(1, None))).all()


def test_continuing_a_run_is_the_unbroken_run():
    whole = dyn.simulate("sphere", objective="angular", vectors=3, dim=4, steps=90, record_every=10)
    first = dyn.simulate("sphere", objective="angular", vectors=3, dim=4, steps=50, record_every=10)
    more = dyn.simulate("sphere", init=first, steps=40, record_every=10)
    assert list(more.step.values) == [60, 70, 80, 90] and list(more.iteration.values[[0, -1]]) == [50, 89]
    np.testing.assert_array_equal(more.w.values, whole.w.values[-4:])
    np.testing.assert_array_equal(more.loss_iter.values, whole.loss_iter.values[50:])


@pytest.mark.parametrize("kw, buffer", [
    (dict(objective="angular", vectors=3, dim=4, accumulate=True, lr=0.01), "gradient_sum"),
    (dict(vectors=5, momentum=0.9, lr=0.02, replicas=2), "momentum_buffer"),
    (dict(vectors=5, momentum=0.8, lr=0.02, update="projected", project="before"), "momentum_buffer"),
    (dict(as_seed=True), "gradient_sum"),
])
def test_a_run_with_optimiser_buffers_continues_as_the_unbroken_run(tmp_path, kw, buffer):
    whole = dyn.simulate("sphere", steps=60, record_every=12, **kw)
    first = dyn.simulate("sphere", steps=24, record_every=12, **kw)
    assert buffer in first and "time" not in first[buffer].dims and first[buffer].attrs["units"] == "1"
    first = dyn.load(dyn.save(first, tmp_path / "first.nc"))  # the buffer survives the file
    more = dyn.simulate("sphere", init=first, steps=36, record_every=12)
    assert list(more.step.values) == [36, 48, 60]
    np.testing.assert_allclose(more.w.values, whole.w.isel(time=slice(-3, None)).values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(more.loss_iter.values, whole.loss_iter.isel(iteration=slice(24, None)).values,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(more[buffer].values, whole[buffer].values, rtol=0, atol=1e-12)


def test_a_file_without_its_buffer_cannot_be_continued():
    ds = dyn.simulate("sphere", vectors=4, momentum=0.5, steps=5).drop_vars("momentum_buffer")
    with pytest.raises(dyn.UsageError, match="momentum buffer that its file does not record"):
        dyn.simulate("sphere", init=ds, steps=5)
    plain = dyn.simulate("sphere", vectors=4, steps=5)
    assert "momentum_buffer" not in plain and "gradient_sum" not in plain  # unused buffers are not recorded
    assert int(dyn.simulate("sphere", init=plain, steps=5, momentum=0.5).step[-1]) == 10  # a new one starts at 0


@pytest.mark.parametrize("kw, words", [
    (dict(vectors=0), "vectors must be >= 1"),
    (dict(objective="riesz", vectors=1), "at least 2 vectors"),
    (dict(objective="riesz", samples=3), "samples applies to the angular objective"),
    (dict(gradient="seed"), "needs objective 'angular'"),
    (dict(momentum=1.0), "momentum must be in [0, 1)"),
    (dict(s=-1), "s must be >= 0"),
    (dict(operator="tanh", objective="angular"), "operator must be one of"),
    (dict(retraction="cayley"), "retraction must be one of"),
    (dict(vectors=12, init=np.ones((3, 3))), "init must have shape (12, 3)"),  # given sizes win over init's
    (dict(init=np.zeros((12, 3))), "zero row"),
    (dict(objective="angular", samples=5, data=np.ones((4, 3))), "data must have shape (5, 3)"),
    (dict(data=np.ones((5, 3))), "data applies to the angular objective"),
    (dict(vector=3), "did you mean 'vectors'"),
])
def test_bad_options_are_usage_errors(kw, words):
    with pytest.raises(dyn.UsageError) as err:
        dyn.simulate("sphere", steps=5, **kw)
    assert words in str(err.value)


def test_snapshots_are_log_spaced_by_default_and_a_continuation_is_still_the_unbroken_run():
    """The Thomson run moves in its first hundred steps: its snapshots are every step at first, then further
    apart. A log-spaced run continued in parts (init=ds) ends where the unbroken one does, step for step."""
    ds = dyn.simulate("sphere")
    steps = ds.step.values
    assert json.loads(ds.attrs["config"])["record"] == "log" and ds.sizes["time"] == 501
    assert list(steps[:101]) == list(range(101)) and steps[-1] == 4000 and (np.diff(steps) > 0).all()
    kw = dict(objective="angular", vectors=3, dim=4, momentum=0.5, lr=0.05)
    whole = dyn.simulate("sphere", steps=900, **kw)
    first = dyn.simulate("sphere", steps=600, **kw)
    more = dyn.simulate("sphere", init=first, steps=300)
    assert list(more.step.values[:3]) == [601, 602, 603] and int(more.step[-1]) == 900
    assert int(more.time[0]) == int(first.time[-1]) + 1 and (np.diff(more.step.values) > 0).all()
    np.testing.assert_array_equal(more.w.values[-1], whole.w.values[-1])
    np.testing.assert_array_equal(more.loss_iter.values, whole.loss_iter.values[600:])
    even = dyn.simulate("sphere", init=first, steps=300, record_every=100)  # a continuation may change the spacing
    assert list(even.step.values) == [700, 800, 900] and json.loads(even.attrs["config"])["record"] == "even"
    np.testing.assert_array_equal(even.w.values[-1], whole.w.values[-1])
    back = dyn.simulate("sphere", init=even, steps=50, record="log")
    assert int(back.step[0]) == 901 and json.loads(back.attrs["config"])["record_every"] is None
