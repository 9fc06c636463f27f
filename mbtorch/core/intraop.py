"""Intra-op threads for backends that compute on the host's cores (the ``cpu`` device's NumPy
and Numba kernels, ``opencl``'s host-BLAS products on CPU devices): one op's work split over
a few threads, as PyTorch's ``at::parallel_for`` splits an op over its intra-op pool.

How many threads: as many as NumPy's BLAS is set to use (``mbtorch.set_num_threads``,
``threadpoolctl``'s limits, ``OPENBLAS_NUM_THREADS``...), read at each call, so one setting
governs every multithreaded kernel of the device; 1 (nothing split) where ``threadpoolctl``
is not installed or no BLAS with a thread pool is loaded, because then the BLAS's own
threads could not be held back while the split runs.

While a split runs, the BLAS is limited to one thread (``one_blas_thread``): each part's
products run on the thread that took the part, not on BLAS workers competing for the same
cores, and no BLAS worker is left spinning afterwards (OpenBLAS's idle workers spin for a
while after each call, taking a core from whatever runs next). The limit is process-wide
while it lasts, as the BLAS's setting is; it is restored when the last split or
``one_blas_thread`` block in the process ends.

The parts are fixed by the thread count (``n * i // parts``): a kernel that splits its
output into independent parts gives the same values split or not. One split runs at a time
in a process; a split asked for while another runs (from another thread, or from inside a
part) runs its whole range on the calling thread. The workers are daemon threads started at
the first split and started again in a forked child (``os.register_at_fork``), which has
only the thread that forked.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable

__all__ = ["threads", "parallel_for", "one_blas_thread", "matmul_into", "MIN_MNK", "PART_MNK"]


class _Blas:
    """NumPy's BLAS libraries with a thread pool (``threadpoolctl``), found once."""

    def __init__(self) -> None:
        self._libs: list[Any] | None = None

    def libs(self) -> list[Any]:
        if self._libs is None:
            try:
                import numpy  # noqa: F401 - the BLAS is loaded with NumPy
                from threadpoolctl import ThreadpoolController
            except ImportError:
                self._libs = []
            else:
                self._libs = [c for c in ThreadpoolController().select(user_api="blas")
                              .lib_controllers if c.num_threads is not None]
        return self._libs


_BLAS = _Blas()


def threads() -> int:
    """How many threads one op may split over now: the BLAS's thread count (at least 1)."""
    libs = _BLAS.libs()
    if not libs:
        return 1
    return max(1, max(int(c.get_num_threads() or 1) for c in libs))


