"""CPU kernels of the som flow: many steps per call, snapshots into preallocated records.

Per-element math (decays, neighbourhoods, torus wrap) lives in scalar ``@njit`` helpers, as MiniSom
2.3.6 writes it (decays of ``t`` over ``max_iter`` = ``steps``; the gaussian as a product of two
exponentials; bubble and triangle on index distances). Codes are config.DECAY_CODES and
config.NEIGHBOURHOOD_CODES (4: the forum's gaussian exp(-d^2 / (2 sigma^2 + 1e-5))).

On a rectangular grid every neighbourhood but the mexican hat is a product of a row factor and a
column factor (``sep``): a winner's row then costs rows + cols evaluations, and spreading unit sums
over the map (sum_c h(c, k) Z_c, the batch rules' one product) is two small products instead of one
K x K product. Otherwise the K x K matrix H is built (again only when sigma changed).
"""

import math

import numpy as np
from numba import njit, prange

NORM_EPS = 1e-12  # torch.nn.functional.normalize's eps


@njit(cache=True)
def decay(code, v0, t, T):
    """MiniSom 2.3.6's decay functions of the initial value v0 at iteration t of T (0: constant)."""
    if code == 1:  # asymptotic_decay
        return v0 / (1 + t / (T / 2))
    if code == 2:  # inverse_decay_to_zero
        C = T / 100.0
        return v0 * C / (C + t)
    if code == 3:  # linear_decay_to_zero
        return v0 * (1 - t / T)
    if code == 4:  # inverse_decay_to_one
        C = (v0 - 1) / T
        return v0 / (1 + (t * C))
    if code == 5:  # linear_decay_to_one
        return v0 + (t * (1 - v0) / T)
    return v0


@njit(cache=True)
def wrap(delta, period):
    """The difference on a circle of ``period``; period 0 leaves it as it is."""
    if period <= 0.0:
        return delta
    a = abs(delta) % period
    return min(a, period - a)


@njit(cache=True)
def axis_factor(code, delta, sigma):
    """One axis' factor of a separable neighbourhood (gaussian, bubble, triangle, forum gaussian)."""
    if code == 0:
        return math.exp(-(delta * delta) / (2 * sigma * sigma))
    if code == 2:
        return 1.0 if (delta > -sigma and delta < sigma) else 0.0
    if code == 3:
        t = (-abs(delta)) + sigma
        return t if t > 0.0 else 0.0
    return math.exp(-(delta * delta) / (2.0 * sigma * sigma + 1e-5))


@njit(cache=True)
def neighbourhood(code, dx, dy, di, dj, sigma):
    """h between two units whose plane positions differ by (dx, dy) and indices by (di, dj)."""
    if code == 1:  # mexican hat
        p = dx * dx + dy * dy
        d = 2 * sigma * sigma
        return math.exp(-p / d) * (1 - 2 / d * p)
    if code == 4:  # the forum's: exp(-d^2 / (2 sigma^2 + 1e-5))
        return math.exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma + 1e-5))
    if code == 0:
        return axis_factor(0, dx, sigma) * axis_factor(0, dy, sigma)
    return axis_factor(code, di, sigma) * axis_factor(code, dj, sigma)


@njit(cache=True)
def pair(code, a, b, gi, gj, gx, gy, periods, sigma):
    """h(a, b) for units a and b."""
    return neighbourhood(code, wrap(gx[b] - gx[a], periods[0]), wrap(gy[b] - gy[a], periods[1]),
                         wrap(float(gi[b] - gi[a]), periods[2]), wrap(float(gj[b] - gj[a]), periods[3]), sigma)


@njit(cache=True)
def neighbour_row(code, c, gi, gj, gx, gy, periods, sep, rows, cols, sigma, fa, fb, h):
    """h[k] = h(c, k) for every unit k around the winner c."""
    if sep:
        for i in range(rows):
            fa[i] = axis_factor(code, wrap(float(i - gi[c]), periods[2]), sigma)
        for j in range(cols):
            fb[j] = axis_factor(code, wrap(float(j - gj[c]), periods[3]), sigma)
        for k in range(h.shape[0]):
            h[k] = fa[gi[k]] * fb[gj[k]]
    else:
        for k in range(h.shape[0]):
            h[k] = pair(code, c, k, gi, gj, gx, gy, periods, sigma)


