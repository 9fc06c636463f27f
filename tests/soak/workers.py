"""DataLoader worker churn: start and stop loaders with worker processes many times, in every
way a training script ends an iteration (to the end, persistent workers across epochs, a
``break`` part-way, an iterator dropped after one batch), then look for what a leak leaves:
child processes, file descriptors (the queues' pipes), and ``/dev/shm`` entries.

Linux only (``/proc``): the counts are read from ``/proc/self/fd`` and ``/proc/*/stat``, so
neither psutil nor a process-wide setting is needed.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from dataclasses import dataclass, field

import mbtorch as mt
from mbtorch.data import DataLoader, TensorDataset

__all__ = ["fd_count", "child_pids", "shm_entries", "Churn", "churn"]

_SHM = "/dev/shm"


def fd_count() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


def child_pids() -> set[int]:
    """Live (or not yet reaped) child processes of this process, from ``/proc``."""
    me, out = os.getpid(), set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:  # exited while we looked
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:  # field 4: the parent's pid
            out.add(int(name))
    return out


def shm_entries() -> set[str]:
    """Names in ``/dev/shm`` (POSIX shared memory and named semaphores); empty without it."""
    try:
        return set(os.listdir(_SHM))
    except OSError:
        return set()


def _held_by_others(names: set[str]) -> set[str]:
    """Those of ``names`` another live process has open or mapped: entries some concurrent
    program made, not ones this process left behind."""
    paths = {os.path.join(_SHM, n): n for n in names}
    held: set[str] = set()
    me = str(os.getpid())
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            with open(f"/proc/{pid}/maps") as f:
                maps = f.read()
        except OSError:
            continue
        held |= {n for p, n in paths.items() if p in links or p in maps}
    return held


@dataclass
class Churn:
    rounds: int
    loaders: int = 0  # loaders whose workers were started (and must have stopped)
    batches: int = 0
    fds: tuple[int, int] = (0, 0)  # before, after
    children_left: set[int] = field(default_factory=set)
    shm_left: set[str] = field(default_factory=set)
    seconds: float = 0.0


def _one_round(ds: TensorDataset, num_workers: int) -> tuple[int, int]:
    """(loaders started, batches read) of one round: every way an iteration ends."""
    loaders = batches = 0
    for persistent in (False, True):
        loader = DataLoader(ds, batch_size=4, num_workers=num_workers,
                            persistent_workers=persistent)
        loaders += 1
        for epoch in range(2):  # to the end, then a break part-way
            for i, _batch in enumerate(loader):
                batches += 1
                if epoch == 1 and i == 2:
                    break
        del loader
    dropped = iter(DataLoader(ds, batch_size=4, num_workers=num_workers))
    next(dropped)
    del dropped  # the iterator's last reference: its workers stop now
    return loaders + 1, batches + 1


def _settle(before: set[int], deadline_s: float = 5.0) -> set[int]:
    """Children not there ``before`` that are still alive after up to ``deadline_s``
    (multiprocessing reaps exited workers when asked, as ``active_children`` does)."""
    stop = time.monotonic() + deadline_s
    while True:
        multiprocessing.active_children()  # joins (reaps) the exited ones
        left = child_pids() - before
        if not left or time.monotonic() > stop:
            return left
        time.sleep(0.05)


def churn(rounds: int, num_workers: int = 2) -> Churn:
    """Start and stop DataLoader workers ``rounds`` times (three loaders a round) and report
    what is left afterwards compared with before."""
    if rounds < 1 or num_workers < 1:
        raise ValueError(f"churn(): rounds and num_workers must be >= 1, got {rounds} and "
                         f"{num_workers}")
    ds = TensorDataset(mt.arange(64.0).reshape(32, 2), mt.arange(32))
    gc.collect()
    children, fds, shm = child_pids(), fd_count(), shm_entries()
    report = Churn(rounds)
    start = time.perf_counter()
    for _ in range(rounds):
        loaders, batches = _one_round(ds, num_workers)
        report.loaders += loaders
        report.batches += batches
    gc.collect()
    report.children_left = _settle(children)
    report.seconds = time.perf_counter() - start
    report.fds = (fds, fd_count())
    new = shm_entries() - shm
    report.shm_left = new - _held_by_others(new)
    return report
