"""The sphere flow in float32 (``dtype="float32"``): float32 records, float32 arithmetic in the kernels (against a
plain-numpy float32 reference), agreement with the float64 run, continuation, and the option's errors."""

import numba
import numpy as np
import pytest
import xarray as xr

import dyn
import sphere_reference as ref
from conftest import one_line_error
from dyn.errors import UsageError
from dyn.flows.sphere import kernels, pairs

EPS32 = float(np.finfo(np.float32).eps)  # 1.2e-7
RECORDS = ("w", "norm_before", "loss_iter", "loss", "grad_radial", "grad_tangent", "energy", "min_angle")

# Short runs of every kind the brief names: Thomson (Riemannian), projected Riesz with momentum, MHE, and a data
# objective (the seed's: its backward, normalise then step, accumulation)
RUNS = {
    "thomson riemannian": dict(vectors=40, lr=1e-3),
    "thomson exponential map, momentum": dict(vectors=12, retraction="exponential", momentum=0.5, lr=0.01),
    "riesz s=2 projected, momentum": dict(vectors=12, s=2.0, update="projected", momentum=0.3, lr=2e-3),
    "mhe projected before": dict(objective="mhe", vectors=10, dim=5, update="projected", project="before", lr=0.5),
    "angular (the seed's run)": dict(as_seed=True, dim=50, lr=0.01),
    "angular sigmoid, riemannian": dict(objective="angular", operator="sigmoid", k=2.0, samples=6, vectors=4, dim=7,
                                        update="riemannian", lr=0.05),
}
STEPS = 20
# A float32 step rounds every vector to float32 (half an ulp, EPS32 / 2 relative) after a gradient whose float32
# sums over M pairs or N points carry a few EPS32 of relative error; over STEPS steps of a flow that does not expand
# small differences (descent on these energies) the float32 and float64 trajectories part by at most
# STEPS x (a few EPS32): 32 EPS32 a step bounds that with room (7.6e-5 for 20 steps). The runs part by about 1e-6.
TOL = 32 * EPS32 * STEPS


def both(**options):
    kw = dict(steps=STEPS, record="even", record_every=4, seed=5, **options)
    return dyn.simulate("sphere", **kw), dyn.simulate("sphere", dtype="float32", **kw)


@pytest.mark.parametrize("options", RUNS.values(), ids=RUNS.keys())
def test_float32_run_has_float32_records_and_follows_the_float64_run(options):
    f64, f32 = both(**options)
    assert f32.attrs["status"] == "completed" and (f32.diverged_at.values < 0).all()
    for name, var in f32.data_vars.items():
        if var.dtype.kind == "f":
            assert var.dtype == np.float32, name
            assert f64[name].dtype == np.float64, name
    assert '"dtype": "float32"' in f32.attrs["config"]
    for name in RECORDS:
        a, b = f64[name].values, f32[name].values.astype(np.float64)
        scale = np.abs(a).max() if name != "grad_radial" else np.abs(f64.grad_tangent.values).max() + np.abs(a).max()
        np.testing.assert_allclose(b, a, rtol=0, atol=TOL * scale, err_msg=name)
    moved = np.abs(f64.w.isel(time=-1) - f64.w.isel(time=0)).max()
    assert moved > 100 * TOL  # the run moved far more than the tolerance
    gap = np.abs(f32.w.values - f64.w.values).max()
    assert gap > 0  # float32 arithmetic is not float64's
    if "x" in f32:
        assert f32.x.dtype == np.float32 and np.array_equal(f32.x.values, f64.x.values.astype(np.float32))


def test_thomson_energy_still_decreases_in_float32():
    ds = dyn.simulate("sphere", vectors=50, lr=1e-3, steps=300, dtype="float32", seed=1)
    energy = ds.energy.values.astype(np.float64)
    assert ds.energy.dtype == np.float32 and energy[-1] < 0.99 * energy[0]
    # every snapshot's energy below the one before, up to the float32 records' rounding of the vectors
    assert np.all(np.diff(energy) <= 4 * EPS32 * energy[:-1]), np.diff(energy).max()
    assert np.all(np.diff(ds.loss_iter.values.astype(np.float64)) <= 4 * EPS32 * ds.loss_iter.values[1:])


