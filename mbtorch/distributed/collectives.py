"""The collectives on tensors (PyTorch's ``torch.distributed`` signatures), and ``Work``.

Every collective starts non-blocking on the tensor's transport (NCCL for CUDA tensors under
``backend="nccl"``, MPI on host buffers otherwise) and returns a ``Work`` with
``async_op=True``; without it the call waits. Waiting polls the transport against the group's
deadline, so a peer that never arrives raises ``DistBackendError`` instead of hanging. Results
are written into the given tensors in place, as in PyTorch; collectives are not recorded by
autograd (they change values, like ``copy_`` under ``no_grad``).
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any, Callable

from ..autograd.grad_mode import no_grad
from ..core.tensor import Tensor
from .group import TIMEOUT_ENV, DistBackendError, ProcessGroup, _default
from .reduce_op import RedOpType

__all__ = [
    "Work", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter",
    "reduce_scatter_tensor", "barrier"
]

# How a wait polls: MPI only progresses while polled, so spin; after a few polls yield the
# CPU on every poll (ranks may share cores with each other or other work, as MPICH's own
# blocking waits do); after a second, poll every millisecond (a rank that long behind is
# slow or gone, and the deadline decides).
_POLLS_BEFORE_YIELD = 1000
_SPIN_S = 1.0
_BITWISE = (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR)


def _wait_for(pg: ProcessGroup, pending: Any, what: str, timeout: float | None) -> None:
    test = pending.test
    for _ in range(_POLLS_BEFORE_YIELD):
        if test():
            return
    limit = pg.timeout if timeout is None else timeout
    start = time.monotonic()
    while not test():
        waited = time.monotonic() - start
        if waited > limit:
            pg.broken = (f"{what}: rank {pg.rank} of {pg.world_size} timed out after {limit:g} s "
                         "waiting for the other ranks (one may have failed, hung or skipped "
                         f"this collective); init_process_group(timeout=...) or {TIMEOUT_ENV} "
                         "sets the limit")
            raise DistBackendError(pg.broken)
        if waited > _SPIN_S:
            time.sleep(0.001)
        else:
            os.sched_yield()


class Work:
    """A started collective. ``wait()`` blocks until it is done (or the timeout passes) and
    writes the results into the tensors; ``is_completed()`` asks without blocking."""

    def __init__(self, pg: ProcessGroup, pending: Any, finish: Callable[[], None] | None,
                 what: str) -> None:
        self._pg, self._pending, self._finish, self._what = pg, pending, finish, what
        self._done = False

    def wait(self, timeout: timedelta | float | None = None) -> bool:
        if not self._done:
            seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
            _wait_for(self._pg, self._pending, self._what, seconds)
            self._complete()
        return True

    def is_completed(self) -> bool:
        if not self._done and self._pending.test():
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()
            self._finish = None


def _launch(pg: ProcessGroup, pending: Any, finish: Callable[[], None] | None, what: str,
            async_op: bool) -> Work | None:
    if async_op:
        return Work(pg, pending, finish, what)
    _wait_for(pg, pending, what, None)
    if finish is not None:
        finish()
    return None


def _ready(group: Any, op: str) -> ProcessGroup:
    pg = _default(group, op)
    if pg.broken is not None:
        raise DistBackendError(f"{op}(): the process group is unusable after an earlier "
                               f"failure: {pg.broken}")
    return pg


def _check_tensor(t: Any, op: str, name: str = "tensor") -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): {name} must be a Tensor, got {type(t).__name__}")


def _check_op(op: Any, t: Tensor, what: str) -> RedOpType:
    if not isinstance(op, RedOpType):
        raise TypeError(f"{what}(): op must be a ReduceOp (e.g. ReduceOp.SUM), got {op!r}")
    dt = t.dtype
    if op is RedOpType.AVG and not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{what}(): ReduceOp.AVG needs a floating-point or complex tensor, "
                           f"got {dt}")
    if op in _BITWISE and (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{what}(): ReduceOp.{op.name} needs an integer or bool tensor, "
                           f"got {dt}")
    if op in (RedOpType.MIN, RedOpType.MAX) and dt.is_complex:
        raise RuntimeError(f"{what}(): ReduceOp.{op.name} is not defined for complex tensors")
    return op


def _comm_for(pg: ProcessGroup, t: Tensor) -> Any:
    if pg.nccl is not None and t._device.type == "cuda":
        return pg.nccl
    return pg.host


def _written(t: Tensor, arr: Any, shared: bool, comm: Any) -> None:
    """The result is in ``arr``: bump ``t``'s version if it is ``t``'s memory, else copy."""
    if shared:
        t._bump_version()
    else:
        with no_grad():
            t.copy_(comm.as_tensor(arr))


def all_reduce(tensor: Tensor, op: RedOpType = RedOpType.SUM, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Combine ``tensor`` over all ranks with ``op``; every rank gets the result in place.

    >>> t = mbtorch.ones(3) * (dist.get_rank() + 1); dist.all_reduce(t)  # 2 ranks: [3, 3, 3]
    """
    pg = _ready(group, "all_reduce")
    _check_tensor(tensor, "all_reduce")
    op = _check_op(op, tensor, "all_reduce")
    comm = _comm_for(pg, tensor)
    arr, shared = comm.stage(tensor)
    pending, buf = comm.allreduce(arr, op)

    def finish() -> None:
        comm.settle(arr, buf, op)
        _written(tensor, arr, shared, comm)

    return _launch(pg, pending, finish, "all_reduce", async_op)


