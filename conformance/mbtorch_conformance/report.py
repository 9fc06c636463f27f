"""The report: one row per (backend, op, dtype, check), written as JSON and as a Markdown
grid (ops x dtypes) a person can read, plus the console summary."""

from __future__ import annotations

import json
import math
import platform
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

import mbtorch as mt

__all__ = ["FAILING", "DTYPE_ORDER", "Row", "Report", "markdown", "format_failure"]

FAILING = ("fail", "xpass")
DTYPE_ORDER = [d.name for d in mt.core.dtypes.ALL_DTYPES]


@dataclass
class Row:
    backend: str
    op: str  # the database entry (a public spelling of the op)
    registry_op: str  # the mbtorch.core.op.Op member it exercises
    dtype: str
    check: str
    status: str  # pass | fail | xfail | xpass | skip
    n: int
    max_abs: float
    max_rel: float
    max_ulp: float  # over the values judged in ULPs (not those under the floor near zero)
    impl: str  # native | decomposed | -
    message: str = ""
    repro: str = ""
    seconds: float = 0.0
    allowed_ulp: float | None = None  # the accuracy class's bound; None: not judged in ULPs


@dataclass
class Report:
    backend: str
    distribution: str
    version: str
    tier: str
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if r.status in FAILING]

    @property
    def ok(self) -> bool:
        return not self.failures

    def counts(self) -> Counter:
        return Counter(r.status for r in self.rows)

    def to_json(self) -> dict:
        return {
            "backend": self.backend, "distribution": self.distribution,
            "version": self.version, "tier": self.tier, "seconds": round(self.seconds, 2),
            "mbtorch": mt.__version__, "python": platform.python_version(),
            "summary": dict(self.counts()),
            "rows": [{k: _finite(v) for k, v in asdict(r).items()} for r in self.rows],
        }

    def write_json(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump(self.to_json(), f, indent=1)
            f.write("\n")

    def write_markdown(self, path: str) -> None:
        with open(path, "w") as f:
            f.write(markdown(self))

    def summary_line(self) -> str:
        c = self.counts()
        parts = [f"{c[s]} {s}" for s in ("pass", "fail", "xfail", "xpass", "skip") if c[s]]
        return (f"mbtorch-conformance {self.backend} ({self.tier}): {', '.join(parts)} "
                f"in {self.seconds:.1f}s")


def _finite(v):
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _cell(rows: list[Row]) -> str:
    bad = [r.check for r in rows if r.status in FAILING]
    if bad:
        return "✗ " + ",".join(dict.fromkeys(bad))
    if any(r.check == "undeclared" for r in rows):
        return "n/d"
    if any(r.status == "xfail" for r in rows):
        return "xfail " + ",".join(r.check for r in rows if r.status == "xfail")
    if all(r.status == "skip" for r in rows):
        return "skip"
    return "✓"


def markdown(report: Report) -> str:
    """The grid: one line per op entry, one column per dtype, then the failures."""
    by_op: dict[str, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    impl: dict[str, str] = {}
    for r in report.rows:
        by_op[r.op][r.dtype].append(r)
        impl.setdefault(r.op, r.impl)
    dtypes = [d for d in DTYPE_ORDER if any(d in cols for cols in by_op.values())]
    c = report.counts()
    out = [f"# Conformance: `{report.backend}` ({report.distribution} {report.version})", "",
           f"Tier **{report.tier}**, {len(report.rows)} cells in {report.seconds:.1f} s: "
           + ", ".join(f"{c[s]} {s}" for s in ("pass", "fail", "xfail", "xpass", "skip")
                       if c[s]) + ".", "",
           "Legend: ✓ every check passed · ✗ the listed checks failed · xfail a declared "
           "known gap · n/d the backend does not declare the dtype (and the op does not work "
           "in it) · skip not run (reason in the JSON) · blank: PyTorch does not allow the "
           "dtype for this op. `errors` is per op (column `-`).", ""]
    out += _skip_notes(report)
    out.append("| op | Op | impl | " + " | ".join(dtypes) + " | errors |")
    out.append("|---|---|---|" + "---|" * (len(dtypes) + 1))
    for op, cols in by_op.items():
        first = next(iter(next(iter(cols.values()))))
        cells = [(_cell(cols[d]) if d in cols else "") for d in dtypes]
        err = _cell(cols["-"]) if "-" in cols else ""
        out.append(f"| {op} | {first.registry_op} | {impl[op]} | " + " | ".join(cells)
                   + f" | {err} |")
    out += _check_table(report)
    out += _ulp_table(report, dtypes)
    out += _failure_list(report)
    return "\n".join(out) + "\n"


def _skip_notes(report: Report) -> list[str]:
    reasons = Counter(r.message for r in report.rows if r.status == "skip")
    if not reasons:
        return []
    lines = ["Skipped cells, by reason:", ""]
    lines += [f"- {n} × {why}" for why, n in reasons.most_common()]
    return lines + [""]


def _check_table(report: Report) -> list[str]:
    per: dict[str, Counter] = defaultdict(Counter)
    samples: Counter = Counter()
    for r in report.rows:
        per[r.check][r.status] += 1
        samples[r.check] += r.n
    lines = ["", "## By check", "", "| check | pass | fail | xfail | xpass | skip | samples |",
             "|---|---|---|---|---|---|---|"]
    for check, cnt in per.items():
        lines.append(f"| {check} | " + " | ".join(str(cnt[s]) for s in
                                                   ("pass", "fail", "xfail", "xpass", "skip"))
                     + f" | {samples[check]} |")
    return lines


def _ulp_table(report: Report, dtypes: list[str]) -> list[str]:
    """Measured / allowed ULPs of the values checks (forward and noncontig), per op and
    floating dtype (integer inputs with floating results are in the JSON); ops judged by
    rtol/atol (normwise) are left out."""
    cells: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)
    for r in report.rows:
        if r.check in ("forward", "noncontig") and r.allowed_ulp is not None:
            got, allowed = cells[r.op].get(r.dtype, (0.0, 0.0))
            cells[r.op][r.dtype] = (max(got, r.max_ulp), max(allowed, r.allowed_ulp))
    floating = {d.name for d in mt.core.dtypes.ALL_DTYPES if d.is_floating_point}
    cols = [d for d in dtypes if d in floating and any(d in c for c in cells.values())]
    if not cells or not cols:
        return []
    lines = ["", "## Accuracy in ULPs", "",
             "Measured / allowed: the largest ULP distance from the float64 reference rounded "
             "to the dtype (forward and noncontig), and the op's accuracy class bound "
             "(`mbtorch_conformance/accuracy.py`; for accumulations the largest over the "
             "samples, as it grows with their length; values below the class's near-zero "
             "threshold are judged by its absolute floor instead).", "",
             "| op | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for op, by_dtype in cells.items():
        if not any(d in by_dtype for d in cols):
            continue
        lines.append(f"| {op} | " + " | ".join(_ulps(by_dtype.get(d)) for d in cols) + " |")
    return lines


def _ulps(cell: tuple[float, float] | None) -> str:
    if cell is None:
        return ""
    got, allowed = cell
    shown = "inf" if math.isinf(got) else f"{got:g}"
    return f"{shown} / {allowed:g}" + (" ✗" if got > allowed else "")


def _failure_list(report: Report) -> list[str]:
    fails = report.failures
    if not fails:
        return ["", "No failures."]
    lines = ["", f"## Failures ({len(fails)})", ""]
    for r in fails:
        lines.append(f"### {r.op} · {r.dtype} · {r.check}")
        lines += ["", r.message, ""]
        if r.repro:
            lines += ["```python", r.repro, "```", ""]
    return lines


def format_failure(r: Row) -> str:
    """A failure for the console: what, where, and the reproduction."""
    head = f"FAIL {r.backend} {r.op} [{r.dtype}] {r.check}: {r.message}"
    return head + (("\n" + "\n".join("    " + ln for ln in r.repro.splitlines()))
                   if r.repro else "")
