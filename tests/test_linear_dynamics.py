"""The linear flow's dynamics against independent truth: seed 003's loops ported to Python 3, finite
differences, torch autograd, the least-squares solution, and what the hinge data flow must reach."""

import numpy as np
import pytest

import dyn
from dyn.flows.linear import kernels
from dyn.flows.linear.model import layout, split
from dyn.flows.linear.record import params_of

import seed003 as S


@pytest.fixture(scope="module")
def blobs():
    x, y = S.seed_data()
    return x, y


def run_seed_linear(x, y, loss, eta, order):
    f, opt = S.model(2), S.optimize()
    opt.run(x, y, f, loss, len(order), eta, order)
    return f.w[0], opt.l[:, 0]


@pytest.mark.parametrize("as_seed, loss, steps", [("squared", S.loss(), 20_000), ("hinge", S.loss_hinge(), 10_000)])
def test_seed_linear_runs_equal_the_ported_loop(blobs, as_seed, loss, steps):
    x, y = blobs
    order = np.random.RandomState(7).randint(len(x), size=steps)
    eta = {"squared": 0.001, "hinge": 0.01}[as_seed]
    w, monitor = run_seed_linear(x, y, loss, eta, order)
    ds = dyn.simulate("linear", as_seed=as_seed, steps=steps, data=x, labels=y[:, 0], order=order, record_every=1000)
    theta = params_of(ds)[0]
    assert np.abs(theta[-1] - w).max() <= 1e-12 * max(1.0, np.abs(w).max())
    assert np.abs(w).max() > 0.1  # it learnt something
    # the seed's biased monitor: the loss summed over data[:1000] before steps 0, 1000, 2000, ...
    np.testing.assert_allclose(ds["seed_monitor"].values[:-1], monitor, rtol=1e-12, atol=1e-12)
    # and it is not the loss over all data (the +1 class is left out)
    assert not np.allclose(ds["seed_monitor"].values / 1000, ds["loss"].values, rtol=0.05)


def test_seed_data_flow_equals_the_ported_exercise(blobs):
    x, y = blobs
    rs = np.random.RandomState(3)
    fit_order, order = rs.randint(len(x), size=20_000), rs.randint(len(x), size=30_000)
    f, opt = S.model(2), S.optimize()
    opt.run(x, y, f, S.loss_hinge(), len(fit_order), 0.001, fit_order)
    moved = S.optimize_data().run(x.copy(), y, f, S.loss_hinge(), len(order), 0.05, order)
    ds = dyn.simulate("linear", as_seed="data", steps=len(order), data=x, labels=y[:, 0], order=order,
                      init={"w": f.w[0, :2], "b": f.w[0, 2]})
    got = ds["x"].isel(time=-1).values
    assert np.abs(got - moved).max() <= 1e-12 * np.abs(moved).max()
    assert np.abs(moved - x).max() > 0.1  # points moved
    np.testing.assert_array_equal(params_of(ds)[0, -1], f.w[0])  # the classifier is fixed


def test_seed_data_run_fits_its_classifier_first():
    ds = dyn.simulate("linear", as_seed="data", steps=2000, fit_steps=5000)
    assert "fit first by SGD" in ds.attrs["classifier"] and "hinge loss, lr 0.001, 5,000 steps" in ds.attrs["classifier"]
    hinge = dyn.simulate("linear", loss="hinge", lr=0.001, steps=5000)
    # the fit draws its own order, so its classifier is a hinge fit of the same quality, not the same numbers
    assert abs(float(ds.accuracy[0]) - float(hinge.accuracy[-1])) < 0.02


def test_seed_mlp_with_its_gradient_equals_the_ported_loop(blobs):
    x, y = blobs
    g = np.random.RandomState(5)
    W = [g.randn(3, 5), g.randn(6, 5), g.randn(6, 1)]
    order = np.random.RandomState(11).randint(len(x), size=3000)
    nn, opt = S.net(W), S.optimize_mlp(plot_convergence=100)
    opt.run(x, y, nn, S.loss(), len(order), 0.001, order)
    ds = dyn.simulate("linear", as_seed="mlp", steps=len(order), data=x, labels=y[:, 0], order=order, init=W,
                      record_every=100)
    for l in range(3):
        want = nn.architecture[l].w
        assert np.abs(ds[f"weight{l}"].values[-1] - want).max() <= 1e-12 * np.abs(want).max()
        assert np.abs(want - W[l]).max() > 1e-3  # every layer moved
    # its monitor is the squared loss summed over all data every 100 steps: n x dyn's mean loss
    np.testing.assert_allclose(ds["loss"].values[:-1] * len(x), opt.l[:, 0], rtol=1e-12)


def grads(theta, sizes, offs, x, t, loss, gradient=kernels.EXACT):
    aoff = kernels.act_offsets(sizes)
    act, delta, g = np.empty(aoff[-1]), np.empty(aoff[-1]), np.zeros(len(theta))
    y = kernels.forward(theta, sizes, offs, aoff, act, x[None], 0)
    kernels.backward(theta, sizes, offs, aoff, act, delta, kernels.loss_slope(loss, y, t), g, 1.0, gradient,
                     True, True)
    return g, delta[:sizes[0]].copy()


