"""NCCL transport for CUDA tensors (``backend="nccl"``), through CuPy's ``cupy.cuda.nccl``.

The communicator is created at ``init_process_group``: rank 0 makes NCCL's unique id and MPI
broadcasts it (the launcher is the rendezvous here too). Each rank drives one GPU: the
``device_id`` given to ``init_process_group``, else its node-local rank modulo the GPU count.
Tensors reach NCCL as CuPy arrays through DLPack (zero copy for contiguous tensors); the
collectives are queued on CuPy's current stream, after the kernels that produced the data,
and ``Work.wait`` polls a CUDA event recorded behind them against the group's deadline.

NCCL has no complex types, no bitwise reductions and no barrier: complex sums and means run
on the (real, imaginary) float pairs, bitwise ops are refused with an error, ``barrier`` uses
MPI. This path needs a GPU and was written against CuPy's API without one at hand: the tests
that exercise it skip, with the reason, on machines without CUDA.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import mbtorch

from ..core.tensor import Tensor
from .reduce_op import RedOpType

__all__ = ["Pending", "NcclComm"]

_UNIQUE_ID_BYTES = 128  # NCCL_UNIQUE_ID_BYTES; CuPy hands the id over as a tuple of ints


class Pending:
    __slots__ = ("event",)

    def __init__(self, stream: Any) -> None:
        import cupy

        self.event = cupy.cuda.Event(disable_timing=True)
        self.event.record(stream)

    def test(self) -> bool:
        return self.event.done


class NcclComm:
    def __init__(self, pg: Any, device_id: Any) -> None:
        import cupy
        from cupy.cuda import nccl

        from .group import get_node_local_rank

        self.xp, self.nccl, self.world_size = cupy, nccl, pg.world_size
        if device_id is None:
            index = get_node_local_rank(pg.rank) % cupy.cuda.runtime.getDeviceCount()
        elif isinstance(device_id, int):
            index = device_id
        else:
            index = mbtorch.device(device_id).index or 0
        self.index = index
        self.device = cupy.cuda.Device(index)
        uid = np.zeros(_UNIQUE_ID_BYTES, np.int64)
        if pg.rank == 0:
            uid[:] = nccl.get_unique_id()
        pg.comm.Bcast(uid, root=0)
        with self.device:
            self.comm = nccl.NcclCommunicator(pg.world_size, tuple(int(v) for v in uid), pg.rank)
        self.types = {np.dtype(k): getattr(nccl, v) for k, v in (
            ("float16", "NCCL_FLOAT16"), ("float32", "NCCL_FLOAT32"),
            ("float64", "NCCL_FLOAT64"), ("int8", "NCCL_INT8"), ("uint8", "NCCL_UINT8"),
            ("int32", "NCCL_INT32"), ("int64", "NCCL_INT64"), ("uint32", "NCCL_UINT32"),
            ("uint64", "NCCL_UINT64"))}
        self.avg = getattr(nccl, "NCCL_AVG", None)
        self.ops = {RedOpType.SUM: nccl.NCCL_SUM, RedOpType.PRODUCT: nccl.NCCL_PROD,
                    RedOpType.MIN: nccl.NCCL_MIN, RedOpType.MAX: nccl.NCCL_MAX,
                    RedOpType.AVG: self.avg if self.avg is not None else nccl.NCCL_SUM}

    def close(self) -> None:
        self.comm.destroy()

    def _stream(self) -> Any:
        return self.xp.cuda.get_current_stream()

    # -- buffers -----------------------------------------------------------------------------
    def stage(self, t: Tensor) -> tuple[Any, bool]:
        if (t._device.index or 0) != self.index:
            raise RuntimeError(f"nccl: this rank's communicator is on cuda:{self.index}, the "
                               f"tensor is on {t._device}; move it or pass device_id to "
                               "init_process_group")
        if t.is_contiguous():
            return self.xp.from_dlpack(t.detach()), True
        return self.xp.from_dlpack(t.detach().contiguous()), False

    def empty(self, shape: tuple, dtype: Any) -> Any:
        with self.device:
            return self.xp.empty(shape, dtype)

    def as_tensor(self, arr: Any) -> Tensor:
        return mbtorch.from_dlpack(arr)

    def wire(self, arr: Any, op: RedOpType) -> tuple[Any, Any, Any]:
        dt = arr.dtype
        if dt == np.bool_:
            if op is RedOpType.BXOR:
                raise RuntimeError("nccl: ReduceOp.BXOR is not supported on bool tensors")
            big = op in (RedOpType.SUM, RedOpType.MAX, RedOpType.BOR)
            mop = self.ops[RedOpType.MAX if big else RedOpType.MIN]
            return arr.view(np.uint8), self.nccl.NCCL_UINT8, mop
        if op not in self.ops:
            raise RuntimeError(f"nccl: ReduceOp.{op.name} is not supported by NCCL")
        if dt.kind == "c":
            if op not in (RedOpType.SUM, RedOpType.AVG):
                raise RuntimeError(f"nccl: ReduceOp.{op.name} is not supported on complex")
            arr = arr.view(np.float32 if dt == np.complex64 else np.float64)
            dt = arr.dtype
        if dt not in self.types:
            raise RuntimeError(f"nccl: dtype {dt} is not supported by NCCL")
        return arr, self.types[dt], self.ops[op]

    def settle(self, arr: Any, buf: Any, op: RedOpType) -> None:
        if op is RedOpType.AVG and self.avg is None:
            with self.device:
                buf /= self.world_size

    def _bytes(self, arr: Any) -> Any:
        return arr.reshape(-1).view(self.xp.uint8)

    # -- collectives -------------------------------------------------------------------------
    def allreduce(self, arr: Any, op: RedOpType) -> tuple[Pending, Any]:
        buf, dtype, nop = self.wire(arr, op)
        with self.device:
            s = self._stream()
            self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, dtype, nop, s.ptr)
            return Pending(s), buf

    def reduce_scatter(self, send: Any, recv: Any, op: RedOpType) -> tuple[Pending, Any]:
        sbuf, dtype, nop = self.wire(send, op)
        rbuf = self.wire(recv, op)[0]
        with self.device:
            s = self._stream()
            self.comm.reduceScatter(sbuf.data.ptr, rbuf.data.ptr, rbuf.size, dtype, nop, s.ptr)
            return Pending(s), rbuf

    def broadcast(self, arr: Any, src: int) -> Pending:
        b = self._bytes(arr)
        with self.device:
            s = self._stream()
            self.comm.broadcast(b.data.ptr, b.data.ptr, b.size, self.nccl.NCCL_UINT8, src,
                                s.ptr)
            return Pending(s)

    def allgather(self, send: Any, recv: Any) -> Pending:
        sb, rb = self._bytes(send), self._bytes(recv)
        with self.device:
            s = self._stream()
            self.comm.allGather(sb.data.ptr, rb.data.ptr, sb.size, self.nccl.NCCL_UINT8, s.ptr)
            return Pending(s)
