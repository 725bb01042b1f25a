"""Independent truths for the som flow: MiniSom runs, the forum's PyTorch code, numpy formulas."""

import math

import numpy as np


def small_data(n=60, d=2, seed=3):
    return np.random.default_rng(seed).uniform(-1, 1, (n, d))


def small_init(K, d, seed=4):
    return np.random.default_rng(seed).normal(0, 0.3, (K, d))


def minisom_map(rows, cols, d, init, **kw):
    from minisom import MiniSom

    som = MiniSom(rows, cols, d, **kw)
    som._weights = init.reshape(rows, cols, d).copy()
    return som


def forum_torch(init, batches, sigma=5.0, lr=1e-3, momentum=0.9, rows=20, cols=20, dtype=None):
    """The forum's Topography layer and training step as written, on given weights and batches.

    Returns the weights after each step (float64 by default).
    """
    import torch
    import torch.nn.functional as F

    dtype = dtype or torch.float64
    locs = np.array(list(np.array([i, j]) for i in range(rows) for j in range(cols)))
    locations = torch.from_numpy(locs).to(dtype)
    lin_wts = torch.nn.Parameter(torch.tensor(init, dtype=dtype))
    opt = torch.optim.SGD(params=[lin_wts], lr=lr, momentum=momentum)
    out = []
    for zb in batches:
        opt.zero_grad()
        z = F.normalize(torch.tensor(zb, dtype=dtype), p=2, dim=1)
        d2 = torch.square(torch.cdist(x1=z, x2=F.normalize(input=lin_wts, p=2, dim=1), p=2))
        closest = torch.argmin(d2, dim=1)
        grid_d2 = torch.square(torch.cdist(x1=locations[closest].to(dtype), x2=locations, p=2))
        curr_sigma = torch.tensor(sigma, dtype=dtype)
        h = torch.exp(torch.div(torch.neg(grid_d2), ((2.0 * torch.square(curr_sigma)) + 1e-5)))
        loss = (h * d2).sum(dim=1).mean()
        loss.backward()
        opt.step()
        out.append(lin_wts.detach().numpy().copy())
    return out


def online_numpy(x, w0, steps, rows, cols, lr=0.5, sigma=1.0, dtype=np.float64):
    """MiniSom's online rule as plain numpy in ``dtype``, step by step: samples in order, asymptotic decays of lr
    and sigma over ``steps``, the gaussian neighbourhood of a rectangular grid as a product of a row and a column
    factor, the winner the first argmin of the norms |x - w_k| (as MiniSom's ``winner``).

    Every operation is one IEEE operation of ``dtype`` (``exp`` in float64, then rounded: a correctly rounded
    exponential, as the C library's ``expf`` computes it). Returns the weights (K, D) after each step."""
    f = np.dtype(dtype).type
    x, w = np.asarray(x, dtype), np.array(w0, dtype)
    K, D = w.shape
    gi, gj = np.divmod(np.arange(K), cols)
    T, half, one, two = f(steps), f(2.0), f(1.0), f(2.0)
    out = []
    for t in range(steps):
        decay = one + f(t) / (T / half)
        eta, sig = f(lr) / decay, f(sigma) / decay
        xs = x[t % len(x)]
        d2 = np.zeros(K, dtype)
        for q in range(D):
            d2 = d2 + (xs[q] - w[:, q]) * (xs[q] - w[:, q])
        c = int(np.argmin(np.sqrt(d2)))
        expo = lambda d: np.array([f(math.exp(float(v))) for v in -(d * d) / (two * sig * sig)], dtype)  # noqa: E731
        fa = expo((np.arange(rows) - gi[c]).astype(dtype))
        fb = expo((np.arange(cols) - gj[c]).astype(dtype))
        h = fa[gi] * fb[gj] * eta
        w = w + h[:, None] * (xs[None, :] - w)
        out.append(w.copy())
    return out
