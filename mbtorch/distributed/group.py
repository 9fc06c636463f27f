"""The default process group: start-up, rank and world size, the watchdog timeout, shutdown.

Rendezvous is the MPI launcher's: ``mpiexec -n N python train.py`` starts N processes that
already know each other, so ``init_process_group`` needs no address or port. The launcher's
rank and size are the truth; the usual environment variables (``RANK``, ``WORLD_SIZE``, and
``init_process_group(rank=, world_size=)``) are checked against them where set, so a job
started the wrong way fails at once with the command to use instead of hanging.

Faults. Every collective is started non-blocking and waited for with a deadline (the group's
``timeout``: the ``timeout=`` argument, else the ``MBTORCH_DIST_TIMEOUT`` environment variable
in seconds, else 10 minutes); a rank that stops taking part makes the others raise
``DistBackendError`` within it. ``init_process_group`` also installs an exception hook: an
uncaught exception on any rank prints its traceback, flushes it and ends that process with
exit status 1 at once (no ``MPI_Finalize``, which would wait for the others); the launcher
sees a rank die and ends the whole job, so the other ranks stop at once. (Not ``MPI_Abort``:
it killed the job while the launcher was still forwarding the failing rank's output, and the
error message itself was lost on a loaded machine.) A rank that dies any other way (a signal,
``os._exit``) ends the job the same way.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from datetime import timedelta
from typing import Any

__all__ = [
    "BACKENDS", "TIMEOUT_ENV", "DEFAULT_TIMEOUT", "NOT_INITIALIZED", "DistError",
    "DistBackendError", "ProcessGroup", "STATE", "GroupMember", "group", "is_available",
    "is_mpi_available", "is_nccl_available", "is_initialized", "init_process_group",
    "destroy_process_group", "get_rank", "get_world_size", "get_backend", "get_default_group",
    "launcher_world_size", "get_node_local_rank"
]

BACKENDS = ("mpi", "nccl")
TIMEOUT_ENV = "MBTORCH_DIST_TIMEOUT"
DEFAULT_TIMEOUT = timedelta(minutes=10)
NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")


class DistError(RuntimeError):
    """A distributed operation failed (PyTorch's ``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """The communication backend failed or timed out; the group cannot be used any more."""


class ProcessGroup:
    """The default group: every process of the job. ``comm`` is the MPI communicator;
    ``nccl`` the NCCL one for CUDA tensors (``backend="nccl"``, created on first use)."""

    def __init__(self, backend: str, comm: Any, timeout: float) -> None:
        self.backend, self.comm, self.timeout = backend, comm, timeout
        self.rank, self.world_size = comm.Get_rank(), comm.Get_size()
        self.broken: str | None = None  # set after a timeout: pending requests can't be undone
        self.nccl: Any = None
        from ._mpi import MpiComm

        self.host = MpiComm(comm)

    def size(self) -> int:
        return self.world_size

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self.backend!r}, rank={self.rank}, size={self.size()})"


class _State:
    group: ProcessGroup | None = None
    prev_excepthook: Any = None


STATE = _State()


class GroupMember:
    """``group.WORLD`` names the default group (the only one: sub-groups are not provided)."""

    WORLD = object()
    NON_GROUP_MEMBER = object()


group = GroupMember


def is_available() -> bool:
    """Whether distributed training can be used here: ``mpi4py`` is installed."""
    return is_mpi_available()


def is_mpi_available() -> bool:
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available() -> bool:
    """Whether NCCL can be reached (CuPy with its NCCL bindings and a CUDA device)."""
    return _nccl_unavailable_reason() is None


def is_initialized() -> bool:
    return STATE.group is not None


def _nccl_unavailable_reason() -> str | None:
    from ..core.plugins import get_backend

    try:
        get_backend("cuda")
    except RuntimeError as exc:
        return f"no usable CUDA device ({exc})"
    try:
        from cupy.cuda import nccl  # noqa: F401
    except ImportError as exc:
        return f"CuPy has no NCCL bindings here ({exc})"
    return None


def _timeout_seconds(timeout: Any) -> float:
    if timeout is None:
        env = os.environ.get(TIMEOUT_ENV, "").strip()
        if not env:
            return DEFAULT_TIMEOUT.total_seconds()
        try:
            timeout = float(env)
        except ValueError:
            raise ValueError(f"{TIMEOUT_ENV}={env!r} is not a number of seconds") from None
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    if not seconds > 0:
        raise ValueError(f"init_process_group(): timeout must be positive, got {timeout}")
    return seconds


def _check_launch(what: str, given: int | None, source: str, rank: int, size: int) -> None:
    actual = size if what.lower() == "world_size" else rank
    if given is None or given == actual:
        return
    raise ValueError(
        f"init_process_group(): {what}={given} ({source}) but the MPI launcher made this "
        f"process rank {rank} of {size}; start the job with `mpiexec -n <world size> python "
        f"...` (the launcher sets rank and world size) or unset {what}")


def _int_env(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"init_process_group(): environment variable {name}={value!r} is not "
                         "an integer") from None


