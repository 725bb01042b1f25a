"""dtype="float32" in the relu flow: float32 arithmetic and records on the CPU (both kernels), against a plain-numpy
float32 reference and the float64 run of the same config; continuations, refusals and the command line."""

import json

import numpy as np
import pytest
import xarray as xr

import dyn
from conftest import one_line_error
from dyn.errors import UsageError
from dyn.flows.relu import wide
from relu_reference import numpy_run_in, small_problem

SHORT = dict(width=20, frames=10, replicas=2, rng="counter", test_loss="exact")


def relative(got, want):
    return np.max(np.abs(np.asarray(got, np.float64) - want)) / np.max(np.abs(want))


def test_a_float32_run_is_float32_and_near_the_float64_run():
    """A float32 run keeps every float variable in float32 and follows the float64 run of the same config
    (the same samples and initial neurons, rounded to float32). The two differ by float32 rounding: the unit
    roundoff is 2**-24 = 6e-8, the initial state and each of the run's 165 steps add a few units of it,
    relative, to every parameter, mostly cancelling (observed: 1e-7 to 6e-7 of each variable's largest value);
    2e-5 leaves room for a sample whose pre-activation lies within rounding of a ReLU's kink (its gradient term
    then switches in one run and not in the other), not for float32 arithmetic gone wrong (1e-3 and more)."""
    f64 = dyn.simulate("relu", **SHORT)
    f32 = dyn.simulate("relu", dtype="float32", **SHORT)
    floats = [name for name in f32.data_vars if f32[name].dtype.kind == "f"]
    assert {"a", "w", "b", "loss_train", "loss_test", "position", "teacher_w"} <= set(floats)
    for name in floats:
        assert f32[name].dtype == np.float32, name
        assert f64[name].dtype == np.float64, name
    for name in ("a", "w", "b", "position", "loss_train", "loss_test"):
        got, want = (ds[name].isel(time=slice(1, None)).values for ds in (f32, f64))  # loss_train: NaN at time 0
        assert relative(got, want) < 2e-5, name
        assert relative(got, want) > 1e-8, name  # rounding to float32 did happen
    assert relative(f32["w"].isel(time=-1).values, f32["w"].isel(time=0).values) > 0.1  # the students did move
    np.testing.assert_array_equal(f32["teacher_w"].values, f64["teacher_w"].values.astype(np.float32))
    assert f32.attrs["status"] == "completed" and (f32["diverged_at"].values == -1).all()


def kernel_and_reference(m, d, dtype):
    """A few SGD steps of the kernel (given inputs, init and teacher) in ``dtype``, and the float32 and float64
    plain-numpy references of them; snapshots (frame, neuron, ...)."""
    init, teacher, x = small_problem(m=m, d=d, n=400)
    frames, steps, batch, lr = 6, 3, 20, 0.3
    ds = dyn.simulate("relu", width=m, teacher_width=3, dim=d, frames=frames, schedule="constant",
                      steps_per_frame=steps, batch=batch, lr=lr, init=init, teacher=teacher, inputs=x,
                      test_loss="none", dtype=dtype)
    refs = {dt: numpy_run_in(dt, *init.values(), *teacher.values(), x, lr, [[batch] * steps] * frames)
            for dt in (np.float32, np.float64)}
    return ds, {dt: [np.stack([snap[i] for snap in ref]) for i in range(3)] for dt, ref in refs.items()}


def rms(got, want):
    return np.sqrt(np.mean((np.asarray(got, np.float64) - want) ** 2) / np.mean(np.asarray(want, np.float64) ** 2))


@pytest.mark.parametrize("m, d, closer", [(5, 3, 0.01), (300, 2, 0.15), (300, 3, 0.15)])
def test_float32_kernels_compute_in_float32(m, d, closer):
    """The float32 kernel agrees with a plain-numpy float32 run of the same steps far more closely than the
    float64 kernel does: its arithmetic really is float32. m = 5 is the per-sample kernel, which groups its
    operations as the reference does but for the order of the student output's sum (observed: the same numbers
    bit for bit); m = 300 the wide kernel (tiles, and in two dimensions fused multiply-adds), whose differences
    from the reference are a few float32 roundings (observed 0.04-0.06 of the float64 kernel's). Both kernels
    also follow the float64 reference in float64, so the reference computes what they compute."""
    assert (m >= wide.WIDE_FROM) == (m == 300)
    f32, refs = kernel_and_reference(m, d, "float32")
    f64, _ = kernel_and_reference(m, d, "float64")
    for i, name in enumerate("awb"):
        ref32, ref64 = refs[np.float32][i], refs[np.float64][i]
        k32, k64 = f32[name].values[1:], f64[name].values[1:]
        assert k32.dtype == np.float32 and ref32.dtype == np.float32
        assert relative(k64, ref64) < 1e-13, name
        assert rms(k64, ref32) > 3e-8, name  # the float32 reference is float32 rounding away from float64
        assert rms(k32, ref32) < closer * rms(k64, ref32), name
    assert relative(f32["w"].values[-1], f32["w"].values[0]) > 1e-3  # the students did move


def test_a_continued_float32_run_stays_float32_and_equals_the_unbroken_run():
    whole = dyn.simulate("relu", dtype="float32", **SHORT)
    part = dyn.simulate("relu", dtype="float32", **{**SHORT, "frames": 4})
    rest = dyn.simulate("relu", init=part, frames=6)
    assert rest["w"].dtype == np.float32 and json.loads(rest.attrs["config"])["dtype"] == "float32"
    joined = xr.concat([part, rest], dim="time", data_vars="minimal", coords="minimal", compat="override")
    np.testing.assert_array_equal(joined["w"].values, whole["w"].values)
    np.testing.assert_array_equal(joined["loss_train"].values, whole["loss_train"].values)
    with pytest.raises(UsageError, match="cannot change dtype"):
        dyn.simulate("relu", init=part, frames=2, dtype="float64")


def test_float32_on_the_default_stream_and_a_training_set():
    for options in (dict(frames=5), dict(frames=5, train_size=50), dict(frames=3, rng="notebook", seed=18)):
        f64 = dyn.simulate("relu", test_loss="none", **options)
        f32 = dyn.simulate("relu", test_loss="none", dtype="float32", **options)
        assert f32["w"].dtype == np.float32
        assert relative(f32["w"].values[1:], f64["w"].values[1:]) < 2e-5, options  # as above: observed 1e-7-3e-7


def test_population_training_refuses_float32_at_once():
    with pytest.raises(UsageError, match="train 'population' computes in float64") as err:
        dyn.simulate("relu", train="population", dtype="float32", frames=10**9)
    assert "\n" not in str(err.value)


def test_command_line_dtype(run_cli, tmp_path):
    code, out, err = run_cli("simulate", "relu", "--dtype", "float33")
    assert code == 2 and one_line_error(err) and "dtype must be one of float64, float32" in err, err
    code, out, err = run_cli("simulate", "relu", "--help")
    assert code == 0 and "--dtype" in out and "float32" in out
    code, out, err = run_cli("simulate", "relu", "--dtype", "float32", "--frames", "3", "--width", "3", "-q",
                             "--no-gif")
    assert code == 0, err
    assert dyn.load(tmp_path / "relu.nc")["w"].dtype == np.float32
    code, out, err = run_cli("simulate", "relu", "--from", "relu.nc", "--frames", "2", "-o", "more.nc", "-q",
                             "--no-gif")
    assert code == 0, err
    back = dyn.load(tmp_path / "more.nc")
    assert back["w"].dtype == np.float32 and back.sizes["time"] == 6
