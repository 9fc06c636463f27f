"""Interleaved timing: every candidate of a case is sampled in the same loop, in rotating order.

Absolute times on a shared machine drift (other tenants, frequency scaling, thermal state), so
a ratio between two implementations is only meaningful when both were measured under the same
conditions. ``measure`` therefore warms every candidate up, then takes repeat ``r`` of each
candidate one after the other (the order rotating each round so no candidate always runs
first), and computes each ratio per round before taking its median.

A sample is ``number`` calls of the statement, timed as one block and divided by ``number``;
``number`` is calibrated per candidate so that a block lasts ``cfg.sample_s``. Devices that
run asynchronously pass a ``sync`` callable that is called once at the end of every block
(inside the timed region), so queued work is counted.

Thread pools: NumPy's OpenBLAS and PyTorch's OpenMP/MKL each keep worker threads that spin
after a call (OpenBLAS for about 2^28 cycles, ~0.1 s) before sleeping. Alternating the two in
one process on a small machine puts both pools on the same cores, and we measured 3-6× slower
matmuls for both than either alone, which is an artefact no user meets. Families that run
threaded kernels therefore pass ``settle=True``: an untimed pause of ``cfg.settle_s`` before
every block lets the previous candidate's pool go to sleep.
"""

from __future__ import annotations

import gc
import statistics
import time
import timeit
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

REFERENCES = {"numpy": "vs_numpy", "torch:cpu": "vs_torch"}


@dataclass
class Config:
    """How hard to measure. ``quick`` shrinks repeats and sizes (for the tests, not for claims)."""

    quick: bool = False
    repeats: int = 15
    warmup: int = 3
    sample_s: float = 0.05
    startup_repeats: int = 5
    settle_s: float = 0.25

    @classmethod
    def make(cls, quick: bool) -> "Config":
        if quick:
            return cls(quick=True, repeats=3, warmup=1, sample_s=0.002, startup_repeats=1,
                       settle_s=0.0)
        return cls()


@dataclass
class Candidate:
    """One implementation of a case: ``impl`` names it (``mbtorch:cpu``, ``numpy``...).

    ``stmt`` is a callable or a source string executed with ``ns`` as globals (a string is
    inlined in timeit's loop, so the per-op overhead figure carries no extra call).
    """

    impl: str
    stmt: Callable[[], Any] | str
    ns: dict = field(default_factory=dict)
    sync: Callable[[], Any] | None = None
    gc_enabled: bool = False
    note: str = ""


@dataclass
class Row:
    """One line of the report: a candidate measured in a case, or why it was not."""

    family: str
    case: str
    impl: str
    status: str = "ok"  # ok | skipped | error
    reason: str = ""
    median_s: float | None = None
    min_s: float | None = None
    max_s: float | None = None
    metric: dict | None = None  # {"unit": "GB/s", "median": .., "min": .., "max": ..}
    vs_numpy: float | None = None
    vs_torch: float | None = None
    repeats: int = 0
    number: int = 0
    note: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def describe_error(exc: BaseException) -> str:
    """``Type: message (at file:line)``, the line being the innermost frame that raised."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def skipped(family: str, case: str, impl: str, reason: str, status: str = "skipped") -> Row:
    return Row(family, case, impl, status=status, reason=reason)


def _timer(c: Candidate) -> timeit.Timer:
    ns = dict(c.ns)
    setup = "pass"
    if c.gc_enabled:  # training steps make reference cycles: collect them as a user would
        ns["_gc"] = gc
        setup = "_gc.enable()"
    return timeit.Timer(c.stmt, setup=setup, globals=ns)


def _block(timer: timeit.Timer, number: int, sync: Callable | None, settle_s: float = 0.0
           ) -> float:
    if settle_s:
        time.sleep(settle_s)
    t0 = time.perf_counter()
    timer.timeit(number)
    if sync is not None:
        sync()
    return (time.perf_counter() - t0) / number


def _calibrate(timer: timeit.Timer, sync: Callable | None, target_s: float) -> int:
    number = 1
    while True:
        per_call = _block(timer, number, sync)
        if per_call * number >= target_s / 4 or number >= 1 << 22:
            return max(1, min(1 << 22, int(target_s / max(per_call, 1e-9))))
        number *= 10


def measure(family: str, case: str, candidates: list[Candidate], cfg: Config,
            work: Callable[[float], dict] | None = None, settle: bool = False) -> list[Row]:
    """Time ``candidates`` interleaved; ``work(seconds)`` turns a time into a metric dict;
    ``settle`` pauses before each block so other thread pools go idle (see the module doc).

    A candidate that raises while warming up becomes an ``error`` row; the others go on.
    """
    live: list[tuple[Candidate, timeit.Timer, int]] = []
    rows: dict[str, Row] = {}
    pause = cfg.settle_s if settle and len(candidates) > 1 else 0.0
    for c in candidates:
        try:
            timer = _timer(c)
            number = _calibrate(timer, c.sync, cfg.sample_s)
            for _ in range(cfg.warmup):
                _block(timer, number, c.sync, pause)
        except Exception as exc:  # noqa: BLE001 - reported in the table, never hidden
            rows[c.impl] = skipped(family, case, c.impl, describe_error(exc), status="error")
            continue
        live.append((c, timer, number))
    samples = _rounds(family, case, live, cfg.repeats, pause, rows)
    for c, _, number in live:
        if c.impl in samples:
            rows[c.impl] = _row(family, case, c, number, samples, work)
    return [rows[c.impl] for c in candidates]


def _rounds(family: str, case: str, live: list, repeats: int, pause: float,
            rows: dict[str, Row]) -> dict[str, list[float]]:
    """``repeats`` rounds, one block per candidate each, starting one later every round."""
    samples: dict[str, list[float]] = {c.impl: [] for c, _, _ in live}
    for r in range(repeats):
        k = r % max(1, len(live))
        for c, timer, number in live[k:] + live[:k]:
            if c.impl not in samples:
                continue
            try:
                samples[c.impl].append(_block(timer, number, c.sync, pause))
            except Exception as exc:  # noqa: BLE001 - same as in warm-up
                rows[c.impl] = skipped(family, case, c.impl, describe_error(exc), "error")
                del samples[c.impl]
    return samples


def _row(family: str, case: str, c: Candidate, number: int,
         samples: dict[str, list[float]], work: Callable[[float], dict] | None) -> Row:
    ts = samples[c.impl]
    row = Row(family, case, c.impl, median_s=statistics.median(ts), min_s=min(ts),
              max_s=max(ts), repeats=len(ts), number=number, note=c.note)
    for ref, attr in REFERENCES.items():
        if ref in samples and ref != c.impl:
            setattr(row, attr, statistics.median(a / b for a, b in zip(ts, samples[ref])))
    if work is not None:
        lo, mid, hi = work(row.max_s), work(row.median_s), work(row.min_s)
        row.metric = {"unit": mid["unit"], "median": mid["value"], "min": lo["value"],
                      "max": hi["value"]}
    return row


def ratio_rows(family: str, case: str, samples: dict[str, list[float]],
               notes: dict[str, str] | None = None) -> list[Row]:
    """Rows from samples already taken in interleaved rounds (used by the startup family)."""
    out = []
    for impl in samples:
        c = Candidate(impl, "pass", note=(notes or {}).get(impl, ""))
        out.append(_row(family, case, c, 1, samples, None))
    return out