@njit(cache=True)
def neighbour_tables(code, gi, gj, gx, gy, periods, sep, rows, cols, sigma, FA, FB, H):
    """Row and column factor tables (separable) or the K x K matrix H."""
    if sep:
        for a in range(rows):
            for b in range(rows):
                FA[a, b] = axis_factor(code, wrap(float(b - a), periods[2]), sigma)
        for a in range(cols):
            for b in range(cols):
                FB[a, b] = axis_factor(code, wrap(float(b - a), periods[3]), sigma)
    else:
        for a in range(H.shape[0]):
            for b in range(H.shape[0]):
                H[a, b] = pair(code, a, b, gi, gj, gx, gy, periods, sigma)


@njit(cache=True)
def neighbourhood_matrix(code, gi, gj, gx, gy, periods, sigma):
    """(K, K) h(a, b): for measurements and tests."""
    K = gi.shape[0]
    H = np.empty((K, K))
    for a in range(K):
        for b in range(K):
            H[a, b] = pair(code, a, b, gi, gj, gx, gy, periods, sigma)
    return H


@njit(cache=True)
def spread(sep, rows, cols, FA, FB, H, Z, out, tmp):
    """out[k] = sum_c h(c, k) Z[c] (Z: (K, m) C-contiguous); tmp: (K, m) scratch for the separable path.

    Separable: along the columns tmp[(a, j)] = sum_b FB[b, j] Z[(a, b)] (one small product per row a),
    then along the rows out[(i, j)] = sum_a FA[a, i] tmp[(a, j)] (one product). The factor tables are
    symmetric (functions of |index difference|), so FB and FA serve as their own transposes.
    """
    m = Z.shape[1]
    if not sep:
        np.dot(H, Z, out)  # H is symmetric
        return
    for a in range(rows):
        np.dot(FB, Z[a * cols:(a + 1) * cols], tmp[a * cols:(a + 1) * cols])
    np.dot(FA, tmp.reshape((rows, cols * m)), out.reshape((rows, cols * m)))


@njit(cache=True)
def first_of_equal_norms(d2, c, best):
    """MiniSom takes the first argmin of the norms sqrt(d2): an earlier unit whose squared distance
    differs from the best by rounding only may share its norm."""
    near = best * (1.0 + 1e-15)
    if near > best:
        s = math.sqrt(best)
        for k in range(c):
            if d2[k, 0] <= near and math.sqrt(d2[k, 0]) == s:
                return k
    return c


@njit(cache=True, nogil=True)
def run_online(w, X, order, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code, heskes,
               gi, gj, gx, gy, periods, sep, rows, cols, snap, slot0):
    """Online Kohonen (MiniSom's ``train``/``update``) or Heskes' rule, one sample a step.

    The weights are worked on transposed (D, K), so that the loops over units are contiguous.
    Returns -1, or the global step whose distance to the winner was not finite.
    """
    K, D = w.shape
    wt = np.ascontiguousarray(w.T)
    h = np.empty(K)
    fa = np.empty(rows)
    fb = np.empty(cols)
    d2 = np.empty((K, 1))
    e = np.empty((K, 1))
    FA = np.empty((rows, rows))
    FB = np.empty((cols, cols))
    H = np.empty((K, K) if not sep else (1, 1))
    tmp = np.empty((K, 1))
    s = 0
    status = -1
    table_sigma = np.nan  # sigma of the Heskes tables FA, FB, H (none built yet)
    for f in range(frame_steps.shape[0]):
        for _ in range(frame_steps[f]):
            t = step0 + s
            eta = decay(lr_code, lr0, t, T)
            sig = decay(sg_code, sigma0, t, T)
            x = X[order[s]]
            d2[:, 0] = 0.0
            for q in range(D):
                xq = x[q]
                row = wt[q]
                for k in range(K):
                    diff = xq - row[k]
                    d2[k, 0] += diff * diff
            c = 0
            best = d2[0, 0]
            for k in range(1, K):
                if d2[k, 0] < best:
                    best = d2[k, 0]
                    c = k
            if not math.isfinite(best):
                status = t + 1
                break
            c = first_of_equal_norms(d2, c, best)
            if heskes:  # the winner minimises sum_j h(k, j) |x - w_j|^2
                if sig != table_sigma:  # the tables depend on sigma alone: rebuilt only when it changed
                    neighbour_tables(code, gi, gj, gx, gy, periods, sep, rows, cols, sig, FA, FB, H)
                    table_sigma = sig
                spread(sep, rows, cols, FA, FB, H, d2, e, tmp)
                c = 0
                for k in range(1, K):
                    if e[k, 0] < e[c, 0]:
                        c = k
            neighbour_row(code, c, gi, gj, gx, gy, periods, sep, rows, cols, sig, fa, fb, h)
            for k in range(K):
                h[k] = h[k] * eta
            for q in range(D):
                xq = x[q]
                row = wt[q]
                for k in range(K):
                    row[k] += h[k] * (xq - row[k])
            s += 1
        if status >= 0:
            break
        for k in range(K):
            for q in range(D):
                snap[slot0 + f, k, q] = wt[q, k]
    w[:, :] = wt.T
    return status


