"""Write the results: JSON (everything), Markdown (the table the README quotes), PNG chart."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from . import overhead

# (label, family, case pattern, impl, ratio field, limit): ratios are time ÷ reference time,
# so "at least 30% of NumPy's GFLOP/s" is a time ratio of at most 1 / 0.3.
AIMS = [
    *((f"per-op overhead of {label}{grad} vs PyTorch", "overhead",
       re.escape(overhead.case_name(label, bool(grad))), "mbtorch:cpu", "vs_torch", 1.0)
      for grad in ("", ", requires_grad") for label, _, _ in overhead.OPS),
    ("MLP step vs hand-written NumPy floor", "mlp", r"MLP [^,]*, batch \d+", "mbtorch:cpu",
     "vs_numpy", 1.15),
    ("MLP step vs PyTorch CPU", "mlp", r"MLP [^,]*, batch \d+", "mbtorch:cpu", "vs_torch", 1.0),
    ("MLP step vs PyTorch CPU, one BLAS thread", "mlp", r"MLP .*, 1 thread", "mbtorch:cpu",
     "vs_torch", 1.0),
    ("compiled MLP step vs hand-written NumPy floor, one BLAS thread", "mlp",
     r"MLP .*, 1 thread", "mbtorch:cpu compiled", "vs_numpy", 1.1),
    ("compiled MLP step vs PyTorch eager, one BLAS thread", "mlp", r"MLP .*, 1 thread",
     "mbtorch:cpu compiled", "vs_torch", 1.0),
    ("CNN step vs PyTorch CPU", "cnn", r"CNN [^,]*, batch \d+", "mbtorch:cpu", "vs_torch",
     1.5),
    ("CNN step vs PyTorch CPU, one BLAS thread", "cnn", r"CNN .*, 1 thread", "mbtorch:cpu",
     "vs_torch", 1.5),
    ("compiled CNN step vs PyTorch eager", "cnn", r"CNN [^,]*, batch \d+",
     "mbtorch:cpu compiled", "vs_torch", 1.0),
    ("compiled CNN step vs PyTorch eager, one BLAS thread", "cnn", r"CNN .*, 1 thread",
     "mbtorch:cpu compiled", "vs_torch", 1.0),
    ("import mbtorch vs import numpy (fresh processes)", "startup", "import", "mbtorch",
     "vs_numpy", 2.5),
    ("import + first cpu result vs NumPy's (fresh processes)", "startup", "first result .*",
     "mbtorch:cpu warm", "vs_numpy", 4.0),
    ("opencl a*b+c vs NumPy (≥ NumPy's GB/s)", "elementwise", r"a \* b \+ c, .*",
     "mbtorch:opencl", "vs_numpy", 1.0),
    ("opencl matmul 1024 vs NumPy (≥ 30% of its GFLOP/s)", "matmul", "matmul 1024×.*",
     "mbtorch:opencl", "vs_numpy", 1 / 0.3),
]


TABLE_HEAD = ("| case | implementation | median | min–max | throughput | ÷ NumPy | ÷ PyTorch | "
              "note |")


def _find(rows: list[dict], family: str, pattern: str, impl: str) -> dict | None:
    for r in rows:
        if r["family"] == family and r["impl"] == impl and re.fullmatch(pattern, r["case"]):
            return r
    return None


def aims(rows: list[dict], devices: set[str]) -> list[dict]:
    out = []
    for label, family, case, impl, field, limit in AIMS:
        device = impl.split(" ")[0]  # "mbtorch:cpu warm": the startup family's cache variants
        if device not in devices and device not in ("mbtorch", "mbtorch:cpu"):
            continue
        r = _find(rows, family, case, impl)
        entry = {"aim": label, "limit": round(limit, 3), "ratio": None, "status": "not measured"}
        if r is None:
            entry["reason"] = "no such case in this run"
        elif r["status"] != "ok" or r.get(field) is None:
            entry["reason"] = r["reason"] or "no reference in this run"
        else:
            entry["ratio"] = r[field]
            entry["status"] = "met" if r[field] <= limit else "missed"
        out.append(entry)
    return out


def fmt_time(s: float | None) -> str:
    if s is None:
        return ""
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def _ratio(x: float | None) -> str:
    return "" if x is None else f"{x:.3g}×"


def _metric(m: dict | None) -> str:
    if not m:
        return ""
    span = "" if m["min"] == m["max"] else f" ({m['min']:.3g}–{m['max']:.3g})"
    return f"{m['median']:.3g} {m['unit']}{span}"


def _lib(blas: dict) -> str:
    """Which package loaded this BLAS, from its path (numpy.libs, torch/lib, scipy.libs...)."""
    parts = str(blas.get("filepath") or "").split("/")
    return next((p.removesuffix(".libs") for p in reversed(parts[:-1])
                 if p not in ("lib", "lib64", "site-packages")), parts[-1])


def _pool(b: dict) -> str:
    """One loaded thread pool as threadpoolctl saw it: library, who loaded it, kernel."""
    if not b.get("internal_api"):
        return b.get("note", "")
    kernel = f", kernel {b['architecture']}" if b.get("architecture") else ""
    return (f"{b['internal_api']} {b.get('version') or ''} ({_lib(b)}){kernel}, "
            f"{b.get('num_threads')} threads")


def _header(res: dict) -> list[str]:
    m, cfg = res["machine"], res["config"]
    blas = "; ".join(_pool(b) for b in m["blas"])
    env = ", ".join(f"{k}={v}" for k, v in m["env"].items() if v) or "none set"
    th = m["torch"]
    torch = f"PyTorch {th['version']} ({th['threads']} threads, MKL: {th['mkl']})" \
        if th["version"] else \
        "PyTorch not installed"
    return [
        "# mbtorch benchmarks", "",
        f"Taken {res['created']} with `{res['command']}` at git {m['git']}"
        + (" — **quick run: small sizes and repeats, not for claims**" if cfg["quick"] else ""),
        "", f"- Machine: {m['cpu']}, {m['usable_cores']} usable of {m['logical_cores']} "
        f"logical cores, {m['memory_gib']} GiB, {m['os']}",
        f"- Python {m['python']}, NumPy {m['numpy']}, {torch}, mbtorch {m['mbtorch']}",
        f"- BLAS: {blas}", f"- BLAS/threads environment: {env}",
        f"- Load average (1, 5, 15 min) at start {res.get('load_average_start')}, at end "
        f"{m.get('load_average')}: above the core count, other work shared the CPUs",
        f"- Each figure: median of {cfg['repeats']} repeats after {cfg['warmup']} warm-up "
        f"blocks (min–max beside it); start-up figures: {cfg['startup_repeats']} fresh "
        "processes each. `÷ NumPy` and `÷ PyTorch` are this row's time over the reference's, "
        "taken per interleaved round, median over rounds: below 1.00× is faster.", ""]


def _aims_md(entries: list[dict]) -> list[str]:
    out = ["## Aims", "", "| aim | ratio | limit | status |", "|---|---|---|---|"]
    for e in entries:
        status = e["status"] + (f" ({e['reason']})" if e.get("reason") else "")
        out.append(f"| {e['aim']} | {_ratio(e['ratio'])} | ≤ {e['limit']:.2f}× | {status} |")
    return out + [""]


def markdown(res: dict) -> str:
    lines = _header(res) + _aims_md(res["aims"])
    if res["notes"]:
        lines += ["## Notes", ""] + [f"- {n}" for n in res["notes"]] + [""]
    family = None
    for r in res["rows"]:
        if r["family"] != family:
            family = r["family"]
            lines += ["", f"## {family}", "", TABLE_HEAD, "|---" * 8 + "|"]
        if r["status"] == "ok":
            span = f"{fmt_time(r['min_s'])} – {fmt_time(r['max_s'])}"
            cells = [fmt_time(r["median_s"]), span, _metric(r["metric"]),
                     _ratio(r["vs_numpy"]), _ratio(r["vs_torch"]), r["note"]]
        else:
            cells = ["", "", "", "", "", f"**{r['status']}**: {r['reason']}"]
        lines.append("| " + " | ".join([r["case"], r["impl"]] + cells) + " |")
    if any(r["family"] == "zoo" for r in res["rows"]):
        from .zoo import summary  # imports this module: not at the top

        table = summary(res["rows"])
        lines += ["", "## zoo summary", ""] + table if table else []
    for name, extra in res.get("extra", {}).items():
        lines += ["", f"## {name}", "", "```json", json.dumps(extra, indent=2, default=str), "```"]
    return "\n".join(lines) + "\n"


def write(res: dict, out_dir: Path, chart: bool = True) -> list[Path]:
    """``latest.json``, ``latest.md`` and (when matplotlib is there) ``latest.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "latest.json", out_dir / "latest.md"]
    paths[0].write_text(json.dumps(res, indent=1, default=str) + "\n")
    paths[1].write_text(markdown(res))
    if chart:
        from .chart import plot

        png = plot(res, out_dir / "latest.png")
        if png is not None:
            paths.append(png)
    return paths


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
