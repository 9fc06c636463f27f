"""Mutants of the ``fuse`` hook (compiled replays' fused pointwise chains), caught by the
``fused`` check."""

from __future__ import annotations

import numpy as np

from mbtorch.core import plugins
from mbtorch.core.fusion import PointwiseGroup, Ref
from mbtorch.core.op import Op

from .mutants import Mutant

__all__ = ["MUTANTS", "step_by_step_fuse"]


def step_by_step_fuse(bug: str | None):
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


MUTANTS = [
    Mutant("fused_no_wrap", "a fused chain keeps narrow integers wide (they never wrap)",
           ops=("fused",), checks=("fused",), dtypes=("int8",),
           must_fail=("fused kernels", "fused"), spec={"fuse": step_by_step_fuse("no_wrap")}),
    Mutant("fused_where_swapped", "a fused where() swaps its branches", ops=("fused",),
           checks=("fused",), dtypes=("float32",), must_fail=("fused kernels", "fused"),
           spec={"fuse": step_by_step_fuse("where_swapped")}),
]
