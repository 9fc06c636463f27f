"""``python -m bench [--quick] [--only FAMILY ...] [--device DEV ...] [--out DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import FAMILIES, run_all
from .report import write
from .timing import Config

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true",
                   help="few repeats and small sizes: checks the harness, not for claims")
    p.add_argument("--only", action="append", choices=FAMILIES, metavar="FAMILY",
                   help=f"run only this family (repeatable): {', '.join(FAMILIES)}")
    p.add_argument("--device", action="append", metavar="DEV",
                   help="only this mbtorch device type (repeatable); NumPy and PyTorch always "
                        "run as references")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where latest.* are written")
    p.add_argument("--no-chart", action="store_true", help="skip the PNG")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    command = " ".join(["python -m bench"] + argv)
    res = run_all(Config.make(args.quick), args.only, args.device, command=command)
    for path in write(res, args.out, chart=not args.no_chart):
        print(path)
    errors = [r for r in res["rows"] if r["status"] == "error"]
    for r in errors:
        print(f"bench: error in {r['family']} / {r['impl']}: {r['reason']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
