"""What a map's snapshots are worth: quantisation and topographic errors, topographic loss, Heskes energy.

All four are measured on the whole data set, in the space the rule compares inputs and weights
(L2-normalised copies when ``normalize``), with the rule's neighbourhood at the snapshot's sigma:

- quantisation error: mean Euclidean distance to the best-matching unit (MiniSom's);
- topographic error: share of samples whose two best units are not grid neighbours (MiniSom's:
  rectangular, index distance > 1.42; hexagonal, plane distance not 1; wrapped on a torus);
- topographic loss: mean_b sum_k h(c_b, k) |x_b - w_k|^2, c_b the best unit (the forum's loss);
- Heskes energy: mean_b min_c sum_k h(c, k) |x_b - w_k|^2 (never above the topographic loss).

A run measures what its config's ``measures`` asks for (by default QE and TE, and the rule's own
objective: the loss for ``topographic``, the energy for ``heskes``).

Best units are ranked by MiniSom's expansion max(0, |x|^2 + |w|^2 - 2 x.w) (first index on ties).
Above three dimensions they come from one matrix product per snapshot; in D <= 3 from a search
over cells of the plane of the first two coordinates (about one unit a cell): rings of cells around
a sample are visited until the nearest unvisited cell is farther than the second-best unit (plus a
margin that covers the expansion's rounding), so the result is the brute-force one at a few units a
sample. The loss and the energy expand the same way: sum_k h(c, k) |x - w_k|^2 = |x|^2 s_c + q_c -
2 x.m_c with s = H 1, q = H |w|^2, m = H w, spread over the map with the separable neighbourhood
(rows + cols factors) on rectangular grids and the K x K matrix otherwise.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from dyn.flows.som.config import DECAY_CODES, MEASURES
from dyn.flows.som.grid import neighbour_table
from dyn.flows.som.neighbourhood import decays, neighbour_tables, spread
from dyn.flows.som.neighbourhood import neighbourhood_matrix as _matrix
from dyn.flows.som.units import NORM_EPS

H_BYTES = 64 * 2**20  # neighbourhood matrices held at once by the measures
CELL_DIMS = 3  # the cell search up to this dimension; one matrix product a snapshot above it
PARALLEL_FROM = 16  # snapshots per thread from which the measures run in parallel
HUGE = 1e150  # weights beyond this norm: brute force (the cells' arithmetic could overflow)


def normalized(a):
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), NORM_EPS)


def neighbourhood_matrix(grid, code, sigma):
    return _matrix(code, grid.gi, grid.gj, grid.gx, grid.gy, grid.periods, float(sigma))


def separable(grid, code):
    """The neighbourhood is a product of a row and a column factor (rectangular grid, not the mexican hat)."""
    from dyn.flows.som.config import NEIGHBOURHOOD_CODES

    return (not grid.hexagonal) and code != NEIGHBOURHOOD_CODES["mexican_hat"]


def schedule(cfg, steps):
    """sigma and lr in force at each global step in ``steps`` (MiniSom's decays over cfg.schedule_steps)."""
    steps = np.ascontiguousarray(steps, dtype=np.int64)
    return (decays(DECAY_CODES[cfg.sigma_decay], cfg.sigma, steps, cfg.schedule_steps),
            decays(DECAY_CODES[cfg.lr_decay], cfg.lr, steps, cfg.schedule_steps))


def _tables(grid, code, sep, levels):
    """Neighbourhood tables of each sigma level: (FA, FB, H) stacks; H is (L, 1, 1) when ``sep``."""
    L, rows, cols, K = len(levels), grid.rows, grid.cols, grid.rows * grid.cols
    FA, FB = np.empty((L, rows, rows)), np.empty((L, cols, cols))
    H = np.empty((L, 1, 1) if sep else (L, K, K))
    for i, s in enumerate(levels):
        neighbour_tables(code, grid.gi, grid.gj, grid.gx, grid.gy, grid.periods, sep, rows, cols, float(s),
                         FA[i], FB[i], H[i])
    return FA, FB, H


def _kernel(snapshots):
    """The parallel kernel for many snapshots, the serial one for a few (PARALLEL_FROM per thread)."""
    import numba

    return measure_many if snapshots >= PARALLEL_FROM * numba.get_num_threads() else measure_many_serial


def measure(cfg, grid, code, w, x, sigmas, names=None, adj=None):
    """{name: (replica, time)} of the measures ``names`` (default: cfg.measures) of snapshots ``w``
    (R, T, K, D), taken in float64 whatever the run's dtype; NaN where the weights are not finite. One parallel
    kernel call over the snapshots (per few sigma levels when the K x K neighbourhood matrix is needed). ``adj``:
    the grid's :func:`~dyn.flows.som.grid.neighbour_table`, if the caller holds it."""
    names = tuple(cfg.measures if names is None else names)
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)  # a float32 run's too: in float64
    if cfg.normalize:
        x = normalized(x)
        w = normalized(w)
    x = np.ascontiguousarray(x, dtype=np.float64)
    xsq = np.einsum("bd,bd->b", x, x)
    adj = neighbour_table(grid) if adj is None else adj
    R, T, K, D = w.shape
    flat = np.ascontiguousarray(w.reshape(R * T, K, D))
    out = np.full((R * T, 4), np.nan)
    want_loss, want_energy = "topographic_loss" in names, "heskes_energy" in names
    cells = D <= CELL_DIMS
    if want_loss or want_energy:
        sep = separable(grid, code)
        levels, which = np.unique(np.asarray(sigmas, float), return_inverse=True)
        which = np.tile(which.reshape(-1).astype(np.int64), R)
        # a few sigma levels at a time (one a snapshot when sigma decays): memory stays about H_BYTES
        per = len(levels) if sep else max(1, H_BYTES // (8 * K * K))
        for lo in range(0, len(levels), per):
            FA, FB, H = _tables(grid, code, sep, levels[lo:lo + per])
            pick = np.flatnonzero((which >= lo) & (which < lo + per))
            part = np.full((len(pick), 4), np.nan)
            _kernel(len(pick))(np.ascontiguousarray(flat[pick]), x, xsq, adj, want_loss, want_energy, FA, FB, H,
                               which[pick] - lo, sep, grid.rows, grid.cols, cells, part)
            out[pick] = part
    else:
        none = np.zeros((1, 1, 1))
        _kernel(R * T)(flat, x, xsq, adj, False, False, none, none, none, np.zeros(R * T, np.int64), True,
                       grid.rows, grid.cols, cells, out)
    out = out.reshape(R, T, 4)
    return {name: out[..., MEASURES.index(name)] for name in names}


@njit(cache=True)
def neighbours(table, a, b):
    """Whether units a and b are grid neighbours, by a's row of the :func:`neighbour_table`."""
    for e in range(table.shape[1]):
        if table[a, e] == b:
            return True
    return False


@njit(cache=True)
def winners_brute(w, wsq, X, xsq, c1, c2):
    """c1, c2: the two best units of every sample by MiniSom's expanded distances (chunked products)."""
    K, D = w.shape
    n = X.shape[0]
    WT = np.ascontiguousarray(w.T)
    chunk = min(n, 1024)
    G = np.empty((chunk, K))
    d2 = np.empty(K)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        Gc = G[:hi - lo]
        np.dot(X[lo:hi], WT, Gc)
        for b in range(hi - lo):
            xs = xsq[lo + b]
            row = Gc[b]
            for k in range(K):
                d2[k] = max(0.0, -2.0 * row[k] + xs + wsq[k])
            a = 0
            for k in range(1, K):
                if d2[k] < d2[a]:
                    a = k
            s = -1
            for k in range(K):
                if k != a and (s < 0 or d2[k] < d2[s]):
                    s = k
            c1[lo + b] = a
            c2[lo + b] = s


@njit(cache=True)
def winners_cells(w, wsq, X, xsq, c1, c2):
    """:func:`winners_brute` for D <= 3, by a ring search over cells of the plane (w[0], w[1]).

    A unit in a cell at Chebyshev index distance >= r from the sample's cell is at least the distance
    from the sample to the block of rings < r away in the plane, so at least that far in R^D: once
    that bound squared exceeds the second-best expanded distance by a margin far above its rounding,
    no unvisited unit can be among the two best, nor tie with them.
    """
    K, D = w.shape
    n = X.shape[0]
    px = w[:, 0]
    py = w[:, 1] if D > 1 else np.zeros(K)
    lox, hix, loy, hiy = px.min(), px.max(), py.min(), py.max()
    ex, ey = hix - lox, hiy - loy
    h = math.sqrt(ex * ey / K) if ex > 0 and ey > 0 else 0.0
    h = max(h, max(ex, ey) / K)  # about K cells; a thin strip gets at most K + 1 along its length
    if h <= 0.0:
        h = 1.0
    nx = int(ex / h) + 1
    ny = int(ey / h) + 1
    cell = np.empty(K, np.int64)
    start = np.zeros(nx * ny + 1, np.int64)
    for k in range(K):
        i = min(int((px[k] - lox) / h), nx - 1)
        j = min(int((py[k] - loy) / h), ny - 1)
        cell[k] = i * ny + j
        start[cell[k] + 1] += 1
    for c in range(nx * ny):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    ids = np.empty(K, np.int64)
    for k in range(K):
        ids[fill[cell[k]]] = k
        fill[cell[k]] += 1
    ws = np.empty((K, D))  # the weights in cell order: a cell's units are contiguous
    wss = np.empty(K)
    for s in range(K):
        ws[s] = w[ids[s]]
        wss[s] = wsq[ids[s]]
    wmax = wsq.max()
    for b in range(n):
        x = X[b]
        u = x[0]
        v = x[1] if D > 1 else 0.0
        xs = xsq[b]
        margin = 1e-9 * (1.0 + xs + wmax)
        ci = min(max(math.floor((u - lox) / h), 0), nx - 1)
        cj = min(max(math.floor((v - loy) / h), 0), ny - 1)
        k1 = -1  # the two best (value, index) pairs so far, lexicographic: the first index wins a tie
        k2 = -1
        b1 = np.inf
        b2 = np.inf
        r = 0
        while True:
            if r > 0:
                bound = np.inf  # the plane distance to the cells not visited yet (rings >= r)
                if ci - r >= 0:
                    bound = min(bound, u - (lox + (ci - r + 1) * h))
                if ci + r <= nx - 1:
                    bound = min(bound, lox + (ci + r) * h - u)
                if cj - r >= 0:
                    bound = min(bound, v - (loy + (cj - r + 1) * h))
                if cj + r <= ny - 1:
                    bound = min(bound, loy + (cj + r) * h - v)
                if bound == np.inf:
                    break  # every cell visited
                if k2 >= 0 and bound > 0.0 and bound * bound > b2 + margin:
                    break
            for i in range(max(ci - r, 0), min(ci + r, nx - 1) + 1):
                whole = i == ci - r or i == ci + r  # the ring's first and last rows; its two ends otherwise
                j = cj - r
                while j <= cj + r:
                    if 0 <= j < ny:
                        c = i * ny + j
                        for s in range(start[c], start[c + 1]):
                            dot = 0.0
                            for q in range(D):
                                dot += x[q] * ws[s, q]
                            e = max(0.0, -2.0 * dot + xs + wss[s])
                            if e > b2:
                                continue
                            k = ids[s]
                            if k1 < 0 or e < b1 or (e == b1 and k < k1):
                                b2 = b1
                                k2 = k1
                                b1 = e
                                k1 = k
                            elif k2 < 0 or e < b2 or k < k2:
                                b2 = e
                                k2 = k
                    j += 1 if whole or r == 0 else 2 * r
            r += 1
        c1[b] = k1
        c2[b] = k2


@njit(cache=True, nogil=True)
def measure_snapshot(w, X, xsq, adj, want_loss, want_energy, FA, FB, H, sep, rows, cols, cells, out):
    """out = (QE, TE, topographic loss, Heskes energy) of weights w (K, D) on data X (n, D); the loss and
    the energy only when asked (NaN otherwise)."""
    K, D = w.shape
    n = X.shape[0]
    wsq = np.empty(K)
    for k in range(K):
        acc = 0.0
        for q in range(D):
            acc += w[k, q] * w[k, q]
        wsq[k] = acc
    c1 = np.empty(n, np.int64)
    c2 = np.empty(n, np.int64)
    if cells and math.sqrt(wsq.max()) < HUGE:
        winners_cells(w, wsq, X, xsq, c1, c2)
    else:
        winners_brute(w, wsq, X, xsq, c1, c2)
    qe = 0.0
    te = 0.0
    for b in range(n):
        acc = 0.0
        for q in range(D):
            diff = X[b, q] - w[c1[b], q]
            acc += diff * diff
        qe += math.sqrt(acc)
        if c2[b] >= 0 and not neighbours(adj, c1[b], c2[b]):
            te += 1.0
    out[0] = qe / n
    out[1] = te / n if K > 1 else np.nan
    if not (want_loss or want_energy):
        return
    Z = np.empty((K, D + 2))  # [w | |w|^2 | 1], spread over the map: [m | q | s]
    for k in range(K):
        for q in range(D):
            Z[k, q] = w[k, q]
        Z[k, D] = wsq[k]
        Z[k, D + 1] = 1.0
    S = np.empty((K, D + 2))
    tmp = np.empty((K, D + 2))
    spread(sep, rows, cols, FA, FB, H, Z, S, tmp)
    if want_loss:
        loss = 0.0
        for b in range(n):
            c = c1[b]
            dot = 0.0
            for q in range(D):
                dot += X[b, q] * S[c, q]
            loss += xsq[b] * S[c, D + 1] + S[c, D] - 2.0 * dot
        out[2] = loss / n
    if want_energy:
        MT = np.ascontiguousarray(S[:, :D].T)
        chunk = min(n, 1024)
        G = np.empty((chunk, K))
        energy = 0.0
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            Gc = G[:hi - lo]
            np.dot(X[lo:hi], MT, Gc)
            for b in range(hi - lo):
                xs = xsq[lo + b]
                low = np.inf
                for c in range(K):
                    v = xs * S[c, D + 1] + S[c, D] - 2.0 * Gc[b, c]
                    if v < low:
                        low = v
                energy += low
        out[3] = energy / n


@njit(cache=True, nogil=True)
def _measure_one(i, W, X, xsq, adj, want_loss, want_energy, FA, FB, H, which, sep, rows, cols, cells, out):
    for k in range(W.shape[1]):
        for q in range(W.shape[2]):
            if not math.isfinite(W[i, k, q]):
                return  # a diverged replica's snapshot: NaN
    lvl = which[i]
    measure_snapshot(W[i], X, xsq, adj, want_loss, want_energy, FA[lvl], FB[lvl], H[lvl], sep, rows, cols, cells,
                     out[i])


@njit(cache=True, parallel=True, nogil=True)
def measure_many(W, X, xsq, adj, want_loss, want_energy, FA, FB, H, which, sep, rows, cols, cells, out):
    """measure_snapshot for snapshots W (N, K, D), with the tables of sigma level which[i]; NaN weights skipped."""
    for i in prange(W.shape[0]):
        _measure_one(i, W, X, xsq, adj, want_loss, want_energy, FA, FB, H, which, sep, rows, cols, cells, out)


@njit(cache=True, nogil=True)
def measure_many_serial(W, X, xsq, adj, want_loss, want_energy, FA, FB, H, which, sep, rows, cols, cells, out):
    """:func:`measure_many` on the calling thread: for a few snapshots (on a busy machine a parallel region's
    join waits for its slowest thread, which costs more than a few snapshots are worth)."""
    for i in range(W.shape[0]):
        _measure_one(i, W, X, xsq, adj, want_loss, want_energy, FA, FB, H, which, sep, rows, cols, cells, out)
