"""Compile kernels that call dyn.engine.counter's helpers, and the relu and sphere flows' kernels, to PTX for a real GPU (no GPU needed).

The simulator runs kernels as Python and so cannot tell whether the helpers type on the CUDA target;
NVVM can. Run by tests/test_cuda.py in a process without NUMBA_ENABLE_CUDASIM. Exit status 0: every
kernel compiled; 3: NVVM or NVRTC is not installed (``pip install "cuda-toolkit[nvvm,nvrtc]==13.*"``).

numba-cuda asks the current device for its compute capability when it compiles an ``@njit`` helper
for CUDA; without a GPU there is none, so the capability is pinned to CC here.
"""

import sys

import numba.cuda.dispatcher as cuda_dispatcher
from numba import cuda, float64, int32, int64, uint64

from dyn.engine.counter import normal, normal_pair, philox4x32, uniform, uniform_pair

CC = (8, 0)


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


def relu_kernel_ptx():
    """The relu flow's CUDA frame loop and step, typed as a job launches them (the NamedTuples of arrays)."""
    import numpy as np
    from numba import typeof

    from dyn.flows.relu import cuda as gpu
    from dyn.flows.relu import kernels as k

    R, m, d, M, F, n = 2, 5, 3, 4, 3, 10
    args = (k.State(np.zeros((R, m)), np.zeros((R, d, m)), np.zeros((R, m))),
            k.Consts(np.zeros(M), np.zeros((M, d)), np.zeros(M), 0.5),
            k.Inputs(np.zeros((R, n, d)), np.zeros(4, np.int64), np.zeros(4, np.int64)),
            k.Work(np.zeros((R, m)), np.zeros((R, m)), np.zeros((R, m)), np.zeros((R, d, m))),
            np.zeros(F, np.int64), 0,
            k.Snaps(np.zeros((R, F, m)), np.zeros((R, F, m, d)), np.zeros((R, F, m)), np.zeros((R, F))),
            0, np.zeros(R, np.int64))
    ptx, _ = cuda.compile_ptx(gpu.advance_cuda.py_func, tuple(typeof(a) for a in args), cc=CC)
    return ptx


def sphere_kernel_ptx():
    """The sphere flow's CUDA frame loop and step (every objective and rule: they are run-time codes)."""
    import numpy as np
    from numba import typeof

    from dyn.flows.sphere import cuda as gpu
    from dyn.flows.sphere import kernels as k

    R, M, d, N, F, n = 2, 5, 3, 4, 3, 10
    args = (gpu.State(np.zeros((R, M, d)), np.zeros((R, M, d)), np.zeros((R, M, d)), np.zeros((R, M))),
            k.Consts(k.ANGULAR, k.COSINE, 1.0, 1.0, k.SEED, k.BEFORE, True, 0.01, 0.5),
            k.Inputs(np.zeros((1, N, d)), np.zeros((R, n)), 0),
            gpu.Work(np.zeros((R, M, d)), np.zeros((R, M, d)), np.zeros((R, N, d)), np.zeros((R, N, M)),
                     np.zeros((R, M)), np.zeros((1, N))),
            np.zeros(F, np.int64), 0, k.Snaps(np.zeros((R, F, M, d)), np.zeros((R, F, M))), 0, np.zeros(R, np.int64))
    ptx, _ = cuda.compile_ptx(gpu.advance_cuda.py_func, tuple(typeof(a) for a in args), cc=CC)
    return ptx


def main():
    try:
        for seed_type in (int64, int32, uint64):
            ptx, _ = cuda.compile_ptx(draws, (float64[:, :], uint64[:], seed_type, int64), cc=CC)
            assert ".entry" in ptx and "mul.lo" in ptx, "no kernel entry or no Philox products in the PTX"
        ptx = relu_kernel_ptx()
        assert ".entry" in ptx and "bar.sync" in ptx, "the relu kernel has no entry or no barrier"
        ptx = sphere_kernel_ptx()
        assert ".entry" in ptx and "bar.sync" in ptx, "the sphere kernel has no entry or no barrier"
    except Exception as err:  # a missing NVVM / NVRTC library is not a failure of the code
        if type(err).__name__ in ("DynamicLibNotFoundError", "NvvmSupportError", "NvrtcSupportError"):
            print(f"NVVM/NVRTC not installed: {type(err).__name__}: {str(err).splitlines()[0]}")
            return 3
        raise
    print("compiled for cc", CC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
