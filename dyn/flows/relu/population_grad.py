"""The gradient of the exact population loss of a ReLU student, in closed form, and its Hessian.

With x ~ N(0, I_d), f(x) = 1/m sum_k a_k relu(w_k.x + b_k), f* = 1/M sum_j ta_j relu(tw_j.x + tb_j)
and K(i, j) = E[relu(u_i) relu(u_j)] (:func:`dyn.flows.relu.population.relu_moment`),

    L = 1/2 E(f - f*)^2 = 1/2 [a'K a / m^2 - 2 a'K* ta / (m M) + ta'K** ta / M^2],

    dL/da_k = S_k / m^2 - C_k / (m M),  S_k = sum_i a_i K(k, i),  C_k = sum_j ta_j K(k, j*),
    dL/dw_k = a_k [sum_i a_i dK(k, i)/dw_k / m^2 - sum_j ta_j dK(k, j*)/dw_k / (m M)],  likewise b_k

(the diagonal pair counts once: d/dw K(w, w) = 2 dK(w, w')/dw at w' = w, which the factor 1/2 absorbs).
The derivatives of K in the first neuron are Gaussian expectations; with U = w1.x + b1 ~ N(b1, s1^2),
V = w2.x + b2 ~ N(b2, s2^2), corr(U, V) = rho, h = b1/s1, k = b2/s2, and Stein's lemma
E[x g(x)] = E[grad g(x)] applied to g = 1{U > 0} relu(V):

    dK/db1 = E[1{U > 0} relu(V)] = b2 P + s2 E[Y; X > -h, Y > -k],   P = P(U > 0, V > 0),
    dK/dw1 = E[1{U > 0} relu(V) x] = phi(h) E[relu(V) | U = 0] w1/s1 + P w2,
    E[relu(V) | U = 0] = E relu(N(b2 - s2 rho h, s2^2 (1 - rho^2)))

(Rosenbaum's truncated moments, P by Genz's method, as the loss itself). K is C^1 wherever
|w1| > 0, so aligned and opposite neurons (|rho| = 1) take the limits of these formulas, in
one-dimensional closed form. Near them P and E[relu(V) | U = 0] move as sqrt(1 - |rho|) where the two
hyperplanes coincide, so rho's own rounding (1 ulp) costs up to ~2e-9 there; a neuron's pair with itself
takes rho = 1 exactly, and the arc-cosine path takes the angle from the chord |w1/s1 -+ w2/s2|.
Without biases (b = 0 fixed) K is the arc-cosine kernel of degree 1 (Cho & Saul 2009):
K = s1 s2 (sin t + (pi - t) cos t) / (2 pi), t = arccos rho, whose gradient is
dK/dw1 = s2 sin t / (2 pi) w1/s1 + (pi - t)/(2 pi) w2.

A zero-norm neuron (|w| = 0) is the constant relu(b): its gradient in w is 1{b >= 0} E[x relu(V)]
= 1{b >= 0} P(V > 0) w2, exact for b != 0. At b = 0 (always, without biases) the loss is not
differentiable in w there (it is positively homogeneous of degree 1 along each direction); the
formulas then take relu'(0) = 1, the convention of the SGD kernels (kernels.drelu), so that the
flow and SGD agree on what a dead-at-zero neuron does.

The kernel :func:`population_grad` is O((m + M) m) scalar moments per call, each pair computing
K and its derivatives from one bivariate normal tail; :func:`population_grad_parallel` runs its rows
in ``prange`` (each row owns its outputs; the loss is summed afterwards in row order, so the numbers
do not depend on the thread count). :func:`hessian` differentiates the exact gradient by central
differences, a column a parallel iteration.
"""

import math

import numpy as np
from numba import njit, prange

from dyn.flows.relu.population import (SIGMA_ZERO, TWO_PI, norm_cdf, norm_pdf, relu_mean, relu_moment,
                                        teacher_norms_and_term, truncated_moments)

