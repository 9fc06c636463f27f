"""What the numbers were taken on: CPU, cores, memory, library versions, BLAS and threads."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
             "MKL_NUM_THREADS")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _blas() -> list[dict[str, Any]]:
    """Which BLAS libraries are loaded and which kernel (``architecture``) they run."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed: BLAS kernel unknown"}]
    keys = ("internal_api", "version", "architecture", "num_threads", "threading_layer",
            "filepath")
    return [{k: i.get(k) for k in keys} for i in threadpool_info()]


def _git() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                              capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, text=True, capture_output=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' (uncommitted changes)' if dirty.strip() else ''}" if head else "unknown"


def _torch() -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {"version": None}
    return {"version": torch.__version__, "threads": torch.get_num_threads(),
            "cuda": torch.cuda.is_available(),
            "mkl": torch.backends.mkl.is_available()}


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load: above the core count, other work shared the CPUs."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def describe() -> dict[str, Any]:
    """Call after the benchmarks imported their libraries, so the BLAS list is complete."""
    import numpy

    import mbtorch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": _cpu_model(), "machine": platform.machine(), "logical_cores": os.cpu_count(),
        "usable_cores": usable, "memory_gib": _memory_gib(),
        "os": platform.platform(), "python": platform.python_version(),
        "numpy": numpy.__version__, "torch": _torch(), "mbtorch": mbtorch.__version__,
        "mbtorch_backends": [
            {"device": s.device_type, "plugin": s.distribution or s.plugin,
             "version": s.version, "state": s.state, "reason": s.reason,
             "devices": s.device_count} for s in mbtorch.backends.status()],
        "blas": _blas(), "env": {v: os.environ.get(v) for v in BLAS_VARS},
        "git": _git(), "load_average": load_average(),
    }
