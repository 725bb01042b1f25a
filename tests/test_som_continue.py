"""Continuing a som run (``init=ds`` / ``--from``): its schedules, sample order and momentum go on from the step
where it stopped, so that a run split in parts is the unbroken run bit for bit; what may not change is refused."""

import numpy as np
import pytest

import dyn
from conftest import one_line_error

SPLITS = {
    "online": dict(rows=4, cols=5, n=120, shuffle=True, replicas=2, seed=3),
    "heskes": dict(rule="heskes", rows=3, cols=4, n=80, sigma=1.5),
    "batch": dict(rule="batch", rows=4, cols=4, n=150, replicas=2, lr=0.8),
    "topographic": dict(rule="topographic", rows=3, cols=4, dim=5, n=90, batch=8, shuffle=True),
}
STEPS = {"online": 600, "heskes": 360, "batch": 24, "topographic": 30}


def split_run(opts, steps, first):
    """The unbroken run, and the same run in two parts (joined), snapshots every 1/6 of the run."""
    every = steps // 6
    whole = dyn.simulate("som", steps=steps, record_every=every, measure_every=1, **opts)
    part = dyn.simulate("som", steps=first, schedule_steps=steps, record_every=every, measure_every=1, **opts)
    joined = dyn.simulate("som", init=part, steps=steps - first, join=True)
    return whole, joined


@pytest.mark.parametrize("rule", list(SPLITS))
def test_a_run_split_in_two_is_the_unbroken_run(rule):
    steps = STEPS[rule]
    whole, joined = split_run(SPLITS[rule], steps, steps // 2)
    np.testing.assert_array_equal(joined.step.values, whole.step.values)
    np.testing.assert_array_equal(joined.time.values, whole.time.values)
    for name in ("w", "quantization_error", "topographic_error", "sigma", "lr", "weight_norm"):
        np.testing.assert_array_equal(joined[name].values, whole[name].values, err_msg=name)
    if rule == "topographic":
        np.testing.assert_array_equal(joined.loss_train.values[1:], whole.loss_train.values[1:])
        np.testing.assert_array_equal(joined.momentum_buffer.values, whole.momentum_buffer.values)
    assert float(abs(whole.w[-1] - whole.w[len(whole.time) // 2]).max()) > 1e-3  # the second part moved
    assert joined.attrs["status"] == "completed" and '"steps": %d' % steps in joined.attrs["config"]


def test_decays_go_on_from_the_step_where_the_run_stopped():
    first = dyn.simulate("som", steps=100, schedule_steps=300, record_every=50, rows=3, cols=3, n=40)
    more = dyn.simulate("som", init=first, steps=200, record_every=50)
    assert list(more.step.values) == [150, 200, 250, 300]
    # MiniSom's asymptotic decay over max_iter = 300: v0 / (1 + t / 150)
    np.testing.assert_allclose(more.lr.values, 0.5 / (1 + more.step.values / 150), rtol=1e-15)
    np.testing.assert_allclose(more.sigma.values, 1.0 / (1 + more.step.values / 150), rtol=1e-15)


def test_a_data_array_run_continues_on_its_data():
    x = np.random.default_rng(2).normal(size=(50, 3))
    whole = dyn.simulate("som", data=x, steps=200, record_every=50, rows=3, cols=3)
    part = dyn.simulate("som", data=x, steps=100, schedule_steps=200, record_every=50, rows=3, cols=3)
    joined = dyn.simulate("som", init=part, steps=100, join=True)
    np.testing.assert_array_equal(joined.w.values, whole.w.values)
    with pytest.raises(dyn.UsageError, match="cannot change data"):
        dyn.simulate("som", init=part, steps=10, data=x)


@pytest.mark.parametrize("change", [dict(lr=0.1), dict(sigma=2.0), dict(sigma_decay="constant"), dict(rows=5),
                                    dict(neighbourhood="bubble"), dict(shuffle=True), dict(schedule_steps=900),
                                    dict(rule="batch"), dict(seed=9)])
def test_what_a_continuation_may_not_change_is_refused(change):
    run = dyn.simulate("som", steps=20, rows=3, cols=3, n=30)
    key = next(iter(change))
    with pytest.raises(dyn.UsageError, match=f"cannot change {key} when continuing"):
        dyn.simulate("som", init=run, steps=10, **change)


def test_a_linear_decay_is_not_continued_past_its_end():
    run = dyn.simulate("som", steps=50, rows=3, cols=3, n=30, lr_decay="linear_decay_to_zero")
    with pytest.raises(dyn.UsageError, match="ends at schedule_steps = 50: the run would reach step 60"):
        dyn.simulate("som", init=run, steps=10)
    with pytest.raises(dyn.UsageError, match="ends at schedule_steps"):
        dyn.simulate("som", steps=60, schedule_steps=50, sigma_decay="linear_decay_to_one")
    part = dyn.simulate("som", steps=30, schedule_steps=50, rows=3, cols=3, n=30, lr_decay="linear_decay_to_zero")
    assert int(dyn.simulate("som", init=part, steps=20).step[-1]) == 50


def test_a_diverged_replica_stays_stopped():
    run = dyn.simulate("som", steps=40, rows=3, cols=3, n=30, replicas=2, lr=1e300, lr_decay="constant")
    stopped = run.diverged_at.values >= 0
    assert stopped.all()
    more = dyn.simulate("som", init=run, steps=20)
    np.testing.assert_array_equal(more.diverged_at.values, run.diverged_at.values)
    assert np.isnan(more.w.values).all()


def test_cli_from_continues_the_file_and_refuses_a_fixed_option(run_cli, tmp_path):
    opts = ["--rows", "3", "--cols", "4", "--n", "60", "--record-every", "25", "--no-gif", "-q"]
    code, out, err = run_cli("simulate", "som", "--steps", "50", "--schedule-steps", "100", "-o", "a.nc", *opts)
    assert code == 0, err
    code, out, err = run_cli("simulate", "som", "--from", "a.nc", "--steps", "50", "-o", "b.nc", *opts)
    assert code == 0, err
    code, out, err = run_cli("simulate", "som", "--steps", "100", "-o", "c.nc", *opts)
    assert code == 0, err
    joined, whole = dyn.load(tmp_path / "b.nc"), dyn.load(tmp_path / "c.nc")
    np.testing.assert_array_equal(joined.w.values, whole.w.values)
    assert "a.nc" in joined.attrs["continues"]
    before = (tmp_path / "b.nc").read_bytes()
    code, out, err = run_cli("simulate", "som", "--from", "a.nc", "--steps", "5", "--lr", "0.2", "-o", "b.nc", *opts)
    assert code == 2 and one_line_error(err) and "cannot change lr" in err, err
    assert (tmp_path / "b.nc").read_bytes() == before
