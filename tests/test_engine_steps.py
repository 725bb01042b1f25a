"""The frame plan of step-counted flows: about 500 snapshots, the last step always recorded."""

import numpy as np
import pytest

from dyn.engine.steps import StepJob, default_record_every, frame_steps
from dyn.errors import UsageError


@pytest.mark.parametrize("steps, every", [(10000, None), (1001, 500), (7, None), (1003, None), (499, 3)])
def test_frames_cover_every_step_and_end_on_the_last(steps, every):
    plan = frame_steps(steps, every)
    assert plan.sum() == steps
    expect = default_record_every(steps) if every is None else every
    assert (plan[:-1] == expect).all() and 1 <= plan[-1] <= expect


def test_default_is_about_500_snapshots():
    assert default_record_every(10000) == 20 and len(frame_steps(10000)) == 500
    assert default_record_every(300) == 1 and len(frame_steps(300)) == 300


def test_clocks_and_records_of_a_continued_run():
    new = StepJob(1001, 500, 2, {"w": (3, 2)})
    assert new.initial and new.rec["w"].shape == (2, 4, 3, 2) and np.isnan(new.rec["w"]).all()
    assert list(new.clocks(3)["step"]) == [0, 500, 1000, 1001]
    more = StepJob(100, 50, 2, {"w": (3, 2)}, step0=1001, frame0=3)
    clocks = more.clocks(2)
    assert list(clocks["time"]) == [4, 5] and list(clocks["step"]) == [1051, 1101]
    assert more.records(2)["w"].shape == (2, 2, 3, 2)


@pytest.mark.parametrize("steps", [1, 2, 7, 300, 500, 501, 520, 1003, 4000, 20000, 10**9, 2**62])
def test_log_spaced_snapshots_are_distinct_steps_ending_on_the_last(steps):
    from dyn.engine.steps import log_marks, snapshot_count

    marks = log_marks(steps)
    assert len(marks) == min(steps, 500) and marks[0] == 1 and marks[-1] == steps and (np.diff(marks) > 0).all()
    plan = frame_steps(steps, record="log")
    assert plan.sum() == steps and (plan >= 1).all() and len(plan) + 1 == snapshot_count(steps, record="log")
    if steps > 5000:  # every step at first, then a constant ratio between neighbours: straight on a log axis
        assert list(marks[:10]) == list(range(1, 11))
        ratios = marks[-100:] / marks[-101:-1]
        assert ratios.max() / ratios.min() < 1.01 and ratios.min() > 1.0


def test_record_is_resolved_from_record_every_and_checked():
    from dyn.config import resolve_record

    assert resolve_record(None, None, "log") == "log" and resolve_record(None, 5, "log") == "even"
    assert resolve_record("even", None, "log") == "even"
    with pytest.raises(UsageError, match="record_every applies to record='even'"):
        resolve_record("log", 5, "log")
    with pytest.raises(UsageError, match="record must be one of even, log"):
        resolve_record("geometric", None, "log")
    job = StepJob(4000, None, 1, {"w": (2,)}, record="log")
    steps = job.clocks(job.frames)["step"]
    assert job.rec["w"].shape == (1, 501, 2) and list(steps[:4]) == [0, 1, 2, 3] and steps[-1] == 4000
