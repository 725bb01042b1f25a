"""This machine's limits, measured in the benchmark's own run, and one roofline line a kernel.

:func:`machine` measures numpy's float64 matmul on one thread and on all (the compute peak a kernel could
reach) and the bandwidth of a numpy copy of arrays that stay in L3 and of arrays that do not (memory);
:func:`line` prints where a kernel stands: its flops and bytes a step (counted from its code by the caller),
the GFLOP/s it ran at, and the floor its counts set (compute at the given peak, or bytes at the given
bandwidth, whichever is longer), with how far the kernel is from that floor.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from timing import best


class Peaks(NamedTuple):
    one: float  # float64 matmul GFLOP/s, one thread
    every: float  # the same, all threads
    l3: float  # copy GB/s, 4 MB arrays
    memory: float  # copy GB/s, 256 MB arrays

    def __str__(self):
        return (f"float64 matmul (numpy 2000x2000): {self.one:.1f} GFLOP/s one thread, {self.every:.1f} all threads; "
                f"copy bandwidth {self.l3:.0f} GB/s (4 MB, L3), {self.memory:.0f} GB/s (256 MB, memory)")


def machine():
    """The machine's :class:`Peaks`, measured now (a few seconds)."""
    from threadpoolctl import threadpool_limits

    n = 2000
    a, b = np.random.default_rng(0).standard_normal((2, n, n))
    a @ b
    flops = 2.0 * n ** 3
    with threadpool_limits(1):
        one = flops / best(lambda: a @ b, repeat=5) / 1e9
    every = flops / best(lambda: a @ b, repeat=5) / 1e9

    def copy_rate(nbytes, repeat):
        src = np.ones(nbytes // 8)
        dst = np.empty_like(src)
        return 2 * nbytes * repeat / best(lambda: [np.copyto(dst, src) for _ in range(repeat)], repeat=5) / 1e9

    return Peaks(one, every, copy_rate(4 << 20, 50), copy_rate(256 << 20, 2))


def l3_bytes():
    """The L3 cache's size in bytes (Linux sysfs), or 32 MiB where it does not say."""
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index3/size") as fh:
            text = fh.read().strip()
        return int(text[:-1]) * {"K": 1 << 10, "M": 1 << 20}[text[-1]]
    except (OSError, ValueError, KeyError):
        return 32 << 20


def bandwidth(peaks, nbytes):
    """The bandwidth (GB/s) a step's working set of ``nbytes`` is read at: None inside L2 (1 MiB a core here:
    no memory floor), L3's copy rate up to the L3 size, memory's beyond."""
    if nbytes <= 1 << 20:
        return None
    return peaks.l3 if nbytes <= l3_bytes() else peaks.memory


def line(label, flops, nbytes, steps, seconds, gflops, gbytes=None, bound=""):
    """Print the roofline of a kernel that ran ``steps`` steps of ``flops`` and ``nbytes`` each in ``seconds``,
    against a compute peak of ``gflops`` GFLOP/s and, for bytes that leave the caches, a bandwidth of ``gbytes``
    GB/s (None: its bytes stay in L1/L2 and set no floor); ``bound`` says what holds it back, when known."""
    compute = flops * steps / (gflops * 1e9)
    traffic = nbytes * steps / (gbytes * 1e9) if gbytes else 0.0
    floor = max(compute, traffic)
    where = f"{gbytes:.0f} GB/s" if gbytes else "L1/L2: no memory floor"
    print(f"  roofline, {label}: {flops:,.0f} flops and {nbytes:,.0f} B a step ({where}); "
          f"{flops * steps / seconds / 1e9:.2f} GFLOP/s = {100 * compute / seconds:.1f}% of {gflops:.1f} GFLOP/s; "
          f"floor {floor:.3g} s ({'compute' if compute >= traffic else 'bandwidth'}), the kernel "
          f"{seconds / floor:.1f}x it{'; ' + bound if bound else ''}", flush=True)
