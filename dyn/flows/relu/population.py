"""The exact population loss of a ReLU student against a ReLU teacher with Gaussian inputs.

For x ~ N(0, I_d), two neurons give jointly Gaussian pre-activations U = w1.x + b1, V = w2.x + b2
(means b1, b2, standard deviations |w1|, |w2|, correlation rho = w1.w2 / (|w1||w2|)), and

    K = E[relu(U) relu(V)] = s1 s2 E[(X + h)(Y + k); X > -h, Y > -k],  h = b1/s1, k = b2/s2,

with (X, Y) standard bivariate normal of correlation rho. The truncated moments (Rosenbaum 1961)
need the bivariate normal upper tail P(X > h, Y > k), computed by Genz's method ("Numerical
computation of rectangular bivariate and trivariate normal and t probabilities", Statistics and
Computing 14, 2004). Then, with f = 1/m sum a_i relu(.), f* = 1/M sum ta_j relu(.):

    L = 1/2 E(f - f*)^2 = 1/2 [a'K a / m^2 - 2 a'K* ta / (m M) + ta'K** ta / M^2].

Degenerate cases are exact: |w| = 0 (a constant relu(b)) and |rho| = 1 (aligned or opposite
neurons, the converged state) use one-dimensional formulas.
"""

import math

import numpy as np
from numba import njit, prange

RHO_ONE = 1e-12  # 1 - |rho| below this: use the rho = +-1 formula (error <= s1 s2 * RHO_ONE)
SIGMA_ZERO = 1e-300
PARALLEL_PAIRS = 2_000_000  # above this many neuron pairs, integrate snapshots in parallel

_GL_W = np.array([
    [0.1713244923791705, 0.3607615730481384, 0.4679139345726904, 0, 0, 0, 0, 0, 0, 0],
    [0.04717533638651177, 0.1069393259953183, 0.1600783285433464, 0.2031674267230659, 0.2334925365383547,
     0.2491470458134029, 0, 0, 0, 0],
    [0.01761400713915212, 0.04060142980038694, 0.06267204833410906, 0.08327674157670475, 0.1019301198172404,
     0.1181945319615184, 0.1316886384491766, 0.1420961093183821, 0.1491729864726037, 0.1527533871307259]])
_GL_X = np.array([
    [0.9324695142031522, 0.6612093864662647, 0.2386191860831970, 0, 0, 0, 0, 0, 0, 0],
    [0.9815606342467191, 0.9041172563704750, 0.7699026741943050, 0.5873179542866171, 0.3678314989981802,
     0.1252334085114692, 0, 0, 0, 0],
    [0.9931285991850949, 0.9639719272779138, 0.9122344282513259, 0.8391169718222188, 0.7463319064601508,
     0.6360536807265150, 0.5108670019508271, 0.3737060887154196, 0.2277858511416451, 0.07652652113349733]])
_GL_N = np.array([3, 6, 10])
TWO_PI = 2.0 * math.pi


@njit(cache=True)
def norm_cdf(z):
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


@njit(cache=True)
def norm_pdf(z):
    return math.exp(-0.5 * z * z) / math.sqrt(TWO_PI)


@njit(cache=True)
def gl_weight(row, i):
    return _GL_W[row, i]


@njit(cache=True)
def gl_node(row, i):
    return _GL_X[row, i]


