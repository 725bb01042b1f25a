"""The center flow's physics against independent truth: finite differences of the whole loss, the centroid
rule by hand, a plain-numpy run of a block of steps (tests/center_reference.py), and torch's autograd + Adam."""

import numpy as np
import pytest

import dyn
import center_reference as ref
from dyn.flows.center import kernels
from dyn.flows.center.data import csr

D, H, K = 6, 5, 3


def problem(seed=0, n=40, sparse=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, D))
    if sparse:  # most inputs zero, as MNIST's pixels: the kernels take the sparse first layer
        x[rng.random((n, D)) < 0.7] = 0.0
    y = rng.integers(0, K, n)
    params = {"W1": rng.standard_normal((D, H)) / np.sqrt(D), "b1": 0.1 * rng.standard_normal(H),
              "W2": rng.standard_normal((H, 2)) / np.sqrt(H), "b2": 0.1 * rng.standard_normal(2),
              "W3": rng.standard_normal((2, K)) / np.sqrt(2), "b3": 0.1 * rng.standard_normal(K)}
    return x, y, params, rng.standard_normal((K, 2))


def kernel_loss(theta, c, x, y, gain, data):
    g, h = np.empty_like(theta), np.empty((len(y), 2))
    ce, center = kernels.loss_and_gradient(theta, c, x, data, np.arange(len(y)), y, D, H, K, gain, g, h)
    return ce + gain * center, g, h


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("gain", [0.0, 1.0, 3.7])
def test_gradient_of_the_whole_loss_matches_finite_differences(sparse, gain):
    x, y, params, c = problem(1, n=11, sparse=sparse)
    data = csr(x)
    assert (data[0].size > 0) == sparse  # the path under test
    theta = ref.pack(params)
    loss, g, h = kernel_loss(theta, c, x, y, gain, data)
    total, ce, center, href = ref.losses(params, c, x, y, gain)
    assert loss == pytest.approx(total, rel=1e-13) and np.allclose(h, href, rtol=0, atol=1e-14)
    eps, fd = 1e-6, np.empty_like(theta)
    for q in range(len(theta)):  # every parameter: W1, b1, W2, b2, W3, b3
        up, down = theta.copy(), theta.copy()
        up[q] += eps
        down[q] -= eps
        fd[q] = (kernel_loss(up, c, x, y, gain, data)[0] - kernel_loss(down, c, x, y, gain, data)[0]) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    # the centroids get no gradient: the loss moves with them, the gradient does not flow into them
    np.testing.assert_allclose(g, ref.pack(ref.gradient(params, c, x, y, gain)), rtol=1e-12, atol=1e-14)


def test_centroid_update_on_a_hand_made_batch():
    c = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -2.0]])
    h = np.array([[1.0, 2.0], [3.0, -2.0], [0.0, 0.0], [4.0, 4.0]])
    y = np.array([0, 0, 2, 0])
    got = c.copy()
    kernels.update_centers(got, h, y, 0.5)
    # class 0: n = 3, sum (c - h) = (-8, -4): c_0 - 0.5 * (-8, -4) / 4 = (1, 0.5)
    # class 1: absent, does not move; class 2: n = 1, c - h = (2, -2): c_2 - 0.5 * (2, -2) / 2 = (1.5, -1.5)
    np.testing.assert_array_equal(got, [[1.0, 0.5], [1.0, 1.0], [1.5, -1.5]])
    np.testing.assert_allclose(got, ref.move_centroids(c, h, y, 0.5), rtol=0, atol=1e-15)
    same = c.copy()
    kernels.update_centers(same, h, y, 0.0)
    np.testing.assert_array_equal(same, c)  # alpha 0: fixed centroids


def sequential_batches(n, batch, steps, drop_last=True):
    """The batches of shuffle=False: 0..n-1 in order, cut into batches, epoch after epoch."""
    per = n // batch if drop_last else -(-n // batch)
    return [np.arange(n)[(s % per) * batch:min((s % per) * batch + batch, n)] for s in range(steps)]


@pytest.mark.parametrize("optimizer, mu, sparse, drop_last", [("adam", 0.0, False, True), ("adam", 0.0, True, False),
                                                              ("sgd", 0.9, False, False), ("sgd", 0.0, True, True)])