def objective(theta, sizes, offs, x, t, loss):
    aoff = kernels.act_offsets(sizes)
    return kernels.loss_value(loss, kernels.forward(theta, sizes, offs, aoff, np.empty(aoff[-1]), x[None], 0), t)


@pytest.mark.parametrize("loss", [kernels.SQUARED, kernels.LOGISTIC, kernels.HINGE])
def test_mlp_gradient_against_finite_differences(loss):
    rng = np.random.default_rng(0)
    sizes, offs = layout(3, [6, 4, 1])
    h = 1e-6
    checked = 0
    for trial in range(20):
        theta, x, t = rng.standard_normal(offs[-1]), rng.standard_normal(3), rng.choice([-1.0, 1.0])
        if loss == kernels.HINGE:
            theta *= 0.3  # keep 1 - t y away from its kink
        g, dx = grads(theta, sizes, offs, x, t, loss)
        fd = np.array([(objective(theta + h * e, sizes, offs, x, t, loss) - objective(theta - h * e, sizes, offs, x, t,
                                                                                      loss)) / (2 * h)
                       for e in np.eye(len(theta))])
        fdx = np.array([(objective(theta, sizes, offs, x + h * e, t, loss) - objective(theta, sizes, offs, x - h * e,
                                                                                     t, loss)) / (2 * h)
                        for e in np.eye(3)])
        np.testing.assert_allclose(g, fd, atol=1e-7)
        np.testing.assert_allclose(dx, fdx, atol=1e-7)
        checked += np.abs(g).max() > 1e-3
    assert checked >= 10  # the gradients were not trivially zero


def test_the_seeds_hidden_gradient_is_not_the_gradient():
    """Its output layer is right and its hidden layers are the per-unit sums broadcast over the units."""
    rng = np.random.default_rng(1)
    sizes, offs = layout(2, [5, 5, 1])
    wrong = 0
    for trial in range(20):
        theta, x, t = rng.standard_normal(offs[-1]), rng.standard_normal(2), 1.0
        exact = split(grads(theta, sizes, offs, x, t, kernels.SQUARED)[0], sizes, offs)
        seed = split(grads(theta, sizes, offs, x, t, kernels.SQUARED, kernels.SEED)[0], sizes, offs)
        np.testing.assert_array_equal(seed[2], exact[2])
        for l in (0, 1):  # each unit gets the row sum of the exact per-unit gradient
            np.testing.assert_allclose(seed[l], np.repeat(exact[l].sum(1, keepdims=True), exact[l].shape[1], 1),
                                       atol=1e-12)
            wrong += not np.allclose(seed[l], exact[l])
    assert wrong >= 20


def test_mlp_sgd_equals_torch_autograd_over_1000_steps(blobs):
    torch = pytest.importorskip("torch")
    x, y = blobs
    g = np.random.RandomState(2)
    W = [g.randn(3, 5), g.randn(6, 5), g.randn(6, 1)]
    order = np.random.RandomState(4).randint(len(x), size=1000)
    Wt = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in W]
    X, T = torch.tensor(x), torch.tensor(y[:, 0])
    for k in order:
        a = X[k]
        for l, w in enumerate(Wt):
            z = a @ w[:-1] + w[-1]
            a = torch.relu(z) if l < 2 else z
        ((T[k] - a[0]) ** 2).backward()
        with torch.no_grad():
            for w in Wt:
                w -= 0.001 * w.grad
                w.grad = None
    ds = dyn.simulate("linear", model="mlp", layers=[5, 5], steps=1000, data=x, labels=y[:, 0], order=order, init=W)
    for l in range(3):
        want = Wt[l].detach().numpy()
        assert np.abs(ds[f"weight{l}"].values[-1] - want).max() <= 1e-10
        assert np.abs(want - W[l]).max() > 1e-3


def test_hinge_data_flow_ends_with_every_point_on_its_side():
    w, b = np.array([1.0, 1.0]), -3.0
    ds = dyn.simulate("linear", train="data", loss="hinge", lr=0.05, steps=200_000, shuffle=True,
                      init={"w": w, "b": b})
    x0, x1, t = ds["x"].isel(time=0).values, ds["x"].isel(time=-1).values, ds["label"].values
    m0, m1 = t * (x0 @ w + b), t * (x1 @ w + b)
    assert (m0 <= 0).sum() > 20  # many started on the wrong side
    assert float(ds.accuracy[-1]) == 1.0 and m1.min() >= 1.0 - 1e-12 and float(ds.margin[-1]) >= 1 - 1e-12
    still = m0 >= 1.0
    np.testing.assert_array_equal(x1[still], x0[still])  # the hinge never acted on them
    move = x1[~still] - x0[~still]  # the others moved along t w only
    np.testing.assert_allclose(move[:, 0], move[:, 1], atol=1e-12)
    assert np.all(np.sign(move[:, 0]) == t[~still])
    assert float(ds.active[-1]) == 0


