"""The frame plan of step-counted flows: about 500 snapshots, the last step always recorded."""

import numpy as np
import pytest

from dyn.engine.steps import StepJob, default_record_every, frame_steps


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
