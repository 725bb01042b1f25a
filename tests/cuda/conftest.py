"""Tests of CUDA kernels under numba-cuda's simulator, in a process of their own.

``NUMBA_ENABLE_CUDASIM=1`` must be set before numba is imported, so these files are collected only in
a process started with it: tests/test_cuda.py starts one (``python -m pytest tests/cuda``); in the
main test run they are ignored here.
"""

import os

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    collect_ignore_glob = ["test_*.py"]
