"""The conformance suite's ``fused`` check catches a backend whose fused kernels differ from its
unfused ones, names the group, and passes a correct one (the cpu plugin's own hook too);
without a hook it is skipped."""

from __future__ import annotations

from mbtorch_conformance.derive import derive_backend, forget_backend
from mbtorch_conformance.runner import run

from tests.conformance.mutants_fusion import step_by_step_fuse


def test_a_failure_names_the_group_and_its_steps():
    # that each fused mutant is caught is test_mutants.py's; here: what the message says
    name = derive_backend("cpu", "cpu_fuse_swapped", fuse=step_by_step_fuse("where_swapped"))
    try:
        report = run(name, "smoke", ops=["fused"], dtypes=["float32"], checks=["fused"])
    finally:
        forget_backend(name)
    (row,) = [r for r in report.rows if r.check == "fused"]
    assert row.status == "fail", row
    assert "fused differs from unfused" in row.message and "where(t0" in row.message


def test_a_right_fused_kernel_passes_and_no_hook_is_skipped():
    name = derive_backend("cpu", "cpu_fuse_ok", fuse=step_by_step_fuse(None))
    try:
        report = run(name, "smoke", ops=["fused"], checks=["fused"])
    finally:
        forget_backend(name)
    rows = [r for r in report.rows if r.check == "fused"]
    assert rows and all(r.status == "pass" for r in rows if r.dtype not in ("complex64",
                                                                           "complex128"))
    assert all(r.n > 0 for r in rows if r.status == "pass")
    name = derive_backend("cpu", "cpu_no_fuse", fuse=None)
    try:
        plain = run(name, "smoke", ops=["fused"], checks=["fused"])
    finally:
        forget_backend(name)
    assert all(r.status == "skip" and "no fuse hook" in r.message
               for r in plain.rows if r.check == "fused")


def test_the_cpu_plugins_fused_kernels_pass():
    # Numba loops for float chains of exact ops (mbtorch_numpy/jit/fused.py); the rest declined
    report = run("cpu", "smoke", ops=["fused"], checks=["fused"])
    rows = {r.dtype: r for r in report.rows if r.check == "fused"}
    for d in ("float32", "float64"):
        assert rows[d].status == "pass" and rows[d].n >= 1, rows[d]
    assert all(r.status == "skip" and "declined every group" in r.message
               for d, r in rows.items() if d not in ("float32", "float64", "complex64",
                                                     "complex128"))
