"""``bench/bench_distributed.py``'s all-reduce part runs and reports consistent rows (a smoke
run under ``mpiexec -n 2``; no timing is asserted)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest


def test_allreduce_quick_rows():
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install mpi4py mpich)")
    if not (Path(sys.executable).parent / "mpiexec").exists() and not shutil.which("mpiexec"):
        pytest.skip("no mpiexec launcher found (pip install mpich)")
    from bench import bench_distributed

    res = bench_distributed.allreduce(quick=True)
    assert res["ranks"] == 2
    assert [r["elements"] for r in res["rows"]] == list(bench_distributed.QUICK_SIZES)
    for r in res["rows"]:
        assert r["iters"] >= 3 and r["mpi4py_us"] > 0 and r["mbtorch_us"] > 0
        assert r["mbtorch_vs_raw"] == pytest.approx(r["mpi4py_us"] / r["mbtorch_us"])
    assert res["command"].startswith("mpiexec -n 2 python bench/bench_distributed.py")
