"""The exact population loss against independent truth: scipy, quadrature, Monte Carlo."""

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import multivariate_normal, norm

from dyn.flows.relu.population import RHO_ONE, bvn_upper, monte_carlo_loss, population_loss, relu_moment


@pytest.mark.parametrize("r", [0.0, 0.2, -0.2, 0.5, -0.5, 0.8, -0.8, 0.95, -0.95, 0.999, -0.999, 0.999999, -0.999999])
def test_bivariate_upper_tail_matches_scipy(r):
    for h in (-2.5, -0.7, 0.0, 0.4, 1.9):
        for k in (-1.3, 0.0, 0.6, 2.2):
            ref = multivariate_normal([0, 0], [[1, r], [r, 1]]).cdf([-h, -k])
            assert bvn_upper(h, k, r) == pytest.approx(ref, abs=2e-9)  # scipy's own accuracy


def relu_mean(mu, s):
    return mu * norm.cdf(mu / s) + s * norm.pdf(mu / s) if s > 0 else max(mu, 0.0)


def quadrature(mu1, s1, mu2, s2, rho):
    """E over Z of relu(mu1 + s1 Z) E[relu(V) | Z], integrated numerically (independent of the closed form)."""
    sr = np.sqrt(1 - rho * rho)
    f = lambda z: (mu1 + s1 * z) * relu_mean(mu2 + s2 * rho * z, s2 * sr) * norm.pdf(z)  # noqa: E731
    return integrate.quad(f, -mu1 / s1, 40, epsabs=1e-14, epsrel=1e-12, limit=200)[0]


def line_integral(mu1, s1, mu2, s2, sign):
    """rho = +-1: V = mu2 + sign s2 Z; integrate the product over the interval where both are positive."""
    lo, hi = -mu1 / s1, (mu2 / s2 if sign < 0 else 40)
    lo = lo if sign < 0 else max(lo, -mu2 / s2)
    if lo >= hi:
        return 0.0
    f = lambda z: (mu1 + s1 * z) * (mu2 + sign * s2 * z) * norm.pdf(z)  # noqa: E731
    return integrate.quad(f, lo, hi, epsabs=1e-15, epsrel=1e-13)[0]


def test_relu_moment_generic_matches_quadrature():
    g = np.random.default_rng(0)
    for _ in range(200):
        mu1, mu2 = g.normal(size=2)
        s1, s2 = g.uniform(0.1, 2, 2)
        rho = g.uniform(-0.99, 0.99)
        assert relu_moment(mu1, s1, mu2, s2, rho) == pytest.approx(quadrature(mu1, s1, mu2, s2, rho), abs=1e-9)


@pytest.mark.parametrize("mu1, s1, mu2, s2", [(1.16, 1.74, -0.34, 1.51), (0.21, 0.46, -1.79, 1.42),
                                              (-0.3, 0.8, 0.5, 1.2), (0.0, 1.0, 0.0, 1.0)])
def test_relu_moment_aligned_and_opposite_neurons(mu1, s1, mu2, s2):
    for sign in (1.0, -1.0):
        exact = line_integral(mu1, s1, mu2, s2, sign)
        for rho in (sign, sign * (1 - 1e-14), sign * (1 + 1e-15)):  # exact, nearly, and rounded past 1
            assert relu_moment(mu1, s1, mu2, s2, rho) == pytest.approx(exact, abs=1e-12)
    # no jump where the closed form hands over to the degenerate formula
    below, above = relu_moment(mu1, s1, mu2, s2, 1 - RHO_ONE * 1.001), relu_moment(mu1, s1, mu2, s2, 1 - RHO_ONE * 0.999)
    assert below == pytest.approx(above, abs=1e-9)


def test_relu_moment_vanishing_weights():
    assert relu_moment(0.3, 0.0, 0.2, 1.1, 0.5) == pytest.approx(0.3 * relu_mean(0.2, 1.1), abs=1e-15)
    assert relu_moment(0.3, 0.0, -0.2, 0.0, 0.0) == 0.0
    assert relu_moment(0.3, 0.0, 0.7, 0.0, 0.0) == pytest.approx(0.21)


