"""The cuda kernel table: the primitives and composite kernels shared with the cpu backend
(``mbtorch_numpy.xp``, written against any NumPy-compatible module: CuPy mirrors NumPy; matmul
is cuBLAS through ``cupy.matmul``), the fused kernels of ``fused.py`` on top, and a device
guard where there are several GPUs.

``build`` takes the array module as an argument so that tests can build the same table, through
the same code, against NumPy on machines without a GPU (``fused=False``).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from mbtorch_numpy.xp import composite_kernels, primitive_kernels

from mbtorch.core.op import Op

from .storage import native_dtype

__all__ = ["build"]


def build(xp: Any, erf: Callable, *, fused: bool = True,
          device_count: int = 1) -> dict[Op, Callable]:
    """The kernel table for array module ``xp`` (CuPy; NumPy in tests, with ``fused=False``)."""
    table = primitive_kernels(xp, native_dtype, erf)
    table.update(composite_kernels(xp))
    if fused:
        from . import fused as _fused

        table.update(_fused.build(xp, dict(table)))
    table[Op.IOTA] = _iota(xp)
    if device_count > 1:
        table = {op: _on_operand_device(kernel) for op, kernel in table.items()}
    return table


def _iota(xp: Any) -> Callable:
    device = getattr(getattr(xp, "cuda", None), "Device", None)

    def iota(n, device_index):
        if device is None:  # a host module (tests)
            return xp.arange(n, dtype=xp.int64)
        with device(device_index):
            return xp.arange(n, dtype=xp.int64)

    return iota


def _on_operand_device(kernel: Callable) -> Callable:
    """Run ``kernel`` with its first array operand's GPU current: CuPy launches on the current
    device, and mbtorch tensors on ``cuda:1`` must compute there. Only installed when there
    are several GPUs, so that the single-GPU path pays nothing."""

    @functools.wraps(kernel)
    def guarded(*args):
        for a in args:
            dev = getattr(a, "device", None)
            if dev is not None and hasattr(dev, "__enter__"):
                with dev:
                    return kernel(*args)
        return kernel(*args)  # IOTA / PHILOX: they enter their device_index themselves

    return guarded
