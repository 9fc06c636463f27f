"""``mbtorch.core.intraop``: one op's work split over the intra-op threads. Every index is
covered once; the thread count follows the BLAS's; the BLAS has one thread while parts run
and its count comes back after; an error in any part is raised on the caller once all parts
ended, and the pool keeps working; nested and concurrent splits run whole on their own
thread; a forked child splits with workers of its own."""

from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from mbtorch.core import intraop

pytestmark = pytest.mark.skipif(not intraop.one_blas_thread.limited,
                                reason="no BLAS with a thread pool: nothing is ever split")


def _record():
    seen, lock = [], threading.Lock()

    def fn(lo, hi):
        with lock:
            seen.append((lo, hi, threading.get_ident(), intraop.threads()))

    return seen, fn


@pytest.mark.parametrize("threads,n,grain,parts", [
    (2, 10, 1, 2), (3, 10, 1, 3), (4, 7, 1, 4), (2, 3, 2, 1), (4, 9, 3, 3), (2, 1, 1, 1),
])
def test_parts_cover_the_range_once(threads, n, grain, parts):
    seen, fn = _record()
    with threadpool_limits(threads, user_api="blas"):
        split = intraop.parallel_for(fn, n, grain)
        assert intraop.threads() == threads  # the BLAS's count is back
    assert split is (parts > 1)
    bounds = sorted((lo, hi) for lo, hi, _, _ in seen)
    assert bounds == [(n * i // parts, n * (i + 1) // parts) for i in range(parts)]
    assert len({ident for *_, ident, _ in seen}) == parts  # one thread per part
    if split:
        assert {t for *_, t in seen} == {1}  # one BLAS thread while the parts run


def test_one_blas_thread_means_no_split():
    seen, fn = _record()
    with threadpool_limits(1, user_api="blas"):
        assert intraop.threads() == 1
        assert intraop.parallel_for(fn, 100) is False
    assert [(lo, hi) for lo, hi, *_ in seen] == [(0, 100)]
    assert seen[0][2] == threading.get_ident()


@pytest.mark.parametrize("failing", [0, 1])
def test_an_error_in_a_part_is_raised_after_every_part_ended(failing):
    ended = []

    def fn(lo, hi):
        if lo == [0, 50][failing]:
            raise ValueError(f"part {lo}")
        ended.append(lo)

    with threadpool_limits(2, user_api="blas"):
        with pytest.raises(ValueError, match=f"part {[0, 50][failing]}"):
            intraop.parallel_for(fn, 100)
        assert ended == [[50, 0][failing]]
        assert intraop.threads() == 2
        seen, ok = _record()
        assert intraop.parallel_for(ok, 100) is True  # the pool still works
        assert len(seen) == 2


def test_a_split_inside_a_part_runs_whole_on_that_thread():
    inner = []

    def part(lo, hi):
        seen, fn = _record()
        assert intraop.parallel_for(fn, 10) is False
        inner.append((lo, [(a, b) for a, b, *_ in seen]))

    with threadpool_limits(2, user_api="blas"):
        assert intraop.parallel_for(part, 2) is True
    assert sorted(inner) == [(0, [(0, 10)]), (1, [(0, 10)])]


def test_splits_from_several_threads_give_every_caller_its_whole_result():
    data = np.arange(100_000, dtype=np.float64)
    results, errors = {}, []

    def caller(k):
        try:
            for _ in range(20):
                out = np.empty_like(data)

                def fn(lo, hi, out=out):
                    np.multiply(data[lo:hi], k, out=out[lo:hi])

                intraop.parallel_for(fn, data.size, 1000)
                np.testing.assert_array_equal(out, data * k)
            results[k] = True
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with threadpool_limits(2, user_api="blas"):
        threads = [threading.Thread(target=caller, args=(k,)) for k in range(1, 5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert intraop.threads() == 2
    assert not errors
    assert sorted(results) == [1, 2, 3, 4]


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="needs os.fork")
def test_a_forked_child_splits_with_workers_of_its_own():
    with threadpool_limits(2, user_api="blas"):
        seen, fn = _record()
        assert intraop.parallel_for(fn, 10)  # the parent's workers exist
        pid = os.fork()
        if pid == 0:  # the child: only the forking thread exists here
            code = 1
            try:
                seen2, fn2 = _record()
                if intraop.parallel_for(fn2, 10) and len(seen2) == 2:
                    code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
