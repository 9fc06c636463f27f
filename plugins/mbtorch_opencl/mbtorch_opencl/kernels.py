"""The opencl kernel table: every primitive, plus native kernels for hot composites (a
native composite kernel takes the decomposition's arguments, with handles in place of
tensors). ``EXPECTATIONS`` lists the conformance gaps this backend declares, with reasons."""

from __future__ import annotations

from typing import Callable

from mbtorch.core.op import Op

from . import gemm, indexing, pointwise, random, reduce, rowwise, sort
from .storage import CLArray

__all__ = ["as_strided", "KERNELS", "EXPECTATIONS"]


def as_strided(root: CLArray, shape, strides, offset) -> CLArray:
    return CLArray(root.buf, tuple(shape), tuple(strides), root.offset + offset, root.dtype,
                   root.dev)


KERNELS: dict[Op, Callable] = pointwise.table()
KERNELS.update({
    Op.SUM: reduce.reduction_kernel("sum"), Op.PROD: reduce.reduction_kernel("prod"),
    Op.AMAX: reduce.reduction_kernel("amax"), Op.AMIN: reduce.reduction_kernel("amin"),
    Op.MATMUL: gemm.matmul, Op.GATHER: indexing.gather, Op.SCATTER: indexing.scatter,
    Op.NONZERO: indexing.nonzero, Op.SORT: sort.sort, Op.AS_STRIDED: as_strided,
    Op.IOTA: random.iota, Op.PHILOX: random.philox,
    Op.ARGMAX: rowwise.arg_extreme(True), Op.ARGMIN: rowwise.arg_extreme(False),
    Op.CUMSUM: rowwise.scan("+"), Op.CUMPROD: rowwise.scan("*"),
    Op.SOFTMAX: rowwise.softmax(False), Op.LOG_SOFTMAX: rowwise.softmax(True),
})

# Known conformance gaps of this backend, keyed ``entry[:dtype[:check]]`` (see
# mbtorch_conformance.runner): none; gaps every backend shares are in mbtorch_conformance.gaps.
EXPECTATIONS: dict[str, dict[str, str]] = {"xfail": {}, "skip": {}}
