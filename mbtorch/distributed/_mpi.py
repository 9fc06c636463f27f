"""MPI transport: collectives on host NumPy buffers with mpi4py's buffer API (no pickling).

Each call starts a non-blocking MPI collective (``Iallreduce``, ``Ibcast``, ...) and returns a
``Pending`` that ``Work.wait`` polls against the group's deadline. Tensors reach MPI as NumPy
arrays: a contiguous ``cpu`` tensor is reduced in place, in its own memory (zero copy); any
other tensor (another device, non-contiguous) goes through a host copy and is written back.

Reductions run in the tensor's dtype where MPI has it. ``float16`` and ``bfloat16`` are
reduced in ``float32`` and rounded back (MPI has no portable half types), ``bool`` as bytes
with logical or/and (torch's sum and max of bools are an or; product and min an and).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import mbtorch

from ..core.tensor import Tensor
from .reduce_op import RedOpType

__all__ = ["Pending", "MpiComm"]

_MPI: Any = None  # the mpi4py.MPI module, bound on first use (importing it initializes MPI)
_TYPES: dict[np.dtype, Any] = {}
_OPS: dict[RedOpType, Any] = {}
_BOOL_OPS: dict[RedOpType, Any] = {}
_HALF = ("float16", "bfloat16")


def _tables() -> None:
    global _MPI
    from mpi4py import MPI

    _MPI = MPI
    names = {"float32": "FLOAT", "float64": "DOUBLE", "int8": "INT8_T", "int16": "INT16_T",
             "int32": "INT32_T", "int64": "INT64_T", "uint8": "UINT8_T", "uint16": "UINT16_T",
             "uint32": "UINT32_T", "uint64": "UINT64_T", "complex64": "C_FLOAT_COMPLEX",
             "complex128": "C_DOUBLE_COMPLEX"}
    _TYPES.update({np.dtype(k): getattr(MPI, v) for k, v in names.items()})
    _OPS.update({RedOpType.SUM: MPI.SUM, RedOpType.AVG: MPI.SUM, RedOpType.PRODUCT: MPI.PROD,
                 RedOpType.MIN: MPI.MIN, RedOpType.MAX: MPI.MAX, RedOpType.BAND: MPI.BAND,
                 RedOpType.BOR: MPI.BOR, RedOpType.BXOR: MPI.BXOR})
    _BOOL_OPS.update({RedOpType.SUM: MPI.LOR, RedOpType.MAX: MPI.LOR, RedOpType.BOR: MPI.LOR,
                      RedOpType.PRODUCT: MPI.LAND, RedOpType.MIN: MPI.LAND,
                      RedOpType.BAND: MPI.LAND, RedOpType.BXOR: MPI.LXOR})


class Pending:
    """A started MPI request; ``test()`` also drives MPI's progress engine."""

    __slots__ = ("test",)

    def __init__(self, request: Any) -> None:
        self.test = request.Test  # bound once: the wait loop calls it thousands of times


class MpiComm:
    """The host transport of a process group (``backend="mpi"``, and CPU tensors under
    ``backend="nccl"``)."""

    xp = np

    def __init__(self, comm: Any) -> None:
        if not _TYPES:
            _tables()
        self.comm = comm
        self.rank, self.world_size = comm.Get_rank(), comm.Get_size()

    # -- buffers -----------------------------------------------------------------------------
    def stage(self, t: Tensor) -> tuple[np.ndarray, bool]:
        """``(array, shared)``: the tensor's own memory when it is a contiguous cpu tensor,
        else a contiguous host copy (``shared`` false: write it back when done)."""
        if t._device.type == "cpu" and t.is_contiguous():
            return t.numpy(force=True), True  # the tensor's own memory (no detach: hot path)
        return np.ascontiguousarray(t.detach().cpu().numpy()), False

    def empty(self, shape: tuple, dtype: np.dtype) -> np.ndarray:
        return np.empty(shape, dtype)

    def as_tensor(self, arr: np.ndarray) -> Tensor:
        return mbtorch.from_numpy(arr)

    def wire(self, arr: np.ndarray, op: RedOpType) -> tuple[np.ndarray, Any, Any]:
        """``(buffer, MPI datatype, MPI op)`` to reduce ``arr`` with; the buffer is ``arr``
        itself unless the dtype needs a float32 stand-in (copy the result back)."""
        mtype = _TYPES.get(arr.dtype)
        if mtype is not None:
            return arr, mtype, _OPS[op]
        if arr.dtype == np.bool_:
            return arr.view(np.uint8), _TYPES[np.dtype(np.uint8)], _BOOL_OPS[op]
        if arr.dtype.name in _HALF:
            arr = arr.astype(np.float32)
            return arr, _TYPES[arr.dtype], _OPS[op]
        raise TypeError(f"MPI cannot reduce dtype {arr.dtype}")

    def settle(self, arr: np.ndarray, buf: np.ndarray, op: RedOpType) -> None:
        """After a reduction into ``buf``: divide for ``AVG``, copy a stand-in back."""
        if op is RedOpType.AVG:
            buf /= self.world_size
        if buf is not arr and arr.dtype != np.bool_:  # a float32 stand-in for a half type
            arr[...] = buf.astype(arr.dtype)

    @staticmethod
    def _bytes(arr: np.ndarray) -> list:
        return [arr.reshape(-1).view(np.uint8), _MPI.BYTE]

    # -- collectives -------------------------------------------------------------------------
    def allreduce(self, arr: np.ndarray, op: RedOpType) -> tuple[Pending, np.ndarray]:
        buf, mtype, mop = self.wire(arr, op)
        return Pending(self.comm.Iallreduce(_MPI.IN_PLACE, [buf, mtype], mop)), buf

    def reduce_scatter(self, send: np.ndarray, recv: np.ndarray,
                       op: RedOpType) -> tuple[Pending, np.ndarray]:
        sbuf, mtype, mop = self.wire(send, op)
        rbuf = self.wire(recv, op)[0]
        return Pending(self.comm.Ireduce_scatter_block([sbuf, mtype], [rbuf, mtype], mop)), rbuf

    def broadcast(self, arr: np.ndarray, src: int) -> Pending:
        return Pending(self.comm.Ibcast(self._bytes(arr), root=src))

    def allgather(self, send: np.ndarray, recv: np.ndarray) -> Pending:
        return Pending(self.comm.Iallgather(self._bytes(send), self._bytes(recv)))

    def allgatherv(self, send: np.ndarray, recv: np.ndarray, counts: list[int]) -> Pending:
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).tolist()
        return Pending(self.comm.Iallgatherv([send, _MPI.BYTE],
                                             [recv, (counts, offsets), _MPI.BYTE]))

    def barrier(self) -> Pending:
        return Pending(self.comm.Ibarrier())
