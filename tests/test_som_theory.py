"""Seed 004's answer, claim by claim: finite differences, the kernel's step, heavy ball, drift, no potential."""

import numpy as np
import pytest

import dyn
from dyn.flows.som import theory as th


def _grid_h(rows, cols, sigma):
    loc = np.array([[i, j] for i in range(rows) for j in range(cols)], float)
    return th.forum_h(((loc[:, None] - loc[None]) ** 2).sum(-1), sigma)


def _problem(seed=0, rows=2, cols=3, D=4, B=7):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.6, (rows * cols, D)), rng.random((B, D)), _grid_h(rows, cols, 1.3)


def test_gradient_at_fixed_winners_is_the_projected_kohonen_step_by_finite_differences():
    w, z, H = _problem()
    bmu = th.winners(w, z)
    fd = th.finite_difference_gradient(w, z, H, bmu)
    np.testing.assert_allclose(th.forum_gradient(w, z, H, bmu), fd, rtol=1e-6, atol=1e-9)
    # the step is tangent to the sphere at w^_k, and scales as 1/|w_k| (so w^ moves as 1/|w_k|^2)
    g = th.forum_gradient(w, z, H, bmu)
    np.testing.assert_allclose((g * th.unit(w)).sum(1), 0, atol=1e-15)
    np.testing.assert_allclose(th.forum_gradient(3 * w, z, H, bmu), g / 3, rtol=1e-12)


def test_kernel_step_is_2lr_over_B_times_the_batch_kohonen_step():
    w, z, H = _problem(seed=1, rows=3, cols=3, D=5, B=9)
    lr = 0.01
    ds = dyn.simulate("som", rule="topographic", rows=3, cols=3, data=z, init=w, steps=1, batch=9, lr=lr,
                      momentum=0.0, sigma=1.3, neighbourhood="gaussian")
    bmu = th.winners(w, z)
    koh = th.kohonen_sum(w, z, H, bmu)
    wn = th.unit(w)
    expected = 2 * lr / 9 * (koh - wn * (wn * koh).sum(1, keepdims=True)) / np.linalg.norm(w, axis=1)[:, None]
    np.testing.assert_allclose(ds.w[-1] - w, expected, rtol=1e-9, atol=1e-15)


def test_momentum_is_the_heavy_ball():
    rng = np.random.default_rng(2)
    rows, cols, D, B, n, lr, mu = 3, 3, 5, 6, 18, 0.05, 0.9
    x, w0 = rng.random((n, D)), rng.normal(0, 0.5, (rows * cols, D))
    ds = dyn.simulate("som", rule="topographic", rows=rows, cols=cols, data=x, init=w0, steps=6, batch=B, lr=lr,
                      momentum=mu, sigma=1.3, record_every=1)
    W, H = ds.w.values, _grid_h(rows, cols, 1.3)
    for t in range(1, 6):
        z = x[(np.arange(t * B, (t + 1) * B)) % n]
        g = th.forum_gradient(W[t], z, H, th.winners(W[t], z))
        np.testing.assert_allclose(W[t + 1] - W[t], mu * (W[t] - W[t - 1]) - lr * g, rtol=1e-9, atol=1e-14)


def test_raw_weights_drift_off_the_sphere_unless_projected():
    plain = dyn.simulate("som", rule="topographic", rows=4, cols=4, dim=16, n=256, batch=64, steps=40, lr=0.05,
                         momentum=0.0, record_every=1)
    norms = np.linalg.norm(plain.w.values, axis=-1)
    assert np.all(np.diff(norms, axis=0) >= -1e-15)  # a tangent step never shortens w
    assert norms[-1].mean() > norms[0].mean() + 1e-3
    kept = dyn.simulate("som", rule="topographic", rows=4, cols=4, dim=16, n=256, batch=64, steps=40, lr=0.05,
                        project=True)
    np.testing.assert_allclose(np.linalg.norm(kept.w.values[1:], axis=-1), 1.0, atol=1e-12)


def test_kohonen_field_has_circulation_heskes_field_has_none():
    rng = np.random.default_rng(1)
    x, w0 = rng.uniform(-1, 1, (40, 2)), rng.normal(0, 0.3, (4, 2))
    H = _grid_h(1, 4, 1.0)
    u, v = rng.normal(0, 0.5, (4, 2)), rng.normal(0, 0.5, (4, 2))
    kohonen = th.circulation(th.kohonen_field, w0, u, v, x, H, points=1500)
    heskes = th.circulation(th.heskes_field, w0, u, v, x, H, points=1500)
    assert abs(kohonen) > 0.05
    assert abs(heskes) < 1e-2 * abs(kohonen)  # zero up to the midpoint rule's error at the kinks


def test_heskes_field_is_minus_half_the_energy_gradient():
    rng = np.random.default_rng(3)
    x, w = rng.uniform(-1, 1, (30, 2)), rng.normal(0, 0.4, (6, 2))
    H = _grid_h(2, 3, 0.8)
    fd = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        a, b = w.copy(), w.copy()
        a[idx] += 1e-6
        b[idx] -= 1e-6
        fd[idx] = (th.heskes_energy(a, x, H) - th.heskes_energy(b, x, H)) / 2e-6
    np.testing.assert_allclose(th.heskes_field(w, x, H), -fd / 2, rtol=1e-6, atol=1e-9)


def test_heskes_rule_descends_its_energy_and_never_exceeds_the_topographic_loss():
    ds = dyn.simulate("som", rule="heskes", rows=4, cols=4, steps=3000, sigma=1.5, lr=0.2, lr_decay="constant",
                      sigma_decay="constant", n=300, measures="loss", measure_every=1)
    e = ds.heskes_energy.values
    assert e[-1] < 0.5 * e[0]
    assert np.all(ds.heskes_energy.values <= ds.topographic_loss.values + 1e-12)


def test_answer_at_the_forums_setup():
    a = th.answer(rows=6, cols=6, dim=32, batch=128)
    assert a["per_sample_rate"] == pytest.approx(2e-3 / 128)
    assert 0 < a["cosine_step_vs_kohonen"] < 1  # the projection removes the radial pull
