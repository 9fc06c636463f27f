"""``mbtorch-conformance --device cpu [--tier smoke|standard|full] [--json r.json]
[--markdown r.md]``: runs the suite, prints each failure with a reproduction, exits 1 on any
failure (an expected failure that passes counts as one)."""

from __future__ import annotations

import argparse
import sys

from .report import format_failure
from .runner import CHECKS, run
from .samples import TIERS

__all__ = ["parser", "main"]


def _csv(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mbtorch-conformance", description=__doc__.split("\n")[0])
    p.add_argument("--device", required=True, help="device type to check, e.g. cpu, opencl")
    p.add_argument("--tier", choices=TIERS, default="standard")
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    p.add_argument("--markdown", metavar="PATH", help="write the Markdown grid")
    p.add_argument("--ops", help="comma-separated entry names (e.g. add,sum,x[mask])")
    p.add_argument("--dtypes", help="comma-separated dtype names (e.g. float32,int64)")
    p.add_argument("--checks", help=f"comma-separated checks among {', '.join(CHECKS)}")
    p.add_argument("--reference", default="cpu", help="reference device (default cpu)")
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary line")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    quiet = args.quiet

    def progress(row) -> None:
        if not quiet and row.status in ("fail", "xpass"):
            print(format_failure(row), flush=True)

    try:
        report = run(args.device, args.tier, _csv(args.ops), _csv(args.dtypes),
                     _csv(args.checks), progress, args.reference)
    except RuntimeError as exc:  # no such backend, or it is unavailable / broken
        print(f"mbtorch-conformance: {exc}", file=sys.stderr)
        return 2
    if args.json:
        report.write_json(args.json)
    if args.markdown:
        report.write_markdown(args.markdown)
    print(report.summary_line())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