def test_relu_moment_matches_monte_carlo():
    g = np.random.default_rng(1)
    u, v = g.standard_normal((2, 1_000_000))
    for rho in (0.3, -0.7, 0.97):
        U = 0.2 + 1.3 * u
        V = -0.4 + 0.8 * (rho * u + np.sqrt(1 - rho**2) * v)
        prod = np.maximum(U, 0) * np.maximum(V, 0)
        se = prod.std() / np.sqrt(len(prod))
        assert abs(relu_moment(0.2, 1.3, -0.4, 0.8, rho) - prod.mean()) < 4 * se


@pytest.fixture(scope="module")
def problem():
    g = np.random.default_rng(2)
    m, M, d = 6, 4, 3
    student = g.normal(size=(3, m)), g.normal(size=(3, m, d)), g.normal(size=(3, m))
    teacher = g.normal(size=M), g.normal(size=(M, d)), g.normal(size=M)
    return student, teacher


def test_population_loss_matches_monte_carlo(problem):
    student, teacher = problem
    x = np.random.default_rng(3).standard_normal((200_000, 3))
    exact = population_loss(*student, *teacher)
    a, w, b = student
    ta, tw, tb = teacher
    for s in range(3):
        err = (a[s] * np.maximum(x @ w[s].T + b[s], 0)).mean(1) - (ta * np.maximum(x @ tw.T + tb, 0)).mean(1)
        sample = 0.5 * err**2
        assert abs(exact[s] - sample.mean()) < 4 * sample.std() / np.sqrt(len(sample))
    np.testing.assert_allclose(monte_carlo_loss(*student, *teacher, x[:1000]),
                               [0.5 * np.mean(((a[s] * np.maximum(x[:1000] @ w[s].T + b[s], 0)).mean(1)
                                               - (ta * np.maximum(x[:1000] @ tw.T + tb, 0)).mean(1)) ** 2)
                                for s in range(3)], rtol=1e-12)


def test_population_loss_equals_the_double_sum(problem):
    (a, w, b), (ta, tw, tb) = problem

    def K(w1, b1, w2, b2):
        n1, n2 = np.linalg.norm(w1), np.linalg.norm(w2)
        return relu_moment(b1, n1, b2, n2, w1 @ w2 / (n1 * n2))

    s = 1
    ss = sum(a[s, i] * a[s, j] * K(w[s, i], b[s, i], w[s, j], b[s, j]) for i in range(6) for j in range(6))
    st = sum(a[s, i] * ta[j] * K(w[s, i], b[s, i], tw[j], tb[j]) for i in range(6) for j in range(4))
    tt = sum(ta[i] * ta[j] * K(tw[i], tb[i], tw[j], tb[j]) for i in range(4) for j in range(4))
    assert population_loss(a, w, b, ta, tw, tb)[s] == pytest.approx(0.5 * (ss / 36 - 2 * st / 24 + tt / 16), abs=1e-12)


def test_student_equal_to_teacher_has_zero_loss(problem):
    _, (ta, tw, tb) = problem
    assert abs(population_loss(ta[None], tw[None], tb[None], ta, tw, tb)[0]) < 1e-12
    # each teacher neuron split into two aligned halves: the same function
    a2 = np.concatenate([ta, ta])[None]
    w2, b2 = np.concatenate([tw, tw])[None], np.concatenate([tb, tb])[None]
    assert abs(population_loss(a2, w2, b2, ta, tw, tb)[0]) < 1e-12


def test_nan_snapshot_and_zero_weights(problem):
    (a, w, b), teacher = problem
    a = a.copy()
    a[0, 2] = np.nan
    w0 = np.zeros_like(w)
    loss = population_loss(a, w0, b, *teacher)
    assert np.isnan(loss[0]) and np.isfinite(loss[1:]).all()
    # with w = 0 the student is the constant 1/m sum a relu(b): loss = 1/2 (c^2 - 2 c E f* + E f*^2)
    x = np.random.default_rng(4).standard_normal((400_000, 3))
    ta, tw, tb = teacher
    c = (a[1] * np.maximum(b[1], 0)).mean()
    sample = 0.5 * (c - (ta * np.maximum(x @ tw.T + tb, 0)).mean(1)) ** 2
    assert abs(loss[1] - sample.mean()) < 4 * sample.std() / np.sqrt(len(sample))


def test_parallel_and_serial_variants_agree(problem):
    from dyn.flows.relu.population import _population_loss, _population_loss_parallel

    args = [np.ascontiguousarray(v, dtype=float) for v in (*problem[0], *problem[1])]
    np.testing.assert_array_equal(_population_loss_parallel(*args), _population_loss(*args))
