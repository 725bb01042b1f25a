"""Compile kernels that call dyn.engine.counter's helpers, and the relu, sphere and som flows' kernels, to PTX for a real GPU (no GPU needed).

The simulator runs kernels as Python and so cannot tell whether the helpers type on the CUDA target;
NVVM can. Run by tests/test_cuda.py in a process without NUMBA_ENABLE_CUDASIM. Exit status 0: every
kernel compiled; 3: NVVM or NVRTC is not installed (``pip install "cuda-toolkit[nvvm,nvrtc]==13.*"``).

numba-cuda asks the current device for its compute capability when it compiles an ``@njit`` helper
for CUDA; without a GPU there is none, so the capability is pinned to CC here.
"""

import sys
from pathlib import Path

import numba.cuda.dispatcher as cuda_dispatcher
from numba import cuda, float64, int32, int64, uint64

from dyn.engine.counter import normal, normal_pair, philox4x32, uniform, uniform_pair

CC = (8, 0)
PHILOX = str(0xD2511F53)  # a Philox multiplier, as an immediate of the kernels that draw counter numbers


class PinnedDevice:
    compute_capability = CC


cuda_dispatcher.get_current_device = PinnedDevice


def draws(out, words, seed, step):
    i = cuda.grid(1)
    if i < out.shape[0]:
        z0, z1 = normal_pair(seed, 3, 0, step, i, 0)
        u0, u1 = uniform_pair(seed, 3, 0, step, i, 0)
        w0, w1, w2, w3 = philox4x32(i, step, 0, 0, seed, 3)
        out[i, 0] = z0 + z1 + normal(seed, 3, 0, step, i, 5)
        out[i, 1] = u0 + u1 + uniform(seed, 3, 0, step, i, 5)
        words[i] = w0 ^ w1 ^ w2 ^ w3


def relu_kernel_ptx(dtype="float64", counter=False):
    """The relu flow's CUDA frame loop and step for a run of ``dtype``, typed as a job launches them (the
    NamedTuples of arrays of that dtype, lr of that dtype); ``counter``: a rng="counter" run's, which draws its
    samples in the kernel (into work.x)."""
    import numpy as np
    from numba import typeof

    from dyn.engine.loop import cuda_kernel
    from dyn.flows.relu import cuda as gpu
    from dyn.flows.relu import kernels as k

    R, m, d, M, F, n = 2, 5, 3, 4, 3, 10
    f = np.dtype(dtype)
    args = (k.State(np.zeros((R, m), f), np.zeros((R, d, m), f), np.zeros((R, m), f)),
            k.Consts(np.zeros(M, f), np.zeros((M, d), f), np.zeros(M, f), f.type(0.5)),
            k.Inputs(np.zeros((1, 0 if counter else n, d), f), np.zeros(4, np.int64), np.zeros(4, np.int64), 7, 0),
            k.Work(np.zeros((R, m), f), np.zeros((R, m), f), np.zeros((R, m), f), np.zeros((R, d, m), f),
                   np.zeros((R, n, d) if counter else 0, f)),
            np.zeros(F, np.int64), 0,
            k.Snaps(np.zeros((R, F, m), f), np.zeros((R, F, m, d), f), np.zeros((R, F, m), f), np.zeros((R, F), f)),
            0, np.zeros(R, np.int64))
    ptx, _ = cuda.compile_ptx(cuda_kernel(gpu, dtype).py_func, tuple(typeof(a) for a in args), cc=CC)
    return ptx


def sphere_kernel_ptx(dtype="float64"):
    """The sphere flow's CUDA frame loop and step (every objective and rule: they are run-time codes), typed as a job
    of ``dtype`` launches it (:func:`sphere_args`)."""
    from numba import typeof

    from dyn.engine.loop import cuda_kernel
    from dyn.flows.sphere import cuda as gpu

    ptx, _ = cuda.compile_ptx(cuda_kernel(gpu, dtype).py_func, tuple(typeof(a) for a in sphere_args(dtype)), cc=CC)
    return ptx


def sphere_args(dtype):
    """Arguments of the sphere flow's CUDA frame loop as its job launches it, in float type ``dtype`` (arrays and
    the float constants alike)."""
    import numpy as np

    from dyn.flows.sphere import cuda as gpu
    from dyn.flows.sphere import kernels as k

    R, M, d, N, F, n = 2, 5, 3, 4, 3, 10
    f = np.dtype(dtype).type

    def z(*shape):
        return np.zeros(shape, f)

    return (gpu.State(z(R, M, d), z(R, M, d), z(R, M, d), z(R, M)),
            k.Consts(k.ANGULAR, k.COSINE, f(1.0), f(1.0), k.SEED, k.BEFORE, True, f(0.01), f(0.5)),
            k.Inputs(z(1, N, d), z(R, n), 0),
            gpu.Work(z(R, M, d), z(R, M, d), z(R, N, d), z(R, N, M), z(R, M), z(1, N)),
            np.zeros(F, np.int64), 0, k.Snaps(z(R, F, M, d), z(R, F, M)), 0, np.zeros(R, np.int64))


