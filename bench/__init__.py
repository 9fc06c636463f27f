"""mbtorch benchmarks: ``python -m bench`` measures mbtorch beside NumPy and PyTorch.

Every available mbtorch device (``mbtorch.backends.status()``), raw NumPy and PyTorch CPU
(CUDA too when there is a GPU) run in the same process, interleaved (``bench.timing``), so the
ratios hold even when the machine's speed drifts. Results go to ``bench/results/latest.json``,
``latest.md`` and ``latest.png``. Families (``--only``): overhead, elementwise, matmul, mlp,
cnn, startup, dataloader.

A family module exposes ``run(targets, cfg) -> list[Row]``. ``bench/bench_dataloader.py`` is
owned elsewhere; its ``run()`` is called when present (with ``quick=`` when it takes it) and
may return rows as dicts with the keys of ``bench.timing.Row`` (``case``, ``impl``,
``median_s``, ``min_s``, ``max_s`` at least; ``bench.timing.measure`` builds them), which join
the table; anything else it returns is kept verbatim in the JSON and shown as such.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time
from typing import Any

from .timing import Config, Row, describe_error, skipped

FAMILIES = ("overhead", "elementwise", "matmul", "mlp", "cnn", "startup", "dataloader")


def _dataloader(cfg: Config, extra: dict) -> list[Row]:
    try:
        mod = importlib.import_module("bench.bench_dataloader")
    except ModuleNotFoundError as exc:
        if exc.name != "bench.bench_dataloader":
            raise
        return [skipped("dataloader", "DataLoader", "-", "bench/bench_dataloader.py not there")]
    fn = getattr(mod, "run", None)
    if fn is None:
        return [skipped("dataloader", "DataLoader", "-", "bench_dataloader has no run()")]
    kwargs = {"quick": cfg.quick} if "quick" in inspect.signature(fn).parameters else {}
    out = fn(**kwargs)
    if isinstance(out, list) and all(isinstance(r, dict) and {"case", "impl", "median_s"}
                                     <= r.keys() for r in out):
        fields = Row.__dataclass_fields__
        return [Row(**{"family": "dataloader", **{k: v for k, v in r.items() if k in fields}})
                for r in out]
    extra["dataloader"] = out
    return []


def run_family(name: str, targets: Any, cfg: Config, extra: dict) -> list[Row]:
    """One family's rows; an exception becomes one error row (the other families go on)."""
    try:
        if name == "dataloader":
            return _dataloader(cfg, extra)
        mod = importlib.import_module(f"bench.{name}")
        return mod.run(targets, cfg)
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
    for name in only or FAMILIES:
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