def test_a_block_of_steps_equals_plain_numpy(optimizer, mu, sparse, drop_last):
    x, y, params, c = problem(2, n=50, sparse=sparse)
    xp, yp = x[:12], y[:12]
    lr = 1e-2 if optimizer == "adam" else 0.05
    steps, batch = 23, 8
    ds = dyn.simulate("center", data=x, labels=y, probe=xp, probe_labels=yp, init={**params, "centers": c},
                      hidden=H, batch=batch, steps=steps, record_every=5, shuffle=False, drop_last=drop_last,
                      optimizer=optimizer, momentum=mu, lr=lr, gain=0.7, alpha=0.3)
    assert ds.attrs["status"] == "completed" and ds.sizes["time"] == 1 + 5  # frames of 5, 5, 5, 5, 3 steps
    theta, cc, m, v, log = ref.train(ref.pack(params), c, x, y, sequential_batches(50, batch, steps, drop_last),
                                     D, H, K, 0.7, 0.3, lr, optimizer, mu)
    final = ref.unpack(theta, D, H, K)
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(ds[name].values, final[name], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ds.W3.isel(time=-1).values, final["W3"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ds.b3.isel(time=-1).values, final["b3"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ds.c.isel(time=-1).values, cc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ds.h.isel(time=-1).values, ref.forward(final, xp)[2], rtol=0, atol=1e-12)
    if optimizer == "adam":
        np.testing.assert_allclose(ds.adam_m.values, m, rtol=0, atol=1e-12)
        np.testing.assert_allclose(ds.adam_v.values, v, rtol=0, atol=1e-12)
    elif mu > 0:
        np.testing.assert_allclose(ds.momentum_buffer.values, m, rtol=0, atol=1e-12)
    # the frame's losses are the means over its steps
    np.testing.assert_allclose(ds.ce_train.values[1:], [log[a:a + 5, 0].mean() for a in range(0, steps, 5)], atol=1e-12)
    np.testing.assert_allclose(ds.center_train.values[1:], [log[a:a + 5, 1].mean() for a in range(0, steps, 5)],
                               atol=1e-12)


def test_torch_float64_autograd_and_adam_equal_dyn_after_50_steps():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    from dyn.flows.center.data import digits

    X, Y = digits()
    Hd, Kd, B, steps = 32, 10, 32, 50
    x, y, xp, yp = X[:600], Y[:600], X[600:700], Y[600:700]
    ds = dyn.simulate("center", data=x, labels=y, probe=xp, probe_labels=yp, hidden=Hd, batch=B, steps=steps,
                      shuffle=False, gain=1.0, alpha=0.01, seed=3)
    init = ds.isel(time=0)
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in {
        "W1": dyn_initial(ds, "W1"), "b1": dyn_initial(ds, "b1"), "W2": dyn_initial(ds, "W2"),
        "b2": dyn_initial(ds, "b2"), "W3": init.W3.values, "b3": init.b3.values}.items()}
    c = torch.tensor(init.c.values, dtype=torch.float64)
    opt = torch.optim.Adam(list(p.values()), lr=1e-3)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for idx in sequential_batches(len(x), B, steps):
        xb, yb = xt[idx], yt[idx]
        h = torch.relu(xb @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        loss = F.cross_entropy(h @ p["W3"] + p["b3"], yb) + 1.0 * F.mse_loss(h, c[yb])
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            hb = h.detach()
            for j in range(Kd):
                mine = yb == j
                c[j] -= 0.01 * (c[j] - hb[mine]).sum(0) / (1 + int(mine.sum()))
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(ds[name].values, p[name].detach().numpy(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(ds.W3.isel(time=-1).values, p["W3"].detach().numpy(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(ds.c.isel(time=-1).values, c.numpy(), rtol=0, atol=1e-8)
    state = [opt.state[q]["exp_avg"].numpy().ravel() for q in p.values()]
    np.testing.assert_allclose(ds.adam_m.values, np.concatenate(state), rtol=0, atol=1e-8)


def dyn_initial(ds, name):
    """The initial W1, b1, W2, b2 of a run with seed s: its draw (data.initial_state), as the run made it."""
    from dyn.flows.center.config import CenterConfig
    from dyn.flows.center.data import initial_state

    cfg = CenterConfig.from_json(ds.attrs["config"])
    theta, _ = initial_state(cfg, int(ds.attrs["inputs"]), ds.sizes["class"])
    return ref.unpack(theta[0], int(ds.attrs["inputs"]), cfg.hidden, ds.sizes["class"])[name]
