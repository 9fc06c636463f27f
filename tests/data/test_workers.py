"""DataLoader with worker processes: results, seeding, sharding, persistence, and the error paths
(an exception, a crash, a kill, a timeout), each of which must end in an error, never a hang.

Every loader that could wait on a broken worker also gets ``timeout=SAFETY`` so that a
regression shows up as a failure instead of a stuck test run.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
import signal
import time

import pytest
from mbtorch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

import mbtorch

SAFETY = 60


class Probe(Dataset):
    """Samples describe where they were made: (index, worker id, pid, a random draw)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return i, info.id, os.getpid(), mbtorch.rand(1).item(), info.seed


def _no_workers_left():
    # An exception caught with `pytest.raises(...) as e` forms a cycle through the test's
    # frame, which keeps the loader iterator alive until the collector runs.
    gc.collect()
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


def test_same_batches_as_single_process():
    ds = TensorDataset(mbtorch.randn(37, 3), mbtorch.arange(37), mbtorch.rand(37) > 0.5)

    def batches(nw):
        g = mbtorch.Generator().manual_seed(4)
        loader = DataLoader(ds, batch_size=5, shuffle=True, num_workers=nw, generator=g,
                            timeout=SAFETY if nw else 0)
        return [tuple(t.tolist() for t in b) for b in loader]

    assert batches(2) == batches(0)
    dtypes = [t.dtype for t in next(iter(DataLoader(ds, batch_size=4, num_workers=2)))]
    assert dtypes == [mbtorch.float32, mbtorch.int64, mbtorch.bool]
    assert _no_workers_left()


def test_worker_info_and_seeds():
    assert get_worker_info() is None
    whole = next(iter(DataLoader(Probe(), batch_size=8, num_workers=2, timeout=SAFETY)))
    assert set(whole[1].tolist()) == {0}  # one batch is made by one worker
    rows = list(DataLoader(Probe(), batch_size=2, num_workers=2, timeout=SAFETY))
    by_worker = {int(r[1][0]): r for r in rows}
    assert set(by_worker) == {0, 1}
    assert int(by_worker[1][4][0]) == int(by_worker[0][4][0]) + 1  # seed = base_seed + id
    assert int(by_worker[0][2][0]) != int(by_worker[1][2][0]) != os.getpid()


def test_worker_randomness_reproducible_with_loader_generator():
    def draws(seed):
        loader = DataLoader(Probe(), batch_size=2, num_workers=2, timeout=SAFETY,
                            generator=mbtorch.Generator().manual_seed(seed))
        return [b[3].tolist() for b in loader]

    a, b, c = draws(1), draws(1), draws(2)
    assert a == b and a != c
    assert a[0] != a[1]  # the two workers are seeded differently