@njit(cache=True)
def bvn_upper(dh, dk, r):
    """P(X > dh, Y > dk) for standard bivariate normal (X, Y) of correlation r (Genz's bvnu)."""
    if r == 0.0:
        return norm_cdf(-dh) * norm_cdf(-dk)
    row = 0 if abs(r) < 0.3 else (1 if abs(r) < 0.75 else 2)
    n = _GL_N[row]
    h, k = dh, dk
    hk = h * k
    bvn = 0.0
    if abs(r) < 0.925:
        hs = (h * h + k * k) / 2.0
        asr = math.asin(r) / 2.0
        for i in range(n):
            for sign in (-1.0, 1.0):
                sn = math.sin(asr * (1.0 + sign * gl_node(row, i)))
                bvn += gl_weight(row, i) * math.exp((sn * hk - hs) / (1.0 - sn * sn))
        return bvn * asr / TWO_PI + norm_cdf(-h) * norm_cdf(-k)
    if r < 0.0:
        k = -k
        hk = -hk
    if abs(r) < 1.0:
        as_ = (1.0 - r) * (1.0 + r)
        a = math.sqrt(as_)
        bs = (h - k) ** 2
        c = (4.0 - hk) / 8.0
        d = (12.0 - hk) / 80.0
        asr = -(bs / as_ + hk) / 2.0
        if asr > -100.0:
            bvn = a * math.exp(asr) * (1.0 - c * (bs - as_) * (1.0 - d * bs) / 3.0 + c * d * as_ * as_)
        if hk > -100.0:
            b = math.sqrt(bs)
            sp = math.sqrt(TWO_PI) * norm_cdf(-b / a)
            bvn -= math.exp(-hk / 2.0) * sp * b * (1.0 - c * bs * (1.0 - d * bs) / 3.0)
        a = a / 2.0
        total = 0.0
        for i in range(n):
            for sign in (-1.0, 1.0):
                xs = (a * (1.0 + sign * gl_node(row, i))) ** 2
                asr = -(bs / xs + hk) / 2.0
                if asr > -100.0:
                    rs = math.sqrt(1.0 - xs)
                    sp = 1.0 + c * xs * (1.0 + 5.0 * d * xs)
                    ep = math.exp(-(hk / 2.0) * xs / (1.0 + rs) ** 2) / rs
                    total += gl_weight(row, i) * math.exp(asr) * (sp - ep)
        bvn = (a * total - bvn) / TWO_PI
    if r > 0.0:
        return bvn + norm_cdf(-max(h, k))
    if h >= k:
        return -bvn
    if h < 0.0:
        lo = norm_cdf(k) - norm_cdf(h)
    else:
        lo = norm_cdf(-h) - norm_cdf(-k)
    return lo - bvn


@njit(cache=True)
def relu_mean(mu, s):
    """E[relu(U)], U ~ N(mu, s^2)."""
    if s <= SIGMA_ZERO:
        return max(mu, 0.0)
    t = mu / s
    return mu * norm_cdf(t) + s * norm_pdf(t)


@njit(cache=True)
def truncated_moments(a, b, rho):
    """P, E[X], E[Y], E[XY] on the region X > a, Y > b of a standard bivariate normal, |rho| < 1
    (Rosenbaum 1961): the moments relu_moment and its gradient are made of."""
    s = math.sqrt((1.0 - rho) * (1.0 + rho))
    mass = bvn_upper(a, b, rho)
    qa = norm_cdf(-(b - rho * a) / s)  # P(Y > b | X = a)
    qb = norm_cdf(-(a - rho * b) / s)
    ex = norm_pdf(a) * qa + rho * norm_pdf(b) * qb  # E[X; region]
    ey = norm_pdf(b) * qb + rho * norm_pdf(a) * qa
    dens = math.exp(-(a * a - 2.0 * rho * a * b + b * b) / (2.0 * s * s)) / (TWO_PI * s)
    exy = rho * mass + rho * a * norm_pdf(a) * qa + rho * b * norm_pdf(b) * qb + s * s * dens
    return mass, ex, ey, exy


@njit(cache=True)
def relu_moment(mu1, s1, mu2, s2, rho):
    """E[relu(U) relu(V)] for jointly Gaussian U ~ N(mu1, s1^2), V ~ N(mu2, s2^2), corr(U, V) = rho."""
    if s1 <= SIGMA_ZERO:
        return max(mu1, 0.0) * relu_mean(mu2, s2)
    if s2 <= SIGMA_ZERO:
        return max(mu2, 0.0) * relu_mean(mu1, s1)
    h, k = mu1 / s1, mu2 / s2
    rho = min(1.0, max(-1.0, rho))
    if rho >= 1.0 - RHO_ONE:  # U = mu1 + s1 Z, V = mu2 + s2 Z, both positive for Z > t
        t = max(-h, -k)
        q, p = norm_cdf(-t), norm_pdf(t)
        return mu1 * mu2 * q + (mu1 * s2 + mu2 * s1) * p + s1 * s2 * (t * p + q)
    if rho <= -1.0 + RHO_ONE:  # V = mu2 - s2 Z: both positive for -h < Z < k
        lo, hi = -h, k
        if lo >= hi:
            return 0.0
        mass = norm_cdf(hi) - norm_cdf(lo)
        first = norm_pdf(lo) - norm_pdf(hi)  # integral of Z phi(Z)
        second = mass + lo * norm_pdf(lo) - hi * norm_pdf(hi)  # integral of Z^2 phi(Z)
        return mu1 * mu2 * mass + (s1 * mu2 - mu1 * s2) * first - s1 * s2 * second
    mass, ex, ey, exy = truncated_moments(-h, -k, rho)
    return s1 * s2 * (exy + k * ex + h * ey + h * k * mass)


