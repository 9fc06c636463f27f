"""The cpu backend's allocator policy (``mbtorch_numpy.storage.reuse_freed_memory``)."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest
from mbtorch_numpy import storage


def _glibc() -> bool:
    try:
        ctypes.CDLL(None).gnu_get_libc_version  # noqa: B018
    except (OSError, AttributeError):
        return False
    return sys.platform.startswith("linux")


def test_opt_out_leaves_malloc_alone(monkeypatch):
    monkeypatch.setenv(storage.KEEP_MALLOC_ENV, "1")
    assert storage.reuse_freed_memory() is False


@pytest.mark.skipif(not _glibc(), reason="glibc's mallopt only")
def test_freed_blocks_are_reused_without_page_faults():
    # a fresh interpreter, so the test sees the policy the backend sets on first use
    code = (
        "import resource, numpy as np, mbtorch as mt\n"
        "mt.zeros(1)\n"  # loads the cpu backend, which applies the policy
        "def step():\n"  # temporaries of a few MiB, freed out of order, as a training step
        "    a = np.ones(1 << 20, np.float32); b = np.ones(3 << 20, np.float32)\n"
        "    del a\n"
        "    c = np.ones(1 << 21, np.float32); return float(b[-1] + c[-1])\n"
        "step()\n"
        "r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20): step()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    # with glibc's defaults these 20 steps fault ~30000 pages in (each block is mmapped
    # afresh or the heap is trimmed and regrown); reused blocks fault none
    assert int(out.stdout.strip()) < 1000
