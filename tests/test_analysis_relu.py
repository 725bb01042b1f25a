"""The analysis of relu runs on hand-made Datasets with hand-computed answers, and on real runs."""

import math

import numpy as np
import pytest
import xarray as xr

import dyn
from dyn.analysis import (alignment, analyze, balancedness, balancedness_drift, cosine, covered, dead, dead_fraction,
                          lazy, mean_speed, nearest_teacher, relative_change, speed, table, teacher_alignment,
                          wasserstein2)
from dyn.errors import RunError, UsageError

S2 = 1 / math.sqrt(2)


def made(a, w, b, ta, tw, tb, step=None):
    """A relu run's Dataset from snapshots a (T, [R,] m), w (T, [R,] m, d), b and a teacher (M,), (M, d), (M,)."""
    a, w, b = (np.asarray(v, dtype=float) for v in (a, w, b))
    lead = ("time", "replica") if a.ndim == 3 else ("time",)
    T = a.shape[0]
    ds = xr.Dataset(
        {"a": (lead + ("neuron",), a), "w": (lead + ("neuron", "dim"), w), "b": (lead + ("neuron",), b),
         "teacher_a": (("teacher_neuron",), np.asarray(ta, float)),
         "teacher_w": (("teacher_neuron", "dim"), np.asarray(tw, float)),
         "teacher_b": (("teacher_neuron",), np.asarray(tb, float))},
        coords={"time": np.arange(T), "step": ("time", np.arange(T) * 10 if step is None else np.asarray(step))})
    ds.attrs.update(flow="relu", config="{}", teacher_seed=0)
    return ds