@njit(cache=True, nogil=True)
def run_batch(w, X, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code,
              gi, gj, gx, gy, periods, sep, rows, cols, snap, slot0):
    """MiniSom's ``train_batch_offline``: per epoch, w <- (1 - lr) w + lr sum_b h x_b / sum_b h."""
    K, D = w.shape
    n = X.shape[0]
    chunk = min(n, 2048)
    G = np.empty((chunk, K))
    wT = np.empty((D, K))
    xsq = np.empty(n)
    for b in range(n):
        acc = 0.0
        for q in range(D):
            acc += X[b, q] * X[b, q]
        xsq[b] = acc
    wsq = np.empty(K)
    Xsum = np.empty((K, D))
    cnt = np.empty((K, 1))
    num = np.empty((K, D))
    den = np.empty((K, 1))
    tmpD = np.empty((K, D))
    tmp1 = np.empty((K, 1))
    FA = np.empty((rows, rows))
    FB = np.empty((cols, cols))
    H = np.empty((K, K) if not sep else (1, 1))
    s = 0
    for f in range(frame_steps.shape[0]):
        for _ in range(frame_steps[f]):
            t = step0 + s
            eta = decay(lr_code, lr0, t, T)
            sig = decay(sg_code, sigma0, t, T)
            for k in range(K):
                acc = 0.0
                for q in range(D):
                    acc += w[k, q] * w[k, q]
                wsq[k] = acc
            Xsum[:, :] = 0.0
            cnt[:, :] = 0.0
            for k in range(K):
                for q in range(D):
                    wT[q, k] = w[k, q]
            for lo in range(0, n, chunk):
                hi = min(n, lo + chunk)
                Gc = G[:hi - lo]
                np.dot(X[lo:hi], wT, Gc)
                for b in range(hi - lo):
                    c = 0
                    best = np.inf
                    for k in range(K):
                        v = xsq[lo + b] + wsq[k] - 2.0 * Gc[b, k]
                        if v < best:
                            best = v
                            c = k
                    cnt[c, 0] += 1.0
                    for q in range(D):
                        Xsum[c, q] += X[lo + b, q]
            neighbour_tables(code, gi, gj, gx, gy, periods, sep, rows, cols, sig, FA, FB, H)
            spread(sep, rows, cols, FA, FB, H, Xsum, num, tmpD)
            spread(sep, rows, cols, FA, FB, H, cnt, den, tmp1)
            for k in range(K):
                if den[k, 0] > 0:
                    for q in range(D):
                        w[k, q] = (1 - eta) * w[k, q] + eta * (num[k, q] / den[k, 0])
            for k in range(K):
                for q in range(D):
                    if not math.isfinite(w[k, q]):
                        return t + 1
            s += 1
        snap[slot0 + f] = w
    return -1


