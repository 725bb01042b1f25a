"""What a user would write instead of dyn's sphere flow: vectorised numpy loops, geoopt (torch CPU) and JAX.

Every baseline does the same work as dyn per step: the objective (kept, one value a step), its gradient,
the update; none records snapshots (dyn does, and measures them: its times include that).
"""

from __future__ import annotations

import numpy as np


def numpy_thomson(w, lr, steps):
    """Riemannian gradient descent on sum_{i<j} 1/|w_i - w_j|: tangent step, then normalise."""
    w = w.copy()
    n = len(w)
    loss = np.empty(steps)
    eye = np.eye(n, dtype=bool)
    for t in range(steps):
        diff = w[:, None, :] - w[None, :, :]
        r2 = np.einsum("ijk,ijk->ij", diff, diff)
        r2[eye] = 1.0
        inv = 1.0 / np.sqrt(r2)
        inv[eye] = 0.0
        loss[t] = 0.5 * inv.sum()
        g = -np.einsum("ij,ijk->ik", inv ** 3, diff)
        g -= np.sum(g * w, axis=1, keepdims=True) * w
        w -= lr * g
        w /= np.linalg.norm(w, axis=1, keepdims=True)
    return loss, w


def geoopt_thomson(w, lr, steps):
    """The same with geoopt: a ManifoldParameter on the Sphere and RiemannianSGD (float64, torch CPU)."""
    import geoopt
    import torch

    p = geoopt.ManifoldParameter(torch.tensor(w, dtype=torch.float64), manifold=geoopt.Sphere())
    opt = geoopt.optim.RiemannianSGD([p], lr=lr)
    loss = torch.empty(steps, dtype=torch.float64)
    for t in range(steps):
        opt.zero_grad()
        value = torch.pdist(p).reciprocal().sum()
        value.backward()
        opt.step()
        loss[t] = value.detach()
    return loss.numpy(), p.detach().numpy()


def geoopt_angular(x, w, lr, steps):
    """sum_nk cos^2 theta_nk by RiemannianSGD on the sphere (the seed's problem with the exact gradient)."""
    import geoopt
    import torch

    xh = torch.nn.functional.normalize(torch.tensor(x, dtype=torch.float64), dim=1)
    p = geoopt.ManifoldParameter(torch.tensor(w, dtype=torch.float64), manifold=geoopt.Sphere())
    opt = geoopt.optim.RiemannianSGD([p], lr=lr)
    loss = torch.empty(steps, dtype=torch.float64)
    for t in range(steps):
        opt.zero_grad()
        value = ((xh @ torch.nn.functional.normalize(p, dim=1).T) ** 2).sum()
        value.backward()
        opt.step()
        loss[t] = value.detach()
    return loss.numpy(), p.detach().numpy()


def jax_thomson(w, lr, steps):
    """The Thomson run in JAX as one would write it for speed: the pair terms from the Gram matrix
    (|w_i - w_j|^2 = |w_i|^2 + |w_j|^2 - 2 w_i . w_j), the gradient as a matrix product, jit + lax.scan over
    the steps, float64 on the CPU, and dyn's Riemannian step (normalise, project the gradient on the tangent
    space, step, normalise). Returns a function of no arguments that runs it, (losses, final points) as
    numpy arrays: its first call compiles."""
    from functools import partial

    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    @partial(jax.jit, static_argnums=2)
    def scan(w, lr, steps):
        eye = jnp.eye(w.shape[0], dtype=bool)

        def step(w, _):
            w = w / jnp.linalg.norm(w, axis=1, keepdims=True)
            sq = jnp.sum(w * w, axis=1)
            r2 = sq[:, None] + sq[None, :] - 2.0 * (w @ w.T)
            inv = jnp.where(eye, 0.0, 1.0 / jnp.sqrt(jnp.where(eye, 1.0, r2)))
            c = inv * inv * inv
            g = c @ w - jnp.sum(c, axis=1)[:, None] * w  # d/dw_i of sum_{i<j} 1/r_ij
            g = g - jnp.sum(g * w, axis=1, keepdims=True) * w
            w = w - lr * g
            return w / jnp.linalg.norm(w, axis=1, keepdims=True), 0.5 * jnp.sum(inv)

        return jax.lax.scan(step, w, None, length=steps)

    w0 = jnp.asarray(w, dtype=jnp.float64)

    def run():
        w, loss = scan(w0, lr, steps)
        w.block_until_ready()
        return np.asarray(loss), np.asarray(w)

    return run