# teacher: t0 = (a 1, w (1, 0), b 0), t1 = (a -1, w (0, 1), b 0)
TEACHER = ([1.0, -1.0], [[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])


def pointing():
    """Students at two snapshots: s0 on t0's ray (a = 2), s1 between the teacher's rays (a = -1) then
    5.7 degrees from t1, s2 = (w 0, b 0) with no direction, s3 on t0's w but with a bias (45 degrees)."""
    a = [[2.0, -1.0, 1.0, 1.0], [2.0, -1.0, 1.0, -3.0]]
    w = [[[1, 0], [1, 1], [0, 0], [1, 0]], [[3, 0], [0.1, 1], [0, 0], [1, 0]]]
    b = [[0, 0, 0, 1], [0, 0, 0, 1]]
    return made(a, w, b, *TEACHER)


def test_cosine_and_nearest_teacher_by_hand():
    ds = pointing()
    cos = cosine(ds)
    assert cos.dims == ("time", "neuron", "teacher_neuron")
    want0 = [[1, 0], [S2, S2], [np.nan, np.nan], [S2, 0]]
    np.testing.assert_allclose(cos.isel(time=0), want0, atol=1e-15)
    np.testing.assert_allclose(cos.isel(time=1)[1], [0.1 / math.sqrt(1.01), 1 / math.sqrt(1.01)], atol=1e-15)
    near = nearest_teacher(ds)
    np.testing.assert_array_equal(near.isel(time=1), [0, 1, -1, 0])
    assert near.isel(time=0).values[2] == -1


def test_covered_and_alignment_by_hand():
    ds = pointing()
    best = teacher_alignment(ds)  # same sign of a: t0 (a > 0) by s0, s3 (time 0); t1 (a < 0) by s1
    np.testing.assert_allclose(best, [[1, S2], [1, 1 / math.sqrt(1.01)]], atol=1e-15)
    np.testing.assert_allclose(alignment(ds), [(1 + S2) / 2, (1 + 1 / math.sqrt(1.01)) / 2], atol=1e-15)
    np.testing.assert_array_equal(covered(ds, angle=10), [1, 2])  # s1 is 5.7 degrees from t1 at time 1
    np.testing.assert_array_equal(covered(ds, angle=5), [1, 1])
    np.testing.assert_array_equal(covered(ds, angle=46), [2, 2])
    # a teacher neuron no student of its sign can cover: -1; unless every sign counts
    flipped = pointing()
    flipped["a"][:] = 1.0
    np.testing.assert_allclose(teacher_alignment(flipped).sel(teacher_neuron=1), [-1, -1])
    np.testing.assert_allclose(teacher_alignment(flipped, same_sign=False).sel(teacher_neuron=1),
                               [S2, 1 / math.sqrt(1.01)], atol=1e-15)
    np.testing.assert_array_equal(covered(flipped, same_sign=False), [1, 2])


def test_wasserstein2_by_hand():
    pytest.importorskip("ot")
    # particles (a, w0, w1, b); one teacher neuron; students at it and 2 away in b: W2^2 = (0 + 4) / 2
    one = made([[1.0, 1.0]], [[[1, 0], [1, 0]]], [[0, 2]], [1.0], [[1, 0]], [0.0])
    assert float(wasserstein2(one)[0]) == pytest.approx(math.sqrt(2), abs=1e-12)
    # the teacher's particles permuted and shifted by 0.3 in a: W2 = 0.3
    perm = made([[-1.0 + 0.3, 1.0 + 0.3]], [[[0, 1], [1, 0]]], [[0, 0]], *TEACHER)
    assert float(wasserstein2(perm)[0]) == pytest.approx(0.3, abs=1e-12)
    # masses 1/3 against 1/2 on a line (a = 0, 1, 2 against 0, 2): the middle third splits, W2^2 = 1/3
    line = made([[0.0, 1.0, 2.0]], [[[0, 0]] * 3], [[0, 0, 0]], [0.0, 2.0], [[0, 0]] * 2, [0.0, 0.0])
    assert float(wasserstein2(line)[0]) == pytest.approx(1 / math.sqrt(3), abs=1e-12)


def test_wasserstein2_without_pot_is_one_line(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ot", None)  # import ot raises ImportError
    with pytest.raises(RunError, match="needs POT .*pip install pot"):
        wasserstein2(pointing())


def test_lazy_balancedness_speed_by_hand():
    # neuron 0: theta (a, w0, w1, b) from (1, 0, 0, 0) by 0.5 in w0, then 1.5 more; neuron 1: (0, 3, 4, 0),
    # by 5 in b, then still; steps 0, 10, 30
    a = [[1, 0], [1, 0], [1, 0]]
    w = [[[0, 0], [3, 4]], [[0.5, 0], [3, 4]], [[2, 0], [3, 4]]]
    b = [[0, 0], [0, 5], [0, 5]]
    ds = made(a, w, b, *TEACHER, step=[0, 10, 30])
    np.testing.assert_allclose(relative_change(ds), [[0, 0], [0.5, 1.0], [2.0, 1.0]])
    np.testing.assert_allclose(lazy(ds), [0, math.sqrt(0.25 + 25) / math.sqrt(26), math.sqrt(4 + 25) / math.sqrt(26)])
    np.testing.assert_allclose(balancedness(ds), [[1, -25], [0.75, -50], [-3, -50]])
    np.testing.assert_allclose(balancedness_drift(ds), [0, 25, 25])
    sp = speed(ds)
    assert np.isnan(sp[0]).all()
    np.testing.assert_allclose(sp[1:], [[0.05, 0.5], [0.075, 0.0]])
    np.testing.assert_allclose(mean_speed(ds)[1:], [0.275, 0.0375])


def test_dead_neurons_by_hand():
    # on the probe: far-off hyperplane and (0, -1) dead; (0, 1) and (e0, 0) alive; (0, 0) dead by convention
    w = [[[1, 0], [0, 0], [0, 0], [1, 0], [0, 0]]]
    b = [[-100, -1, 1, 0, 0]]
    ds = made([[1.0] * 5], w, b, *TEACHER)
    np.testing.assert_array_equal(dead(ds)[0], [True, True, False, False, True])
    assert float(dead_fraction(ds)[0]) == pytest.approx(0.6)
    assert "Gaussian probe of 10000" in dead(ds).attrs["description"]
    # on a given set: w = (-1, -1) is dead on {e0, e1} with b = 0.5, alive with b = 1.5
    x = [[1.0, 0.0], [0.0, 1.0]]
    ds2 = made([[1.0, 1.0]], [[[-1, -1], [-1, -1]]], [[0.5, 1.5]], *TEACHER)
    np.testing.assert_array_equal(dead(ds2, x=x)[0], [True, False])
    with pytest.raises(UsageError, match=r"x must be a set of samples \(n, 2\)"):
        dead(ds2, x=[[1.0, 2.0, 3.0]])


def test_replicas_and_a_diverged_replica():
    """A replica dim is kept; a replica whose state is NaN (diverged) gives NaN, the others their values."""
    one = pointing()
    a, w, b = (np.stack([one[k].values] * 2, axis=1) for k in "awb")
    a[1, 1, 0] = np.nan
    two = made(a, w, b, *TEACHER)
    for f in (alignment, covered, dead_fraction, wasserstein2):
        if f is wasserstein2:
            pytest.importorskip("ot")
        got = f(two)
        assert got.dims == ("time", "replica")
        assert np.isnan(got.values[1, 1]) and np.isfinite(got.values[0]).all()
        np.testing.assert_array_equal(got.values[:, 0], f(one).values)
    assert nearest_teacher(two).dims == ("time", "replica", "neuron")


def test_non_relu_datasets_are_refused():
    ds = pointing()
    ds.attrs["flow"] = "som"
    with pytest.raises(UsageError, match="needs a relu run; this is a 'som' run"):
        cosine(ds)
    with pytest.raises(UsageError, match="needs the relu run's teacher_w"):
        lazy(pointing().drop_vars("teacher_w"))


def test_balancedness_is_conserved_by_the_flow_and_drifts_like_lr():
    """Gradient descent on a fixed set: a step changes a_k^2 - |w_k|^2 - b_k^2 by lr^2 (...) only, so at a
    fixed flow time (lr x steps = 5) the drift is proportional to lr, while the neurons move a lot."""
    runs = {lr: dyn.simulate("relu", train_size=200, lr=lr, steps_per_frame=int(round(0.5 / lr)), frames=10,
                             scaling="mean-field", test_loss="none", radius=0.5) for lr in (0.05, 0.005)}
    big, small = (float(balancedness_drift(runs[lr])[-1]) for lr in (0.05, 0.005))
    assert 8 < big / small < 12
    scale = float(np.abs(balancedness(runs[0.005])).max())
    assert small < 2e-4 * scale
    assert float(lazy(runs[0.005])[-1]) > 0.3  # not conserved because nothing moved


def test_analyze_and_table_of_the_seed_run(seed_run):
    pytest.importorskip("ot")
    an = analyze(seed_run)
    for name in ("cosine", "nearest_teacher", "teacher_alignment", "relative_change", "balancedness", "speed",
                 "dead", "alignment", "covered", "w2", "lazy", "balancedness_drift", "mean_speed", "dead_fraction",
                 "loss_test"):
        assert name in an and an[name].dims[0] == "time", name
        assert an[name].attrs.get("description"), name
    assert an.attrs["flow"] == "relu" and an.attrs["kind"] == "analysis"
    lines = table(an)
    assert lines[0].split()[:4] == ["time", "step", "loss_test", "alignment"]
    assert [line.split()[0] for line in lines[1:4]] == ["0", "250", "500"]
    # the seed run learns: rich (its neurons move by order one), losses fall, some teacher neurons covered
    assert float(an.lazy[-1]) > 0.3 and float(an.covered[-1]) >= 2 and float(an.covered[0]) == 0


def test_analysis_names_agree_with_the_flow():
    from dyn.analysis.report import SUMMARY
    from dyn.flows.relu import ANALYSIS_METRICS

    assert ANALYSIS_METRICS == SUMMARY


def test_analysis_metrics_of_a_run():
    """What a study keeps: the last finite value per replica; a diverged replica keeps its last finite one."""
    pytest.importorskip("ot")
    from dyn.study.point import flow_metrics

    ds = dyn.simulate("relu", replicas=2, frames=5, test_loss="none")
    got = flow_metrics(ds, "relu", ["w2", "final_loss_train", "covered"])
    assert list(got) == ["w2", "final_loss_train", "covered"]
    np.testing.assert_allclose(got["w2"], wasserstein2(ds).isel(time=-1))
    assert got["w2"].dims == ("replica",) and "last finite value" in got["w2"].attrs["description"]
    ds["a"] = ds["a"].copy()
    ds["a"][-1, 1] = np.nan
    np.testing.assert_allclose(flow_metrics(ds, "relu", ["w2"])["w2"][1], wasserstein2(ds).isel(time=-2, replica=1))
    assert "w2" not in flow_metrics(ds, "relu", "all")  # only when named
