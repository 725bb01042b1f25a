"""Under the CUDA simulator: the som flow's CUDA kernels against its CPU kernels on the same data and order."""

import numpy as np
import pytest
from numba import config

import dyn

assert config.ENABLE_CUDASIM, "run these tests with NUMBA_ENABLE_CUDASIM=1 (tests/test_cuda.py does)"
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SMALL = dict(rows=2, cols=3, n=10, record_every=4, measure_every=1)


def both(**options):
    return [dyn.simulate("som", device=device, **{**SMALL, **options}) for device in ("cpu", "cuda")]


def assert_same_run(cpu, gpu, tol=1e-12):
    """The two runs agree: records to ``tol`` (None: the caller compares them), divergence and clocks exactly."""
    assert cpu.attrs["device"] == "cpu" and gpu.attrs["device"] == "cuda"
    for name in ("w", "quantization_error", "topographic_error") if tol is not None else ():
        np.testing.assert_allclose(gpu[name].values, cpu[name].values, rtol=tol, atol=tol, equal_nan=True)
    np.testing.assert_array_equal(gpu["diverged_at"].values, cpu["diverged_at"].values)
    np.testing.assert_array_equal(gpu["step"].values, cpu["step"].values)


def test_online_rule_on_cuda_equals_cpu_with_replicas_and_shuffled_order():
    cpu, gpu = both(steps=12, replicas=2, shuffle=True, seed=1)
    assert_same_run(cpu, gpu)
    assert float(abs(cpu.w[0, -1] - cpu.w[0, 0]).max()) > 0.05  # the maps moved


def test_online_rule_with_ties_of_equal_distance_takes_the_first_unit():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    init = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [2.0, 2.0], [-2.0, -2.0]])
    cpu, gpu = both(steps=4, data=x, init=init, n=None, record_every=2)  # sample 0: units 0-3 tie at distance 1
    assert_same_run(cpu, gpu)


def test_heskes_rule_and_a_hexagonal_torus_on_cuda():
    cpu, gpu = both(rule="heskes", steps=8, rows=2, cols=4, topology="hexagonal", toroidal=True)
    assert_same_run(cpu, gpu)


def test_batch_rule_on_cuda_equals_cpu():
    cpu, gpu = both(rule="batch", steps=3, replicas=2, n=8, lr=0.7, record_every=2)
    assert_same_run(cpu, gpu)
    assert float(abs(cpu.w[0, -1] - cpu.w[0, 0]).max()) > 0.05


def test_more_units_than_threads():
    from dyn.flows.som.cuda import THREADS, threads_for

    rows, cols = 1, THREADS + 2  # threads 0 and 1 hold two units each
    assert threads_for(rows * cols) == THREADS
    cpu, gpu = both(rows=rows, cols=cols, steps=2, n=4, record_every=1, measure_every=None)
    assert_same_run(cpu, gpu)


def test_a_diverging_replica_stops_where_the_cpu_stops_it():
    cpu, gpu = both(steps=6, replicas=2, lr=1e300, lr_decay="constant", record_every=2)
    assert (cpu["diverged_at"].values >= 0).all()
    assert_same_run(cpu, gpu)


def test_topographic_rule_is_refused_on_cuda_in_one_line():
    with pytest.raises(dyn.RunError, match="rule 'topographic' has no CUDA kernels") as err:
        dyn.simulate("som", rule="topographic", steps=2, device="cuda")
    assert "\n" not in str(err.value)
    assert dyn.simulate("som", rule="topographic", steps=1, rows=2, cols=2, n=8, dim=3, batch=4).attrs["device"] == "cpu"


FLOAT32_CASES = [("online", dict(steps=12, replicas=2, shuffle=True, seed=1)),
                 ("heskes", dict(steps=8, rows=2, cols=4, topology="hexagonal", toroidal=True)),
                 ("batch", dict(steps=3, replicas=2, n=8, lr=0.7, record_every=2))]


@pytest.mark.parametrize("rule, options", FLOAT32_CASES)
def test_float32_on_cuda_equals_float32_on_the_cpu(rule, options):
    """float32 maps on both devices: the same float32 records, to float32's rounding. The simulator runs the kernels
    as Python (its scalars partly float64), so the two differ by a few float32 roundings a step: 1e-5 relative,
    with 1e-6 absolute for the coordinates near 0; a flipped winner would move a unit by about 1e-2. That the GPU's
    arithmetic is float32 is tests/test_cuda.py's PTX check."""
    cpu, gpu = both(rule=rule, dtype="float32", **options)
    assert cpu.w.dtype == gpu.w.dtype == np.float32 and gpu.quantization_error.dtype == np.float32
    assert_same_run(cpu, gpu, tol=None)
    np.testing.assert_allclose(gpu.w.values, cpu.w.values, rtol=1e-5, atol=1e-6)
    for name in ("quantization_error", "topographic_error"):
        np.testing.assert_allclose(gpu[name].values, cpu[name].values, rtol=1e-5, atol=1e-6, equal_nan=True)
    assert float(abs(cpu.w[0, -1] - cpu.w[0, 0]).max()) > 0.05  # the maps moved