def write_sphere_float32(folder):
    """``python compile_ptx.py sphere_float32 FOLDER``: the PTX of the sphere's ``advance_cuda_float32`` typed with
    float32 arrays and constants (``sphere_float32.ptx``), and of its float64 kernel (``sphere_float64.ptx``, where a
    check of float64 arithmetic must find some), for tests/test_cuda.py to read."""
    from pathlib import Path

    for dtype in ("float64", "float32"):
        (Path(folder) / f"sphere_{dtype}.ptx").write_text(sphere_kernel_ptx(dtype))


def som_kernel_ptx(rule, dtype="float64"):
    """The som flow's CUDA frame loop and step for ``rule`` (online, heskes or batch), typed as a job of ``dtype``
    launches it: weights, data, grid positions, work arrays, records and the Consts' rates of that float type."""
    import numpy as np
    from numba import typeof

    from dyn.engine.loop import cuda_kernel
    from dyn.flows.som import cuda as gpu
    from dyn.flows.som.units import RULE_CODES, Consts, Inputs, Snaps, State

    f = real = np.dtype(dtype).type
    R, K, D, F, n = 2, 6, 3, 3, 10
    grid = (np.zeros(K, np.int64), np.zeros(K, np.int64), np.zeros(K, f), np.zeros(K, f), np.zeros(4, f), 2, 3)
    args = (State(np.zeros((R, D, K), f), np.zeros((R, 1, 1), f)),
            Consts(*grid, 0, True, 100, real(0.5), 1, real(1.0), 1, rule=RULE_CODES[rule], heskes=rule == "heskes",
                   momentum=real(0.0), batch=1, normalize=False, project=False),
            Inputs(np.zeros((n, D), f), np.zeros((R, 8), np.int64), 0),
            gpu.Work(*(np.zeros((R, K), f),) * 2, np.zeros((R, D, K), f), np.zeros((R, K), f), np.zeros((R, D, K), f)),
            np.zeros(F, np.int64), 0, Snaps(np.zeros((R, F, K, D), f), np.zeros((R, F), f)), 0, np.zeros(R, np.int64))
    ptx, _ = cuda.compile_ptx(cuda_kernel(gpu, dtype).py_func, tuple(typeof(a) for a in args), cc=CC)
    return ptx


def write_som_float32(folder):
    """``python compile_ptx.py som_float32 FOLDER``: the PTX of som's float32 kernel for each rule with CUDA kernels
    (``som_float32_<rule>.ptx``), and of its float64 kernel (``som_float64.ptx``, where a check of float64
    arithmetic must find some), for tests/test_cuda.py to read."""
    from pathlib import Path

    for rule in ("online", "heskes", "batch"):
        (Path(folder) / f"som_float32_{rule}.ptx").write_text(som_kernel_ptx(rule, "float32"))
    (Path(folder) / "som_float64.ptx").write_text(som_kernel_ptx("online"))


def write_relu_float32(folder):
    """``python compile_ptx.py relu_float32 FOLDER``: the PTX of relu's float32 and float64 kernels on given samples
    (``relu_float32.ptx``, ``relu_float64.ptx``), for tests/test_cuda.py to read."""
    for dtype in ("float32", "float64"):
        (Path(folder) / f"relu_{dtype}.ptx").write_text(relu_kernel_ptx(dtype))


def check_defaults():
    """The counter helpers, and every flow's float64 and float32 kernels, compile and hold what they should."""
    for seed_type in (int64, int32, uint64):
        ptx, _ = cuda.compile_ptx(draws, (float64[:, :], uint64[:], seed_type, int64), cc=CC)
        assert ".entry" in ptx and "mul.lo" in ptx, "no kernel entry or no Philox products in the PTX"
    for dtype in ("float64", "float32"):
        ptx = relu_kernel_ptx(dtype)
        assert ".entry" in ptx and "bar.sync" in ptx, f"the {dtype} relu kernel has no entry or no barrier"
        assert PHILOX not in ptx, f"the {dtype} relu kernel on given samples compiled the counter's draws"
        ptx = relu_kernel_ptx(dtype, counter=True)
        assert PHILOX in ptx and "bar.sync" in ptx, f"the {dtype} relu counter kernel has no Philox products"
    ptx = sphere_kernel_ptx()
    assert ".entry" in ptx and "bar.sync" in ptx, "the sphere kernel has no entry or no barrier"
    ptx = som_kernel_ptx("batch")  # one kernel for the three rules: consts.rule and consts.heskes switch them
    assert ".entry" in ptx and "bar.sync" in ptx, "the som kernel has no entry or no barrier"


def main():
    """No argument: :func:`check_defaults`. ``<flow>_float32 FOLDER``: write that flow's float32 and float64 kernels'
    PTX into FOLDER, for tests/test_cuda.py to read."""
    writers = {"som_float32": write_som_float32, "relu_float32": write_relu_float32,
               "sphere_float32": write_sphere_float32}
    try:
        if sys.argv[1:]:
            writers[sys.argv[1]](sys.argv[2])
        else:
            check_defaults()
    except Exception as err:  # a missing NVVM / NVRTC library is not a failure of the code
        if type(err).__name__ in ("DynamicLibNotFoundError", "NvvmSupportError", "NvrtcSupportError"):
            print(f"NVVM/NVRTC not installed: {type(err).__name__}: {str(err).splitlines()[0]}")
            return 3
        raise
    print("compiled for cc", CC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
