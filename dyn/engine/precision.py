"""Floating-point precision of a run: float64 (the default) or float32, the same kernels for both.

Kernels are typed by their arrays: a float32 state compiles a float32 specialisation of the same source.
What would otherwise drag float32 arithmetic up to float64 is a float64 literal (``0.5 * e``: numba
follows numpy's promotion, float32 x float64 -> float64) or an integer count (``1.0 / m``). Kernels write
such constants as :func:`like`\\ ``(x, 0.5)``: the value in the float type of ``x``, a compile-time cast
on the CPU and on CUDA (float64 stays bit for bit what the literal gave). Accumulators start at
``like(x, 0.0)``; work arrays are allocated with the state's dtype.

float32 is for speed on consumer GPUs (their float64 units run at 1/32 or 1/64 of the float32 rate) and
for halving memory; its trajectories agree with float64's to about 1e-6 relative over short runs, and
drift apart over long or chaotic ones. The Dataset's records keep the run's dtype.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from dyn.config import DTYPES  # noqa: F401 (defined where configs import it without numba)


def like(x, value):
    """``value`` as a number of ``x``'s float type (in jitted code on either device; plain Python casts too)."""
    return type(x)(value) if isinstance(x, np.floating) else float(value)


@overload(like, target="generic")
def _like(x, value):
    if isinstance(x, types.Float):
        float_type = x

        def impl(x, value):
            return float_type(value)

        return impl
    if isinstance(x, (types.Integer, types.Boolean)):  # an integer x: the value as float64, as a literal would be
        def impl_int(x, value):
            return float(value)

        return impl_int
    return None


def zero_of(values):
    """0 in the float type of the first float array in ``values`` (a NamedTuple of arrays: a flow's state), or a
    float64 0 where it holds none: what a flow-agnostic loop sums a run's numbers from."""
    for v in values:
        if isinstance(v, np.ndarray) and v.dtype.kind == "f":
            return v.dtype.type(0)
    return 0.0


@overload(zero_of, target="generic")
def _zero_of(values):
    for t in getattr(values, "types", ()):
        if isinstance(t, types.Array) and isinstance(t.dtype, types.Float):
            float_type = t.dtype
            return lambda values: float_type(0)
    return lambda values: 0.0
