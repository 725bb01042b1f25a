"""Independent truths for the som flow: MiniSom runs, the forum's PyTorch code, numpy formulas."""

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
