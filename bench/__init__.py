"""mbtorch benchmarks: ``python -m bench`` measures mbtorch beside NumPy and PyTorch.

Every available mbtorch device (``mbtorch.backends.status()``), raw NumPy and PyTorch CPU
(CUDA too when there is a GPU) run in the same process, interleaved (``bench.timing``), so the
ratios hold even when the machine's speed drifts. Results go to ``bench/results/latest.json``,
``latest.md`` and ``latest.png``. Families (``--only``): overhead, elementwise, matmul, mlp,
cnn, startup, dataloader, opencl (every opencl device against its own copy kernel), zoo (the
``mbtorch.vision.models`` forwards beside PyTorch's, ``bench/zoo.py``).

A family module exposes ``run(targets, cfg) -> list[Row]``. ``bench/bench_dataloader.py`` is
owned elsewhere; ``bench/dataloader.py`` calls its ``run()`` and turns what it returns into
rows (see there).
"""

from __future__ import annotations

import importlib
import sys
import time
from typing import Any

from .timing import Config, Row, describe_error, skipped

FAMILIES = ("overhead", "elementwise", "matmul", "mlp", "cnn", "startup", "dataloader", "opencl",
            "zoo")


def run_family(name: str, targets: Any, cfg: Config, extra: dict) -> list[Row]:
    """One family's rows; an exception becomes one error row (the other families go on)."""
    try:
        mod = importlib.import_module(f"bench.{name}")
        return mod.run(targets, cfg, extra) if name == "dataloader" else mod.run(targets, cfg)
    except Exception as exc:  # noqa: BLE001 - a broken family is reported, not fatal
        return [skipped(name, name, "-", describe_error(exc), "error")]


def run_all(cfg: Config, only: list[str] | None = None, devices: list[str] | None = None,
            log: Any = sys.stderr, command: str = "python -m bench") -> dict:
    """Run the chosen families on every target; the result dict is what ``report`` writes."""
    from . import machine, report
    from . import targets as tg

    load_start = machine.load_average()
    found = tg.discover(devices)
    notes = list(found.notes) + [n for t in found.items for n in t.notes]
    rows: list[Row] = []
    extra: dict = {}
    for name in [f for f in FAMILIES if f in (only or FAMILIES)]:  # fixed order
        t0 = time.perf_counter()
        rows += run_family(name, found, cfg, extra)
        print(f"bench: {name} done in {time.perf_counter() - t0:.1f} s", file=log)
    dicts = [r.as_dict() for r in rows]
    return {
        "schema": 1, "created": time.strftime("%Y-%m-%d %H:%M %Z"),
        "command": command,
        "config": dict(cfg.__dict__), "machine": machine.describe(),
        "load_average_start": load_start,
        "targets": [t.name for t in found.items], "notes": notes, "rows": dicts,
        "aims": report.aims(dicts, {t.name for t in found.items}), "extra": extra,
    }
