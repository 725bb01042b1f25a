"""dyn.engine.precision: like() keeps float32 arithmetic float32 and float64 bit for bit what a literal gives."""

import numpy as np
import pytest
from numba import njit

from dyn.config import dtype_option
from dyn.engine.precision import DTYPES, like, zero_of


@njit
def scaled_sum(a, m):
    s = like(a[0], 0.0)
    for k in range(a.shape[0]):
        s += like(s, 0.1) * a[k] + like(s, 1.0 / m)
    return s


@njit
def scaled_sum_literals(a, m):
    s = 0.0
    for k in range(a.shape[0]):
        s += 0.1 * a[k] + 1.0 / m
    return s


def test_float32_stays_float32():
    a = np.linspace(-1, 1, 7).astype(np.float32)
    out = scaled_sum(a, 3)
    assert str(scaled_sum.overloads[scaled_sum.signatures[-1]].signature.return_type) == "float32"
    ref = np.float32(0)
    for v in a:  # the same arithmetic, step by step in numpy float32
        ref = ref + np.float32(0.1) * v + np.float32(1.0 / 3)
    assert out == ref
    scaled_sum_literals(a, 3)  # what bare literals would have done: float64
    assert str(scaled_sum_literals.overloads[scaled_sum_literals.signatures[-1]].signature.return_type) == "float64"


def test_float64_is_what_the_literals_give():
    a = np.random.default_rng(0).normal(size=50)
    assert scaled_sum(a, 7) == scaled_sum_literals(a, 7)


def test_plain_python():
    assert like(np.float32(2), 0.1) == np.float32(0.1) and isinstance(like(np.float32(2), 0.1), np.float32)
    assert like(2.0, 0.1) == 0.1 and like(3, 0.5) == 0.5


def test_names():
    assert DTYPES[0] == "float64" == dtype_option().default
    assert [np.dtype(n).itemsize for n in DTYPES] == [8, 4]


@njit
def typed_zero(values):
    return zero_of(values)


def test_zero_of_takes_the_first_float_array_type():
    ints, f32, f64 = np.zeros(2, np.int64), np.ones(2, np.float32), np.ones(2)
    for values, want in (((ints, f32, f64), "float32"), ((f64, f32), "float64"), ((ints,), "float64")):
        assert typed_zero(values) == 0 and zero_of(values) == 0
        assert str(typed_zero.overloads[typed_zero.signatures[-1]].signature.return_type) == want
        assert np.asarray(zero_of(values)).dtype == np.dtype(want)


@pytest.mark.parametrize("flow", ["center", "linear"])
def test_float64_only_flows_say_so_in_one_line(run_cli, flow):
    code, out, err = run_cli("simulate", flow, "--dtype", "float32", "--no-gif")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert f"not available for the {flow} flow" in err and "float64 only" in err
    code, out, err = run_cli("simulate", flow, "--help")
    assert code == 0 and "--dtype" in out and "float64 only" in out
