"""Random streams: one numpy Generator per purpose, derived from SeedSequence with distinct keys.

A stream is named by integers, e.g. ``(seed, DATA, frame)``: the same name always gives the same
numbers, two names never share a stream, and a run continued from a snapshot draws what the
unbroken run would have drawn, because each frame's draws depend only on (seed, frame index).
"""

import numpy as np

TEACHER, INIT, DATA, TRAIN, TEST = 1, 2, 3, 4, 5
ORDER = 6  # sample order of an epoch (shuffled passes over a fixed data set)
PROBE = 7  # the analysis's fixed Gaussian probe (dead neurons), keyed by teacher_seed


def stream(*name):
    """The Generator of the stream ``name`` (non-negative integers)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(k) for k in name])))
