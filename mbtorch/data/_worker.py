"""What runs inside a DataLoader worker process, and what crosses the process boundary.

mbtorch tensors are deliberately not picklable (their storage may live on a device), so a
batch travels as bytes made by ``dumps``: a pickle in which every tensor is replaced by its
values as a NumPy array plus its dtype and device; ``loads`` in the main process rebuilds the
tensors. Errors travel as ``ExceptionWrapper``s carrying the formatted traceback.
"""

from __future__ import annotations

import io
import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from mbtorch.core._lazy import lazy_import
from mbtorch.core.tensor import Tensor

__all__ = [
    "WorkerInfo", "get_worker_info", "ExceptionWrapper", "KeyErrorMessage",
    "IterableDatasetStopIteration", "Retire", "ResumeIteration", "dumps", "loads", "Carrier",
    "MapFetcher", "IterableFetcher", "WorkerConfig", "worker_loop"
]

np = lazy_import("numpy", globals(), "np")

# How often an idle worker checks that its parent process still exists (seconds).
_WATCHDOG_INTERVAL = 1.0


class WorkerInfo:
    """Returned by ``get_worker_info()`` inside a worker: ``id``, ``num_workers``, ``seed``
    and ``dataset`` (this worker's copy). Read-only, as in PyTorch."""

    id: int
    num_workers: int
    seed: int
    dataset: Any
    __initialized = False

    def __init__(self, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key: str, val: Any) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} "
                               "objects")
        return super().__setattr__(key, val)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """This worker's ``WorkerInfo``, or ``None`` in the main process.

    An ``IterableDataset`` uses it to give each worker its own shard::

        info = get_worker_info()
        start = 0 if info is None else info.id
        step = 1 if info is None else info.num_workers
    """
    return _worker_info


class ExceptionWrapper:
    """An exception caught in a worker, re-raised in the main process with its traceback."""

    def __init__(self, where: str) -> None:
        exc_type, exc, tb = sys.exc_info()
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc, tb))
        self.where = where
        self.exc_name = exc_type.__name__ if exc_type is not None else "Exception"
        try:
            pickle.dumps(exc_type)
            self.exc_type = exc_type
        except Exception:  # a class defined in a function can't cross processes
            self.exc_type = RuntimeError

    def reraise(self) -> None:
        msg = f"Caught {self.exc_name} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            # An exception type whose constructor wants other arguments.
            raise RuntimeError(msg) from None
        try:
            raise exception
        finally:
            # Break exception -> traceback -> this frame -> exception, which would keep the
            # loader iterator (and its worker processes) alive until the next gc run.
            del exception


class KeyErrorMessage(str):
    """KeyError repr()s its argument; this keeps the multi-line traceback readable."""

    def __repr__(self) -> str:
        return self


@dataclass(frozen=True)
class IterableDatasetStopIteration:
    worker_id: int


class Retire:
    """Sent to a worker whose ``IterableDataset`` stream has ended while the other workers go on
    (``None`` is sent when the whole loader shuts down)."""


@dataclass(frozen=True)
class ResumeIteration:
    """Sent to persistent workers at a new epoch: restart the iterable dataset's stream."""

    epoch: int


# -- tensors across processes ------------------------------------------------------------

def _rebuild_tensor(arr: np.ndarray, device: str, requires_grad: bool) -> Tensor:
    import mbtorch

    t = mbtorch.from_numpy(arr)
    if device != "cpu":
        t = t.to(device)
    return t.requires_grad_() if requires_grad else t


class _TensorPickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            arr = np.ascontiguousarray(obj.detach().numpy(force=True))
            return _rebuild_tensor, (arr, str(obj.device), obj.requires_grad and obj.is_leaf)
        return NotImplemented


def dumps(obj: Any) -> bytes:
    """Pickle ``obj`` with every mbtorch tensor sent as a NumPy array plus dtype/device."""
    buf = io.BytesIO()
    _TensorPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


loads = pickle.loads