@njit(cache=True, nogil=True)
def run_topographic(w, buf, X, order, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code, momentum,
                    B, normalize, project, gi, gj, gx, gy, periods, sep, rows, cols, snap, loss_rec, slot0):
    """The forum's layer trained by SGD with momentum (torch's convention), one batch of B samples a step.

    loss = 1/B sum_b sum_k h(c_b, k) |z_b - w_k|^2 on L2-normalised copies (``normalize``), c_b the
    argmin. The batch is grouped by winner: Zsum_c = sum_{b: c_b = c} z_b, then A = H^T Zsum in one
    product, and d loss / d w_k = 2/B (S_k w_k - A_k) with S = H^T counts; through the normalisation
    the chain rule projects it on the tangent space and divides by |w_k|.
    """
    K, D = w.shape
    What = np.empty((K, D))
    WT = np.empty((D, K))
    nw = np.empty(K)
    wsq = np.empty(K)
    Zb = np.empty((B, D))
    zsq = np.empty(B)
    G = np.empty((B, K))
    dist = np.empty(K)
    Zsum = np.empty((K, D))
    A = np.empty((K, D))
    tmpD = np.empty((K, D))
    small = np.empty((K, 2))
    spread2 = np.empty((K, 2))
    tmp2 = np.empty((K, 2))
    FA = np.empty((rows, rows))
    FB = np.empty((cols, cols))
    H = np.empty((K, K) if not sep else (1, 1))
    last_sigma = -1.0
    s = 0
    for f in range(frame_steps.shape[0]):
        frame_loss = 0.0
        for _ in range(frame_steps[f]):
            t = step0 + s
            eta = decay(lr_code, lr0, t, T)
            sig = decay(sg_code, sigma0, t, T)
            for k in range(K):
                acc = 0.0
                for q in range(D):
                    acc += w[k, q] * w[k, q]
                nk = max(math.sqrt(acc), NORM_EPS) if normalize else 1.0
                nw[k] = nk
                acc = 0.0
                for q in range(D):
                    v = w[k, q] / nk
                    What[k, q] = v
                    WT[q, k] = v
                    acc += v * v
                wsq[k] = acc
            base = s * B
            for b in range(B):
                x = X[order[base + b]]
                acc = 0.0
                for q in range(D):
                    acc += x[q] * x[q]
                nz = max(math.sqrt(acc), NORM_EPS) if normalize else 1.0
                acc = 0.0
                for q in range(D):
                    v = x[q] / nz
                    Zb[b, q] = v
                    acc += v * v
                zsq[b] = acc
            np.dot(Zb, WT, G)
            Zsum[:, :] = 0.0
            small[:, :] = 0.0  # column 0: winners per unit; column 1: sum of |z|^2 per winner
            for b in range(B):
                zb = zsq[b]
                row = G[b]
                for k in range(K):  # a branch-free pass (vectorises), then the first argmin
                    dist[k] = zb + wsq[k] - 2.0 * row[k]
                c = np.argmin(dist)
                small[c, 0] += 1.0
                small[c, 1] += zsq[b]
                for q in range(D):
                    Zsum[c, q] += Zb[b, q]
            if sig != last_sigma:
                neighbour_tables(code, gi, gj, gx, gy, periods, sep, rows, cols, sig, FA, FB, H)
                last_sigma = sig
            spread(sep, rows, cols, FA, FB, H, Zsum, A, tmpD)
            spread(sep, rows, cols, FA, FB, H, small, spread2, tmp2)
            loss = 0.0
            for k in range(K):
                dot = 0.0
                for q in range(D):
                    dot += What[k, q] * A[k, q]
                loss += spread2[k, 1] + spread2[k, 0] * wsq[k] - 2.0 * dot
            loss /= B
            if not math.isfinite(loss):
                return t + 1
            frame_loss += loss
            scale = 2.0 / B
            for k in range(K):
                S = spread2[k, 0]
                proj = 0.0
                for q in range(D):
                    g = scale * (S * What[k, q] - A[k, q])
                    tmpD[k, q] = g
                    proj += What[k, q] * g
                for q in range(D):
                    g = tmpD[k, q]
                    if normalize:
                        g = (g - What[k, q] * proj) / nw[k]
                    buf[k, q] = momentum * buf[k, q] + g
                    w[k, q] -= eta * buf[k, q]
                if project:
                    acc = 0.0
                    for q in range(D):
                        acc += w[k, q] * w[k, q]
                    nk = max(math.sqrt(acc), NORM_EPS)
                    for q in range(D):
                        w[k, q] /= nk
            s += 1
        snap[slot0 + f] = w
        loss_rec[slot0 + f] = frame_loss / frame_steps[f]
    return -1