@njit(cache=True)
def pair_moment(w1, b1, n1, w2, b2, n2):
    """relu_moment of neurons (w1, b1), (w2, b2) with |w1| = n1, |w2| = n2."""
    dot = 0.0
    for q in range(w1.shape[0]):
        dot += w1[q] * w2[q]
    rho = dot / (n1 * n2) if n1 > SIGMA_ZERO and n2 > SIGMA_ZERO else 0.0
    return relu_moment(b1, n1, b2, n2, rho)


@njit(cache=True)
def cross_term(a, w, b, na, ta, tw, tb, nt, same):
    """sum_ij a_i ta_j K(i, j); with ``same`` the sets are equal and K symmetric (each pair once)."""
    total = 0.0
    for i in range(a.shape[0]):
        j0 = i if same else 0
        for j in range(j0, ta.shape[0]):
            term = a[i] * ta[j] * pair_moment(w[i], b[i], na[i], tw[j], tb[j], nt[j])
            total += term if (not same or j == i) else 2.0 * term
    return total


@njit(cache=True)
def snapshot_loss(a, w, b, ta, tw, tb, nt, teacher_term):
    """1/2 E(f - f*)^2 of one snapshot a (m,), w (m, d), b (m,); NaN if it holds NaN."""
    m, M = a.shape[0], ta.shape[0]
    na = np.empty(m)
    for i in range(m):
        sq = a[i] + b[i]
        acc = 0.0
        for q in range(w.shape[1]):
            acc += w[i, q] * w[i, q]
            sq += w[i, q]
        if not np.isfinite(sq):
            return np.nan
        na[i] = math.sqrt(acc)
    student = cross_term(a, w, b, na, a, w, b, na, True) / (m * m)
    cross = cross_term(a, w, b, na, ta, tw, tb, nt, False) / (m * M)
    return 0.5 * (student - 2.0 * cross + teacher_term)


@njit(cache=True)
def teacher_norms_and_term(ta, tw, tb):
    nt = np.empty(ta.shape[0])
    for j in range(ta.shape[0]):
        acc = 0.0
        for q in range(tw.shape[1]):
            acc += tw[j, q] * tw[j, q]
        nt[j] = math.sqrt(acc)
    M = ta.shape[0]
    return nt, cross_term(ta, tw, tb, nt, ta, tw, tb, nt, True) / (M * M)


@njit(cache=True)
def _population_loss(a, w, b, ta, tw, tb):
    nt, tt = teacher_norms_and_term(ta, tw, tb)
    out = np.empty(a.shape[0])
    for s in range(a.shape[0]):
        out[s] = snapshot_loss(a[s], w[s], b[s], ta, tw, tb, nt, tt)
    return out


@njit(cache=True, parallel=True)
def _population_loss_parallel(a, w, b, ta, tw, tb):
    nt, tt = teacher_norms_and_term(ta, tw, tb)
    out = np.empty(a.shape[0])
    for s in prange(a.shape[0]):
        out[s] = snapshot_loss(a[s], w[s], b[s], ta, tw, tb, nt, tt)
    return out


@njit(cache=True, parallel=True)
def _monte_carlo_loss(a, w, b, ta, tw, tb, x):
    S, m = a.shape
    M = ta.shape[0]
    out = np.empty(S)
    for s in prange(S):
        total = 0.0
        for i in range(x.shape[0]):
            f = 0.0
            for k in range(m):
                z = b[s, k]
                for q in range(x.shape[1]):
                    z += w[s, k, q] * x[i, q]
                f += a[s, k] * max(z, 0.0)
            y = 0.0
            for j in range(M):
                z = tb[j]
                for q in range(x.shape[1]):
                    z += tw[j, q] * x[i, q]
                y += ta[j] * max(z, 0.0)
            e = f / m - y / M
            total += 0.5 * e * e
        out[s] = total / x.shape[0]
    return out


def _f64(*arrays):
    return [np.ascontiguousarray(v, dtype=np.float64) for v in arrays]


def population_loss(a, w, b, ta, tw, tb):
    """1/2 E(f - f*)^2 for S snapshots: a (S, m), w (S, m, d), b (S, m); teacher (M,), (M, d), (M,).

    Returns (S,); a snapshot holding NaN gives NaN. Snapshots run in parallel only when there are
    many pairs of neurons to integrate (the parallel kernel costs seconds to compile, once).
    """
    args = _f64(a, w, b, ta, tw, tb)
    pairs = args[0].shape[0] * (args[0].shape[1] + len(args[3])) ** 2
    return (_population_loss_parallel if pairs > PARALLEL_PAIRS else _population_loss)(*args)


def monte_carlo_loss(a, w, b, ta, tw, tb, x):
    """The same loss estimated on a fixed test set x (n, d): the mean of 1/2 (f - f*)^2."""
    return _monte_carlo_loss(*_f64(a, w, b, ta, tw, tb, x))