class Carrier:
    """Wraps an object (a dataset holding tensors) so it pickles through ``dumps``; needed
    only with the ``spawn``/``forkserver`` start methods, where worker arguments are pickled."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __reduce__(self) -> Any:
        return _unwrap_carrier, (dumps(self.obj),)


def _unwrap_carrier(payload: bytes) -> "Carrier":
    return Carrier(loads(payload))


# -- fetching ----------------------------------------------------------------------------

class MapFetcher:
    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool) -> None:
        self.dataset, self.auto_collation = dataset, auto_collation
        self.collate_fn, self.drop_last = collate_fn, drop_last

    def fetch(self, index: Any) -> Any:
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(index) if getitems else [self.dataset[i] for i in index]
        return self.collate_fn(data)


class IterableFetcher:
    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool) -> None:
        self.dataset, self.auto_collation = dataset, auto_collation
        self.collate_fn, self.drop_last = collate_fn, drop_last
        self.restart()

    def restart(self) -> None:
        self.dataset_iter = iter(self.dataset)
        self.ended = False

    def fetch(self, index: Any) -> Any:
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


# -- the worker process ------------------------------------------------------------------

def _seed_everything(seed: int, worker_id: int) -> None:
    import mbtorch

    random.seed(seed)
    mbtorch.manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, seed]).generate_state(4))


@dataclass
class WorkerConfig:
    """Everything a worker needs, sent once at start (wrapped in a ``Carrier``)."""

    dataset: Any
    iterable: bool
    auto_collation: bool
    collate_fn: Callable
    drop_last: bool
    base_seed: int
    init_fn: Callable | None
    num_workers: int


def worker_loop(carrier: Carrier, worker_id: int, index_queue: Any, result_queue: Any,
                parent_pid: int) -> None:
    """Serve ``(epoch, idx, index)`` tasks until told to stop (``None``) or orphaned."""
    global _worker_info
    cfg: WorkerConfig = carrier.obj
    seed = cfg.base_seed + worker_id
    init_error = fetcher = None
    try:
        _seed_everything(seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=cfg.num_workers, seed=seed,
                                  dataset=cfg.dataset)
        if cfg.init_fn is not None:
            cfg.init_fn(worker_id)
        kind = IterableFetcher if cfg.iterable else MapFetcher
        fetcher = kind(cfg.dataset, cfg.auto_collation, cfg.collate_fn, cfg.drop_last)
    except Exception:
        init_error = ExceptionWrapper(f"in DataLoader worker process {worker_id}")
    retired = False
    try:
        retired = _serve(cfg, fetcher, init_error, worker_id, index_queue, result_queue,
                         parent_pid)
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group; the main process reports it
    if retired:
        _flush(result_queue, parent_pid)
    else:
        # Shutdown or orphaned: nobody reads the queue any more, and a full pipe must not
        # keep this process from exiting.
        result_queue.cancel_join_thread()


def _flush(result_queue: Any, parent_pid: int) -> None:
    """Wait until this process's queue feeder thread has sent everything put.

    The other workers go on sending through the same pipe, under the same write lock (a
    semaphore, which the OS does not release for a dead process). Exiting while the feeder is
    in the middle of a send would leave that lock held, and a message half-written, and the
    main process would wait forever for the next batch. Still watch the parent meanwhile: if
    it is gone, nobody drains a full pipe.
    """
    result_queue.close()
    feeder = getattr(result_queue, "_thread", None)  # CPython's; None if nothing was put
    while feeder is not None and feeder.is_alive():
        if os.getppid() != parent_pid:
            result_queue.cancel_join_thread()
            return
        feeder.join(_WATCHDOG_INTERVAL)
    result_queue.join_thread()


def _serve(cfg: WorkerConfig, fetcher: Any, error: Any, worker_id: int, index_queue: Any,
           result_queue: Any, parent_pid: int) -> bool:
    """Serve tasks; True when retired (the loader goes on without this worker), False when
    the loader shuts down or the parent process is gone."""
    where = f"in DataLoader worker process {worker_id}"
    while os.getppid() == parent_pid:
        try:
            task = index_queue.get(timeout=_WATCHDOG_INTERVAL)
        except queue.Empty:
            continue
        if task is None or isinstance(task, Retire):
            return task is not None
        if isinstance(task, ResumeIteration):
            if fetcher is not None and cfg.iterable:
                try:
                    fetcher.restart()
                except Exception:
                    fetcher.ended = True
                    error = ExceptionWrapper(where)  # reported with the epoch's first task
            continue
        epoch, idx, index = task
        result_queue.put((epoch, idx, _run_task(fetcher, error, index, worker_id, where)))
        if fetcher is not None:
            error = None  # init errors repeat for every task; a restart error is told once
    return False


def _run_task(fetcher: Any, init_error: Any, index: Any, worker_id: int, where: str) -> bytes:
    if init_error is not None:
        data = init_error
    else:
        try:
            data = fetcher.fetch(index)
        except StopIteration:
            if not isinstance(fetcher, IterableFetcher):
                data = ExceptionWrapper(where)
            else:
                data = IterableDatasetStopIteration(worker_id)
        except Exception:
            data = ExceptionWrapper(where)
    try:
        return dumps(data)
    except Exception:
        return dumps(ExceptionWrapper(where))
