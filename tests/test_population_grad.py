"""The closed-form gradient of the exact population loss against independent truth: central finite
differences of dyn's exact loss, the arc-cosine kernel's closed form, quadrature, second differences."""

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from dyn.flows.relu.population import population_loss
from dyn.flows.relu.population_grad import (GRAD_RHO_ONE, hessian, hessian_eigenvalues, moment_grad,
                                            population_gradient)

M_, D_ = 3, 3


def problem(case, bias=True, m=5, seed=0):
    """A student of m neurons against a teacher of 3 in 3 dimensions; ``case`` places neuron 1."""
    g = np.random.default_rng(seed)
    ta, tw, tb = g.normal(size=M_), g.normal(size=(M_, D_)), g.normal(size=M_)
    a, w, b = g.normal(size=m), g.normal(size=(m, D_)), g.normal(size=m)
    if case == "aligned":  # the same hyperplane as teacher neuron 0 (h = k), and one merely parallel
        w[1], b[1] = 0.7 * tw[0], 0.7 * tb[0]
        w[2], b[2] = 1.9 * tw[1], 0.3
    elif case == "opposite":  # the opposite half-space of teacher neuron 0, and of student neuron 0
        w[1], b[1] = -1.3 * tw[0], -1.3 * tb[0]
        w[2], b[2] = -0.4 * w[0], 0.2
    elif case == "zero":  # a constant neuron relu(b), b > 0 and b < 0
        w[1], b[1] = 0.0, 0.4
        w[2], b[2] = 0.0, -0.3
    if not bias:
        b, tb = np.zeros(m), np.zeros(M_)
    return (a, w, b), (ta, tw, tb)


def loss_of(student, teacher):
    a, w, b = student
    return population_loss(a[None], w[None], b[None], *teacher)[0]


def central_differences(student, teacher, bias=True, eps=1e-6):
    """dL/d(a, w, b) by central differences of dyn's exact loss (population.py's closed form)."""
    out = []
    for which in range(3 if bias else 2):
        grad = np.zeros_like(student[which])
        for idx in np.ndindex(grad.shape):
            up = [p.copy() for p in student]
            dn = [p.copy() for p in student]
            up[which][idx] += eps
            dn[which][idx] -= eps
            grad[idx] = (loss_of(up, teacher) - loss_of(dn, teacher)) / (2 * eps)
        out.append(grad)
    return out


@pytest.mark.parametrize("case", ["generic", "aligned", "opposite", "zero"])
def test_gradient_matches_central_differences_with_biases(case):
    student, teacher = problem(case)
    loss, ga, gw, gb = population_gradient(*student, *teacher)
    assert loss == pytest.approx(loss_of(student, teacher), abs=1e-14)
    fa, fw, fb = central_differences(student, teacher)
    for got, want in ((ga, fa), (gw, fw), (gb, fb)):
        np.testing.assert_allclose(got, want, atol=1e-9)
    assert np.abs(gw).max() > 1e-3 and np.abs(gb).max() > 1e-3  # a gradient worth comparing


@pytest.mark.parametrize("case", ["generic", "aligned", "opposite"])
def test_gradient_matches_central_differences_without_biases(case):
    student, teacher = problem(case, bias=False)
    loss, ga, gw, gb = population_gradient(*student, *teacher, bias=False)
    assert loss == pytest.approx(loss_of(student, teacher), abs=1e-14)
    fa, fw = central_differences(student, teacher, bias=False)
    np.testing.assert_allclose(ga, fa, atol=1e-9)
    np.testing.assert_allclose(gw, fw, atol=1e-9)
    assert not gb.any()
    # the biases passed are ignored: the same numbers with garbage in b
    garbage = (student[0], student[1], np.full(5, 7.0))
    np.testing.assert_array_equal(population_gradient(*garbage, *teacher, bias=False)[2], gw)


