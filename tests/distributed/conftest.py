"""Launching MPI jobs from tests: ``mpiexec -n N python <worker>``; skipped, with the reason,
where mpi4py or the launcher is missing."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKERS = Path(__file__).parent / "workers"


def find_mpiexec() -> str | None:
    # the mpich wheel installs the launcher next to the interpreter, which may not be on PATH
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def shm_files() -> set[str]:
    """The MPI libraries' shared-memory files now in /dev/shm (empty where there is none)."""
    try:
        return {n for n in os.listdir("/dev/shm")
                if n.startswith(("mpich_shm_", "vader_segment", "psm3_shm"))}
    except OSError:
        return set()


@pytest.fixture(scope="session")
def mpirun():
    """``mpirun(n, worker, *args, timeout=..., env=...)`` runs a worker script under the MPI
    launcher and returns the ``CompletedProcess`` (text output)."""
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install mpi4py mpich)")
    launcher = find_mpiexec()
    if launcher is None:
        pytest.skip("no mpiexec launcher found (pip install mpich)")

    def run(n: int, worker: str, *args: str, timeout: float = 120,
            env: dict | None = None) -> subprocess.CompletedProcess:
        # the launcher sets rank and size; stray RANK/WORLD_SIZE would be refused
        base = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
        full_env = {**base, "PYTHONUNBUFFERED": "1", **(env or {})}
        cmd = [launcher, "-n", str(n), sys.executable, str(WORKERS / worker), *map(str, args)]
        before = shm_files()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=full_env)
        # what the job left in /dev/shm (a job that fails without MPI_Finalize can leave its
        # MPI library's shared memory): reported to the test, then removed
        proc.shm_left = sorted(shm_files() - before)
        for name in proc.shm_left:
            Path("/dev/shm", name).unlink(missing_ok=True)
        return proc

    return run