# 1 - |rho| below this: the rho = +-1 formulas. Where the two hyperplanes coincide (h = k), P(U > 0, V > 0)
# has a sqrt(1 - |rho|) singularity: switching at 1e-12 (the loss's RHO_ONE) would cost ~2e-7 in P, at 1e-15
# it costs ~1e-8, while the generic formulas stay accurate to ~1e-11 down to 1 - |rho| = 1e-14 (checked
# against 40-digit quadrature).
GRAD_RHO_ONE = 1e-15

PARALLEL_PAIRS = 40_000  # rows in prange above this many pairs m (m + M): a parallel region costs ~20 us
HESSIAN_EPS = 1e-5  # central-difference step of the Hessian, relative to max(1, |parameter|)


@njit(cache=True)
def moment_grad(mu1, s1, mu2, s2, rho):
    """K = E[relu(U) relu(V)] and its derivatives in the first neuron's parameters.

    U ~ N(mu1, s1^2), V ~ N(mu2, s2^2), corr(U, V) = rho (U = w1.x + b1: mu1 = b1, s1 = |w1|).
    Returns (K, db, cu, cv): dK/db1 = db and dK/dw1 = cu w1/|w1| + cv w2 (cu = 0 when |w1| = 0).
    """
    if s1 <= SIGMA_ZERO:  # U = mu1 constant; relu'(0) = 1 as in the SGD kernels
        on = 1.0 if mu1 >= 0.0 else 0.0
        if s2 <= SIGMA_ZERO:
            r2 = max(mu2, 0.0)
            return max(mu1, 0.0) * r2, on * r2, 0.0, on * (1.0 if mu2 > 0.0 else 0.0)
        m2 = relu_mean(mu2, s2)
        return max(mu1, 0.0) * m2, on * m2, 0.0, on * norm_cdf(mu2 / s2)
    h = mu1 / s1
    if s2 <= SIGMA_ZERO:  # V = mu2 constant (cv multiplies w2 = 0)
        r2 = max(mu2, 0.0)
        up = norm_cdf(h)
        return relu_mean(mu1, s1) * r2, up * r2, norm_pdf(h) * r2, up * (1.0 if mu2 > 0.0 else 0.0)
    rho = min(1.0, max(-1.0, rho))
    k = mu2 / s2
    if rho >= 1.0 - GRAD_RHO_ONE:  # U, V = mu + s Z: both positive for Z > t; V = mu2 - s2 h on U = 0
        t = max(-h, -k)
        p = norm_cdf(-t)
        cu = norm_pdf(h) * max(mu2 - s2 * h, 0.0)
        return relu_moment(mu1, s1, mu2, s2, rho), mu2 * p + s2 * norm_pdf(t), cu, p
    if rho <= -1.0 + GRAD_RHO_ONE:  # V = mu2 - s2 Z: both positive for -h < Z < k; V = mu2 + s2 h on U = 0
        lo, hi = -h, k
        if lo >= hi:
            return 0.0, 0.0, 0.0, 0.0
        p = norm_cdf(hi) - norm_cdf(lo)
        cu = norm_pdf(h) * (mu2 + s2 * h)
        return relu_moment(mu1, s1, mu2, s2, rho), mu2 * p - s2 * (norm_pdf(lo) - norm_pdf(hi)), cu, p
    cu = norm_pdf(h) * relu_mean(mu2 - s2 * rho * h, s2 * math.sqrt((1.0 - rho) * (1.0 + rho)))
    mass, ex, ey, exy = truncated_moments(-h, -k, rho)
    return s1 * s2 * (exy + k * ex + h * ey + h * k * mass), mu2 * mass + s2 * ey, cu, mass


@njit(cache=True)
def arccos_grad(s1, s2, rho, t):
    """Without biases: K = s1 s2 J(t) / (2 pi), J(t) = sin t + (pi - t) cos t, t = arccos rho the angle
    between w1 and w2 (Cho & Saul's arc-cosine kernel of degree 1, halved). Returns (K, cu, cv) with
    dK/dw1 = cu w1/|w1| + cv w2."""
    if s1 <= SIGMA_ZERO:  # relu'(0) = 1: the limit b1 -> 0+ of moment_grad
        return 0.0, 0.0, 0.5
    if s2 <= SIGMA_ZERO:
        return 0.0, 0.0, 0.0
    sn = math.sin(t)
    return s1 * s2 * (sn + (math.pi - t) * rho) / TWO_PI, s2 * sn / TWO_PI, (math.pi - t) / TWO_PI


