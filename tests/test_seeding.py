"""dyn.engine.seeding: numpy's SeedSequence -> PCG64 seeding compiled, checked against numpy itself."""

import numpy as np
import pytest

from dyn.engine.seeding import FrameStreams, entropy_words, pcg64_states
from dyn.engine.streams import DATA, stream
from dyn.flows.relu.config import ReluConfig
from dyn.flows.relu.inputs import FreshSamples
from dyn.flows.relu.schedule import plan

# names of one, two and three 32-bit words, zeros, the largest word, a name beyond 2**64
PREFIXES = [(0, DATA), (7, DATA), (0xFFFFFFFF, DATA), (2**32 + 5, DATA), (0,), (3, 1, 4, 1, 5), (2**70 + 9, 2)]
LAST = [0, 1, 2, 499, 123_456, 2**32 - 1, 2**32, 2**40 + 3]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_states_are_numpys(prefix):
    states = pcg64_states(entropy_words(*prefix), np.array(LAST, np.int64))
    for i, (hi, lo, inc_hi, inc_lo) in zip(LAST, states.tolist()):
        want = np.random.PCG64(np.random.SeedSequence([*prefix, i])).state["state"]
        assert (hi << 64 | lo, inc_hi << 64 | inc_lo) == (want["state"], want["inc"])


def test_random_names_and_draws_are_numpys():
    rng = np.random.default_rng(4)
    for _ in range(30):
        prefix = tuple(int(k) for k in rng.integers(0, 2**62, rng.integers(1, 4)))
        last = rng.integers(0, 2**62, 5)
        for i, gen in zip(last, FrameStreams(*prefix).each(last)):
            ref = stream(*prefix, int(i))
            np.testing.assert_array_equal(gen.standard_normal((40, 3)), ref.standard_normal((40, 3)))
            np.testing.assert_array_equal(gen.integers(0, 10**9, 7), ref.integers(0, 10**9, 7))


def test_negative_names_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        entropy_words(3, -1)


def test_fresh_samples_are_the_per_frame_streams():
    cfg = ReluConfig(replicas=2, seed=11)
    frames = range(3, 9)
    p = plan(cfg, frames)
    x = FreshSamples(cfg).block(frames, p)
    for r in range(2):
        ref = np.concatenate([stream(11 + r, DATA, i).standard_normal((100 * int(np.log(10 + 10 * i)), 2))
                              for i in frames])
        np.testing.assert_array_equal(x[r], ref)
