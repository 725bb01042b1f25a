"""The frame loop, written once: many steps per kernel call, a snapshot after each frame, the NaN guard.

A flow's kernels module defines four jitted functions of its own and then calls
``define_frame_loop(globals())``, which adds ``advance`` (replicas in parallel) and ``advance_serial``
(on the calling thread: one replica, where a parallel region only costs) to it:

- ``replica(states, inputs, snaps, r) -> (state, inputs, snaps)``: replica ``r``'s views (its inputs may
  be shared by every replica);
- ``scratch(state, consts, inputs) -> work``: the replica's work arrays, allocated once per call;
- ``step(state, consts, inputs, work, s) -> loss``: one optimisation step in place, the ``s``-th of the
  block (0-based: the block's inputs say where it starts); the loss at the parameters the step took its
  gradient at;
- ``snapshot(state, consts, work, snaps, slot, loss)``: write the state into record ``slot``; ``loss`` is the
  mean loss over the frame's steps.

``states``, ``consts``, ``inputs``, ``snaps`` are NamedTuples of arrays (and scalars), so that kernel
signatures are short and named. The generated kernels take
``(states, consts, inputs, frame_steps, step0, snaps, slot0, diverged_at)``: ``frame_steps`` (frames,) steps
of each frame of the block, ``step0`` the global step before it, ``slot0`` the record slot of its first
frame; a live replica (``diverged_at[r] < 0``) whose loss is not finite stops at that step, which is stored
in ``diverged_at[r]`` (its records keep NaN from there on). Replicas are independent and each one's
arithmetic is sequential, so results do not depend on the thread count.

On a GPU (:func:`define_cuda_frame_loop`) the same loop runs as one launch per block of frames, one CUDA
block a replica; a flow's CUDA module (``cuda.py``, imported only for ``device="cuda"``) writes its step
with the threads over particles and calls the same scalar helpers as its CPU kernels.

The loop is compiled in the flow's module (``exec`` of this source under the module's file name), so that it
calls the flow's functions as globals: numba inlines and caches them as if written there. Its cache is
keyed to every kernel source (:mod:`dyn.engine.kernel_cache`), this file included.
"""

SOURCE = '''
@_njit(cache=True, nogil=True, error_model="numpy")
def _run_frames(state, consts, inputs, work, frame_steps, step0, snaps, slot0):
    s = 0
    for f in range(frame_steps.shape[0]):
        total = _zero_of(state)  # the run's float type: a float32 run sums its losses in float32, as on CUDA
        for _ in range(frame_steps[f]):
            loss = step(state, consts, inputs, work, s)
            if not _isfinite(loss):
                return step0 + s + 1
            total += loss
            s += 1
        snapshot(state, consts, work, snaps, slot0 + f, total / _like(total, frame_steps[f]))
    return -1


@_njit(cache=True, nogil=True, error_model="numpy")
def _advance_replica(r, states, consts, inputs, frame_steps, step0, snaps, slot0, diverged_at):
    if diverged_at[r] < 0:
        state, inp, snap = replica(states, inputs, snaps, r)
        work = scratch(state, consts, inp)
        diverged_at[r] = _run_frames(state, consts, inp, work, frame_steps, step0, snap, slot0)


@_njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def advance(states, consts, inputs, frame_steps, step0, snaps, slot0, diverged_at):
    """Every live replica through one block of frames, replicas in parallel (each one sequential)."""
    for r in _prange(diverged_at.shape[0]):
        _advance_replica(r, states, consts, inputs, frame_steps, step0, snaps, slot0, diverged_at)


@_njit(cache=True, nogil=True, error_model="numpy")
def advance_serial(states, consts, inputs, frame_steps, step0, snaps, slot0, diverged_at):
    """advance on the calling thread: for one replica, where a parallel region only costs."""
    for r in range(diverged_at.shape[0]):
        _advance_replica(r, states, consts, inputs, frame_steps, step0, snaps, slot0, diverged_at)
'''


