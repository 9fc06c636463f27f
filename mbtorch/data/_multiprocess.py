"""The multi-process ``DataLoader`` iterator.

The main process hands out tasks ``(epoch, idx, index)`` round-robin to per-worker index
queues, keeping ``prefetch_factor`` tasks per worker in flight, and reads results from one
shared result queue, reordering them so batches come out in sampler order. While waiting it
polls the workers: a worker that has died is reported (its id, pid and exit code or signal)
instead of waited for, and ``timeout`` bounds every wait. Results carry the epoch they were
asked for, so persistent workers' leftovers from an abandoned epoch are dropped.

Polling cannot see a worker that died in the middle of sending a batch larger than the pipe
buffer: the main process is then blocked inside ``recv_bytes`` on a half-written message, a
read that ``timeout`` does not bound (the main process holds the pipe's write end too, so EOF
never comes). So, as in PyTorch, while an iterator runs in the main thread a SIGCHLD handler
checks its workers and raises in the main thread when one has died; a raising handler
interrupts the blocked read (PEP 475 retries the call only when the handler returns).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import signal
import threading
import time
import weakref
from typing import Any

from ._worker import (
    Carrier,
    ExceptionWrapper,
    IterableDatasetStopIteration,
    ResumeIteration,
    Retire,
    WorkerConfig,
    loads,
    worker_loop,
)

__all__ = ["MultiProcessIter"]

# How long the main process waits on the result queue before checking its workers are alive.
_POLL_INTERVAL = 0.1
# How long shutdown waits for workers to finish their current task before terminating them.
_JOIN_TIMEOUT = 2.0


def _default_context() -> Any:
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _death_message(worker_id: int, proc: Any) -> str:
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return (f"DataLoader worker {worker_id} (pid {proc.pid}) is killed by signal: {name} "
                f"(exit code {code}).")
    return (f"DataLoader worker {worker_id} (pid {proc.pid}) exited unexpectedly with exit "
            f"code {code}. Details are lost due to multiprocessing. Rerunning with "
            "num_workers=0 may give better error trace.")


# -- SIGCHLD: a dead worker interrupts a blocked read ---------------------------------------

# The live iterators that want SIGCHLD checks (id -> weak reference), and the handler that was
# installed before ours, to chain to and to restore when the last of them shuts down.
_watched: dict[int, Any] = {}
_previous_handler: Any = None


def _on_sigchld(signum: int, frame: Any) -> None:
    try:
        for ref in list(_watched.values()):
            it = ref()
            if it is not None:
                it._check_workers_from_signal()
    finally:
        if callable(_previous_handler):
            _previous_handler(signum, frame)


def _watch(it: "MultiProcessIter") -> None:
    """Check ``it``'s workers on SIGCHLD; only possible from the main thread (signal handlers
    can only be set there, and run there). Elsewhere polling alone reports dead workers."""
    global _previous_handler
    if not hasattr(signal, "SIGCHLD") or threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGCHLD)
    if current is not _on_sigchld:  # (still ours if an unwatch ran outside the main thread)
        _previous_handler = current
        signal.signal(signal.SIGCHLD, _on_sigchld)
    _watched[id(it)] = weakref.ref(it)


def _unwatch(it: "MultiProcessIter") -> None:
    if _watched.pop(id(it), None) is None or _watched:
        return
    if threading.current_thread() is threading.main_thread():
        _restore_handler()


def _restore_handler() -> None:
    if signal.getsignal(signal.SIGCHLD) is _on_sigchld:
        previous = _previous_handler if _previous_handler is not None else signal.SIG_DFL
        signal.signal(signal.SIGCHLD, previous)


def _forget_in_child() -> None:
    # A forked process (a worker, or a user's subprocess) is not the one whose workers these are.
    if _watched:
        _watched.clear()
        try:
            _restore_handler()
        except ValueError:  # not the main thread
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


class MultiProcessIter:
    """Iterates once over a loader's batches with ``loader.num_workers`` processes (or once per
    epoch, when ``persistent_workers`` keeps it alive across ``reset``)."""

    def __init__(self, loader: Any) -> None:
        # No strong reference to the loader: a persistent loader holds this iterator, and a
        # cycle would keep the workers alive until the garbage collector happens to run.
        self._loader_ref = weakref.ref(loader)
        self._index_sampler = loader._index_sampler
        self._n = loader.num_workers
        self._timeout = loader.timeout
        self._in_flight = max(1, loader.prefetch_factor * self._n)
        self._persistent = loader.persistent_workers
        self._shutdown = True  # until the workers exist
        self._failed: str | None = None  # why a worker's death ended this iterator
        ctx = loader.multiprocessing_context or _default_context()
        cfg = WorkerConfig(dataset=loader.dataset, iterable=loader._iterable,
                           auto_collation=loader._auto_collation, collate_fn=loader.collate_fn,
                           drop_last=loader.drop_last, base_seed=loader._base_seed(),
                           init_fn=loader.worker_init_fn, num_workers=self._n)
        carrier = Carrier(cfg)
        self._result_queue = ctx.Queue()
        self._index_queues, self._workers = [], []
        for i in range(self._n):
            q = ctx.Queue()
            q.cancel_join_thread()  # never block interpreter exit on tasks for a dead worker
            w = ctx.Process(target=worker_loop, daemon=True,
                            args=(carrier, i, q, self._result_queue, os.getpid()))
            w.start()
            self._index_queues.append(q)
            self._workers.append(w)
        self._retired: set[int] = set()  # workers stopped on purpose (exhausted streams)
        self._shutdown = False
        _watch(self)
        self._epoch = 0
        self._start_epoch()

    # -- epochs ------------------------------------------------------------------------------
    def _start_epoch(self) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._send_idx = self._rcvd_idx = 0
        self._task_info: dict[int, tuple] = {}
        self._tasks_outstanding = 0
        self._workers_status = [i not in self._retired for i in range(self._n)]
        self._worker_cycle = itertools.cycle(range(self._n))
        for _ in range(self._in_flight):
            self._try_put_index()

    def reset(self) -> None:
        """Start a new epoch on the same (persistent) workers."""
        self._epoch += 1
        for q in self._index_queues:
            q.put(ResumeIteration(self._epoch))
        self._start_epoch()

    # -- tasks -------------------------------------------------------------------------------
    def _try_put_index(self) -> None:
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._n):
            worker_id = next(self._worker_cycle)
            if self._workers_status[worker_id]:
                break
        else:
            return  # every worker's stream has ended
        self._index_queues[worker_id].put((self._epoch, self._send_idx, index))
        self._task_info[self._send_idx] = (worker_id,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _get_data(self) -> tuple[int, Any]:
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = _POLL_INTERVAL
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            try:
                epoch, idx, payload = self._result_queue.get(timeout=wait)
            except queue.Empty:
                self._check_workers()
                if deadline is not None and time.monotonic() >= deadline:
                    self._shutdown_workers(graceful=False)
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} "
                                       "seconds") from None
                continue
            if epoch == self._epoch:
                return idx, loads(payload)

    def _check_workers(self) -> None:
        for i, w in enumerate(self._workers):
            if i not in self._retired and not w.is_alive():
                msg = _death_message(i, w)
                self._shutdown_workers(graceful=False)
                raise RuntimeError(msg)

    def _check_workers_from_signal(self) -> None:
        """Run by the SIGCHLD handler, at any point of the main thread: only look (``exitcode``
        does not block), record, and raise; ``__next__`` and ``shutdown`` do the cleaning up."""
        if self._shutdown or self._failed is not None:
            return  # workers exiting on shutdown, or a death already reported
        for i, w in enumerate(self._workers):
            if i not in self._retired and w.exitcode is not None:
                self._failed = _death_message(i, w)
                raise RuntimeError(self._failed)

    # -- iteration ---------------------------------------------------------------------------
    def __iter__(self) -> "MultiProcessIter":
        return self

    def __len__(self) -> int:
        loader = self._loader_ref()
        return len(loader) if loader is not None else len(self._index_sampler)

    def __next__(self) -> Any:
        if self._failed is not None:  # a worker died (told by SIGCHLD): never reused
            self._shutdown_workers(graceful=False)
            raise RuntimeError(self._failed)
        try:
            return self._next_batch()
        except RuntimeError:
            if self._failed is not None:  # raised by the SIGCHLD handler, mid-read
                self._shutdown_workers(graceful=False)
            raise

    def _next_batch(self) -> Any:
        if self._shutdown:
            raise StopIteration
        while True:
            # Skip tasks of workers whose stream ended; stop when nothing is left in flight.
            while self._rcvd_idx < self._send_idx:
                info = self._task_info[self._rcvd_idx]
                if len(info) == 2 or self._workers_status[info[0]]:
                    break
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:
                data = self._task_info.pop(self._rcvd_idx)[1]
                self._rcvd_idx += 1
                return self._process(data)
            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, IterableDatasetStopIteration):
                self._end_stream(data.worker_id)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx] += (data,)  # early: keep until its turn
            else:
                del self._task_info[idx]
                self._rcvd_idx += 1
                return self._process(data)

    def _end_stream(self, worker_id: int) -> None:
        self._workers_status[worker_id] = False
        if not self._persistent:
            self._retired.add(worker_id)
            self._index_queues[worker_id].put(Retire())

    def _process(self, data: Any) -> Any:
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    # -- shutdown ----------------------------------------------------------------------------
    def _shutdown_workers(self, graceful: bool = True) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        _unwatch(self)
        for q in self._index_queues:
            q.put(None)
        deadline = time.monotonic() + (_JOIN_TIMEOUT if graceful else 0.0)
        for w in self._workers:
            w.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.is_alive():
                w.terminate()
                w.join()
        for q in (*self._index_queues, self._result_queue):
            q.cancel_join_thread()
            q.close()

    def __del__(self) -> None:
        try:
            self._shutdown_workers()
        except Exception:  # interpreter teardown: modules may already be gone
            pass