def test_worker_init_fn_runs_in_each_worker():
    class Seen(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return os.environ.get("MBTORCH_TEST_WORKER", "unset")

    def init(worker_id):
        os.environ["MBTORCH_TEST_WORKER"] = f"w{worker_id}"

    out = list(DataLoader(Seen(), batch_size=2, num_workers=2, worker_init_fn=init,
                          timeout=SAFETY))
    assert out == [["w0", "w0"], ["w1", "w1"]]
    assert "MBTORCH_TEST_WORKER" not in os.environ


class Sharded(IterableDataset):
    def __init__(self, n, shard=True):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


def test_iterable_dataset_sharding_is_the_datasets_job():
    out = sum((b.tolist() for b in DataLoader(Sharded(11), batch_size=3, num_workers=2,
                                              timeout=SAFETY)), [])
    assert sorted(out) == list(range(11))
    dup = sum((b.tolist() for b in DataLoader(Sharded(5, shard=False), batch_size=2,
                                              num_workers=2, timeout=SAFETY)), [])
    assert sorted(dup) == sorted(list(range(5)) * 2)


def test_persistent_workers_survive_epochs_and_early_break():
    loader = DataLoader(Probe(), batch_size=2, num_workers=2, persistent_workers=True,
                        timeout=SAFETY)
    first = {int(b[2][0]) for b in loader}
    for _ in loader:  # leave an epoch half-way: its leftovers must not leak into the next
        break
    again = list(loader)
    assert {int(b[2][0]) for b in again} == first
    assert sum((b[0].tolist() for b in again), []) == list(range(8))


def test_persistent_iterable_restarts_each_epoch():
    loader = DataLoader(Sharded(6), batch_size=4, num_workers=2, persistent_workers=True,
                        timeout=SAFETY)
    for _ in range(3):
        assert sorted(sum((b.tolist() for b in loader), [])) == list(range(6))


def test_non_persistent_workers_are_new_each_epoch_and_cleaned_up():
    loader = DataLoader(Probe(), batch_size=4, num_workers=2, prefetch_factor=1,
                        timeout=SAFETY)
    pids = [{int(b[2][0]) for b in loader} for _ in range(2)]
    assert not pids[0] & pids[1]
    it = iter(loader)
    next(it)
    del it
    assert _no_workers_left()


class Failing(Dataset):
    def __init__(self, exc):
        self.exc = exc

    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 2:
            raise self.exc
        return i


def test_worker_exception_is_reraised_with_traceback():
    it = iter(DataLoader(Failing(ValueError("bad sample 2")), batch_size=2, num_workers=2,
                         timeout=SAFETY))
    assert next(it).tolist() == [0, 1]
    with pytest.raises(ValueError) as e:
        next(it)
    msg = str(e.value)
    assert msg.startswith("Caught ValueError in DataLoader worker process 1.\nOriginal "
                          "Traceback (most recent call last):")
    assert "raise self.exc" in msg and "ValueError: bad sample 2" in msg
    assert next(it).tolist() == [4, 5]  # the loader goes on, as torch's does
    assert list(it) == []
    assert _no_workers_left()


def test_key_error_and_odd_exception_types():
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 0"):
        list(DataLoader(Failing(KeyError("k")), batch_size=3, num_workers=2, timeout=SAFETY))

    class NeedsTwo(Exception):
        def __init__(self, a, b):
            super().__init__(a, b)

    with pytest.raises(RuntimeError, match="Caught NeedsTwo in DataLoader worker process 0"):
        list(DataLoader(Failing(NeedsTwo(1, 2)), batch_size=3, num_workers=2, timeout=SAFETY))


def test_worker_init_fn_error_and_unpicklable_batch():
    def bad_init(worker_id):
        raise OSError("no such resource")

    with pytest.raises(OSError, match="(?s)Caught OSError in DataLoader worker process 0.*no "
                                      "such resource"):
        list(DataLoader(Probe(), batch_size=2, num_workers=2, worker_init_fn=bad_init,
                        timeout=SAFETY))
    with pytest.raises(Exception, match="in DataLoader worker process 0"):
        list(DataLoader(list(range(4)), batch_size=2, num_workers=2,
                        collate_fn=lambda b: (lambda: b), timeout=SAFETY))


class Dying(Dataset):
    def __init__(self, how):
        self.how = how

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 3:
            if self.how == "exit":
                os._exit(3)
            os.kill(os.getpid(), signal.SIGKILL)
        return i


def test_worker_exit_is_reported_with_its_exit_code():
    with pytest.raises(RuntimeError, match=r"DataLoader worker 1 \(pid \d+\) exited "
                                           r"unexpectedly with exit code 3"):
        list(DataLoader(Dying("exit"), batch_size=2, num_workers=2, timeout=SAFETY))
    assert _no_workers_left()


def test_killed_worker_is_reported_with_its_signal():
    with pytest.raises(RuntimeError, match=r"DataLoader worker 1 \(pid \d+\) is killed by "
                                           r"signal: SIGKILL \(exit code -9\)"):
        list(DataLoader(Dying("kill"), batch_size=2, num_workers=2, timeout=SAFETY))
    assert _no_workers_left()


def test_timeout_raises_and_stops_the_workers():
    class Slow(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            time.sleep(30)
            return i

    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.5 seconds"):
        list(DataLoader(Slow(), batch_size=2, num_workers=2, timeout=0.5))
    assert time.monotonic() - start < 20  # a bound on the test, not a timing claim
    assert _no_workers_left()


def test_spawn_context_pickles_tensors_through_numpy():
    ds = TensorDataset(mbtorch.arange(10).reshape(5, 2), mbtorch.arange(5) * 2)
    loader = DataLoader(ds, batch_size=2, num_workers=2, multiprocessing_context="spawn",
                        timeout=SAFETY)
    assert [y.tolist() for _, y in loader] == [[0, 2], [4, 6], [8]]


def test_tensors_themselves_stay_unpicklable():
    import pickle

    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(mbtorch.zeros(2))


def test_persistent_iterable_error_on_a_later_epoch_is_reported():
    class SecondEpochFails(IterableDataset):
        epochs = 0

        def __iter__(self):
            type(self).epochs += 1  # counted per worker process
            if type(self).epochs > 1:
                raise OSError("stream closed")
            return iter(range(4))

    loader = DataLoader(SecondEpochFails(), batch_size=2, num_workers=1, persistent_workers=True,
                        timeout=SAFETY)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3]]
    for _ in range(2):  # every epoch whose stream can't start says so, and never hangs
        with pytest.raises(OSError, match="(?s)Caught OSError in DataLoader worker process 0.*"
                                          "stream closed"):
            list(loader)