@njit(cache=True)
def angle(w1, n1, w2, n2, rho):
    """The angle between w1 and w2 (norms n1, n2 > 0, cosine rho): arccos rho, or from the chord
    |w1/n1 -+ w2/n2| where arccos would turn rho's rounding into an error ~sqrt(1e-16)."""
    if abs(rho) < 0.9:
        return math.acos(rho)
    sign = 1.0 if rho > 0.0 else -1.0
    chord = 0.0
    for q in range(w1.shape[0]):
        c = w1[q] / n1 - sign * w2[q] / n2
        chord += c * c
    half = math.asin(min(1.0, 0.5 * math.sqrt(chord)))
    return 2.0 * half if rho > 0.0 else math.pi - 2.0 * half


@njit(cache=True)
def pair_grad(w1, b1, n1, w2, b2, n2, bias, same):
    """moment_grad (``bias``) or arccos_grad of neurons (w1, b1), (w2, b2) with |w1| = n1, |w2| = n2;
    ``same``: the pair is one neuron with itself (rho = 1 exactly, not 1 - 1 ulp)."""
    dot = 0.0
    for q in range(w1.shape[0]):
        dot += w1[q] * w2[q]
    both = n1 > SIGMA_ZERO and n2 > SIGMA_ZERO
    rho = 1.0 if same else (min(1.0, max(-1.0, dot / (n1 * n2))) if both else 0.0)
    if bias:
        return moment_grad(b1, n1, b2, n2, rho)
    t = 0.0 if same or not both else angle(w1, n1, w2, n2, rho)
    K, cu, cv = arccos_grad(n1, n2, rho, t)
    return K, 0.0, cu, cv


@njit(cache=True)
def pair_sums(wk, bk, nk, own, coef, w, b, norms, bias, scale, db_sum, u_sum, gwk):
    """The pairs of neuron (wk, bk) (norm nk, index ``own`` among the neurons given, -1: not one of them)
    with each neuron i of coef (n,), w (n, d), b (n,), norms (n,): returns (sum_i coef_i K, db_sum
    + scale sum_i coef_i db, u_sum + scale sum_i coef_i cu), and adds scale coef_i cv w_i to gwk (d,)."""
    k_sum = 0.0
    for i in range(coef.shape[0]):
        K, db, cu, cv = pair_grad(wk, bk, nk, w[i], b[i] if bias else 0.0, norms[i], bias, i == own)
        k_sum += coef[i] * K
        db_sum += scale * coef[i] * db
        u_sum += scale * coef[i] * cu
        c = scale * coef[i] * cv
        for q in range(gwk.shape[0]):
            gwk[q] += c * w[i, q]
    return k_sum, db_sum, u_sum


@njit(cache=True)
def grad_row(k, a, w, b, na, ta, tw, tb, nt, bias, ga, gw, gb):
    """Row k of the gradient into ga[k], gw[k], gb[k] (b is ignored, gb[k] = 0, without ``bias``).

    Returns the row's share of the loss, a_k (S_k / m^2 - 2 C_k / (m M)).
    """
    m, M, d = a.shape[0], ta.shape[0], w.shape[1]
    cs, ct = 1.0 / (m * m), 1.0 / (m * M)
    bk = b[k] if bias else 0.0
    for q in range(d):
        gw[k, q] = 0.0
    s_sum, db_sum, u_sum = pair_sums(w[k], bk, na[k], k, a, w, b, na, bias, cs, 0.0, 0.0, gw[k])  # the students
    c_sum, db_sum, u_sum = pair_sums(w[k], bk, na[k], -1, ta, tw, tb, nt, bias, -ct, db_sum, u_sum, gw[k])
    unit = u_sum / na[k] if na[k] > SIGMA_ZERO else 0.0  # cu = 0 for a zero-norm neuron
    for q in range(d):
        gw[k, q] = a[k] * (gw[k, q] + unit * w[k, q])
    ga[k] = cs * s_sum - ct * c_sum
    gb[k] = a[k] * db_sum if bias else 0.0
    return a[k] * (cs * s_sum - 2.0 * ct * c_sum)


