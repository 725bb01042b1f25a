"""Which device runs a flow's kernels: ``resolve_device("auto" | "cpu" | "cuda") -> "cpu" | "cuda"``.

numba-cuda is imported only when CUDA is asked for (``"cuda"``, or ``"auto"`` where numba-cuda is
installed: that import costs ~0.3-1 s); ``"cpu"`` never imports it.

Checked under numba-cuda 0.30.4's simulator (``NUMBA_ENABLE_CUDASIM=1``, numba 0.68.1; see
tests/cuda/):

- scalar ``@njit`` helpers (dyn.engine.counter) are callable from ``@cuda.jit`` kernels and return
  tuples; the simulator runs them as the compiled CPU functions, so a simulated kernel gives the
  CPU's numbers bit for bit. A helper taking an array fails ("can't unbox array"): share only
  scalar helpers.
- ``cuda.local.array``, ``cuda.shared.array`` and ``cuda.syncthreads`` work (each simulated thread
  is a Python thread); a fixed-order tree reduction in shared memory equals the CPU's sum.
- The simulator runs the kernel body as Python (numpy scalar semantics, ~2 ms a thread for a few
  draws): keep bit arithmetic inside the helpers and sizes small in tests. It does not compile
  anything for a GPU, so it cannot catch code that fails to type on the CUDA target; for that,
  ``cuda.compile_ptx`` (needs NVVM: ``pip install "cuda-toolkit[nvvm,nvrtc]==13.*"``, no GPU)
  compiles kernels calling the helpers, checked by tests/test_cuda.py. numba-cuda asks the current
  device's compute capability when it compiles an ``@njit`` helper for CUDA, so without a GPU that
  test pins it to (8, 0). In the PTX, Philox's products are 64-bit multiplies (``mul.lo.s64``) and
  log/sin/cos are libdevice's, not libm's (normals agree with the CPU's to an ulp, not bitwise).
"""

from __future__ import annotations

import importlib.util

from dyn.errors import RunError, UsageError

DEVICES = ("auto", "cpu", "cuda")


def cuda_installed():
    """True when numba-cuda (the NVIDIA-maintained CUDA target) is installed; imports nothing."""
    return importlib.util.find_spec("numba_cuda") is not None


def driver_present():
    """Whether a CUDA driver could be there, asked without importing numba-cuda (~1 s): the simulator is on
    (``NUMBA_ENABLE_CUDASIM``), numba is pointed at a driver (``NUMBA_CUDA_DRIVER``), the NVIDIA kernel
    module is loaded (``/proc/driver/nvidia``, Linux), or the loader finds ``libcuda``."""
    import ctypes.util
    import os

    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0") or os.environ.get("NUMBA_CUDA_DRIVER"):
        return True
    return os.path.exists("/proc/driver/nvidia") or ctypes.util.find_library("cuda") is not None


def cuda_available():
    """True when numba-cuda is installed and ``numba.cuda.is_available()`` (a GPU, or the simulator). Where no
    driver can be there (:func:`driver_present`) it is False without importing numba-cuda, so that
    ``device="auto"`` costs a CPU-only machine nothing even with the ``[cuda]`` extra installed."""
    if not cuda_installed() or not driver_present():
        return False
    from numba import cuda

    return bool(cuda.is_available())


def resolve_device(name):
    """The device a run uses for ``name``: "cpu" | "cuda".

    "auto" picks "cuda" where numba-cuda is installed and finds a GPU (or runs its simulator),
    "cpu" otherwise. "cuda" without numba-cuda or without a GPU raises :class:`RunError` (exit 1);
    a name not in ``DEVICES`` raises :class:`UsageError` (exit 2).
    """
    if name not in DEVICES:
        raise UsageError(f"unknown device {name!r}; choose one of: {', '.join(DEVICES)}")
    if name == "cpu":
        return "cpu"
    if name == "auto":
        return "cuda" if cuda_available() else "cpu"
    if not cuda_installed():
        raise RunError("device 'cuda' is not available: it needs numba-cuda: pip install 'dyn[cuda]' (or use --device cpu)")
    if not cuda_available():
        raise RunError("device 'cuda' is not available: no CUDA GPU or driver found (numba.cuda.is_available() is False); "
                       "use --device cpu or auto")
    return "cuda"