REFERENCE_RULES = {"after": dict(update="projected"), "before": dict(update="projected", project="before")}


def reference_run(w0, rule, lr, mu, steps, s):
    """The plain-numpy reference (tests/sphere_reference.py) on float32 arrays: every operation in float32."""
    w, v, out = w0.copy(), np.zeros_like(w0), []
    f = w0.dtype.type
    for _ in range(steps):
        g = ref.riesz_grad(w, s)
        w, v, _ = ref.step(w, g, v, rule, f(lr), f(mu))
        assert w.dtype == v.dtype == g.dtype == np.float32
        out.append(w)
    return np.array(out)


@pytest.mark.parametrize("rule", REFERENCE_RULES)
@pytest.mark.parametrize("M", [8, 40, 100])  # fewer than SIMD_VECTORS: a pair at a time; 40 and 100: SIMD rows
def test_float32_kernel_is_what_float32_arithmetic_gives(rule, M):
    """A few projected steps of the float32 kernel agree with numpy's float32 arithmetic on the same float32 start
    much more closely than the float64 kernel from that start does: the kernel computes in float32 (a float32 kernel
    secretly in float64 would sit where the float64 kernel does). Both kernels agree with the float32 reference
    to about an ulp: the point is the ratio."""
    assert (M >= pairs.SIMD_VECTORS) == (M > 8)
    steps, s, mu = 5, 1.0, 0.3
    lr = 0.2 / M ** 2  # forces grow as M^2: a step of about 1e-3 of the radius
    w0 = ref.unit(np.random.default_rng(M).standard_normal((M, 3))).astype(np.float32)
    kw = dict(vectors=M, dim=3, s=s, lr=lr, momentum=mu, steps=steps, record="even", record_every=1, init=w0,
              **REFERENCE_RULES[rule])
    k32 = dyn.simulate("sphere", dtype="float32", **kw).w.values[1:]
    k64 = dyn.simulate("sphere", **kw).w.values[1:]
    expected = reference_run(w0, rule, lr, mu, steps, s)
    d32 = np.abs(k32.astype(np.float64) - expected).mean()
    d64 = np.abs(k64 - expected).mean()
    assert d64 > EPS32 / 10  # the float32 reference's own rounding: visible against float64
    assert d32 < d64 / 4, (d32, d64)  # measured 7x to 45x
    assert np.mean(k32 == expected) > 0.8  # most coordinates to the bit (the rest: the pair sums' order)
    moved = np.abs(expected[-1] - w0).max()
    assert moved > 1e3 * d64


def return_type(fn, args):
    """The return type numba compiled ``fn`` to for ``args`` (its optional arguments omitted)."""
    types = tuple(numba.typeof(a) for a in args)
    found = [sig.return_type for sig in fn.nopython_signatures if tuple(sig.args[:len(types)]) == types
             and all(isinstance(a, numba.types.Omitted) for a in sig.args[len(types):])]
    assert len(found) == 1, (fn, types, fn.nopython_signatures)
    return found[0]


FLOAT32_HELPERS = {  # scalar helpers with float32 data and float64 (Python) parameters: float32 out
    "g_theta": (kernels.g_theta, lambda f: (kernels.SIGMOID, f(0.7), 2.0)),
    "dg_theta": (kernels.dg_theta, lambda f: (kernels.SIGMOID, f(0.7), 2.0)),
    "op_value": (kernels.op_value, lambda f: (kernels.LINEAR, f(0.3), 1.0)),
    "op_slope": (kernels.op_slope, lambda f: (kernels.SIGMOID, f(0.3), 1.0)),
    "angular_term": (kernels.angular_term, lambda f: (kernels.SIGMOID, f(0.3), f(1.1), f(0.9), f(0.81), 2.0)),
    "seed_term": (kernels.seed_term, lambda f: (kernels.LINEAR, f(0.3), f(1.1), f(0.9), f(0.81), 1.0)),
    "heavy_ball": (kernels.heavy_ball, lambda f: (0.9, f(0.3), f(0.2))),
    "tangent": (kernels.tangent, lambda f: (f(0.3), f(0.2), f(0.5))),
    "great_circle": (kernels.great_circle, lambda f: (0.05, f(0.3))),
    "riesz_pair": (pairs.riesz_pair, lambda f: (f(0.3), 2.5)),
    "riesz_pair_slope": (pairs.riesz_pair_slope, lambda f: (f(0.3), f(4.0), 2.5)),
    "riesz_coefficient": (pairs.riesz_coefficient, lambda f: (f(0.3), 0.0)),
}


