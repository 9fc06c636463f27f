"""A failing rank ends the whole job with an error, quickly, instead of hanging
(worker ``faults.py``; the subprocess timeout is only the safety net)."""

from __future__ import annotations

import time

import pytest

LIMIT_S = 60  # the job must be over well before this; a hang fails the test at this point


def _run(mpirun, mode, **kw):
    start = time.monotonic()
    proc = mpirun(2, "faults.py", mode, timeout=LIMIT_S, **kw)
    return proc, time.monotonic() - start


def test_uncaught_exception_aborts_the_job(mpirun):
    proc, elapsed = _run(mpirun, "raise", env={"MBTORCH_DIST_TIMEOUT": "600"})
    assert proc.returncode != 0
    assert "ValueError: rank 1 fails on purpose" in proc.stderr
    assert "rank 1 of 2 raised ValueError; aborting the job" in proc.stderr
    assert "all_reduce returned" not in proc.stdout
    assert elapsed < 30  # the abort, not the 600 s deadline, ended it
    assert proc.shm_left == []  # the failing rank released the MPI library's shared memory


def test_dead_rank_ends_the_job(mpirun):
    proc, elapsed = _run(mpirun, "exit", env={"MBTORCH_DIST_TIMEOUT": "600"})
    assert proc.returncode != 0
    assert "all_reduce returned" not in proc.stdout
    assert elapsed < 30


def test_silent_rank_trips_the_deadline(mpirun):
    proc, elapsed = _run(mpirun, "hang", env={"MBTORCH_DIST_TIMEOUT": "2"})
    assert proc.returncode != 0
    assert "DistBackendError: all_reduce: rank 0 of 2 timed out after 2 s" in proc.stderr
    assert "MBTORCH_DIST_TIMEOUT" in proc.stderr
    assert elapsed < 30  # rank 1 would sleep 100 s: rank 0's abort cut it short
    assert proc.shm_left == []


def test_parameter_shape_mismatch_is_caught_at_wrap_time(mpirun):
    proc, _ = _run(mpirun, "ddp_shapes")
    assert proc.returncode != 0
    assert "wrapped a mismatched model" not in proc.stdout
    assert ("RuntimeError: DistributedDataParallel: rank 0 has weight of shape (3, 4) "
            "(mbtorch.float32) but rank 1 has weight of shape (5, 4)") in proc.stderr
    assert "every rank must build the same model" in proc.stderr
    assert proc.shm_left == []


@pytest.mark.parametrize("env, message", [
    ({"RANK": "1"}, "RANK=1 (environment) but the MPI launcher made this process rank 0 of 2"),
    ({"WORLD_SIZE": "4"}, "WORLD_SIZE=4 (environment)"),
])
def test_launch_mismatch_is_refused(mpirun, env, message):
    proc = mpirun(2, "faults.py", "raise", env=env, timeout=LIMIT_S)
    assert proc.returncode != 0
    assert message in proc.stderr
