"""The device choice, and the CUDA tests that need a process of their own: the simulator suite
(tests/cuda, under NUMBA_ENABLE_CUDASIM=1) and a compile of the helpers for a real GPU."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dyn.engine import device
from dyn.errors import RunError, UsageError

TESTS = Path(__file__).resolve().parent
# CI sets DYN_REQUIRE_CUDA=1: there a missing numba-cuda fails these tests instead of skipping them.
needs_numba_cuda = pytest.mark.skipif(not device.cuda_installed() and not os.environ.get("DYN_REQUIRE_CUDA"),
                                      reason="numba-cuda is not installed")


def _run(args, **env):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=TESTS.parent,
                          env={**os.environ, **env}, timeout=900)


@needs_numba_cuda
def test_cuda_simulator_suite():
    proc = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", str(TESTS / "cuda")], NUMBA_ENABLE_CUDASIM="1")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert re.search(r"\b\d+ passed", out) and not re.search(r"skipped|failed|error", out), out[-3000:]


@needs_numba_cuda
def test_helpers_compile_for_a_gpu():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    proc = subprocess.run([sys.executable, str(TESTS / "cuda" / "compile_ptx.py")], capture_output=True, text=True,
                          cwd=TESTS.parent, env=env, timeout=900)
    if proc.returncode == 3:
        pytest.skip(proc.stdout.strip())
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


def test_cpu_paths_never_import_numba_cuda():
    code = ("import sys; from dyn.engine.device import resolve_device; from dyn.engine.counter import normals; "
            "assert resolve_device('cpu') == 'cpu'; normals(0, 3, 0, 0, 0, 2); "
            "print(sorted(m for m in sys.modules if m.startswith(('numba_cuda', 'numba.cuda', 'cuda'))))")
    proc = _run(["-c", code])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_auto_on_a_machine_without_a_driver_imports_no_numba_cuda():
    """numba-cuda's import costs ~1 s: where no driver can be there, "auto" decides without it."""
    code = ("import sys; from dyn.engine import device; "
            "device.driver_present = lambda: False; assert device.resolve_device('auto') == 'cpu'; "
            "print(sorted(m for m in sys.modules if m.startswith(('numba_cuda', 'numba.cuda'))))")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_simulator_counts_as_a_driver(monkeypatch):
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    assert device.driver_present()


def test_resolve_device_follows_availability():
    assert device.resolve_device("cpu") == "cpu"
    available = device.cuda_available()
    assert device.resolve_device("auto") == ("cuda" if available else "cpu")
    if available:
        assert device.resolve_device("cuda") == "cuda"
    else:
        with pytest.raises(RunError):
            device.resolve_device("cuda")


@pytest.mark.parametrize("installed, hint", [(True, "no CUDA GPU"), (False, "pip install 'dyn[cuda]'")])
def test_cuda_without_a_gpu_is_one_line_and_exit_1(monkeypatch, installed, hint):
    monkeypatch.setattr(device, "cuda_installed", lambda: installed)
    monkeypatch.setattr(device, "cuda_available", lambda: False)
    assert device.resolve_device("auto") == "cpu"
    with pytest.raises(RunError) as err:
        device.resolve_device("cuda")
    assert err.value.exit_code == 1 and hint in str(err.value) and "\n" not in str(err.value)


def test_unknown_device_is_a_usage_error():
    with pytest.raises(UsageError, match="choose one of: auto, cpu, cuda") as err:
        device.resolve_device("gpu")
    assert err.value.exit_code == 2


# float64 arithmetic in PTX: an operation on .f64, or a conversion to f64 (cvt.<rounding>.f64.<from>)
PTX_F64 = re.compile(r"\b(?:add|sub|mul|fma|div|sqrt|ex2|lg2|rcp)(?:\.\w+)*\.f64\b|\bcvt(?:\.\w+)*\.f64\.\w+")