@njit(cache=True)
def neuron_norms(w, na):
    for k in range(w.shape[0]):
        acc = 0.0
        for q in range(w.shape[1]):
            acc += w[k, q] * w[k, q]
        na[k] = math.sqrt(acc)


@njit(cache=True)
def finish_loss(a, w, b, bias, share, teacher_term):
    """1/2 (sum of the rows' shares + the teacher's term), summed in row order; NaN if a parameter is."""
    total = 0.0
    for k in range(share.shape[0]):
        total += share[k]
        check = a[k] + (b[k] if bias else 0.0)
        for q in range(w.shape[1]):
            check += w[k, q]
        if not math.isfinite(check):
            return np.nan
    return 0.5 * (total + teacher_term)


@njit(cache=True)
def population_grad(a, w, b, ta, tw, tb, nt, teacher_term, bias, ga, gw, gb):
    """The exact population loss of the student a (m,), w (m, d), b (m,); its gradient into ga (m,),
    gw (m, d), gb (m,). ``nt``, ``teacher_term``: the teacher's norms and 1/2-less self term
    (:func:`dyn.flows.relu.population.teacher_norms_and_term`). Without ``bias``, b and tb are read as 0
    (pass any arrays of the right shapes) and gb is set to 0. Rows in order, on the calling thread."""
    m = a.shape[0]
    na = np.empty(m)
    neuron_norms(w, na)
    share = np.empty(m)
    for k in range(m):
        share[k] = grad_row(k, a, w, b, na, ta, tw, tb, nt, bias, ga, gw, gb)
    return finish_loss(a, w, b, bias, share, teacher_term)


@njit(cache=True, parallel=True)
def population_grad_parallel(a, w, b, ta, tw, tb, nt, teacher_term, bias, ga, gw, gb):
    """:func:`population_grad` with its rows in ``prange``: the same numbers, for large m."""
    m = a.shape[0]
    na = np.empty(m)
    neuron_norms(w, na)
    share = np.empty(m)
    for k in prange(m):
        share[k] = grad_row(k, a, w, b, na, ta, tw, tb, nt, bias, ga, gw, gb)
    return finish_loss(a, w, b, bias, share, teacher_term)


def _f64(*arrays):
    return [np.ascontiguousarray(v, dtype=np.float64) for v in arrays]


def population_gradient(a, w, b, ta, tw, tb, *, bias=True, parallel=None):
    """(loss, da, dw, db) of the exact population loss at the student a (m,), w (m, d), b (m,) against
    the teacher ta (M,), tw (M, d), tb (M,). ``bias=False``: b = tb = 0 fixed (the arc-cosine case;
    db is 0). ``parallel``: rows in prange (default: when m (m + M) > PARALLEL_PAIRS)."""
    a, w, b, ta, tw, tb = _f64(a, w, b, ta, tw, tb)
    if not bias:
        b, tb = np.zeros_like(b), np.zeros_like(tb)
    nt, tt = teacher_norms_and_term(ta, tw, tb)
    ga, gw, gb = np.empty_like(a), np.empty_like(w), np.empty_like(b)
    if parallel is None:
        parallel = a.shape[0] * (a.shape[0] + ta.shape[0]) > PARALLEL_PAIRS
    kernel = population_grad_parallel if parallel else population_grad
    loss = kernel(a, w, b, ta, tw, tb, nt, tt, bool(bias), ga, gw, gb)
    return loss, ga, gw, gb


# -- the Hessian, by central differences of the exact gradient -------------------------------------


@njit(cache=True)
def packed_at(m, d, train_a):
    """Where a, w and b start in a packed parameter vector (a and b are m long, w m d)."""
    start_w = m if train_a else 0
    return 0, start_w, start_w + m * d


