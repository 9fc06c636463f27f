"""Hostile files: every parser of a file format refuses a lying or damaged file with a clear,
typed error before allocating what the file claims, and never crashes with another exception
type or hangs.

Formats: IDX (plain and gzip, ``mbtorch.data.idx.read_idx``); ``mbtorch.load`` of PyTorch's
zip checkpoints, its legacy format and safetensors; ``mbtorch.export.load``. ONNX loading is
not covered (not part of this issue). The hand-made cases (tests/hostile_cases.py) each fake
one thing; the fuzz test flips bits in and cuts valid files. ``python -m
tests.test_hostile_files`` prints the counts per format.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tracemalloc
from collections import Counter

import pytest

import mbtorch as mt
from mbtorch.serialization import CheckpointError
from tests.hostile_cases import (
    CASES,
    HUGE,
    PER_BYTE,
    SMALL,
    checkpoint_zip,
    deep_list_pickle,
    load_as,
    load_case,
    memo_bomb_pickle,
    valid_files,
)


def documented(kind: str, exc: BaseException) -> bool:
    """Whether ``exc`` is an error the format's loader documents, with a message."""
    if not str(exc):
        return False
    if kind.startswith("idx"):
        return type(exc) is ValueError
    unavailable = type(exc) is RuntimeError and "not available here" in str(exc)
    if kind == "export":
        return type(exc) is ValueError or unavailable  # (a flipped byte in a device name)
    return isinstance(exc, CheckpointError) or unavailable


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang("a load took more than 20 s")


def judge(kind: str, path) -> tuple[str, int]:
    """Load ``path``: ("loaded" | the error type's name, peak bytes allocated). Anything but a
    load or a documented error is a test failure."""
    tracemalloc.reset_peak()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        load_as(kind, path)
        outcome = "loaded"
    except _Hang:
        raise
    except Exception as exc:  # noqa: BLE001 - sorted below
        if not documented(kind, exc):
            raise AssertionError(f"{kind}: {path} raised an undocumented "
                                 f"{type(exc).__name__}: {exc}") from exc
        outcome = type(exc).__name__
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return outcome, tracemalloc.get_traced_memory()[1]


def mutations(data: bytes, rng: random.Random, n: int):
    """``n`` damaged copies of ``data``: a third cut at a random length, the rest with one to
    four random bits flipped."""
    for _ in range(n):
        if rng.random() < 1 / 3:
            yield data[:rng.randrange(len(data))]
        else:
            d = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)
            yield bytes(d)


FUZZ_PER_FORMAT = 1500 if os.environ.get("MBTORCH_FUZZ") == "long" else 150


def fuzz(tmp, per_format: int = FUZZ_PER_FORMAT, seed: int = 18) -> dict[str, Counter]:
    """Outcome counts per format over ``per_format`` damaged copies of its valid file."""
    rng, counts = random.Random(seed), {}
    tracemalloc.start()
    try:
        for kind, data in valid_files(tmp).items():
            counts[kind] = Counter()
            for i, damaged in enumerate(mutations(data, rng, per_format)):
                path = tmp / f"fuzz{i}.{kind}"
                path.write_bytes(damaged)
                outcome, peak = judge(kind, path)
                assert peak < SMALL + PER_BYTE * len(damaged), \
                    f"{kind}: {peak} bytes allocated for a {len(damaged)}-byte file"
                counts[kind][outcome] += 1
                path.unlink()
    finally:
        tracemalloc.stop()
    return counts


@pytest.mark.fuzz
def test_damaged_files_load_or_raise_documented_errors(tmp_path):
    counts = fuzz(tmp_path)
    for kind, c in counts.items():
        assert sum(c.values()) == FUZZ_PER_FORMAT
        # the damage was seen: most copies are refused (the rest hit padding, names or data)
        assert sum(v for k, v in c.items() if k != "loaded") > FUZZ_PER_FORMAT // 3, (kind, c)