class _OneBlasThread:
    """Context manager: the BLAS limited to one thread inside, its thread counts restored
    when the last thread leaves (nested and concurrent entries share one limit)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: list[int] = []

    @property
    def limited(self) -> bool:
        """Whether entering limits anything (a BLAS with a thread pool was found)."""
        return bool(_BLAS.libs())

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                libs = _BLAS.libs()
                self._saved = [c.get_num_threads() for c in libs]
                for c, n in zip(libs, self._saved):
                    if n is not None and n != 1:
                        c.set_num_threads(1)
            self._depth += 1

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                for c, n in zip(_BLAS.libs(), self._saved):
                    if n is not None and n != 1:
                        c.set_num_threads(n)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0


one_blas_thread = _OneBlasThread()


class _Worker:
    """One pool thread: waits for a part, runs it, reports. Plain locks as signals (the
    cheapest hand-over CPython has: a part costs a few microseconds to pass on)."""

    def __init__(self) -> None:
        self.go = threading.Lock()
        self.go.acquire()
        self.done = threading.Lock()
        self.done.acquire()
        self.task: tuple | None = None
        self.error: BaseException | None = None
        threading.Thread(target=self._loop, name="mbtorch-intraop", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self.go.acquire()
            fn, lo, hi = self.task  # type: ignore[misc]
            try:
                fn(lo, hi)
            except BaseException as exc:  # noqa: BLE001 - re-raised on the calling thread
                self.error = exc
            self.task = None
            self.done.release()


class _Pool:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.busy = threading.Lock()
        self.workers: list[_Worker] = []

    def run(self, fn: Callable[[int, int], Any], n: int, parts: int) -> None:
        # the caller holds ``busy``
        while len(self.workers) < parts - 1:
            self.workers.append(_Worker())
        bounds = [n * i // parts for i in range(parts + 1)]
        workers = self.workers[:parts - 1]
        error: BaseException | None = None
        with one_blas_thread:
            for i, w in enumerate(workers, 1):
                w.task = (fn, bounds[i], bounds[i + 1])
                w.go.release()
            try:
                fn(bounds[0], bounds[1])
            except BaseException as exc:  # noqa: BLE001 - raised after the workers finish
                error = exc
            for w in workers:
                w.done.acquire()
                if w.error is not None:
                    error = error or w.error
                    w.error = None
        if error is not None:
            raise error


_POOL = _Pool()


def _after_fork() -> None:
    _POOL._reset()
    one_blas_thread._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def parallel_for(fn: Callable[[int, int], Any], n: int, grain: int = 1) -> bool:
    """Run ``fn(lo, hi)`` over ``range(n)`` in parts of at least ``grain``, one part per
    thread (``threads()``), the calling thread taking the first; the first error of any part
    is raised once all parts have ended. Returns whether it split: False means ``fn(0, n)``
    ran on the calling thread alone, with the BLAS as it was set."""
    parts = min(threads(), n // max(grain, 1))
    if parts < 2 or not _POOL.busy.acquire(blocking=False):
        fn(0, n)
        return False
    try:
        _POOL.run(fn, n, parts)
    finally:
        _POOL.busy.release()
    return True


# -- products ---------------------------------------------------------------------------------
MIN_MNK = 1 << 20
"""Products below this m*n*k (over the whole stack) are not split: handing a part to another
thread costs about 10-50 us (the wake-up of an idle core; most on virtual machines), the
time of a product of about this size on one core."""
PART_MNK = 1 << 19
"""The least m*n*k one part gets."""


def matmul_into(out: Any, a: Any, b: Any, run: Callable | None = None, rows: bool = False
                ) -> bool:
    """NumPy's ``a @ b`` written into ``out`` (a C-contiguous array of the result's shape and
    dtype) split over the threads: a stack of products by its first dim (each thread a run
    of whole matrices), and with ``rows`` a single product by the rows of ``a``. Returns
    False, having written nothing, where it does not split (fewer than two threads, below
    ``MIN_MNK``, a 1-D operand, or a single product without ``rows``); the caller computes
    the product its own way then. ``run(f, *args, **kw)`` calls ``f`` (default: directly),
    e.g. with NumPy's floating-point errors ignored on whichever thread runs the part.

    Each element is the same BLAS call's result split or not (whole matrices, whole rows)."""
    import numpy as np

    if a.ndim < 2 or b.ndim < 2 or out.size * a.shape[-1] < MIN_MNK or threads() < 2:
        return False
    call = run or (lambda f, *args, **kw: f(*args, **kw))
    k = a.shape[-1]
    if out.ndim > 2 and out.shape[0] > 1:  # by the stack's first dim
        count = out.shape[0]
        take_a = a.ndim == out.ndim and a.shape[0] == count
        take_b = b.ndim == out.ndim and b.shape[0] == count

        def part(lo: int, hi: int) -> None:
            call(np.matmul, a[lo:hi] if take_a else a, b[lo:hi] if take_b else b,
                 out=out[lo:hi])
    elif rows:  # by the rows of a (and of the result)
        count = out.shape[-2]

        def part(lo: int, hi: int) -> None:
            call(np.matmul, a[..., lo:hi, :], b, out=out[..., lo:hi, :])
    else:
        return False
    parallel_for(part, count, max(1, PART_MNK // max(out.size // count * k, 1)))
    return True