CUDA_SOURCE = '''
@_cuda.jit
def advance_cuda{suffix}(states, consts, inputs, work, frame_steps, step0, snaps, slot0, diverged_at):
    """Every live replica through one block of frames: one CUDA block a replica, its threads over particles
    ({dtype} shared memory)."""
    r = _cuda.blockIdx.x
    if diverged_at[r] >= 0:
        return
    shared = _cuda.shared.array(SHARED, _{dtype})
    s = 0
    for f in range(frame_steps.shape[0]):
        total = _{dtype}(0.0)  # the run's float type: a float32 run does no float64 arithmetic
        for _ in range(frame_steps[f]):
            loss = step_cuda(r, states, consts, inputs, work, shared, s)  # the same value in every thread
            if not _isfinite(loss):
                if _cuda.threadIdx.x == 0:
                    diverged_at[r] = step0 + s + 1
                return
            total += loss
            s += 1
        snapshot_cuda(r, states, snaps, f, total / _{dtype}(frame_steps[f]))
        _cuda.syncthreads()
'''


def define_frame_loop(namespace):
    """Add ``advance`` and ``advance_serial`` to a kernels module's ``namespace`` (its ``globals()``)."""
    from math import isfinite

    from numba import njit, prange

    from dyn.engine.precision import like, zero_of

    namespace.update(_njit=njit, _prange=prange, _isfinite=isfinite, _like=like, _zero_of=zero_of)
    exec(compile(SOURCE, namespace["__file__"], "exec"), namespace)


def define_cuda_frame_loop(namespace):
    """Add ``advance_cuda`` (float64) and ``advance_cuda_float32`` (:func:`cuda_kernel` picks one) to a flow's CUDA
    module from its ``step_cuda(r, states, consts, inputs, work, shared, s) -> loss`` (every thread of block ``r`` takes part; the loss is the same in all of them),
    ``snapshot_cuda(r, states, snaps, f, loss)`` (into the block's record ``f``) and ``SHARED`` (numbers of
    shared memory a block uses, of the run's float type). Records of a launch go to the host once per block of
    frames."""
    from math import isfinite

    import numpy as np
    from numba import cuda

    namespace.update(_cuda=cuda, _float64=np.float64, _float32=np.float32, _isfinite=isfinite)
    for dtype, suffix in (("float64", ""), ("float32", "_float32")):
        exec(compile(CUDA_SOURCE.format(dtype=dtype, suffix=suffix), namespace["__file__"], "exec"), namespace)


def cuda_kernel(module, dtype):
    """A flow CUDA module's frame loop for a run of ``dtype`` ("float64" or "float32", or a numpy dtype)."""
    import numpy as np

    return module.advance_cuda if np.dtype(dtype) == np.float64 else module.advance_cuda_float32


def kept_frames(job, lo, hi, done):
    """Frames of local block lo:hi that each replica recorded in a device launch, from ``done`` (its
    ``diverged_at`` after the launch): none for a replica stopped before the block, all for one still live,
    and for one stopped at step N in the block the frames that ended before N."""
    import numpy as np

    ends = job.steps[lo + 1:hi + 1]
    return [0 if job.diverged_at[r] >= 0 else hi - lo if done[r] < 0 else int(np.searchsorted(ends, done[r]))
            for r in range(len(done))]


def launch_cuda(job, kernel, threads, states, consts, inputs, work, lo, hi, frame_steps, snaps, records):
    """One launch of a flow's ``advance_cuda`` (``kernel``) over local frames lo:hi, ``threads`` a block, then
    the block's records back to the host: ``records`` pairs a record name of ``job.rec`` with its device
    array (replica, frame, ...) in ``snaps``; each replica keeps the frames it finished (:func:`kept_frames`),
    and ``job.diverged_at`` is updated."""
    from numba import cuda

    diverged = cuda.to_device(job.diverged_at)
    kernel[job.replicas, threads](states, consts, inputs, work, cuda.to_device(frame_steps), job.step_at(lo), snaps, 0,
                                  diverged)
    done = diverged.copy_to_host()
    slot, keep = job.slot(lo), kept_frames(job, lo, hi, done)
    for name, rec in records:
        block = rec.copy_to_host()
        for r, k in enumerate(keep):
            job.rec[name][r, slot:slot + k] = block[r, :k]
    job.diverged_at[:] = done


def advance(kernels, replicas):
    """The kernel a job calls: ``kernels.advance``, or its serial twin for a single replica."""
    return kernels.advance if replicas > 1 else kernels.advance_serial
