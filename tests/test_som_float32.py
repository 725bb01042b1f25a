"""The som flow in float32: records of that type, the float64 run's values to float32's accuracy, arithmetic that is
float32 (a plain-numpy float32 reference agrees with the kernel far more closely than float64 does), continuation,
and a bad dtype refused in one line."""

import json
import re

import numpy as np
import pytest
from numba import njit

import dyn
from conftest import one_line_error
from dyn.flows.som.config import DTYPES
from som_reference import online_numpy, small_data, small_init

# short runs on small maps whose winners do not flip between the two precisions (a near tie could: then the maps
# part by a whole update, not by rounding)
RULES = {
    "online": dict(rows=3, cols=4, n=60, steps=120),
    "heskes": dict(rows=3, cols=4, n=60, steps=120),
    "batch": dict(rows=3, cols=4, n=60, steps=8, lr=0.8),
    "topographic": dict(rows=3, cols=4, n=60, dim=6, batch=8, steps=30),
}


def test_the_dtype_names_are_the_engines():
    from dyn.engine.precision import DTYPES as ENGINE

    assert DTYPES == ENGINE


@pytest.mark.parametrize("rule", RULES)
def test_records_are_float32_and_agree_with_the_float64_run(rule):
    """Every step of these rules moves a weight by a convex combination (online, heskes: w + h (x - w), 0 <= h <= 1;
    batch: (1 - lr) w + lr times a weighted mean) or by a small SGD step (topographic, lr 1e-3), so the rounding of
    one step (a few units of float32's 6e-8) is not amplified: after S steps the maps (|w| <= 1) differ by about
    S * 1e-7 at most, 1.2e-5 for the longest run here; 2e-5 leaves a margin, and is far below what one flipped
    winner would move a unit (h eta |x - w|, about 1e-2). The measures (taken in float64 from the records) agree to
    the same accuracy: QE is 1-Lipschitz in the weights, and TE is the same share of the same winners (stored in
    float32: 1 part in 2^24)."""
    opts = dict(rule=rule, measures="all", measure_every=1, **RULES[rule])
    d64, d32 = (dyn.simulate("som", dtype=dtype, **opts) for dtype in DTYPES)
    for name in ("w", "data", "quantization_error", "topographic_error", "topographic_loss", "heskes_energy",
                 "weight_norm") + (("loss_train", "momentum_buffer") if rule == "topographic" else ()):
        assert d32[name].dtype == np.float32 and d64[name].dtype == np.float64, name
    assert json.loads(d32.attrs["config"])["dtype"] == "float32"
    np.testing.assert_array_equal(d32.data.values, d64.data.values.astype(np.float32))  # drawn in float64, then cast
    np.testing.assert_array_equal(d32.w.values[0], d64.w.values[0].astype(np.float32))
    moved = float(abs(d64.w[-1] - d64.w[0]).max())
    assert moved > 1e-2  # the maps moved (far more than the tolerance)
    np.testing.assert_allclose(d32.w.values, d64.w.values, rtol=0, atol=2e-5)
    assert float(abs(d32.w - d64.w).max()) > 0  # and float32 is not float64 in disguise
    np.testing.assert_allclose(d32.quantization_error, d64.quantization_error, rtol=0, atol=2e-5)
    np.testing.assert_allclose(d32.topographic_error, d64.topographic_error, rtol=1e-7, atol=0)
    for name in ("topographic_loss", "heskes_energy"):  # sums of 12 weighted squared distances: 4 times QE's scale
        np.testing.assert_allclose(d32[name], d64[name], rtol=0, atol=1e-4)


def test_a_numpy_float32_reference_agrees_with_the_float32_kernel_far_more_closely_than_float64():
    """The arithmetic is float32: the kernel's float32 run follows a plain-numpy float32 reference of the same
    operations (to the rounding of an exponential, at most an ulp or two), while its float64 run differs from it by
    float32's rounding, accumulated over the steps."""
    rows, cols, steps = 3, 4, 40
    x = small_data(n=30).astype(np.float32).astype(np.float64)  # exactly representable in both precisions
    w0 = small_init(rows * cols, 2).astype(np.float32).astype(np.float64)
    ref = np.array(online_numpy(x, w0, steps, rows, cols, dtype=np.float32))
    ref64 = np.array(online_numpy(x, w0, steps, rows, cols, dtype=np.float64))
    runs = {dtype: dyn.simulate("som", data=x, init=w0, rows=rows, cols=cols, steps=steps, record_every=1,
                                dtype=dtype).w.values[1:] for dtype in DTYPES}
    np.testing.assert_allclose(runs["float64"], ref64, rtol=0, atol=1e-14)  # the reference is the rule
    off32 = float(abs(runs["float32"] - ref).max())
    off64 = float(abs(runs["float64"] - ref).max())
    assert off64 > 1e-7  # float32's rounding, accumulated
    assert off32 <= 0.01 * off64, (off32, off64)


# float64 arithmetic in LLVM IR: an operation, a widening of a float (a float32 compared with a float64 is one) or a
# call of a double function (exp, sqrt...); integers converted to double and compared are np.dot's size checks
DOUBLE_MATH = re.compile(r"= (?:fadd|fsub|fmul|fdiv|frem|fneg)\b[^\n]*\bdouble\b|= fpext\b|call [^\n]*double @llvm\.")


