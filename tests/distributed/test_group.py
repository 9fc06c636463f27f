"""The process group in one process: errors before and at ``init_process_group``, and a lone
process started without a launcher (a group of one, in a subprocess: MPI is initialized
once per process)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import mbtorch
import mbtorch.distributed as dist


@pytest.mark.parametrize("fn", [dist.get_rank, dist.get_world_size, dist.barrier,
                                lambda: dist.all_reduce(mbtorch.ones(1))])
def test_uninitialized_group_raises_like_torch(fn):
    with pytest.raises(ValueError, match="Default process group has not been initialized, "
                                         "please make sure to call init_process_group."):
        fn()
    assert not dist.is_initialized()


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown backend 'gloo'"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match="rendezvous is the MPI launcher's"):
        dist.init_process_group("mpi", init_method="tcp://127.0.0.1:23456")
    with pytest.raises(ValueError, match="timeout must be positive"):
        dist.init_process_group("mpi", timeout=0)


def test_timeout_environment_variable(monkeypatch):
    from mbtorch.distributed.group import _timeout_seconds

    monkeypatch.setenv("MBTORCH_DIST_TIMEOUT", "2.5")
    assert _timeout_seconds(None) == 2.5
    monkeypatch.setenv("MBTORCH_DIST_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="MBTORCH_DIST_TIMEOUT='soon' is not a number"):
        _timeout_seconds(None)
    monkeypatch.delenv("MBTORCH_DIST_TIMEOUT")
    assert _timeout_seconds(None) == 600.0


def test_nccl_without_cuda_says_why():
    if dist.is_nccl_available():
        pytest.skip("this machine has CUDA and NCCL: the refusal cannot be shown")
    with pytest.raises(RuntimeError, match=r"backend='nccl'\): NCCL needs a CUDA device"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


def _lone(code: str, **env) -> subprocess.CompletedProcess:
    pytest.importorskip("mpi4py")
    import os

    base = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60, env={**base, **env})


def test_lone_process_is_a_group_of_one():
    proc = _lone("""
        import mbtorch, mbtorch.distributed as dist
        dist.init_process_group("mpi", rank=0, world_size=1)
        t = mbtorch.arange(3.0)
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        outs = [mbtorch.zeros(3)]
        dist.all_gather(outs, t)
        print(dist.get_rank(), dist.get_world_size(), t.tolist(), outs[0].tolist())
        dist.destroy_process_group()
        print(dist.is_initialized())
    """, RANK="0", WORLD_SIZE="1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["0 1 [0.0, 1.0, 2.0] [0.0, 1.0, 2.0]", "False"]


def test_lone_process_with_a_bigger_world_size_is_refused():
    proc = _lone("import mbtorch.distributed as d; d.init_process_group('mpi')",
                 WORLD_SIZE="2")
    assert proc.returncode != 0
    assert ("WORLD_SIZE=2 (environment) but the MPI launcher made this process rank 0 of 1"
            in proc.stderr)
    assert "mpiexec -n <world size>" in proc.stderr
