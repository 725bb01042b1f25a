"""rng="counter": the relu flow's fresh samples from the counter-based generator (dyn.engine.counter)."""

import numpy as np

import dyn
from dyn.engine.counter import normals
from dyn.engine.streams import DATA
from dyn.flows.relu.config import ReluConfig
from dyn.flows.relu.inputs import CounterSamples
from dyn.flows.relu.schedule import plan

SMALL = dict(width=6, frames=12, test_loss="none", rng="counter")


def test_counter_samples_are_named_by_seed_step_and_sample():
    cfg = ReluConfig(rng="counter", seed=3, replicas=2, dim=2)
    p = plan(cfg, range(2, 4))  # frames 2 and 3 of the seed's schedule: 200 + 300 samples in batches of 20
    x = CounterSamples(cfg).block(range(2, 4), p)
    first = sum(-(-100 * int(np.log(10 + 10 * i)) // 20) for i in range(2))  # steps of frames 0 and 1
    assert x.shape == (2, p.fresh, 2)
    s = 7  # the 8th step of the block: its samples are rows starts[s]:starts[s] + sizes[s]
    rows = x[1, p.starts[s]:p.starts[s] + p.sizes[s]]
    np.testing.assert_array_equal(rows, normals(4, DATA, 0, first + s, np.arange(p.sizes[s]), 2))
    assert abs(x.mean()) < 0.1 and abs(x.var() - 1) < 0.1


def test_counter_replica_is_the_single_run_with_seed_plus_r():
    both = dyn.simulate("relu", replicas=3, seed=5, **SMALL)
    one = dyn.simulate("relu", seed=7, **SMALL)
    np.testing.assert_array_equal(both["w"].isel(replica=2).values, one["w"].values)


def test_counter_run_continued_in_parts_is_the_unbroken_run():
    whole = dyn.simulate("relu", **SMALL)
    part = dyn.simulate("relu", **{**SMALL, "frames": 5})
    more = dyn.simulate("relu", init=part, frames=7)
    np.testing.assert_array_equal(more["w"].isel(time=-1).values, whole["w"].isel(time=-1).values)
    assert int(more.step[-1]) == int(whole.step[-1])


def test_counter_and_default_streams_differ_but_both_learn():
    counter = dyn.simulate("relu", width=20, frames=200, test_loss="exact", rng="counter")
    default = dyn.simulate("relu", width=20, frames=200, test_loss="exact")
    assert not np.array_equal(counter["w"].values, default["w"].values)
    for ds in (counter, default):
        loss = ds["loss_test"].values
        assert loss[-1] < 0.2 * loss[0]


def test_kernel_draws_are_the_host_drawn_counter_samples():
    """On the CPU the kernel draws each step's samples itself; they are CounterSamples' bit for bit: the run
    equals the run given CounterSamples' block as its inputs (replicas, an odd dim, partial batches)."""
    from dyn.flows.relu.job import prepare

    for options in (dict(replicas=3, seed=9, frames=6), dict(dim=3, batch=7, frames=4),
                    dict(schedule="constant", batch=5, steps_per_frame=3, frames=5, dim=1)):
        cfg = ReluConfig(**{**SMALL, **options})
        job = prepare(cfg)
        p, x = job.inputs(0, cfg.frames)
        assert job.draws_inside and x.size == 0  # no input arrays
        given = CounterSamples(cfg).block(range(cfg.frames), plan(cfg, range(cfg.frames)))
        inside = dyn.simulate("relu", **{**SMALL, **options})
        host = dyn.simulate("relu", **{**SMALL, **options, "inputs": given})
        for name in ("a", "w", "b", "loss_train"):
            np.testing.assert_array_equal(inside[name].values, host[name].values)


def test_fill_normals_is_normals():
    from dyn.engine.counter import fill_normals

    out = np.full((9, 5), np.nan)
    fill_normals(out, 4, DATA, 2, 77, 7)
    np.testing.assert_array_equal(out[:7], normals(4, DATA, 2, 77, np.arange(7), 5))
    assert np.isnan(out[7:]).all()  # rows past n are left alone


def test_counter_seeds_beyond_32_bits_are_refused():
    import pytest

    from dyn.errors import UsageError

    with pytest.raises(UsageError, match="32-bit") as err:
        ReluConfig(rng="counter", seed=2**32 - 2, replicas=3)
    assert err.value.exit_code == 2
    ReluConfig(rng="counter", seed=2**32 - 3, replicas=3)  # the last seed that fits


def test_kernel_draws_are_standard_normal():
    """What the kernel draws (fill_normals, step after step) has the moments of N(0, I) and passes a KS test."""
    from scipy import stats

    from dyn.engine.counter import fill_normals

    steps, batch, d = 2500, 20, 3
    x = np.empty((steps, batch, d))
    for t in range(steps):
        fill_normals(x[t], 12, DATA, 0, t, batch)
    z = x.reshape(-1, d)
    assert np.abs(z.mean(0)).max() < 5 / np.sqrt(len(z))
    assert np.abs(z.var(0) - 1).max() < 5 * np.sqrt(2 / len(z))
    assert np.abs(np.corrcoef(z.T) - np.eye(d)).max() < 5 / np.sqrt(len(z))
    assert abs(stats.skew(z.ravel())) < 0.03 and abs(stats.kurtosis(z.ravel())) < 0.06
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-3