def compiled_ptx(tmp_path, mode):
    """Run ``compile_ptx.py <mode> tmp_path`` for a real GPU (outside the simulator): the folder its PTX files are in.
    Skips where NVVM is not installed (the ``cuda-toolkit[nvvm]`` wheel; CI installs it)."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    proc = subprocess.run([sys.executable, str(TESTS / "cuda" / "compile_ptx.py"), mode, str(tmp_path)],
                          capture_output=True, text=True, cwd=TESTS.parent, env=env, timeout=900)
    if proc.returncode == 3:
        pytest.skip(proc.stdout.strip())
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return tmp_path


@needs_numba_cuda
def test_som_float32_kernel_does_float32_arithmetic_only(tmp_path):
    """som's advance_cuda_float32 (online, heskes, batch) compiled for a real GPU: no float64 instruction at all (no
    float64 operation, no conversion to float64), so a float32 run's arithmetic is float32 on the GPU, schedules and
    exponentials included; the float64 kernel, checked the same way, has them."""
    out = compiled_ptx(tmp_path, "som_float32")
    for rule in ("online", "heskes", "batch"):
        ptx = (out / f"som_float32_{rule}.ptx").read_text()
        assert ".entry" in ptx and "ex2.approx" in ptx and re.search(r"\bfma\.rn\.f32\b", ptx), rule  # float32 math
        assert not PTX_F64.findall(ptx), (rule, sorted(set(PTX_F64.findall(ptx)))[:10])
    assert len(PTX_F64.findall((out / "som_float64.ptx").read_text())) > 100


@needs_numba_cuda
def test_relu_float32_kernel_does_float32_arithmetic_only(tmp_path):
    """relu's advance_cuda_float32 (on given samples) compiled for a real GPU: no float64 operation and no conversion
    to float64, indeed no float64 value at all (no .f64 load, comparison or select): on consumer GPUs float64 runs at
    1/32-1/64 of the float32 rate. The float64 kernel of the same source, checked the same way, has them. (A
    rng="counter" kernel, compiled apart, draws its samples in float64 as the CPU does: compile_ptx.py checks it.)"""
    out = compiled_ptx(tmp_path, "relu_float32")
    ptx = (out / "relu_float32.ptx").read_text()
    assert ".entry" in ptx and re.search(r"\bfma\.rn\.f32\b", ptx) and re.search(r"\bdiv\.rn\.f32\b", ptx)
    assert not PTX_F64.findall(ptx), sorted(set(PTX_F64.findall(ptx)))[:10]
    assert ".f64" not in ptx
    assert len(PTX_F64.findall((out / "relu_float64.ptx").read_text())) > 100


# libdevice's float32 sinf/cosf, reducing a huge argument (|x| > 105615, Payne-Hanek), scale a 64-bit integer by
# pi/2 2^-64 in float64: these three instructions, taken only for such arguments (the sphere's are angles in [0, pi]
# and great-circle steps lr |v|), are all the float64 a float32 kernel calling math.sin or math.cos holds
PTX_TRIG_REDUCTION = re.compile(r"cvt\.rn\.f64\.s64\s+(%fd\d+), %rd\d+;\s*mul\.f64\s+(%fd\d+), \1, "
                                r"0d3BF921FB54442D19;\s*cvt\.rn\.f32\.f64\s+%f\d+, \2;")


@needs_numba_cuda
def test_sphere_float32_kernel_does_float32_arithmetic_only(tmp_path):
    """The sphere's advance_cuda_float32 (every objective and rule: run-time codes) compiled for a real GPU: no
    float64 instruction but libdevice's sin/cos reduction of huge arguments, which its angles never reach, and no
    float64 register besides; the float64 kernel, checked the same way, has hundreds of float64 operations."""
    out = compiled_ptx(tmp_path, "sphere_float32")
    ptx = (out / "sphere_float32.ptx").read_text()
    assert ".entry" in ptx and "bar.sync" in ptx and re.search(r"\bsqrt\.rn\.f32\b", ptx)  # float32 math
    rest, reductions = PTX_TRIG_REDUCTION.subn("", ptx)
    assert reductions <= 4  # cos and sin of g(theta), g'(theta), and the great circle's pair
    assert not PTX_F64.findall(rest), sorted(set(PTX_F64.findall(rest)))[:10]
    assert not re.findall(r"%fd\d+", rest)  # no other float64 value at all
    assert len(PTX_F64.findall((out / "sphere_float64.ptx").read_text())) > 100