# -- hand-made hostile files ------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_hostile_file_is_refused_with_a_clear_error(tmp_path, case):
    kind, build, kwargs, error, pattern = CASES[case]
    path = tmp_path / f"case.{kind}"
    data = build(tmp_path)
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(error, match=pattern) as info:
            load_as(kind, path) if not kwargs else mt.load(path, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert type(info.value) is error
    assert str(path) in str(info.value)  # the message names the file
    assert peak < SMALL + PER_BYTE * len(data), f"{peak} bytes allocated before refusing"


@pytest.fixture(autouse=True, scope="module")
def _imports_done(tmp_path_factory):
    """Load one file of each kind first, so the imports and caches of a first load are not
    counted in a case's peak allocation."""
    tmp = tmp_path_factory.mktemp("warm")
    for kind, data in valid_files(tmp).items():
        (tmp / f"w.{kind}").write_bytes(data)
        load_as(kind, tmp / f"w.{kind}")


def test_memo_bomb_loads_as_the_small_shared_structure_it_spells(tmp_path):
    # 10**60 paths through 61 objects: nothing in load walks the paths (the nesting check
    # measures each shared container once)
    path = tmp_path / "bomb.pt"
    path.write_bytes(checkpoint_zip(memo_bomb_pickle(60, 10), {}))
    tracemalloc.start()
    try:
        top = mt.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < SMALL
    assert len(top) == 10 and all(x is top[0] for x in top)
    depth, node = 0, top
    while isinstance(node, tuple):
        depth, node = depth + 1, node[0]
    assert depth == 60 and node == []


def test_nesting_at_the_limit_loads(tmp_path):
    path = tmp_path / "ok.pt"
    path.write_bytes(checkpoint_zip(deep_list_pickle(500), {}))
    node, depth = mt.load(path), 1
    while node:
        node, depth = node[0], depth + 1
    assert depth == 500
    path.write_bytes(checkpoint_zip(deep_list_pickle(501), {}))
    with pytest.raises(CheckpointError, match="more than 500 deep"):
        mt.load(path)


def run_limited(cases: list[str], folder: str) -> None:
    """Child process of the next test: load each case with the address space capped at what
    the process holds plus 256 MiB, so allocating what a file claims would fail."""
    import resource

    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + (256 << 20), resource.RLIM_INFINITY))
    tmp = __import__("pathlib").Path(folder)
    for case in cases:
        error, pattern = CASES[case][3:]
        try:
            load_case(tmp, case)
        except error as exc:
            import re
            assert re.search(pattern, str(exc)), (case, exc)
            print("refused:", case)
        else:
            raise AssertionError(f"{case}: loaded")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS")
def test_huge_claims_are_refused_under_an_address_space_limit(tmp_path):
    # tracemalloc sees Python's and NumPy's allocations; the limit catches any other (zlib,
    # the safetensors library, mmap)
    code = (f"from tests.test_hostile_files import run_limited; "
            f"run_limited({list(HUGE)!r}, {str(tmp_path)!r})")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("refused:") == len(HUGE)


def summary(per_format: int = FUZZ_PER_FORMAT) -> str:
    """The table of cases tried and their outcomes per format (for the README)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        counts = fuzz(tmp, per_format)
        hand = Counter()
        for case, (kind, *_rest) in CASES.items():
            try:
                load_case(tmp, case)
                hand[kind, "loaded"] += 1
            except CASES[case][3]:
                hand[kind, "refused"] += 1
    lines = ["| format | hand-made hostile files refused | fuzzed files: tried / loaded / "
             "refused (error types) |", "|---|---|---|"]
    for kind, c in counts.items():
        refused = {k: v for k, v in c.items() if k != "loaded"}
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(refused.items()))
        n = hand[kind, "refused"] + hand[kind, "loaded"]
        made = f"{hand[kind, 'refused']} of {n}" if n else "(with zip)"
        lines.append(f"| {kind} | {made} | {sum(c.values())} / "
                     f"{c['loaded']} / {sum(refused.values())} ({kinds}) |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary())
