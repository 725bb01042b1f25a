"""The center flow in plain numpy, written from the definitions (not from dyn's kernels): the test oracle.

Network x -> relu(x W1 + b1) -> h = a W2 + b2 -> logits = h W3 + b3 (W as (in, out)); loss = mean softmax
cross-entropy + gain * mean over batch and dims of (h - c_y)^2; centroids c_j -= alpha sum_(y_i = j) (c_j - h_i)
/ (1 + n_j); Adam as in Kingma & Ba's paper (bias-corrected moments), SGD with momentum buf = mu buf + g.
"""

import numpy as np

NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


def shapes(D, H, K):
    return {"W1": (D, H), "b1": (H,), "W2": (H, 2), "b2": (2,), "W3": (2, K), "b3": (K,)}


def unpack(theta, D, H, K):
    out, o = {}, 0
    for name, shape in shapes(D, H, K).items():
        n = int(np.prod(shape))
        out[name] = theta[o:o + n].reshape(shape)
        o += n
    return out


def pack(params):
    return np.concatenate([np.ravel(params[k]) for k in NAMES])


def forward(p, x):
    z = x @ p["W1"] + p["b1"]
    a = np.maximum(z, 0.0)
    h = a @ p["W2"] + p["b2"]
    return z, a, h, h @ p["W3"] + p["b3"]


def losses(p, c, x, y, gain=1.0):
    """(total, cross-entropy, center loss, features) of a batch."""
    _, _, h, logits = forward(p, x)
    top = logits.max(1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(logits - top).sum(1))
    ce = np.mean(lse - logits[np.arange(len(y)), y])
    center = np.mean((h - c[y]) ** 2)
    return ce + gain * center, ce, center, h


def gradient(p, c, x, y, gain=1.0):
    """{name: dL/dname} of the total loss, by the chain rule in matrix form."""
    z, a, h, logits = forward(p, x)
    B = len(y)
    e = np.exp(logits - logits.max(1, keepdims=True))
    dl = e / e.sum(1, keepdims=True)
    dl[np.arange(B), y] -= 1.0
    dl /= B
    dh = dl @ p["W3"].T + gain * 2.0 * (h - c[y]) / (2 * B)
    da = dh @ p["W2"].T
    dz = da * (z > 0)
    return {"W1": x.T @ dz, "b1": dz.sum(0), "W2": a.T @ dh, "b2": dh.sum(0), "W3": h.T @ dl, "b3": dl.sum(0)}


def move_centroids(c, h, y, alpha):
    c = c.copy()
    for j in range(len(c)):
        mine = y == j
        c[j] = c[j] - alpha * (c[j] - h[mine]).sum(0) / (1 + mine.sum())
    return c


def adam(theta, m, v, g, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return theta - lr * mhat / (np.sqrt(vhat) + eps), m, v


def train(theta, c, x, y, batches, D, H, K, gain, alpha, lr, optimizer="adam", mu=0.0, m=None, v=None, t0=0):
    """Steps over ``batches`` (lists of sample indices) from step t0; returns theta, c, m, v and the per-step
    (ce, center)."""
    m = np.zeros_like(theta) if m is None else m.copy()
    v = np.zeros_like(theta) if v is None else v.copy()
    log = []
    for t, idx in enumerate(batches, start=t0 + 1):
        p = unpack(theta, D, H, K)
        _, ce, center, h = losses(p, c, x[idx], y[idx], gain)
        g = pack(gradient(p, c, x[idx], y[idx], gain))
        c = move_centroids(c, h, y[idx], alpha)
        if optimizer == "adam":
            theta, m, v = adam(theta, m, v, g, t, lr)
        else:
            m = mu * m + g
            theta = theta - lr * m
        log.append((ce, center))
    return theta, c, m, v, np.array(log)