def test_squared_loss_sgd_tends_to_least_squares_as_lr_falls(blobs):
    """Shuffled epochs (a snapshot at each epoch's end: n = 2,000 = steps / 500): the distance to the
    closed-form least-squares solution, averaged over the last 50 epochs, falls about tenfold per decade of lr."""
    x, y = blobs
    A = np.c_[x, np.ones(len(x))]
    ls = np.linalg.lstsq(A, y[:, 0], rcond=None)[0]
    errors = []
    for lr, steps in ((1e-3, 1_000_000), (1e-4, 1_000_000), (1e-5, 10_000_000)):
        ds = dyn.simulate("linear", lr=lr, steps=steps, shuffle=True, data=x, labels=y[:, 0])
        errors.append(np.abs(params_of(ds)[0, -50:] - ls).max(1).mean())
    assert errors[1] < errors[0] / 4 and errors[2] < errors[1] / 4
    assert errors[2] < 3e-4


def test_replica_r_is_the_run_with_seed_plus_r():
    many = dyn.simulate("linear", model="mlp", steps=3000, replicas=3, seed=4)
    for r in range(3):
        one = dyn.simulate("linear", model="mlp", steps=3000, seed=4 + r)
        np.testing.assert_array_equal(params_of(many)[r], params_of(one)[0])
    assert not np.array_equal(params_of(many)[0], params_of(many)[1])


@pytest.mark.parametrize("options", [dict(), dict(shuffle=True, batch=3), dict(model="mlp", gradient="seed"),
                                     dict(train="data", fit_steps=2000), dict(replicas=2, loss="logistic")])
def test_a_run_continued_in_parts_is_the_unbroken_run(options):
    whole = dyn.simulate("linear", steps=6000, record_every=100, **options)
    part = dyn.simulate("linear", steps=2500, record_every=100, **options)
    rest = dyn.simulate("linear", init=part, steps=3500, record_every=100)
    np.testing.assert_array_equal(params_of(rest)[:, -1], params_of(whole)[:, -1])
    np.testing.assert_array_equal(rest.step.values, whole.step.values[26:])
    if options.get("train") == "data":
        np.testing.assert_array_equal(rest["x"].isel(time=-1).values, whole["x"].isel(time=-1).values)
    np.testing.assert_array_equal(rest["loss"].values, whole["loss"].isel(time=slice(26, None)).values)


def test_divergence_stops_the_replica_and_says_so():
    ds = dyn.simulate("linear", lr=2.0, steps=5000, replicas=2)
    assert ds.attrs["status"].startswith("diverged at step")
    assert (ds["diverged_at"].values > 0).all()
    assert np.isnan(ds["loss"].values[-1]).all() and np.isfinite(ds["loss"].values[0]).all()


def test_batch_is_the_mean_gradient_of_its_samples():
    """Batch 2 on the linear model: one step is theta -= lr/2 (g_i + g_j), checked by hand."""
    x = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0]])
    t = np.array([1.0, -1.0, 1.0])
    order = np.array([0, 2, 1, 1])
    ds = dyn.simulate("linear", data=x, labels=t, order=order, batch=2, steps=2, lr=0.1, record_every=1)
    theta = np.zeros(3)
    for step in range(2):
        g = np.zeros(3)
        for k in order[2 * step:2 * step + 2]:
            a = np.r_[x[k], 1.0]
            g += -2 * (t[k] - theta @ a) * a / 2
        theta = theta - 0.1 * g
        np.testing.assert_allclose(params_of(ds)[0, step + 1], theta, rtol=1e-14)


@pytest.mark.parametrize("train_data", [False, True])
@pytest.mark.parametrize("loss", [kernels.SQUARED, kernels.HINGE, kernels.LOGISTIC])
def test_the_linear_models_own_step_equals_the_network_step(train_data, loss):
    """The linear model runs dyn.flows.linear.fast's step; the network step, with L = 1, does the same arithmetic."""
    from dyn.engine import loop
    from dyn.flows.linear import fast

    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((50, 3)), rng.choice([-1.0, 1.0], 50)
    sizes, offs = layout(3, [1])
    order = rng.integers(0, 50, (2, 3 * 400))
    theta0 = rng.standard_normal((2, 4))
    out = []
    for module in (kernels, fast):
        theta, X = theta0.copy(), np.repeat(x[None], 2, 0) if train_data else x[None].copy()
        snaps = kernels.Snaps(np.full((2, 4, 4), np.nan), np.full((2, 4, 50, 3), np.nan) if train_data else
                              np.zeros((1, 1, 1, 1)), np.full((2, 4), np.nan))
        loop.advance(module, 2)(kernels.State(theta, X), kernels.Consts(sizes, offs, loss, kernels.EXACT, train_data,
                                                                        0.05, 3),
                                kernels.Inputs(order, t), np.array([100, 100, 100, 100]), 0, snaps, 0,
                                np.full(2, -1))
        out.append((theta, X, snaps))
    (a, Xa, sa), (b, Xb, sb) = out
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(sa.loss_train, sb.loss_train)
    assert not np.array_equal(a, theta0) or not np.array_equal(Xa[0], x)  # something moved