def broadcast(tensor: Tensor, src: int | None = None, group: Any = None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into every other rank's ``tensor``."""
    pg = _ready(group, "broadcast")
    _check_tensor(tensor, "broadcast")
    src = group_src if src is None else src
    if src is None:
        raise ValueError("broadcast(): src (or group_src) must be given")
    if not 0 <= src < pg.world_size:
        raise RuntimeError(f"broadcast(): invalid root rank: {src} (world size "
                           f"{pg.world_size})")
    comm = _comm_for(pg, tensor)
    arr, shared = comm.stage(tensor)
    pending = comm.broadcast(arr, src)
    finish = None if pg.rank == src else (lambda: _written(tensor, arr, shared, comm))
    return _launch(pg, pending, finish, "broadcast", async_op)


def _check_list(tensors: Any, like: Tensor, pg: ProcessGroup, op: str, what: str) -> None:
    if not isinstance(tensors, (list, tuple)) or len(tensors) != pg.world_size:
        got = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise RuntimeError(f"{op}(): invalid {what} list (expected length {pg.world_size}, "
                           f"got {got})")
    for i, t in enumerate(tensors):
        _check_tensor(t, op, f"{what}[{i}]")
        if t.shape != like.shape:
            raise RuntimeError(f"{op}(): invalid tensor size at index {i} (expected "
                               f"{tuple(like.shape)}, got {tuple(t.shape)})")
        if t.dtype != like.dtype:
            raise RuntimeError(f"{op}(): invalid tensor type at index {i} (expected "
                               f"{like.dtype}, got {t.dtype})")


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None,
               async_op: bool = False) -> Work | None:
    """``tensor_list[r]`` receives rank ``r``'s ``tensor``, on every rank."""
    pg = _ready(group, "all_gather")
    _check_tensor(tensor, "all_gather")
    _check_list(tensor_list, tensor, pg, "all_gather", "output tensor")
    comm = _comm_for(pg, tensor)
    send, _ = comm.stage(tensor)
    recv = comm.empty((pg.world_size,) + send.shape, send.dtype)
    pending = comm.allgather(send, recv)

    def finish() -> None:
        with no_grad():
            for out, part in zip(tensor_list, recv):
                out.copy_(comm.as_tensor(part))

    return _launch(pg, pending, finish, "all_gather", async_op)


def _check_sizes(big: Tensor, small: Tensor, pg: ProcessGroup, op: str, names: tuple) -> None:
    if big.dtype != small.dtype:
        raise RuntimeError(f"{op}(): {names[0]} and {names[1]} must have the same dtype, got "
                           f"{big.dtype} and {small.dtype}")
    if big.numel() != small.numel() * pg.world_size:
        raise RuntimeError(f"{op}(): {names[0]} must have world_size ({pg.world_size}) times "
                           f"the elements of {names[1]}: got {big.numel()} and {small.numel()}")


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group: Any = None,
                           async_op: bool = False) -> Work | None:
    """``output_tensor`` (``world_size`` times as many elements) receives every rank's
    ``input_tensor`` one after the other, in rank order."""
    pg = _ready(group, "all_gather_into_tensor")
    _check_tensor(output_tensor, "all_gather_into_tensor", "output_tensor")
    _check_tensor(input_tensor, "all_gather_into_tensor", "input_tensor")
    _check_sizes(output_tensor, input_tensor, pg, "all_gather_into_tensor",
                 ("output_tensor", "input_tensor"))
    comm = _comm_for(pg, input_tensor)
    send, _ = comm.stage(input_tensor)
    recv, shared = comm.stage(output_tensor)
    pending = comm.allgather(send, recv)
    return _launch(pg, pending, lambda: _written(output_tensor, recv, shared, comm),
                   "all_gather_into_tensor", async_op)


def _reduce_scatter(output: Tensor, send: Any, op: RedOpType, pg: ProcessGroup, comm: Any,
                    what: str, async_op: bool) -> Work | None:
    out, shared = comm.stage(output)
    pending, buf = comm.reduce_scatter(send, out, op)

    def finish() -> None:
        comm.settle(out, buf, op)
        _written(output, out, shared, comm)

    return _launch(pg, pending, finish, what, async_op)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: RedOpType = RedOpType.SUM,
                   group: Any = None, async_op: bool = False) -> Work | None:
    """Rank ``r``'s ``output`` receives the reduction over ranks of their ``input_list[r]``."""
    pg = _ready(group, "reduce_scatter")
    _check_tensor(output, "reduce_scatter", "output")
    _check_list(input_list, output, pg, "reduce_scatter", "input tensor")
    op = _check_op(op, output, "reduce_scatter")
    comm = _comm_for(pg, output)
    send = comm.xp.stack([comm.stage(t)[0] for t in input_list])
    return _reduce_scatter(output, send, op, pg, comm, "reduce_scatter", async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: RedOpType = RedOpType.SUM,
                          group: Any = None, async_op: bool = False) -> Work | None:
    """``reduce_scatter`` with the inputs as consecutive chunks of one tensor (``input`` has
    ``world_size`` times the elements of ``output``)."""
    pg = _ready(group, "reduce_scatter_tensor")
    _check_tensor(output, "reduce_scatter_tensor", "output")
    _check_tensor(input, "reduce_scatter_tensor", "input")
    _check_sizes(input, output, pg, "reduce_scatter_tensor", ("input", "output"))
    op = _check_op(op, output, "reduce_scatter_tensor")
    comm = _comm_for(pg, input)
    send, _ = comm.stage(input)
    return _reduce_scatter(output, send, op, pg, comm, "reduce_scatter_tensor", async_op)


def barrier(group: Any = None, async_op: bool = False,
            device_ids: Any = None) -> Work | None:
    """Wait until every rank has reached this call."""
    pg = _ready(group, "barrier")
    return _launch(pg, pg.host.barrier(), None, "barrier", async_op)
