"""Under the CUDA simulator: the relu flow's CUDA kernels against its CPU kernels on the same inputs."""

import numpy as np
import pytest
from numba import config

import dyn

assert config.ENABLE_CUDASIM, "run these tests with NUMBA_ENABLE_CUDASIM=1 (tests/test_cuda.py does)"
# the simulator runs a kernel's arithmetic as numpy scalars, which warn where a diverging run overflows
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SMALL = dict(width=5, dim=3, teacher_width=3, schedule="constant", batch=4, steps_per_frame=3, frames=4,
             test_loss="none", radius=0.5, lr=0.3)


def both(**options):
    return [dyn.simulate("relu", device=device, **{**SMALL, **options}) for device in ("cpu", "cuda")]


def assert_same_run(cpu, gpu, tol=1e-12):
    assert cpu.attrs["device"] == "cpu" and gpu.attrs["device"] == "cuda"
    for name in ("a", "w", "b", "loss_train"):
        np.testing.assert_allclose(gpu[name].values, cpu[name].values, rtol=tol, atol=tol, equal_nan=True)
    np.testing.assert_array_equal(gpu["diverged_at"].values, cpu["diverged_at"].values)


def test_cuda_equals_cpu_on_given_inputs():
    x = np.random.default_rng(1).standard_normal((2, 4 * 3 * 4, 3))  # replicas x (frames * steps * batch) x dim
    cpu, gpu = both(replicas=2, inputs=x)
    assert_same_run(cpu, gpu)
    assert np.abs(cpu["a"].values[-1] - cpu["a"].values[0]).max() > 1e-3  # the run moved


def test_cuda_equals_cpu_on_drawn_inputs_and_mean_field_scaling():
    cpu, gpu = both(replicas=3, scaling="mean-field", seed=4)
    assert_same_run(cpu, gpu)


def test_cuda_on_the_seed_schedule():
    cpu, gpu = both(width=7, frames=2, schedule="seed", batch=50)
    assert_same_run(cpu, gpu)


def test_cuda_with_more_neurons_than_threads():
    from dyn.flows.relu.cuda import THREADS, threads_for

    width = THREADS + 3  # threads 0, 1, 2 hold two neurons each
    assert threads_for(width) == THREADS
    cpu, gpu = both(width=width, frames=1, steps_per_frame=2, batch=2, dim=2)
    assert_same_run(cpu, gpu)


def test_cuda_divergence_stops_a_replica_where_the_cpu_does():
    cpu, gpu = both(replicas=2, lr=1e6, frames=3)
    assert (cpu["diverged_at"].values >= 0).any()
    assert_same_run(cpu, gpu)
    assert gpu.attrs["status"] == cpu.attrs["status"]


def test_cuda_equals_cpu_with_the_counter_generator():
    cpu, gpu = both(replicas=2, rng="counter", schedule="seed", frames=2, batch=40)
    assert_same_run(cpu, gpu)


def test_cuda_float32_equals_cpu_float32():
    """A float32 run on the GPU: float32 device arrays and records, and the CPU's float32 numbers but for the
    order of the student output's sum (float32 rounding, ~1e-7 relative a step where the orders differ; equal
    here), while the float64 run is float32 rounding away."""
    cpu, gpu = both(replicas=2, dtype="float32", seed=4)  # samples drawn on the host, cast, given to both kernels
    f64 = dyn.simulate("relu", device="cpu", **{**SMALL, "replicas": 2, "seed": 4})
    later = dict(time=slice(1, None))  # after the initial state (loss_train: NaN)
    for name in ("a", "w", "b", "loss_train"):
        assert gpu[name].dtype == np.float32 == cpu[name].dtype
        want = cpu[name].isel(later).values.astype(np.float64)
        scale = np.abs(want).max()
        assert np.abs(gpu[name].isel(later).values - want).max() <= 1e-5 * scale, name
        assert np.abs(f64[name].isel(later).values - want).max() > 1e-9 * scale, name  # float32 is not float64
    np.testing.assert_array_equal(gpu["diverged_at"].values, cpu["diverged_at"].values)
    assert np.abs(cpu["a"].values[:, -1] - cpu["a"].values[:, 0]).max() > 1e-3  # the run moved


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_cuda_counter_run_draws_its_samples_in_the_kernel(monkeypatch, dtype, tol):
    """rng="counter" on the GPU: no input array goes to the device (the kernel is handed an empty one), the block
    draws each step's samples into its work array, and the run is the CPU's (odd dim: a lane's second coordinate
    unused; the seed's schedule: partial batches; replicas: seed + r)."""
    from dyn.engine import loop

    handed = []
    launch = loop.launch_cuda

    def spy(job, kernel, threads, states, consts, inputs, work, *rest):
        handed.append((inputs.x.shape, work.x.shape, inputs.seed, inputs.step0))
        # a real launch takes arrays and numbers only (numba-cuda's _prepare_args has no case for None)
        assert all(v is not None for group in (states, consts, inputs, work) for v in group)
        return launch(job, kernel, threads, states, consts, inputs, work, *rest)

    monkeypatch.setattr(loop, "launch_cuda", spy)
    cpu, gpu = both(replicas=2, rng="counter", schedule="seed", frames=2, batch=30, dim=3, seed=6, dtype=dtype)
    assert_same_run(cpu, gpu, tol)
    assert gpu["w"].dtype == dtype
    assert handed and all(x == (1, 0, 3) and w == (2, 30, 3) and seed == 6 for x, w, seed, _ in handed)
    options = {**SMALL, "replicas": 2, "rng": "counter", "schedule": "seed", "batch": 30, "dim": 3, "seed": 6,
               "dtype": dtype}
    part = dyn.simulate("relu", device="cuda", **{**options, "frames": 1})
    rest = dyn.simulate("relu", device="cuda", init=part, frames=1)  # its kernel draws from step0 > 0 on
    assert handed[-1][3] == int(part["step"][-1]) > 0
    np.testing.assert_allclose(rest["w"].isel(time=-1).values, cpu["w"].isel(time=-1).values, rtol=tol, atol=tol)
    handed.clear()
    dyn.simulate("relu", device="cuda", **{**SMALL, "frames": 1, "dtype": dtype})  # rng "default": samples given
    assert handed and all(x[1] == 4 * 3 and w == (0,) for x, w, *_ in handed)  # steps_per_frame x batch; no draws
