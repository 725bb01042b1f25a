"""CPU kernels of the som flow's rules: many steps per call, snapshots into preallocated records.

The per-element math (decays, neighbourhoods, torus wrap) lives in :mod:`dyn.flows.som.neighbourhood`;
the measures' kernels in :mod:`dyn.flows.som.measure`.
"""

import math

import numpy as np
from numba import njit, prange

from dyn.flows.som.neighbourhood import decay, neighbour_row, neighbour_tables, spread

NORM_EPS = 1e-12  # torch.nn.functional.normalize's eps


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
    Returns -1, or the global step at which the sample's squared distances to the units did not sum to
    a finite number (a weight not finite, or far enough for the measures to overflow).
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
            total = best
            for k in range(1, K):
                total += d2[k, 0]
                if d2[k, 0] < best:
                    best = d2[k, 0]
                    c = k
            if not math.isfinite(total):  # a weight is not finite, or so large that the measures overflow
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
