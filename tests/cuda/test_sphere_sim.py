"""Under the CUDA simulator: the sphere flow's CUDA kernels against its CPU kernels on the same inputs."""

import numpy as np
import pytest
from numba import config

import dyn
from dyn.flows.sphere.config import SphereConfig
from dyn.flows.sphere.job import prepare

assert config.ENABLE_CUDASIM, "run these tests with NUMBA_ENABLE_CUDASIM=1 (tests/test_cuda.py does)"
# the simulator runs a kernel's arithmetic as numpy scalars, which warn where a diverging run overflows
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SMALL = dict(vectors=5, dim=3, steps=8, record="even", record_every=3, lr=0.05, seed=2)
ANGULAR = dict(objective="angular", samples=3, vectors=4, dim=5)
RECORDS = ("w", "norm_before", "loss_iter", "loss", "grad_tangent", "momentum_buffer", "gradient_sum")


def both(**options):
    return [dyn.simulate("sphere", device=device, **{**SMALL, **options}) for device in ("cpu", "cuda")]


def assert_same_run(cpu, gpu, tol=1e-12):
    assert cpu.attrs["device"] == "cpu" and gpu.attrs["device"] == "cuda"
    assert set(gpu.data_vars) == set(cpu.data_vars)
    for name in RECORDS:
        if name in cpu:
            np.testing.assert_allclose(gpu[name].values, cpu[name].values, rtol=tol, atol=tol, equal_nan=True,
                                       err_msg=name)
    np.testing.assert_array_equal(gpu["diverged_at"].values, cpu["diverged_at"].values)
    assert gpu.attrs["status"] == cpu.attrs["status"]


RULES = {
    "thomson, riemannian normalize": dict(replicas=2),
    "riesz log, projected after, momentum": dict(s=0.0, update="projected", momentum=0.5),
    "riesz s=2, projected before": dict(s=2.0, update="projected", project="before", draw="cube"),
    "riesz s=2.5, exponential map, momentum": dict(s=2.5, retraction="exponential", momentum=0.3, lr=0.2),
    "mhe, projected before, momentum": dict(objective="mhe", update="projected", project="before", momentum=0.2,
                                            draw="cube", lr=1.0),
    "mhe log, exponential map, accumulate": dict(objective="mhe", s=0.0, retraction="exponential", accumulate=True,
                                                 lr=1.0),
    "angular cosine, projected after, replicas": dict(**ANGULAR, update="projected", replicas=2),
    "angular linear, exponential map, momentum": dict(**ANGULAR, operator="linear", retraction="exponential",
                                                      momentum=0.5),
    "angular sigmoid, accumulate": dict(**ANGULAR, operator="sigmoid", k=2.0, accumulate=True),
    "the seed (its backward, normalise then step, accumulate)": dict(as_seed=True, vectors=3, dim=6, samples=2,
                                                                     replicas=2, lr=0.05),
    "seed backward, sigmoid, riemannian, momentum": dict(**ANGULAR, gradient="seed", operator="sigmoid",
                                                         update="riemannian", momentum=0.4),
}


@pytest.mark.parametrize("options", RULES.values(), ids=RULES.keys())
def test_cuda_equals_cpu_for_each_rule(options):
    cpu, gpu = both(**options)
    assert_same_run(cpu, gpu)
    moved = float(np.abs(cpu["w"].isel(time=-1) - cpu["w"].isel(time=1)).max())
    assert moved > 1e-4, moved  # the run moved


def test_cuda_on_given_vectors_and_shared_data():
    rng = np.random.default_rng(5)
    cpu, gpu = both(**ANGULAR, gradient="seed", accumulate=True, replicas=3, init=rng.random((3, 4, 5)),
                    data=rng.random((3, 5)))
    assert cpu["x"].dims == ("sample", "dim")  # one data set for every replica
    assert_same_run(cpu, gpu)


def in_one_block(device, init=None, data=None, threads=None, **options):
    """A run whose frames all go to the kernel in one call (the runner starts with one-frame blocks);
    ``threads``: a CUDA block's threads, fewer than the vectors."""
    cfg = SphereConfig(**{**SMALL, **options, "device": device})
    job = prepare(cfg, init=init, data=data)
    if threads is not None:
        job.gpu.threads = threads
    job.advance(0, job.frames, job.inputs(0, job.frames))
    return job.finish(job.frames, "done")


MANY = {"riesz": dict(), "mhe": dict(objective="mhe", momentum=0.3),
        "seed backward": {**ANGULAR, "gradient": "seed", "samples": 2, "accumulate": True},
        "angular exact": dict(**ANGULAR, operator="sigmoid")}


