"""Multi-process communication for data-parallel training (PyTorch's ``torch.distributed``),
on MPI (``mpi4py``; any device, through host memory where needed) and NCCL (CUDA tensors).

Start a job with the MPI launcher, which sets every process's rank and world size::

    mpiexec -n 2 python train.py

    import mbtorch.distributed as dist
    dist.init_process_group("mpi")
    t = mbtorch.ones(3) * dist.get_rank()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)   # in place, on every rank

Faults: every wait for the other ranks has a deadline (``init_process_group(timeout=...)`` or
the ``MBTORCH_DIST_TIMEOUT`` environment variable, in seconds; 10 minutes by default) and an
uncaught exception on one rank aborts the whole job; see ``group``.
"""

from __future__ import annotations

from .collectives import (
    Work,
    all_gather,
    all_gather_into_tensor,
    all_reduce,
    barrier,
    broadcast,
    reduce_scatter,
    reduce_scatter_tensor,
)
from .group import (
    DEFAULT_TIMEOUT,
    TIMEOUT_ENV,
    DistBackendError,
    DistError,
    GroupMember,
    ProcessGroup,
    destroy_process_group,
    get_backend,
    get_default_group,
    get_node_local_rank,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    launcher_world_size,
)
from .objects import all_gather_object, broadcast_object_list
from .reduce_op import ReduceOp

__all__ = [
    "DEFAULT_TIMEOUT", "TIMEOUT_ENV", "DistBackendError", "DistError", "GroupMember",
    "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
    "all_gather_object", "all_reduce", "barrier", "broadcast", "broadcast_object_list",
    "destroy_process_group", "get_backend", "get_default_group", "get_node_local_rank",
    "get_rank", "get_world_size", "group", "init_process_group", "is_available",
    "is_initialized", "is_mpi_available", "is_nccl_available", "launcher_world_size",
    "reduce_scatter",
    "reduce_scatter_tensor",
]