@njit(cache=True, nogil=True)
def _online_replica(r, W, X, order, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code, heskes,
                    gi, gj, gx, gy, periods, sep, rows, cols, snap, slot0, diverged_at):
    if diverged_at[r] < 0:
        o = order[r] if order.shape[0] > 1 else order[0]
        diverged_at[r] = run_online(W[r], X, o, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code,
                                    heskes, gi, gj, gx, gy, periods, sep, rows, cols, snap[r], slot0)


@njit(cache=True, parallel=True, nogil=True)
def advance_online(W, X, order, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code, heskes,
                   gi, gj, gx, gy, periods, sep, rows, cols, snap, slot0, diverged_at):
    """Every live replica through one block of frames; replicas in parallel, each sequential."""
    for r in prange(W.shape[0]):
        _online_replica(r, W, X, order, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code, heskes,
                        gi, gj, gx, gy, periods, sep, rows, cols, snap, slot0, diverged_at)


@njit(cache=True, nogil=True)
def advance_online_serial(W, X, order, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code, heskes,
                          gi, gj, gx, gy, periods, sep, rows, cols, snap, slot0, diverged_at):
    """:func:`advance_online` on the calling thread (one replica: no parallel region to pay for)."""
    for r in range(W.shape[0]):
        _online_replica(r, W, X, order, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code, heskes,
                        gi, gj, gx, gy, periods, sep, rows, cols, snap, slot0, diverged_at)


@njit(cache=True, nogil=True)
def _batch_replica(r, W, X, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code,
                   gi, gj, gx, gy, periods, sep, rows, cols, snap, slot0, diverged_at):
    if diverged_at[r] < 0:
        diverged_at[r] = run_batch(W[r], X, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code,
                                   gi, gj, gx, gy, periods, sep, rows, cols, snap[r], slot0)


@njit(cache=True, parallel=True, nogil=True)
def advance_batch(W, X, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code,
                  gi, gj, gx, gy, periods, sep, rows, cols, snap, slot0, diverged_at):
    for r in prange(W.shape[0]):
        _batch_replica(r, W, X, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code,
                       gi, gj, gx, gy, periods, sep, rows, cols, snap, slot0, diverged_at)


@njit(cache=True, nogil=True)
def advance_batch_serial(W, X, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code,
                         gi, gj, gx, gy, periods, sep, rows, cols, snap, slot0, diverged_at):
    for r in range(W.shape[0]):
        _batch_replica(r, W, X, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code,
                       gi, gj, gx, gy, periods, sep, rows, cols, snap, slot0, diverged_at)


@njit(cache=True, nogil=True)
def _topographic_replica(r, W, BUF, X, order, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code,
                         momentum, B, normalize, project, gi, gj, gx, gy, periods, sep, rows, cols, snap,
                         loss_rec, slot0, diverged_at):
    if diverged_at[r] < 0:
        o = order[r] if order.shape[0] > 1 else order[0]
        diverged_at[r] = run_topographic(W[r], BUF[r], X, o, frame_steps, step0, T, lr0, lr_code, sigma0,
                                         sg_code, code, momentum, B, normalize, project, gi, gj, gx, gy,
                                         periods, sep, rows, cols, snap[r], loss_rec[r], slot0)


@njit(cache=True, parallel=True, nogil=True)
def advance_topographic(W, BUF, X, order, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code, momentum,
                        B, normalize, project, gi, gj, gx, gy, periods, sep, rows, cols, snap, loss_rec, slot0,
                        diverged_at):
    for r in prange(W.shape[0]):
        _topographic_replica(r, W, BUF, X, order, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code,
                             momentum, B, normalize, project, gi, gj, gx, gy, periods, sep, rows, cols, snap,
                             loss_rec, slot0, diverged_at)


