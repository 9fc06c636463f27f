"""The cpu backend leaves the user's process as it found it: NumPy's error state, and the C
allocator unless ``MBTORCH_CPU_MALLOC_TUNING=1`` opts in (``mbtorch_numpy.storage``)."""

from __future__ import annotations

import ctypes
import os
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


def _child(code: str, **env: str) -> str:
    """Run ``code`` in a fresh interpreter (the backend registers once per process)."""
    environ = {k: v for k, v in os.environ.items() if k != storage.MALLOC_TUNING_ENV}
    environ.update(env)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=environ, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


_CPU_OPS = (
    "import numpy as np\n"
    "before = np.geterr()\n"
    "import mbtorch as mt\n"
    "from mbtorch.backends import status\n"
    "x = mt.tensor([1.0, 0.0, -1.0], requires_grad=True)\n"
    "y = (x / 0.0).exp() + x.log() + x.to(mt.int32).float() + mt.tensor([3e38]) * 10\n"
    "y.sum().backward()\n"
    "try:\n"
    "    mt.tensor([1, 2]) // mt.tensor([0, 1])\n"  # a kernel that raises restores it too
    "except RuntimeError:\n"
    "    pass\n"
    "assert np.geterr() == before, (np.geterr(), before)\n"
    "import mbtorch_numpy.storage as s\n"
    "info = [b.info for b in status() if b.device_type == 'cpu'][0]\n"
    "print(s._tuned, info['malloc'])\n"
)


def test_cpu_ops_leave_numpy_error_state_and_allocator_alone():
    tuned, malloc = _child(_CPU_OPS).split(" ", 1)
    assert tuned == "False"  # mallopt was never called
    assert malloc.startswith("system default")


def test_user_numpy_still_warns_after_cpu_ops():
    code = ("import warnings, numpy as np, mbtorch as mt\n"
            "(mt.ones(2) / 0).sum()\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    np.float64(1.0) / np.zeros(1)\n"
            "print(len(w))\n")
    assert _child(code) == "1"


def test_kernels_do_not_warn_on_floating_point_errors():
    code = ("import warnings\n"
            "warnings.simplefilter('error')\n"
            "import mbtorch as mt\n"
            "x = mt.tensor([1.0, 0.0, -1.0, float('nan'), 3e38])\n"
            "(x / 0, x.log(), x * 10, x.exp(), x.to(mt.int32), x.sqrt(), x.sum() * 1e38)\n"
            "print('ok')\n")
    assert _child(code) == "ok"


@pytest.mark.skipif(not _glibc(), reason="glibc's mallopt only")
def test_malloc_tuning_is_opt_in():
    tuned, malloc = _child(_CPU_OPS, **{storage.MALLOC_TUNING_ENV: "1"}).split(" ", 1)
    assert tuned == "True"
    assert malloc.startswith("keeps freed memory for reuse")


@pytest.mark.skipif(not _glibc(), reason="glibc's mallopt only")
def test_freed_blocks_are_reused_without_page_faults():
    code = (
        "import resource, numpy as np, mbtorch as mt\n"
        "mt.zeros(1)\n"  # loads the cpu backend, which applies the opted-in policy
        "def step():\n"  # temporaries of a few MiB, freed out of order, as a training step
        "    a = np.ones(1 << 20, np.float32); b = np.ones(3 << 20, np.float32)\n"
        "    del a\n"
        "    c = np.ones(1 << 21, np.float32); return float(b[-1] + c[-1])\n"
        "step()\n"
        "r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20): step()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)\n")
    # with glibc's defaults these 20 steps fault ~30000 pages in (each block is mmapped
    # afresh or the heap is trimmed and regrown); reused blocks fault none
    assert int(_child(code, **{storage.MALLOC_TUNING_ENV: "1"})) < 1000


def test_quiet_kernels_in_threads_nested_and_under_the_users_raise_mode():
    # each thread keeps its own quiet context; a wrapped kernel called from inside another
    # runs directly; a kernel's own error still reaches the caller; the user's "raise" mode
    # applies to the user's code and not to mbtorch's kernels
    code = ("import threading, numpy as np, mbtorch as mt\n"
            "from mbtorch_numpy.kernels import quiet\n"
            "np.seterr(all='raise')\n"
            "inner = quiet(np.divide)\n"
            "outer = quiet(lambda a, b: (inner(a, b), np.log(b)))\n"
            "r = outer(np.ones(2), np.zeros(2))\n"
            "assert np.isinf(r[0]).all() and np.isinf(r[1]).all(), r\n"
            "def bad(x):\n"
            "    raise RuntimeError('from the kernel')\n"
            "try:\n"
            "    quiet(bad)(1)\n"
            "except RuntimeError as e:\n"
            "    assert str(e) == 'from the kernel'\n"
            "errors = []\n"
            "def work():\n"
            "    try:\n"
            "        for _ in range(200):\n"
            "            (mt.ones(3) / 0).exp().sum()\n"
            "    except Exception as e:\n"
            "        errors.append(e)\n"
            "ts = [threading.Thread(target=work) for _ in range(4)]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]\n"
            "assert not errors, errors\n"
            "try:\n"
            "    np.ones(1) / 0\n"
            "except FloatingPointError:\n"
            "    print('raised')\n")
    assert _child(code) == "raised"
