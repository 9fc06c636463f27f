"""Collectives and DDP on devices other than ``cpu`` (through host buffers under MPI), and
the NCCL path on CUDA (skipped, with the reason, without a GPU)."""

from __future__ import annotations

import json

import pytest

import mbtorch
import mbtorch.distributed as dist


def _usable(device_type: str) -> str | None:
    for s in mbtorch.backends.status():
        if s.device_type == device_type:
            return None if s.state == "available" else f"{device_type}: {s.state} {s.reason}"
    return f"no plugin provides '{device_type}'"


@pytest.mark.parametrize("device", ["mini", "opencl"])
def test_host_staged_devices(mpirun, tmp_path, device):
    reason = _usable(device)
    if reason is not None:
        pytest.skip(reason)
    proc = mpirun(2, "devices.py", tmp_path, device)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    for r, res in enumerate(ranks):
        assert res["all_reduce"] == [f"{device}:0", [0.0, 1.5, 3.0, 4.5]]
        col = [1.0 + 2.0, 4.0 + 8.0]  # column 1 of the two ranks' bases, summed
        assert res["view"] == [[0.0, col[0], 2.0 * (r + 1)], [3.0 * (r + 1), col[1],
                                                                5.0 * (r + 1)]]
        assert res["broadcast"] == [1.0, 1.0]
        assert res["all_gather"] == [[1.0, 1.0], [2.0, 2.0]]
        assert res["grad"] == [f"{device}:0", [[4.5, 7.5, 10.5]] * 2]  # mean of 1x and 2x
    assert ranks[0]["weight"] == ranks[1]["weight"]


def test_nccl(mpirun, tmp_path):
    if not dist.is_nccl_available():
        from mbtorch.distributed.group import _nccl_unavailable_reason

        pytest.skip(f"NCCL path not exercised: {_nccl_unavailable_reason()}")
    # one rank: NCCL refuses two ranks on one GPU, and CI machines have at most one
    proc = mpirun(1, "devices.py", tmp_path, "cuda", env={"MBTORCH_TEST_BACKEND": "nccl"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    res = json.loads((tmp_path / "rank0.json").read_text())
    assert res["all_reduce"] == ["cuda:0", [0.0, 1.0, 2.0, 3.0]]
    assert res["broadcast"] == [0.0, 0.0]
    assert res["grad"] == ["cuda:0", [[3.0, 5.0, 7.0]] * 2]