@njit(cache=True, nogil=True)
def advance_topographic_serial(W, BUF, X, order, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code,
                               momentum, B, normalize, project, gi, gj, gx, gy, periods, sep, rows, cols, snap,
                               loss_rec, slot0, diverged_at):
    for r in range(W.shape[0]):
        _topographic_replica(r, W, BUF, X, order, frame_steps, step0, T, lr0, lr_code, sigma0, sg_code, code,
                             momentum, B, normalize, project, gi, gj, gx, gy, periods, sep, rows, cols, snap,
                             loss_rec, slot0, diverged_at)


@njit(cache=True, nogil=True)
def measure_snapshot(w, X, xsq, H, adj, out):
    """out = (QE, TE, topographic loss, Heskes energy) of weights w (K, D) on data X (n, D).

    Distances as MiniSom expands them, sqrt(max(0, |x|^2 + |w|^2 - 2 x.w)); the two best units by
    those distances; the Heskes energy through sum_k h(c, k) |x - w_k|^2 = |x|^2 s_c + q_c - 2 x.m_c
    with s = H 1, q = H |w|^2, m = H w.
    """
    K, D = w.shape
    n = X.shape[0]
    wsq = np.empty(K)
    WMT = np.empty((D, 2 * K))  # [w^T | (H w)^T]: one product gives x.w_k and x.m_c
    for k in range(K):
        acc = 0.0
        for q in range(D):
            acc += w[k, q] * w[k, q]
            WMT[q, k] = w[k, q]
        wsq[k] = acc
    M = np.dot(H, w)
    for k in range(K):
        for q in range(D):
            WMT[q, K + k] = M[k, q]
    hs = np.empty(K)
    hq = np.empty(K)
    for c in range(K):
        a = 0.0
        b = 0.0
        for k in range(K):
            a += H[c, k]
            b += H[c, k] * wsq[k]
        hs[c] = a
        hq[c] = b
    chunk = min(n, 1024)
    G = np.empty((chunk, 2 * K))
    d2 = np.empty(K)
    qe = 0.0
    te = 0.0
    loss = 0.0
    energy = 0.0
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        Gc = G[:hi - lo]
        np.dot(X[lo:hi], WMT, Gc)
        for b in range(hi - lo):
            x = X[lo + b]
            c1 = 0
            best = np.inf
            for k in range(K):
                v = max(0.0, -2.0 * Gc[b, k] + xsq[lo + b] + wsq[k])
                d2[k] = v
                if v < best:
                    best = v
                    c1 = k
            c2 = -1
            second = np.inf
            for k in range(K):
                if k != c1 and d2[k] < second:
                    second = d2[k]
                    c2 = k
            acc = 0.0
            for q in range(D):
                diff = x[q] - w[c1, q]
                acc += diff * diff
            qe += math.sqrt(acc)
            if c2 >= 0 and not adj[c1, c2]:
                te += 1.0
            acc = 0.0
            for k in range(K):
                acc += H[c1, k] * d2[k]
            loss += acc
            low = np.inf
            for c in range(K):
                v = xsq[lo + b] * hs[c] + hq[c] - 2.0 * Gc[b, K + c]
                if v < low:
                    low = v
            energy += low
    out[0] = qe / n
    out[1] = te / n
    out[2] = loss / n
    out[3] = energy / n


@njit(cache=True, parallel=True, nogil=True)
def measure_many(W, X, xsq, H, which, adj, out):
    """measure_snapshot for snapshots W (N, K, D), with the neighbourhood H[which[i]]; NaN weights skipped."""
    for i in prange(W.shape[0]):
        ok = True
        for k in range(W.shape[1]):
            for q in range(W.shape[2]):
                if not math.isfinite(W[i, k, q]):
                    ok = False
        if ok:
            measure_snapshot(W[i], X, xsq, H[which[i]], adj, out[i])
