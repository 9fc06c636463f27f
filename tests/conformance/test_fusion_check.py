"""The conformance suite's ``fused`` check catches a backend whose fused kernels differ from its
unfused ones, names the group, and passes a correct one; without a hook it is skipped."""

from __future__ import annotations

import numpy as np
import pytest
from mbtorch_conformance.derive import derive_backend, forget_backend
from mbtorch_conformance.runner import run

from mbtorch.core import plugins
from mbtorch.core.fusion import PointwiseGroup, Ref
from mbtorch.core.op import Op


def _fuse(bug: str | None):
    """A ``fuse`` hook running the cpu kernels step by step; ``bug`` plants a realistic
    fused-kernel mistake."""
    kernels = plugins.get_backend("cpu").kernels

    def fuse(group: PointwiseGroup):
        def kernel(*handles):
            vals: list = []
            for st in group.steps:
                args = [(handles if a.kind == "input" else vals)[a.index]
                        if isinstance(a, Ref) else a for a in st.args]
                if bug == "no_wrap" and st.dtype.itemsize < 4 and not st.dtype.is_floating_point:
                    args = [np.asarray(a).astype(np.int64) if isinstance(a, np.ndarray) else a
                            for a in args]  # intermediates kept wide: they never wrap
                if bug == "where_swapped" and st.op is Op.WHERE:
                    args = [args[0], args[2], args[1]]
                vals.append(kernels[st.op](*args, *st.attrs))
            r, out = group.reduction, vals[-1]
            if r is not None:
                out = kernels[r.op](out, r.dims, r.keepdim)
            return np.asarray(out).astype(np.dtype(group.dtype.name))

        return kernel

    return fuse


@pytest.mark.parametrize("bug, dtype", [("no_wrap", "int8"), ("where_swapped", "float32")])
def test_a_wrong_fused_kernel_is_caught(bug, dtype):
    name = derive_backend("cpu", f"cpu_fuse_{bug}", fuse=_fuse(bug))
    try:
        report = run(name, "smoke", ops=["fused"], dtypes=[dtype], checks=["fused"])
    finally:
        forget_backend(name)
    (row,) = [r for r in report.rows if r.check == "fused"]
    assert row.status == "fail", row
    assert "group" in row.message and "fused differs from unfused" in row.message


def test_a_right_fused_kernel_passes_and_no_hook_is_skipped():
    name = derive_backend("cpu", "cpu_fuse_ok", fuse=_fuse(None))
    try:
        report = run(name, "smoke", ops=["fused"], checks=["fused"])
    finally:
        forget_backend(name)
    rows = [r for r in report.rows if r.check == "fused"]
    assert rows and all(r.status == "pass" for r in rows if r.dtype not in ("complex64",
                                                                           "complex128"))
    assert all(r.n > 0 for r in rows if r.status == "pass")
    plain = run("cpu", "smoke", ops=["fused"], checks=["fused"])
    assert all(r.status == "skip" and "no fuse hook" in r.message
               for r in plain.rows if r.check == "fused")