def test_zero_norm_neuron_without_bias_takes_relu_prime_zero_one():
    """At w = 0, b = 0 the loss is not differentiable in w: its central difference sees relu'(0) = 1/2
    (relu(e.x) - relu(-e.x) = e.x), the gradient takes relu'(0) = 1 (the SGD kernels'), twice that.
    Every other entry is an ordinary derivative."""
    student, teacher = problem("generic", bias=False)
    student[1][1] = 0.0
    _, ga, gw, _ = population_gradient(*student, *teacher, bias=False)
    fa, fw = central_differences(student, teacher, bias=False)
    np.testing.assert_allclose(gw[1], 2 * fw[1], atol=1e-9)
    assert np.abs(gw[1]).max() > 1e-3
    np.testing.assert_allclose(np.delete(gw, 1, axis=0), np.delete(fw, 1, axis=0), atol=1e-9)
    np.testing.assert_allclose(ga, fa, atol=1e-9)


def arccos_loss(a, w, ta, tw):
    """1/2 E(f - f*)^2 without biases from Cho & Saul's arc-cosine kernel of degree 1, in numpy:
    E[relu(u.x) relu(v.x)] = |u||v| (sin t + (pi - t) cos t) / (2 pi), t the angle between u and v."""
    def K(U, V):
        nu, nv = np.linalg.norm(U, axis=1), np.linalg.norm(V, axis=1)
        cos = np.clip(U @ V.T / np.outer(nu, nv), -1, 1)
        t = np.arccos(cos)
        return np.outer(nu, nv) * (np.sin(t) + (np.pi - t) * cos) / (2 * np.pi)
    m, M = len(a), len(ta)
    return 0.5 * (a @ K(w, w) @ a / m**2 - 2 * a @ K(w, tw) @ ta / (m * M) + ta @ K(tw, tw) @ ta / M**2)


def test_no_bias_loss_is_the_arccos_kernel():
    for seed in range(5):
        (a, w, b), (ta, tw, tb) = problem("generic", bias=False, m=7, seed=seed)
        want = arccos_loss(a, w, ta, tw)
        assert loss_of((a, w, b), (ta, tw, tb)) == pytest.approx(want, rel=1e-12)
        assert population_gradient(a, w, b, ta, tw, tb, bias=False)[0] == pytest.approx(want, rel=1e-12)


def test_no_bias_formula_equals_the_general_one_at_zero_bias():
    """Away from alignment (where the arc-cosine path, taking the angle from the chord, is the more
    accurate: rho's rounding moves P by ~sqrt(1e-16) there), the two closed forms agree; each row's pair
    with itself takes rho = 1 exactly in both (it used to be 1 - 1 ulp, an error of 2e-9 for arccos)."""
    student, teacher = problem("generic", bias=False, m=6, seed=3)
    plain = population_gradient(*student, *teacher, bias=False)
    general = population_gradient(*student, *teacher, bias=True)
    for x, y in zip(plain[:3], general[:3]):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-14)


def p_both_positive(mu1, s1, mu2, s2, rho):
    """P(U > 0, V > 0) by quadrature over Z = (U - mu1)/s1, with a break point at V's step."""
    sr = math.sqrt((1 - rho) * (1 + rho))
    lo = -mu1 / s1
    f = lambda z: norm.pdf(z) * norm.cdf((mu2 + s2 * rho * z) / (s2 * sr))  # noqa: E731
    step = -mu2 / (s2 * rho)  # where V's conditional mean crosses 0
    points = [p for p in (step - 50 * sr, step, step + 50 * sr) if p > lo]
    return integrate.quad(f, lo, 40, points=points or None, epsabs=1e-14, limit=500)[0]


@pytest.mark.parametrize("delta", [1e-4, 1e-8, 1e-12, 1e-14])
def test_gradient_near_alignment_matches_quadrature(delta):
    """cv = P(U > 0, V > 0) (the coefficient of w2 in dK/dw1) where the hyperplanes nearly coincide: it
    varies as sqrt(1 - rho) there, the hardest place for the closed form and its rho = 1 switch."""
    for sign in (1.0, -1.0):
        mu1, s1, s2 = 0.3, 1.0, 2.0
        mu2 = sign * 0.6  # h = k when aligned; the mirror hyperplane when opposite
        rho = sign * (1 - delta)
        want = p_both_positive(mu1, s1, mu2, s2, rho)
        assert moment_grad(mu1, s1, mu2, s2, rho)[3] == pytest.approx(want, abs=2e-11)


