"""Convergence metrics on hand-made Datasets (known answers) and on a real run."""

import numpy as np
import xarray as xr

import dyn
from dyn.analysis import convergence_step, final


def made_up():
    loss = np.array([[1.0, 2.0], [0.5, 1.0], [0.009, np.nan], [0.001, np.nan]])
    return xr.Dataset({"loss_test": (("time", "replica"), loss)}, coords={"step": ("time", [0, 10, 20, 30])})


def test_convergence_step_known_answers():
    ds = made_up()
    np.testing.assert_array_equal(convergence_step(ds, factor=1e-2).values, [20, np.nan])
    np.testing.assert_array_equal(convergence_step(ds, factor=0.5).values, [10, 10])
    np.testing.assert_array_equal(final(ds).values, [0.001, 1.0])


def test_convergence_of_the_seed_run(seed_run):
    step = float(convergence_step(seed_run, factor=0.1))
    loss = seed_run.loss_test.values
    i = int(np.searchsorted(seed_run.step.values, step))
    assert loss[i] <= 0.1 * loss[0] and (loss[:i] > 0.1 * loss[0]).all()
