"""The answer to seed 004 ("is this topographic loss trained by SGD a correct SOM?"), as checkable code.

With the best-matching units c_b fixed, the forum's loss L(W) = 1/B sum_b sum_k h(c_b, k) |z^_b - w^_k|^2
(z^, w^ the L2-normalised copies) has the gradient

    dL/dw_k = -(2 / (B |w_k|)) P_k sum_b h(c_b, k) (z^_b - w^_k),    P_k = I - w^_k w^_k^T,

so a plain SGD step -lr dL/dw_k is the Kohonen update summed over the batch with rate 2 lr / B,
projected on the sphere's tangent space at w^_k and divided by |w_k| (the step seen by w^_k scales
as 1/|w_k|^2). Momentum (torch: buf = mu buf + g; w -= lr buf) is the heavy ball
w_{t+1} = w_t - lr g_t + mu (w_t - w_{t-1}). A tangent step can only lengthen w (|w - lr g|^2 =
|w|^2 + lr^2 |g|^2), so the raw weights drift off the sphere. The winner changes discontinuously,
so L with c_b = argmin is not a potential of the update: the update field has a non-zero
circulation around loops that cross a winner boundary. Heskes' winner argmin_c sum_k h(c, k)
|x - w_k|^2 makes the update the gradient of the continuous energy E(W) = mean_b min_c sum_k
h(c, k) |x_b - w_k|^2, whose field has no circulation.
"""

from __future__ import annotations

import numpy as np


def unit(a):
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)


def forum_h(grid_d2, sigma):
    """The forum's neighbourhood exp(-d^2 / (2 sigma^2 + 1e-5)) of squared grid distances."""
    return np.exp(-grid_d2 / (2.0 * sigma**2 + 1e-5))


def winners(w, z, normalize=True):
    """argmin_k |z^_b - w^_k|^2 (plain copies when not normalize)."""
    wn, zn = (unit(w), unit(z)) if normalize else (w, z)
    return np.argmin(((zn[:, None, :] - wn[None, :, :]) ** 2).sum(-1), axis=1)


def forum_loss(w, z, H, bmu=None, normalize=True):
    """1/B sum_b sum_k H[c_b, k] |z^_b - w^_k|^2; c_b = argmin unless ``bmu`` fixes them."""
    bmu = winners(w, z, normalize) if bmu is None else bmu
    wn, zn = (unit(w), unit(z)) if normalize else (w, z)
    d2 = ((zn[:, None, :] - wn[None, :, :]) ** 2).sum(-1)
    return float((H[bmu] * d2).sum(1).mean())


def kohonen_sum(w, z, H, bmu):
    """sum_b H[c_b, k] (z^_b - w^_k) for every unit k: the Kohonen update of the batch (rate 1)."""
    wn, zn = unit(w), unit(z)
    return H[bmu].T @ zn - H[bmu].sum(0)[:, None] * wn


def forum_gradient(w, z, H, bmu):
    """The gradient of :func:`forum_loss` at fixed winners, written as the seed's answer says."""
    wn = unit(w)
    k = kohonen_sum(w, z, H, bmu)
    tangent = k - wn * (wn * k).sum(1, keepdims=True)
    return -(2.0 / len(z)) * tangent / np.linalg.norm(w, axis=1, keepdims=True)


def finite_difference_gradient(w, z, H, bmu, eps=1e-6):
    """Central differences of :func:`forum_loss` at fixed winners, entry by entry."""
    g = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        a, b = w.copy(), w.copy()
        a[idx] += eps
        b[idx] -= eps
        g[idx] = (forum_loss(a, z, H, bmu) - forum_loss(b, z, H, bmu)) / (2 * eps)
    return g


def kohonen_field(w, x, H):
    """mean_b H[c_b, k] (x_b - w_k), c_b the nearest unit: the expected Kohonen update."""
    bmu = np.argmin(((x[:, None] - w[None]) ** 2).sum(-1), axis=1)
    return (H[bmu].T @ x - H[bmu].sum(0)[:, None] * w) / len(x)


def heskes_winners(w, x, H):
    d2 = ((x[:, None] - w[None]) ** 2).sum(-1)
    return np.argmin(d2 @ H.T, axis=1)


def heskes_field(w, x, H):
    """mean_b H[c*_b, k] (x_b - w_k), c*_b Heskes' winner: -1/2 the gradient of :func:`heskes_energy`."""
    bmu = heskes_winners(w, x, H)
    return (H[bmu].T @ x - H[bmu].sum(0)[:, None] * w) / len(x)


def heskes_energy(w, x, H):
    d2 = ((x[:, None] - w[None]) ** 2).sum(-1)
    return float((d2 @ H.T).min(1).mean())


def circulation(field, w0, u, v, x, H, points=4000):
    """The loop integral of ``field`` around w0 + cos(t) u + sin(t) v, t in [0, 2 pi) (midpoint rule)."""
    t = (np.arange(points) + 0.5) * 2 * np.pi / points
    total = 0.0
    for ti in t:
        w = w0 + np.cos(ti) * u + np.sin(ti) * v
        dw = (-np.sin(ti) * u + np.cos(ti) * v) * (2 * np.pi / points)
        total += float((field(w, x, H) * dw).sum())
    return total


def answer(rows=20, cols=20, dim=128, batch=1024, sigma=5.0, lr=1e-3, seed=0):
    """The seed's question in numbers, at the forum's setup: how far the step is from a Kohonen step."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 1.0 / np.sqrt(dim), (rows * cols, dim))
    z = rng.random((batch, dim))
    loc = np.array([[i, j] for i in range(rows) for j in range(cols)], float)
    H = forum_h(((loc[:, None] - loc[None]) ** 2).sum(-1), sigma)
    bmu = winners(w, z)
    step = -lr * forum_gradient(w, z, H, bmu)
    koh = kohonen_sum(w, z, H, bmu)
    norms = np.linalg.norm(w, axis=1)
    return {
        "per_sample_rate": 2 * lr / batch,
        "mean_step_norm": float(np.linalg.norm(step, axis=1).mean()),
        "mean_kohonen_step_norm_at_rate_2lr_over_B": float(np.linalg.norm(2 * lr / batch * koh, axis=1).mean()),
        "mean_weight_norm": float(norms.mean()),
        "cosine_step_vs_kohonen": float(np.mean((step * koh).sum(1) / (np.linalg.norm(step, axis=1)
                                                                       * np.linalg.norm(koh, axis=1)))),
    }