def test_switch_to_the_aligned_formulas_costs_little():
    """At the switch the function itself moves as sqrt(1 - rho): the jump is below 2e-8."""
    below = moment_grad(0.3, 1.0, 0.6, 2.0, 1 - 1.5 * GRAD_RHO_ONE)
    above = moment_grad(0.3, 1.0, 0.6, 2.0, 1 - 0.5 * GRAD_RHO_ONE)
    np.testing.assert_allclose(below, above, atol=2e-8)


def test_parallel_rows_give_the_same_numbers():
    g = np.random.default_rng(7)
    m, M, d = 40, 5, 4
    args = g.normal(size=m), g.normal(size=(m, d)), g.normal(size=m), g.normal(size=M), g.normal(size=(M, d)), \
        g.normal(size=M)
    for bias in (True, False):
        serial = population_gradient(*args, bias=bias, parallel=False)
        parallel = population_gradient(*args, bias=bias, parallel=True)
        assert serial[0] == parallel[0]
        for x, y in zip(serial[1:], parallel[1:]):
            np.testing.assert_array_equal(x, y)


def test_non_finite_parameters_give_nan_loss():
    (a, w, b), teacher = problem("generic")
    w = w.copy()
    w[2, 1] = np.inf
    assert np.isnan(population_gradient(a, w, b, *teacher)[0])


@pytest.mark.parametrize("bias", [True, False])
def test_student_equal_to_teacher_is_a_minimum(bias):
    """Zero gradient, a PSD Hessian, and one flat direction per neuron: the rescaling a -> c a,
    (w, b) -> (w, b) / c leaves f unchanged."""
    _, (ta, tw, tb) = problem("generic", bias=bias)
    loss, ga, gw, gb = population_gradient(ta, tw, tb, ta, tw, tb, bias=bias)
    assert abs(loss) < 1e-14
    assert max(np.abs(ga).max(), np.abs(gw).max(), np.abs(gb).max()) < 1e-13
    ev = np.linalg.eigvalsh(hessian(ta, tw, tb, ta, tw, tb, bias=bias))
    assert ev[0] > -1e-6 * ev[-1]
    flat = int((np.abs(ev) < 1e-6 * ev[-1]).sum())
    assert flat >= len(ta)
    # frozen output weights remove the rescaling: still PSD
    assert hessian_eigenvalues(ta, tw, tb, ta, tw, tb, k=1, bias=bias, train_a=False)[0] > -1e-6 * ev[-1]


def test_hessian_matches_second_differences_of_the_loss():
    """Along the Hessian's extreme eigenvectors, the loss's second difference is the eigenvalue
    (a generic point has negative curvature: the Hessian is not PSD there)."""
    (a, w, b), teacher = problem("generic", m=4, seed=11)
    m, d = w.shape
    ev, vecs = np.linalg.eigh(hessian(a, w, b, *teacher))
    assert ev[0] < -1e-3
    theta = np.concatenate([a, w.ravel(), b])

    def L(th):
        return loss_of((th[:m], th[m:m + m * d].reshape(m, d), th[m + m * d:]), teacher)

    e = 1e-4
    for i in (0, 1, len(ev) - 1):
        v = vecs[:, i]
        second = (L(theta + e * v) - 2 * L(theta) + L(theta - e * v)) / e**2
        assert second == pytest.approx(ev[i], abs=1e-6)
    # and without the output weights: the packed order drops a
    H = hessian(a, w, b, *teacher, train_a=False)
    np.testing.assert_allclose(H, hessian(a, w, b, *teacher)[m:, m:], atol=1e-12)