def step_ir(rule, dtype):
    """The LLVM IR of ``rule``'s CPU step for a ``dtype`` run (compiled afresh: the cached one keeps no IR), without
    the Python wrapper."""
    from dyn.flows.som.config import SomConfig
    from dyn.flows.som.job import prepare
    from dyn.flows.som.units import Inputs, State

    extra = dict(dim=4, batch=4) if rule == "topographic" else {}
    job = prepare(SomConfig(rule=rule, dtype=dtype, rows=3, cols=3, steps=4, n=20, **extra))
    state, inputs = State(job.w[0], job.buf[0]), Inputs(job.x, job.inputs(0, 1)[0], 0)
    step = njit(job.kernels.step.py_func)
    step(state, job.consts, inputs, job.kernels.scratch(state, job.consts, inputs), 0)
    ir = step.inspect_llvm(step.signatures[0])
    return [f for f in re.split(r"\n(?=define )", ir) if f.startswith("define") and "cpython" not in f.split("\n")[0]]


@pytest.mark.parametrize("rule", ["online", "batch", "topographic"])  # heskes is online's step (a run-time switch)
def test_the_float32_cpu_step_does_no_float64_arithmetic(rule):
    """The CPU twin of the CUDA kernels' PTX check (tests/test_cuda.py): no double operation, widening or double
    math call in the step and the helpers it inlines (np.dot's size checks convert integers only)."""
    found = [hit for f in step_ir(rule, "float32") for hit in DOUBLE_MATH.findall(f)]
    assert not found, found[:5]
    if rule == "online":  # the pattern does find float64 arithmetic where there is some
        assert len([hit for f in step_ir(rule, "float64") for hit in DOUBLE_MATH.findall(f)]) > 10


def test_a_float32_run_continued_stays_float32_and_is_the_unbroken_run():
    opts = dict(rows=3, cols=3, n=40, record_every=10, dtype="float32")
    whole = dyn.simulate("som", steps=60, schedule_steps=60, **opts)
    part = dyn.simulate("som", steps=30, schedule_steps=60, **opts)
    joined = dyn.simulate("som", init=part, steps=30, join=True)
    assert joined.w.dtype == np.float32 and joined.data.dtype == np.float32
    np.testing.assert_array_equal(joined.w.values, whole.w.values)
    with pytest.raises(dyn.UsageError, match="cannot change dtype when continuing"):
        dyn.simulate("som", init=part, steps=10, dtype="float64")


def test_topographic_float32_keeps_its_momentum_buffer_on_continuation():
    opts = dict(rule="topographic", rows=3, cols=3, n=40, dim=4, batch=4, record_every=5, dtype="float32")
    whole = dyn.simulate("som", steps=20, **opts)
    part = dyn.simulate("som", steps=10, **opts)
    joined = dyn.simulate("som", init=part, steps=10, join=True)
    assert joined.momentum_buffer.dtype == np.float32
    np.testing.assert_array_equal(joined.w.values, whole.w.values)
    np.testing.assert_array_equal(joined.momentum_buffer.values, whole.momentum_buffer.values)


def test_cli_float32_file_and_a_bad_dtype(run_cli, tmp_path):
    opts = ["--rows", "3", "--cols", "3", "--n", "40", "--record-every", "10", "--no-gif", "-q"]
    code, out, err = run_cli("simulate", "som", "--steps", "20", "--dtype", "float32", "-o", "a.nc", *opts)
    assert code == 0, err
    saved = dyn.load(tmp_path / "a.nc")
    assert saved.w.dtype == np.float32 and saved.quantization_error.dtype == np.float32
    code, out, err = run_cli("simulate", "som", "--from", "a.nc", "--steps", "10", "-o", "b.nc", *opts)
    assert code == 0, err
    assert dyn.load(tmp_path / "b.nc").w.dtype == np.float32
    code, out, err = run_cli("simulate", "som", "--steps", "20", "--dtype", "float33", *opts)
    assert code == 2 and one_line_error(err) and "dtype must be one of float64, float32" in err, err


def test_equal_norms_in_float32_are_a_tie():
    """MiniSom's winner is the first argmin of the norms sqrt(d2): in float32, squared distances an ulp apart often
    share their float32 norm, and then the earlier unit wins. float64's margin (1 + 1e-15) rounds to 1 in float32 and
    would see no tie; the float32 margin does, and still tells apart distances whose norms differ."""
    from dyn.flows.som.units import same_norm

    check = njit(lambda d2, best: same_norm(d2, best))
    f = np.float32
    pairs = [(a, np.nextafter(a, f(np.inf))) for a in (f(0.37) * f(1.0 + k / 64) for k in range(64))]
    ties = [(a, b) for a, b in pairs if np.sqrt(a) == np.sqrt(b)]
    apart = [(a, b) for a, b in pairs if np.sqrt(a) != np.sqrt(b)]
    assert ties and apart
    assert all(check(b, a) for a, b in ties)
    assert not any(check(b, a) for a, b in apart)
    assert f(1.0 + 1e-15) == 1  # float64's margin, in float32
    assert check(2.0 + 4e-16, 2.0) and not check(2.0 + 1e-14, 2.0)  # float64 as before