@pytest.mark.parametrize("name", FLOAT32_HELPERS)
def test_scalar_helpers_return_their_arguments_float_type(name):
    fn, args = FLOAT32_HELPERS[name]
    for f, typ in ((np.float32, "float32"), (np.float64, "float64")):
        value = fn(*args(f))
        returned = return_type(fn, args(f))
        assert str(returned) == typ or {str(t) for t in returned} == {typ}, (name, returned)
        assert np.all(np.isfinite(value))
    v32, v64 = np.asarray(fn(*args(np.float32)), np.float64), np.asarray(fn(*args(np.float64)), np.float64)
    np.testing.assert_allclose(v32, v64, rtol=8 * EPS32, atol=8 * EPS32)  # the same function, in float32


def test_the_pair_pass_and_the_step_compile_float32():
    w = ref.unit(np.random.default_rng(0).standard_normal((40, 3))).astype(np.float32)
    g = np.empty_like(w)
    scratch = pairs.pair_scratch(40, 3, False, np.float32)
    energy = pairs.riesz(w, np.float32(1.0), g, scratch)
    assert str(return_type(pairs.riesz, (w, np.float32(1.0), g, scratch))) == "float32"
    assert energy == pytest.approx(ref.riesz(w.astype(np.float64), 1.0), rel=100 * EPS32)
    np.testing.assert_allclose(g, ref.riesz_grad(w.astype(np.float64), 1.0), rtol=0, atol=100 * EPS32 * np.abs(g).max())


def test_continuing_a_float32_run_stays_float32_and_is_the_unbroken_run():
    kw = dict(vectors=10, momentum=0.5, lr=0.01, record="even", record_every=5, seed=3, dtype="float32")
    whole = dyn.simulate("sphere", steps=20, **kw)
    first = dyn.simulate("sphere", steps=10, **kw)
    rest = dyn.simulate("sphere", init=first, steps=10)
    assert '"dtype": "float32"' in rest.attrs["config"]
    for name in ("w", "loss_iter", "momentum_buffer", "energy"):
        assert rest[name].dtype == np.float32, name
    np.testing.assert_array_equal(rest.w.isel(time=-1).values, whole.w.isel(time=-1).values)
    np.testing.assert_array_equal(rest.momentum_buffer.values, whole.momentum_buffer.values)
    np.testing.assert_array_equal(rest.loss_iter.values, whole.loss_iter.values[10:])
    with pytest.raises(UsageError, match="cannot change dtype when continuing a run"):
        dyn.simulate("sphere", init=first, steps=10, dtype="float64")


def test_float32_file_round_trip(tmp_path):
    ds = dyn.simulate("sphere", objective="angular", vectors=3, dim=5, samples=4, steps=10, dtype="float32")
    back = dyn.load(dyn.save(ds, tmp_path / "run.nc"))
    xr.testing.assert_identical(back, ds)
    assert back.w.dtype == np.float32 and back.x.dtype == np.float32


def test_bad_dtype_is_one_line_and_exit_2(run_cli):
    code, out, err = run_cli("simulate", "sphere", "--dtype", "float33", "--steps", "5", "--no-gif")
    assert code == 2 and one_line_error(err) and "dtype must be one of float64, float32; got 'float33'" in err
    with pytest.raises(UsageError, match="dtype must be one of"):
        dyn.simulate("sphere", dtype=np.float32)


def test_float32_halves_the_memory_a_run_asks_for():
    from dyn.flows.sphere.config import SphereConfig
    from dyn.flows.sphere.job import footprint

    cfg = dict(vectors=100, replicas=4, steps=10_000)
    small, big = footprint(SphereConfig(dtype="float32", **cfg)), footprint(SphereConfig(**cfg))
    assert small["loss of every step"] * 2 == big["loss of every step"]
    assert small["vectors and buffers"] < 0.75 * big["vectors and buffers"]
    assert small["measures at the snapshots"] == big["measures at the snapshots"]  # measured in float64
