"""DataLoader throughput: adapts ``bench/bench_dataloader.py`` (owned by the data loader's
author) to the table. Its ``run(quick=...)`` is called when present; it may return

- rows as dicts with the keys of ``bench.timing.Row`` (``case``, ``impl``, ``median_s`` at
  least), which join the table as they are;
- its own summary, ``{"results": [{"impl", "num_workers", "seconds", "samples",
  "samples_per_s", "first_batch_s"}, ...], "batches", "batch_size", "dataset"}``: one timed
  pass per case, turned into one row per case (time per batch, samples/s); or
- anything else, kept verbatim in the JSON's ``extra`` and shown as such.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from .timing import Config, Row, skipped

FAMILY = "dataloader"
IMPLS = {"mbtorch": "mbtorch:cpu", "torch": "torch:cpu", "numpy": "numpy"}


def _call(cfg: Config) -> Any:
    mod = importlib.import_module("bench.bench_dataloader")
    fn = getattr(mod, "run", None)
    if fn is None:
        raise LookupError("bench_dataloader has no run()")
    kwargs = {"quick": cfg.quick} if "quick" in inspect.signature(fn).parameters else {}
    try:
        import torch
    except ImportError:
        return fn(**kwargs)
    threads = torch.get_num_threads()
    try:  # it may change torch's thread count; the other families must not inherit that
        return fn(**kwargs)
    finally:
        torch.set_num_threads(threads)


def _summary_rows(out: dict) -> list[Row]:
    rows, per_batch = [], {}
    batches = out.get("batches") or 1
    for r in out["results"]:
        case = f"DataLoader, batch {out.get('batch_size')}, {r['num_workers']} workers"
        impl = IMPLS.get(r["impl"], r["impl"])
        t = r["seconds"] / batches
        per_batch[(case, impl)] = t
        rows.append(Row(FAMILY, case, impl, median_s=t, min_s=t, max_s=t, repeats=1,
                        number=batches, note=f"one pass; first batch {r['first_batch_s']} s; "
                        f"{str(out.get('dataset', '')).split(' (')[0]}",
                        metric={"unit": "samples/s", "median": r["samples_per_s"],
                                "min": r["samples_per_s"], "max": r["samples_per_s"]}))
    for row in rows:
        ref = per_batch.get((row.case, "torch:cpu"))
        if ref and row.impl != "torch:cpu":
            row.vs_torch = row.median_s / ref
    return rows


def run(targets: Any, cfg: Config, extra: dict) -> list[Row]:
    try:
        out = _call(cfg)
    except ModuleNotFoundError as exc:
        if exc.name != "bench.bench_dataloader":
            raise
        return [skipped(FAMILY, "DataLoader", "-", "bench/bench_dataloader.py not there")]
    if isinstance(out, list) and all(isinstance(r, dict) and {"case", "impl", "median_s"}
                                     <= r.keys() for r in out):
        fields = Row.__dataclass_fields__
        return [Row(**{"family": FAMILY, **{k: v for k, v in r.items() if k in fields}})
                for r in out]
    if isinstance(out, dict) and isinstance(out.get("results"), list):
        return _summary_rows(out)
    extra[FAMILY] = out
    return []
