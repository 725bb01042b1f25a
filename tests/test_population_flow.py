"""train="population": gradient descent and the gradient flow on the exact population loss, the architecture
switches (bias, train_a, init, teacher), the stop on a small gradient and the end-point certificate, against
independent truth: scipy's integrator on the closed-form gradient, SGD on many samples, second differences of
the exact loss."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

import dyn
from conftest import one_line_error
from dyn.flows.relu.certificate import end_point, label
from dyn.flows.relu.population import population_loss
from dyn.flows.relu.population_grad import population_gradient

SMALL = dict(width=4, dim=3, teacher_width=2, radius=0.5, train="population")


def params(ds, t=-1):
    """(a, w, b) flattened at snapshot t of a single-replica run."""
    last = ds.isel(time=t)
    return np.concatenate([last.a.values.ravel(), last.w.values.ravel(), last.b.values.ravel()])


def test_dopri5_matches_scipy_on_the_closed_form_gradient():
    ds = dyn.simulate("relu", **SMALL, integrator="dopri5", lr=0.5, frames=4, steps_per_frame=1, rtol=1e-11)
    m, d = 4, 3
    t0 = ds.isel(time=0)
    teacher = (ds.teacher_a.values, ds.teacher_w.values, ds.teacher_b.values)

    def rhs(_, theta):
        a, w, b = theta[:m], theta[m:m + m * d].reshape(m, d), theta[m + m * d:]
        _, ga, gw, gb = population_gradient(a, w, b, *teacher)
        return -np.concatenate([ga, gw.ravel(), gb])

    y0 = np.concatenate([t0.a.values, t0.w.values.ravel(), t0.b.values])
    ref = solve_ivp(rhs, (0.0, 2.0), y0, method="DOP853", rtol=1e-12, atol=1e-12, t_eval=[2.0]).y[:, -1]
    assert float(ds.flow_time[-1]) == 2.0
    moved = np.abs(params(ds) - y0).max()
    assert moved > 1e-2  # the flow went somewhere
    np.testing.assert_allclose(params(ds), ref, atol=1e-8 * max(1.0, moved))


def test_gradient_descent_with_a_tiny_lr_tracks_the_flow_to_first_order():
    """Euler's error at a fixed flow time is O(lr): it halves with lr (and the flow is dopri5's)."""
    flow = dyn.simulate("relu", **SMALL, integrator="dopri5", lr=0.25, frames=4, steps_per_frame=2, rtol=1e-11)
    errors = []
    for lr in (4e-3, 2e-3):
        steps = int(round(2.0 / lr))
        gd = dyn.simulate("relu", **SMALL, lr=lr, frames=4, steps_per_frame=steps // 4)
        assert float(gd.flow_time[-1]) == pytest.approx(2.0)
        np.testing.assert_allclose(gd.flow_time.values, flow.flow_time.values, rtol=1e-12)
        errors.append(np.abs(params(gd) - params(flow)).max())
    assert errors[0] < 1e-2 * np.abs(params(flow) - params(flow, 0)).max()
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.1)


def test_sgd_with_a_tiny_lr_and_a_huge_batch_tracks_the_flow():
    common = dict(width=4, dim=3, teacher_width=2, radius=0.5, lr=0.02, frames=4, steps_per_frame=25)
    flow = dyn.simulate("relu", **common, train="population")
    sgd = dyn.simulate("relu", **common, schedule="constant", batch=40_000)
    moved = np.abs(params(flow) - params(flow, 0)).max()
    gap = np.abs(params(sgd) - params(flow)).max()
    assert moved > 0.05
    assert gap < 0.05 * moved
    small = dyn.simulate("relu", **common, schedule="constant", batch=40)  # the noise shrinks with the batch
    assert gap < 0.5 * np.abs(params(small) - params(flow)).max()


@pytest.mark.parametrize("mode", [dict(train="population"), dict(train="population", integrator="dopri5"),
                                  dict(train="samples"), dict(train="set", train_size=50)])
def test_frozen_output_weights_and_no_biases_stay_bit_identical(mode):
    ds = dyn.simulate("relu", width=5, dim=3, teacher_width=2, frames=3, steps_per_frame=10, lr=0.5, replicas=2,
                      train_a=False, bias=False, **mode)
    a0 = ds.a.isel(time=0).values
    assert np.array_equal(ds.a.values, np.broadcast_to(a0, ds.a.shape))
    assert np.array_equal(ds.b.values, np.zeros(ds.b.shape))
    assert np.array_equal(ds.teacher_b.values, np.zeros(2))
    assert np.abs(ds.w.isel(time=-1).values - ds.w.isel(time=0).values).max() > 1e-4  # w did train


def test_switches_alone_do_not_change_the_default_run():
    base = dict(width=5, dim=2, frames=3, steps_per_frame=10)
    a = dyn.simulate("relu", **base)
    b = dyn.simulate("relu", **base, train="samples", bias=True, train_a=True, init="sphere", teacher="random")
    for k in "awb":
        assert np.array_equal(a[k].values, b[k].values)


def test_orthogonal_teacher_and_xavier_init():
    ds = dyn.simulate("relu", width=6, dim=5, teacher_width=4, teacher="orthogonal", init="xavier", bias=False,
                      train_a=False, train="population", frames=1, steps_per_frame=1)
    np.testing.assert_array_equal(ds.teacher_w.values, np.eye(4, 5))
    np.testing.assert_array_equal(ds.teacher_a.values, np.ones(4))
    w0 = ds.w.isel(time=0).values
    assert np.abs(w0).max() <= np.sqrt(6 / 11) and np.abs(w0).max() > 0.5 * np.sqrt(6 / 11)
    np.testing.assert_array_equal(ds.a.isel(time=0).values, np.ones(6))


SAFRAN_SHAMIR = dict(teacher="orthogonal", init="xavier", bias=False, train_a=False, scaling="mean-field",
                     train="population")


@pytest.mark.parametrize("integrator, lr, steps", [("dopri5", 2.0, 5), ("euler", 1.0, 20)])
def test_tol_stops_the_run_with_converged_status(integrator, lr, steps):
    ds = dyn.simulate("relu", width=3, dim=3, teacher_width=3, **SAFRAN_SHAMIR, integrator=integrator, lr=lr,
                      frames=200, steps_per_frame=steps, tol=1e-8, replicas=2)
    status = ds.attrs["status"]
    assert status.startswith("converged at step ")
    n = int(status.split()[-1])
    assert int(ds.converged_at.max()) == n and n < 200 * steps
    assert int(ds.step[-1]) >= n > int(ds.step[-2])  # the run ends at the snapshot that shows it
    assert (ds.final_grad_norm.values < 1e-8).all() and (ds.grad_norm.isel(time=0).values > 1e-8).all()
    assert list(ds.certificate.values) == ["global", "global"]
    assert (ds.final_loss.values < 1e-12).all()


def test_certificate_of_the_teacher_itself_is_global():
    teacher = {"a": np.array([1.0, -0.7]), "w": np.array([[1.0, 0.2, 0.0], [-0.3, 0.8, 0.5]]),
               "b": np.array([0.1, -0.2])}
    ds = dyn.simulate("relu", width=2, dim=3, teacher_width=2, train="population", teacher=teacher, init=teacher,
                      tol=1e-9, frames=2, steps_per_frame=1)
    assert ds.attrs["status"] == "converged at step 0"
    assert ds.certificate.item() == "global"
    assert float(ds.final_loss) < 1e-12 and float(ds.final_grad_norm) < 1e-9
    eig = ds.hessian_eigenvalues.values
    assert eig[0] > -1e-7  # positive semi-definite at the global minimum


def symmetric_saddle():
    """Teacher e1, e2 (a = 1, no biases, a frozen); both students at c (e1 + e2): by the e1 <-> e2 symmetry the
    gradient is along e1 + e2, and zero where the loss along that line is least."""
    teacher = (np.ones(2), np.eye(2), np.zeros(2))

    def slope(c):
        w = np.full((2, 2), c)
        return population_gradient(np.ones(2), w, np.zeros(2), *teacher, bias=False)[2][0].sum()

    c = brentq(slope, 0.1, 2.0, xtol=1e-15)
    return (np.ones(2), np.full((2, 2), c), np.zeros(2)), teacher


def test_certificate_of_a_constructed_saddle():
    student, teacher = symmetric_saddle()
    loss, gnorm, eig = end_point(*student, teacher, bias=False, train_a=False)
    assert gnorm < 1e-12 and loss > 1e-3
    # independent truth: the exact loss falls along the split direction (w1 -> e1, w2 -> e2), a second difference
    a, w, b = student
    split = np.array([[1.0, -1.0], [-1.0, 1.0]]) / 2
    at = [population_loss(a[None], (w + s * split)[None], b[None], *teacher)[0] for s in (-1e-3, 0.0, 1e-3)]
    curvature = (at[0] - 2 * at[1] + at[2]) / 1e-6
    assert curvature < 0
    assert eig[0] <= curvature + 1e-6  # the smallest eigenvalue is at most the curvature along a unit direction
    assert label(loss, gnorm, eig[0], tol=1e-8, tol_loss=1e-6, tol_hessian=1e-6) == "saddle"
    ds = dyn.simulate("relu", width=2, dim=2, teacher_width=2, train="population", bias=False, train_a=False,
                      teacher=dict(zip("awb", teacher)), init=dict(zip("awb", student)), tol=1e-8, frames=1)
    assert ds.certificate.item() == "saddle"
    assert ds.attrs["status"] == "converged at step 0"


def test_certificate_hessian_is_stable_in_its_finite_difference_step():
    """The certificate's Hessian is central differences of the exact gradient with step HESSIAN_EPS (relative):
    at real end points of Safran & Shamir's setting (k = m = 10; replica 0 ends at the global minimum, where the
    students align with the teacher and the kernel's third derivative jumps, replica 1 in a spurious minimum),
    a 10x smaller step moves the smallest eigenvalues by far less than the certificate's tolerance, and no
    label changes with the step."""
    from dyn.flows.relu.population_grad import HESSIAN_EPS, hessian_eigenvalues

    ds = dyn.simulate("relu", **SAFRAN_SHAMIR, width=10, dim=10, teacher_width=10, lr=5.0, frames=40,
                      steps_per_frame=100, tol=1e-7, replicas=2)
    assert list(ds.certificate.values) == ["global", "spurious"]
    end = ds.isel(time=-1)
    teacher = (end.teacher_a.values, end.teacher_w.values, end.teacher_b.values)
    tol_hessian = 1e-6  # the certificate's default
    for r in range(2):
        student = (end.a.values[r], end.w.values[r], end.b.values[r])
        eig = {eps: hessian_eigenvalues(*student, *teacher, k=3, bias=False, train_a=False, eps=eps)
               for eps in (HESSIAN_EPS, HESSIAN_EPS / 10)}
        np.testing.assert_allclose(eig[HESSIAN_EPS], ds.hessian_eigenvalues.values[r], rtol=0, atol=1e-15)
        assert np.abs(eig[HESSIAN_EPS] - eig[HESSIAN_EPS / 10]).max() < 1e-2 * tol_hessian
        assert (eig[HESSIAN_EPS / 10] > tol_hessian).all()  # both PSD by a margin (~3e-4 and ~9e-4)
    # in the spurious minimum (no aligned pair) the error is second order: a 10x larger step is still exact
    spurious = (end.a.values[1], end.w.values[1], end.b.values[1])
    big = hessian_eigenvalues(*spurious, *teacher, k=3, bias=False, train_a=False, eps=HESSIAN_EPS * 10)
    assert np.abs(big - ds.hessian_eigenvalues.values[1]).max() < 1e-3 * tol_hessian


def test_label_order():
    assert label(1e-9, 1.0, -1.0, tol=1e-6, tol_loss=1e-6, tol_hessian=1e-6) == "global"
    assert label(0.1, 1e-3, 1.0, tol=1e-6, tol_loss=1e-6, tol_hessian=1e-6) == "not converged"
    assert label(0.1, 1e-7, -1e-7, tol=1e-6, tol_loss=1e-6, tol_hessian=1e-6) == "spurious"
    assert label(0.1, 1e-7, -1e-3, tol=1e-6, tol_loss=1e-6, tol_hessian=1e-6) == "saddle"
    assert label(np.nan, np.nan, np.nan, tol=1e-6, tol_loss=1e-6, tol_hessian=1e-6) == "diverged"


@pytest.mark.parametrize("argv, words", [
    (["--train", "population", "--train-size", "10"], "drop train_size"),
    (["--train", "population", "--rng", "notebook", "--seed", "18"], "rng 'notebook' does not apply"),
    (["--train", "population", "--schedule", "constant"], "schedule does not apply"),
    (["--train", "population", "--tol", "0"], "tol must be > 0"),
    (["--train", "population", "--tol", "-1e-6"], "tol must be > 0"),
    (["--teacher", "orthogonal", "--teacher-width", "5", "--dim", "3"], "teacher_width <= dim"),
    (["--integrator", "dopri5"], "use train 'population'"),
    (["--tol", "1e-6"], "use train 'population'"),
    (["--train", "set"], "needs train_size"),
    (["--train", "gd"], "train must be one of"),
    (["--init", "he"], "init must be one of"),
])
def test_bad_population_input_is_one_line_exit_2(run_cli, argv, words):
    code, out, err = run_cli("simulate", "relu", "--frames", "2", *argv)
    assert code == 2, err
    assert one_line_error(err), err
    assert words in err


def test_population_with_given_inputs_or_nonzero_biases_without_bias_is_refused():
    with pytest.raises(dyn.UsageError, match="takes no inputs"):
        dyn.simulate("relu", train="population", inputs=np.zeros((10, 2)), frames=1)
    with pytest.raises(dyn.UsageError, match="teacher's biases must be 0"):
        dyn.simulate("relu", bias=False, frames=1,
                     teacher={"a": np.ones(4), "w": np.ones((4, 2)), "b": np.ones(4)})


def test_continued_population_run_equals_unbroken_run():
    common = dict(train="population", width=3, dim=3, teacher_width=3, steps_per_frame=10, lr=0.5, bias=False)
    first = dyn.simulate("relu", **common, frames=4)
    more = dyn.simulate("relu", init=first, frames=4)
    full = dyn.simulate("relu", **common, frames=8)
    np.testing.assert_array_equal(more.flow_time.values, full.flow_time.values[-4:])
    for k in "awb":
        np.testing.assert_array_equal(more[k].isel(time=-1).values, full[k].isel(time=-1).values)