def test_prefetch_factor_zero_still_loads():
    loader = DataLoader(list(range(5)), batch_size=2, num_workers=2, prefetch_factor=0,
                        timeout=SAFETY)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]


class FirstWorkerEmpty(IterableDataset):
    def __iter__(self):
        return iter(range(0 if get_worker_info().id == 0 else 12))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="the slowed-down send reaches the workers by fork")
def test_worker_retired_mid_epoch_flushes_its_results_first(monkeypatch):
    # Worker 0's stream is empty, so it is stopped while worker 1 goes on. Its queue feeder
    # thread is slowed down while holding the result pipe's write lock (shared by all workers):
    # a worker that exited without flushing left the lock held, and worker 1 blocked forever.
    from multiprocessing.connection import Connection

    send = Connection.send_bytes

    def slow_in_worker_0(self, *args, **kwargs):
        info = get_worker_info()
        if info is not None and info.id == 0:
            time.sleep(0.3)
        return send(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "send_bytes", slow_in_worker_0)
    loader = DataLoader(FirstWorkerEmpty(), batch_size=1, num_workers=2, prefetch_factor=4,
                        timeout=10, multiprocessing_context="fork")
    assert sorted(sum((b.tolist() for b in loader), [])) == list(range(12))
    assert _no_workers_left()


# A worker killed in the middle of sending a batch leaves half a message in the result pipe, and
# the main process blocked in `recv_bytes` (which `timeout` does not bound). Only SIGCHLD can end
# that wait, so these run the loader in a child interpreter with a hard limit of their own.
_KILLED_MID_SEND = r"""
import multiprocessing, os, signal, struct, sys, time
from multiprocessing.connection import Connection
import numpy as np
import mbtorch
from mbtorch.utils.data import DataLoader, Dataset

MODE = sys.argv[1]
dying = False

class Big(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        global dying
        if i == 2 and MODE == "big":  # dies while the feeder thread is stuck sending item 1
            time.sleep(0.3)
            os.kill(os.getpid(), signal.SIGKILL)
        dying = i == 2
        return mbtorch.from_numpy(np.zeros(4_000_000, dtype=np.float32))  # 16 MB

send = Connection.send_bytes

def half_then_die(self, buf, *args):
    if not dying:
        return send(self, buf, *args)
    os.write(self.fileno(), struct.pack("!i", len(buf)) + bytes(buf)[:1000])
    os.kill(os.getpid(), signal.SIGKILL)

Connection.send_bytes = half_then_die
previous = signal.getsignal(signal.SIGCHLD)
loader = DataLoader(Big(), batch_size=None, num_workers=1, timeout=5,
                    persistent_workers=MODE == "half", multiprocessing_context="fork")
try:
    for b in loader:
        time.sleep(1 if MODE == "big" else 0)
except RuntimeError as e:
    print("error:", e)
import gc; gc.collect()
print("children:", len(multiprocessing.active_children()))
print("handler restored:", signal.getsignal(signal.SIGCHLD) is previous)
if MODE == "half":  # the persistent loader starts afresh, without the dead worker's iterator
    dying = None
    Connection.send_bytes = send
    print("next epoch:", [b.shape[0] for b in loader])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGCHLD") or
                    "fork" not in multiprocessing.get_all_start_methods(),
                    reason="SIGCHLD and fork are POSIX")
@pytest.mark.parametrize("mode", ["big", "half"])
def test_worker_killed_mid_send_is_reported_not_a_hang(mode, tmp_path):
    import subprocess
    import sys

    script = tmp_path / "killed_mid_send.py"
    script.write_text(_KILLED_MID_SEND)
    done = subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True,
                          timeout=SAFETY)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"error: DataLoader worker 0 \(pid \d+\) is killed by signal: SIGKILL "
                     r"\(exit code -9\)\.", out), out
    assert "children: 0" in out and "handler restored: True" in out, out
    if mode == "half":
        assert "next epoch: [4000000, 4000000, 4000000, 4000000]" in out, out