def _validate_launch(comm: Any, rank: int, world_size: int) -> None:
    r, n = comm.Get_rank(), comm.Get_size()
    for what, arg in (("rank", rank), ("world_size", world_size)):
        if arg is not None and arg != -1:
            _check_launch(what, arg, "argument", r, n)
    _check_launch("RANK", _int_env("RANK"), "environment", r, n)
    _check_launch("WORLD_SIZE", _int_env("WORLD_SIZE"), "environment", r, n)


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | float | None = None, world_size: int = -1,
                       rank: int = -1, store: Any = None, group_name: str = "",
                       pg_options: Any = None, device_id: Any = None) -> None:
    """Join the job's default process group (run under ``mpiexec -n N``; a lone process is
    a group of one).

    ``backend`` is ``"mpi"`` (default; tensors of any device, through host memory where the
    device has no direct path) or ``"nccl"`` (CUDA tensors through NCCL, CPU tensors through
    MPI; needs CuPy and a GPU). ``timeout`` (a ``timedelta`` or seconds) bounds every wait for
    the other ranks; see the module docstring.

    >>> mbtorch.distributed.init_process_group("mpi")
    """
    if STATE.group is not None:
        raise ValueError("trying to initialize the default process group twice!")
    backend = "mpi" if backend is None else str(backend).lower()
    if backend not in BACKENDS:
        raise ValueError(f"init_process_group(): unknown backend {backend!r}; mbtorch provides "
                         f"{', '.join(map(repr, BACKENDS))}")
    if init_method not in (None, "env://") or store is not None:
        raise ValueError("init_process_group(): rendezvous is the MPI launcher's (mpiexec); "
                         "init_method and store are not supported")
    seconds = _timeout_seconds(timeout)
    if backend == "nccl":
        reason = _nccl_unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"init_process_group(backend='nccl'): NCCL needs a CUDA device "
                               f"and CuPy's NCCL bindings: {reason}. Use backend='mpi'.")
    world = _mpi_world()
    if world.Get_size() > 1:
        # before anything can fail: a rank that raises from here on takes the job down
        _install_abort_hook(world.Get_rank(), world.Get_size())
    _validate_launch(world, rank, world_size)
    # a duplicate: our own context, so the user's MPI calls on COMM_WORLD never match ours
    pg = ProcessGroup(backend, world.Dup(), seconds)
    if backend == "nccl":
        from ._nccl import NcclComm

        pg.nccl = NcclComm(pg, device_id)
    STATE.group = pg


def _mpi_world() -> Any:
    if not is_mpi_available():
        raise RuntimeError("init_process_group(): the MPI backend needs mpi4py and an MPI "
                           "library: pip install mpi4py mpich")
    from mpi4py import MPI

    return MPI.COMM_WORLD


def _install_abort_hook(rank: int, size: int) -> None:
    if STATE.prev_excepthook is not None:
        return  # still installed from an init that failed
    prev = sys.excepthook

    def abort_job(etype: type, value: BaseException, tb: Any) -> None:
        prev(etype, value, tb)
        sys.stderr.write(f"mbtorch.distributed: rank {rank} of {size} raised "
                         f"{etype.__name__}; aborting the job so the other ranks stop\n")
        sys.stdout.flush()
        sys.stderr.flush()
        _release_shared_memory()
        # exit, not MPI Abort: the pipes close after everything written has reached the
        # launcher, which then ends the job (see the module docstring)
        os._exit(1)

    STATE.prev_excepthook = prev
    sys.excepthook = abort_job


_MPI_SHM_PREFIXES = ("mpich_shm_", "vader_segment", "psm3_shm")


def _release_shared_memory() -> None:
    """Unlink the MPI library's shared-memory files this process maps from ``/dev/shm``: the
    job is ending without ``MPI_Finalize``, which is what would remove them, and the launcher
    does not (2 MiB per failed MPICH job, left for good). Mapped memory stays valid for the
    ranks still running until they are ended."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[5].strip() for line in maps
                     if "/dev/shm/" in line and len(line.split(None, 5)) == 6}
    except OSError:  # not Linux
        return
    for path in paths:
        if path.endswith("(deleted)") or not os.path.basename(path).startswith(
                _MPI_SHM_PREFIXES):
            continue
        try:
            os.unlink(path)
        except OSError:
            pass  # another rank removed it first


def destroy_process_group(group: Any = None) -> None:
    """Leave the default group (the exception hook is removed; MPI itself is finalized when
    the process exits)."""
    pg = _default(group, "destroy_process_group")
    if STATE.prev_excepthook is not None:
        sys.excepthook = STATE.prev_excepthook
        STATE.prev_excepthook = None
    if pg.nccl is not None:
        pg.nccl.close()
    if pg.broken is None:
        pg.comm.Free()
    STATE.group = None


def _default(group: Any, op: str) -> ProcessGroup:
    pg = STATE.group
    if pg is None:
        raise ValueError(NOT_INITIALIZED)
    if group is not None and group is not GroupMember.WORLD and group is not pg:
        raise ValueError(f"{op}(): only the default group (group=None or group.WORLD) exists; "
                         "sub-groups are not supported")
    return pg


def get_rank(group: Any = None) -> int:
    """This process's rank in the job (0 ... world size - 1)."""
    return _default(group, "get_rank").rank


def get_world_size(group: Any = None) -> int:
    """How many processes the job has."""
    return _default(group, "get_world_size").world_size


def get_backend(group: Any = None) -> str:
    return _default(group, "get_backend").backend


def get_default_group() -> ProcessGroup:
    return _default(None, "get_default_group")


_LAUNCHER_SIZE_ENV = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def launcher_world_size() -> int:
    """How many processes the MPI launcher started this job with, read from its environment
    (MPICH/Hydra, Open MPI, MVAPICH) without initializing MPI; 1 outside a launcher. A
    program uses it to decide whether to run data-parallel."""
    for name in _LAUNCHER_SIZE_ENV:
        value = _int_env(name)
        if value is not None:
            return value
    return 1


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank among those on its machine: ``LOCAL_RANK`` if set, else the MPI
    launcher's (``MPI_LOCALRANKID``, ``OMPI_COMM_WORLD_LOCAL_RANK``), else ``fallback_rank``."""
    for name in ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"):
        value = _int_env(name)
        if value is not None:
            return value
    if fallback_rank is not None:
        return fallback_rank
    raise RuntimeError("LOCAL_RANK is not in the environment and no fallback_rank was given")
