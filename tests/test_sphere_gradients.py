"""The sphere flow's math: operators, objectives and gradients against numpy and finite differences."""

import numpy as np
import pytest

import sphere_reference as ref
from seed000 import backward as seed_backward
from dyn.flows.sphere import kernels
from dyn.flows.sphere.config import OBJECTIVES, OPERATORS

H = 1e-6


def evaluate(w, x, obj="angular", op="cosine", k=1.0, s=1.0, grad="exact"):
    """(value, gradient) from the kernels' ``objective``."""
    w = np.ascontiguousarray(w, dtype=np.float64)
    x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1, w.shape[1])
    g = np.empty_like(w)
    value = kernels.objective(w, x, np.linalg.norm(x, axis=1), OBJECTIVES.index(obj), OPERATORS.index(op), k, s,
                              kernels.SEED if grad == "seed" else kernels.EXACT, g, np.empty_like(w),
                              np.empty_like(x), np.empty((len(x), len(w))))
    return value, g


def finite_differences(f, w):
    out = np.empty_like(w)
    for idx in np.ndindex(*w.shape):
        e = np.zeros_like(w)
        e[idx] = H
        out[idx] = (f(w + e) - f(w - e)) / (2 * H)
    return out


@pytest.fixture(scope="module")
def points():
    gen = np.random.default_rng(4)
    return gen.standard_normal((4, 5)) * [[1.0], [0.7], [1.6], [1.2]], gen.standard_normal((6, 5))


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize("k", [1.0, 0.3])
def test_operator_derivatives(op, k):
    t = np.linspace(0.05, np.pi - 0.05, 41)
    g = np.array([kernels.g_theta(OPERATORS.index(op), v, k) for v in t])
    dg = np.array([kernels.dg_theta(OPERATORS.index(op), v, k) for v in t])
    np.testing.assert_allclose(g, ref.g_of_theta(op, t, k), rtol=1e-13, atol=1e-15)
    fd = (ref.g_of_theta(op, t + H, k) - ref.g_of_theta(op, t - H, k)) / (2 * H)
    np.testing.assert_allclose(dg, fd, rtol=1e-7, atol=1e-9)
    if op != "cosine":  # g(0) = 1, g(pi/2) = 0, g(pi) = -1 for every SphereConv operator
        ends = [kernels.g_theta(OPERATORS.index(op), v, k) for v in (0.0, np.pi / 2, np.pi)]
        np.testing.assert_allclose(ends, [1, 0, -1], atol=1e-14)


@pytest.mark.parametrize("op", OPERATORS)
def test_angular_objective_and_gradient(points, op):
    w, x = points
    value, g = evaluate(w, x, op=op, k=0.5)
    assert value == pytest.approx(ref.angular(w, x, op, 0.5), rel=1e-13)
    np.testing.assert_allclose(g, finite_differences(lambda v: ref.angular(v, x, op, 0.5), w), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("obj, s", [("riesz", 0.0), ("riesz", 1.0), ("riesz", 2.0), ("riesz", 0.5),
                                    ("mhe", 0.0), ("mhe", 1.0), ("mhe", 2.0), ("mhe", 1.5)])
def test_energies_and_gradients(points, obj, s):
    w, _ = points
    value, g = evaluate(w, np.zeros((0, 5)), obj=obj, s=s)
    f = (lambda v: ref.riesz(v, s)) if obj == "riesz" else (lambda v: ref.mhe(v, s))
    assert value == pytest.approx(f(w), rel=1e-13)
    np.testing.assert_allclose(g, finite_differences(f, w), rtol=1e-6, atol=1e-8)


def test_mhe_is_the_normalised_riesz_energy_of_the_directions(points):
    w, _ = points
    M = len(w)
    assert ref.mhe(w, 1.0) == pytest.approx(2 / (M * (M - 1)) * ref.riesz(ref.unit(w), 1.0), rel=1e-14)


@pytest.mark.parametrize("rule", ["tangent", "exponential"])
def test_riemannian_step_follows_the_riemannian_gradient(points, rule):
    """d/dt f(R_w(-t v_T)) at t = 0 is -<grad f, v_T>: the step's direction is the tangent gradient."""
    w, _ = points
    u = ref.unit(w)
    g = ref.riesz_grad(u, 1.0)
    f = [ref.riesz(ref.step(u, g, np.zeros_like(u), rule, t, 0.0)[0], 1.0) for t in (H, -H)]
    tangent = g - np.sum(g * u, axis=1, keepdims=True) * u
    assert (f[0] - f[1]) / (2 * H) == pytest.approx(-np.sum(tangent ** 2), rel=1e-6)


def test_seed_gradient_is_the_backward_as_written():
    gen = np.random.default_rng(0)
    x, W = gen.random((5, 1000)), gen.random((1000, 4))
    z = ref.unit(x) @ ref.unit(W.T).T
    want = seed_backward(x, W, 2 * z)[1].T
    value, got = evaluate(W.T, x, grad="seed")
    assert value == pytest.approx(np.sum(z ** 2), rel=1e-13)
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)
    # ... which is not the gradient of its forward (SEED-NOTES.md): at the seed's setup it points uphill
    exact = evaluate(W.T, x)[1]
    cosine = np.sum(got * exact) / np.linalg.norm(got) / np.linalg.norm(exact)
    assert cosine < 0 and np.linalg.norm(got - exact) > 3 * np.linalg.norm(exact)


def test_seed_gradient_is_minus_grad_theta_for_one_sample_and_one_column():
    gen = np.random.default_rng(1)
    x, w = gen.random((1, 7)), gen.random((1, 7))
    gy = 1.0
    seed = seed_backward(x, w.T, np.array([[gy]]))[1].T
    theta = lambda v: np.arccos(ref.unit(x) @ ref.unit(v).T)[0, 0]  # noqa: E731
    np.testing.assert_allclose(seed, -finite_differences(theta, w), rtol=1e-6)