@njit(cache=True)
def pack(a, w, b, train_a, bias, theta):
    """The trained parameters into theta: [a (if train_a), w row by row, b (if bias)]."""
    m, d = w.shape
    at_a, at_w, at_b = packed_at(m, d, train_a)
    if train_a:
        theta[at_a:at_w] = a
    theta[at_w:at_b].reshape((m, d))[:, :] = w
    if bias:
        theta[at_b:at_b + m] = b


@njit(cache=True)
def unpack(theta, train_a, bias, a, w, b):
    """The inverse of :func:`pack` (parameters not trained are left as they are)."""
    m, d = w.shape
    at_a, at_w, at_b = packed_at(m, d, train_a)
    if train_a:
        a[:] = theta[at_a:at_w]
    w[:, :] = theta[at_w:at_b].reshape((m, d))
    if bias:
        b[:] = theta[at_b:at_b + m]


@njit(cache=True)
def packed_gradient(theta, a, w, b, ta, tw, tb, nt, teacher_term, train_a, bias, out):
    """The gradient at the parameters theta (the others from a, w, b, which are overwritten), packed."""
    unpack(theta, train_a, bias, a, w, b)
    ga, gw, gb = np.empty_like(a), np.empty_like(w), np.empty_like(b)
    population_grad(a, w, b, ta, tw, tb, nt, teacher_term, bias, ga, gw, gb)
    pack(ga, gw, gb, train_a, bias, out)


@njit(cache=True, parallel=True)
def hessian_fd(a, w, b, ta, tw, tb, nt, teacher_term, train_a, bias, rel_eps, H):
    """H[:, j] = (g(theta + e_j) - g(theta - e_j)) / (2 e_j), e_j = rel_eps max(1, |theta_j|); then
    symmetrised. Columns in prange, each with its own copies of the state."""
    n = H.shape[0]
    theta = np.empty(n)
    pack(a, w, b, train_a, bias, theta)
    for j in prange(n):
        ca, cw, cb = a.copy(), w.copy(), b.copy()
        th = theta.copy()
        plus, minus = np.empty(n), np.empty(n)
        step = rel_eps * max(1.0, abs(theta[j]))
        th[j] = theta[j] + step
        packed_gradient(th, ca, cw, cb, ta, tw, tb, nt, teacher_term, train_a, bias, plus)
        th[j] = theta[j] - step
        packed_gradient(th, ca, cw, cb, ta, tw, tb, nt, teacher_term, train_a, bias, minus)
        for i in range(n):
            H[i, j] = (plus[i] - minus[i]) / (2.0 * step)
    for i in range(n):
        for j in range(i + 1, n):
            s = 0.5 * (H[i, j] + H[j, i])
            H[i, j] = s
            H[j, i] = s


def hessian(a, w, b, ta, tw, tb, *, bias=True, train_a=True, eps=HESSIAN_EPS):
    """The Hessian of the exact population loss in the trained parameters, packed as
    [a (if ``train_a``), w (m*d, row by row), b (if ``bias``)]: central differences of the closed-form
    gradient (step eps max(1, |theta_j|)), symmetrised. O(P (m + M) m) moments for P parameters."""
    a, w, b, ta, tw, tb = _f64(a, w, b, ta, tw, tb)
    if not bias:
        b, tb = np.zeros_like(b), np.zeros_like(tb)
    nt, tt = teacher_norms_and_term(ta, tw, tb)
    m, d = w.shape
    n = m * d + (m if train_a else 0) + (m if bias else 0)
    H = np.empty((n, n))
    hessian_fd(a, w, b, ta, tw, tb, nt, tt, bool(train_a), bool(bias), float(eps), H)
    return H


def hessian_eigenvalues(a, w, b, ta, tw, tb, *, k=3, bias=True, train_a=True, eps=HESSIAN_EPS):
    """The ``k`` smallest eigenvalues (ascending) of :func:`hessian`: all >= -tol at a minimum."""
    H = hessian(a, w, b, ta, tw, tb, bias=bias, train_a=train_a, eps=eps)
    return np.linalg.eigvalsh(H)[:k]