@pytest.mark.parametrize("options", MANY.values(), ids=MANY.keys())
def test_cuda_with_more_vectors_than_threads(options):
    from dyn.flows.sphere.cuda import THREADS, threads_for

    assert threads_for(THREADS + 3) == THREADS and threads_for(7) == 7
    options = {**options, "vectors": 7, "replicas": 2}
    cpu = in_one_block("cpu", **options)
    gpu = in_one_block("cuda", threads=3, **options)  # thread 0 holds vectors 0, 3 and 6
    assert_same_run(cpu, gpu)


def test_cuda_divergence_stops_a_replica_mid_block_where_the_cpu_does():
    # replica 1's vector 0 lies along data point 0: the seed's backward divides by sin theta = 0 there, so its
    # first step is infinite and its second loss is NaN; replica 0 runs on
    rng = np.random.default_rng(3)
    data = rng.random((3, 5))
    data[0] = [1.0, 0.0, 0.0, 0.0, 0.0]  # so that cos theta is exactly 1
    init = rng.random((2, 4, 5))
    init[1, 0] = 2.0 * data[0]
    options = dict(**ANGULAR, gradient="seed", replicas=2, steps=7, record_every=1)
    cpu, gpu = (in_one_block(device, init, data, **options) for device in ("cpu", "cuda"))
    assert list(cpu["diverged_at"].values) == [-1, 2]
    w = cpu["w"].transpose("replica", "time", ...).values
    assert not np.isfinite(w[1, 1]).all() and np.isnan(w[1, 2:]).all() and np.isfinite(w[0]).all()  # NaN after the stop
    assert_same_run(cpu, gpu)
    cpu, gpu = both(init=init, data=data, **options)  # and through the runner
    assert_same_run(cpu, gpu)


def test_cuda_replica_stopped_at_its_first_step():
    w = np.random.default_rng(4).standard_normal((2, 5, 3))
    w[0, 3] = w[0, 1]  # two vectors at the same point: an infinite Riesz energy
    cpu, gpu = both(init=w, replicas=2)
    assert list(cpu["diverged_at"].values) == [1, -1] and "1 of 2 replicas" in cpu.attrs["status"]
    assert_same_run(cpu, gpu)


def test_cuda_continues_a_run_as_the_cpu_does():
    options = dict(**ANGULAR, momentum=0.5, accumulate=True, steps=4, record_every=2)
    first = {device: dyn.simulate("sphere", device=device, **options) for device in ("cpu", "cuda")}
    assert_same_run(first["cpu"], first["cuda"])
    cpu, gpu = (dyn.simulate("sphere", init=first[device], device=device, steps=4) for device in ("cpu", "cuda"))
    assert int(gpu["step"][-1]) == 8 and gpu.attrs["device"] == "cuda"
    assert_same_run(cpu, gpu)
    assert np.abs(gpu["momentum_buffer"].values).max() > 0 and np.abs(gpu["gradient_sum"].values).max() > 0



FLOAT32 = {"thomson, riemannian": dict(replicas=2), "mhe, projected before, momentum": RULES["mhe, projected before, momentum"],
           "angular linear, exponential map, momentum": RULES["angular linear, exponential map, momentum"],
           "the seed": RULES["the seed (its backward, normalise then step, accumulate)"]}


@pytest.mark.parametrize("options", FLOAT32.values(), ids=FLOAT32.keys())
def test_cuda_float32_equals_cpu_float32(options):
    """The float32 kernel (advance_cuda_float32 on float32 device arrays) against the CPU's float32 run: the simulator
    evaluates math.sqrt and its kin in float64 and rounds, so the two agree to a few float32 roundings (1e-5
    relative), not to the bit."""
    from dyn.flows.sphere.cuda import advance_cuda_float32

    job = prepare(SphereConfig(**{**SMALL, **options, "device": "cuda", "dtype": "float32"}))
    assert job.gpu.kernel is advance_cuda_float32
    assert {getattr(job.gpu.state, name).dtype for name in ("w", "v", "acc", "norm")} == {np.dtype(np.float32)}
    cpu, gpu = both(dtype="float32", **options)
    for name in RECORDS:
        if name in cpu:
            assert gpu[name].dtype == cpu[name].dtype == np.float32, name
    assert_same_run(cpu, gpu, tol=1e-5)
    f64 = dyn.simulate("sphere", device="cuda", **{**SMALL, **options})
    assert f64["w"].dtype == np.float64 and not np.array_equal(f64["w"].values, gpu["w"].values)
