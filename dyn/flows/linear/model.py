"""The model's parameters: the layout of the flat vector the kernels use, the initial values, and the
arrays a user passes as ``init`` (the seed's layout: one (in + 1, out) matrix a layer, bias row last).
"""

from __future__ import annotations

import numpy as np

from dyn.engine.streams import INIT, stream
from dyn.errors import UsageError


def layout(D, widths):
    """``sizes`` (L + 1,) = [D, *widths] and ``offs`` (L + 1,): where each layer's matrix starts in theta."""
    sizes = np.array([D] + list(widths), np.int64)
    offs = np.zeros(len(sizes), np.int64)
    for l in range(len(sizes) - 1):
        offs[l + 1] = offs[l] + (sizes[l] + 1) * sizes[l + 1]
    return sizes, offs


def split(theta, sizes, offs):
    """The layer matrices (..., in + 1, out) of flat parameters (..., P)."""
    return [theta[..., offs[l]:offs[l + 1]].reshape(theta.shape[:-1] + (sizes[l] + 1, sizes[l + 1]))
            for l in range(len(sizes) - 1)]


def join(mats):
    """Flat parameters (..., P) of layer matrices (..., in + 1, out)."""
    return np.concatenate([m.reshape(m.shape[:-2] + (-1,)) for m in mats], axis=-1)


def initial(cfg, sizes, offs, given=None):
    """(R, P): the user's ``init``, or the seed's: zeros for the linear model, N(0, 1) entries for the MLP
    (``np.random.randn(in + 1, out)`` a layer), drawn per replica from (seed + r, INIT)."""
    R, P = cfg.replicas, int(offs[-1])
    if given is not None:
        return as_params(given, cfg, sizes, offs)
    if cfg.model == "linear":
        return np.zeros((R, P))
    out = np.empty((R, P))
    for r in range(R):
        gen = stream(cfg.seed + r, INIT)
        out[r] = join([gen.standard_normal((int(sizes[l]) + 1, int(sizes[l + 1]))) for l in range(len(sizes) - 1)])
    return out


def as_params(given, cfg, sizes, offs):
    """(R, P) from ``init``: linear {"w": (D,) or (R, D), "b": scalar or (R,)}; mlp a list of (in + 1, out)
    matrices, or (R, in + 1, out) with replicas (a linear model also takes the list, [(D + 1, 1)])."""
    R, D = cfg.replicas, int(sizes[0])
    if isinstance(given, dict):
        if cfg.model != "linear" or set(given) != {"w", "b"}:
            raise UsageError("init for the linear model is {'w': (D,), 'b': scalar}" if cfg.model == "linear" else
                             "init for the mlp is a list of (in + 1, out) matrices, one a layer, bias row last")
        w = np.asarray(given["w"], dtype=np.float64)
        b = np.asarray(given["b"], dtype=np.float64)
        if w.shape not in ((D,), (R, D)) or b.shape not in ((), (1,), (R,)):
            raise UsageError(f"init w must have shape ({D},) or ({R}, {D}) and b a scalar or ({R},); "
                             f"got {w.shape} and {b.shape}")
        theta = np.concatenate([np.broadcast_to(w, (R, D)), np.broadcast_to(b.reshape(-1), (R,))[:, None]], 1)
    else:
        if not isinstance(given, (list, tuple)) or len(given) != len(sizes) - 1:
            raise UsageError(f"init must be {len(sizes) - 1} matrices (in + 1, out), one a layer "
                             f"({'-'.join(map(str, sizes))}); got {type(given).__name__}"
                             + (f" of {len(given)}" if isinstance(given, (list, tuple)) else ""))
        mats = []
        for l, m in enumerate(given):
            m = np.asarray(m, dtype=np.float64)
            want = (int(sizes[l]) + 1, int(sizes[l + 1]))
            if m.shape not in (want, (R,) + want):
                raise UsageError(f"init layer {l} must have shape {want} or {(R,) + want} (bias row last); "
                                 f"got {m.shape}")
            mats.append(np.broadcast_to(m, (R,) + want))
        theta = join(mats)
    if not np.all(np.isfinite(theta)):
        raise UsageError("init contains NaN or inf")
    return np.ascontiguousarray(theta, dtype=np.float64).copy()
