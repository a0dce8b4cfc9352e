"""Measurements of this machine for the generic CPU roofline: copy bandwidth and matmul rate.

They are measured with numpy, once per process, and every output that uses them says so. They
describe this machine at this moment: the profiler stores them beside each CPU profile, so the
simulators validate a stored profile against the bandwidth of the run that made it, not
against whatever the machine does when `validate` runs.
"""

from __future__ import annotations

import time
from functools import cache

import numpy as np


def _best_seconds(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@cache
def copy_bandwidth_gbs(megabytes: int = 64, repeats: int = 5) -> float:
    """Sustained copy bandwidth in GB/s (bytes read plus bytes written, best of `repeats`)."""
    src = np.ones(megabytes * 2**20 // 8)
    dst = np.empty_like(src)
    seconds = _best_seconds(lambda: np.copyto(dst, src), repeats)
    return 2 * src.nbytes / seconds / 1e9


@cache
def matmul_tflops(size: int = 1024, repeats: int = 3) -> float:
    """fp32 matmul rate in TFLOPS of numpy's BLAS (best of `repeats`)."""
    a = np.ones((size, size), dtype=np.float32)
    b = np.ones((size, size), dtype=np.float32)
    seconds = _best_seconds(lambda: a @ b, repeats)
    return 2 * size**3 / seconds / 1e12
