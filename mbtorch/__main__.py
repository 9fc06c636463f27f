"""``python -m mbtorch info``: the installed backends, their versions, devices and state."""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
from typing import Sequence

from . import __version__
from .core.hookspecs import PLUGIN_API_VERSION
from .core.plugins import AUTOLOAD_ENV, BackendStatus, autoload_disabled, status

__all__ = ["info_lines", "main"]


def _backend_lines(st: BackendStatus) -> list[str]:
    dist = f"{st.distribution} {st.version}".strip() or "(unknown distribution)"
    lines = [f"{st.device_type}: {st.state}",
             f"    plugin          {st.plugin}",
             f"    distribution    {dist}"]
    if st.reason:
        lines.append(f"    reason          {st.reason}")
    if st.state == "available":
        primitives = st.native_ops - st.native_composites
        lines += [f"    devices         {st.device_count}",
                  f"    dtypes          {', '.join(st.dtypes)}",
                  f"    native kernels  {st.native_ops} ({primitives} primitives, "
                  f"{st.native_composites} composites)"]
    lines += [f"    {key:<15} {value}" for key, value in sorted(st.info.items())]
    return lines


def info_lines(rows: Sequence[BackendStatus]) -> list[str]:
    """The ``info`` report as lines of text."""
    autoload = f"off ({AUTOLOAD_ENV} is set)" if autoload_disabled() else "on"
    lines = [f"mbtorch {__version__} on Python {platform.python_version()} "
             f"({sys.executable})",
             f"plugin API version {PLUGIN_API_VERSION}; plugin autoloading {autoload}", ""]
    if not rows:
        lines.append("no backends found; install one (pip install mbtorch-numpy for cpu)")
    for st in rows:
        lines += _backend_lines(st) + [""]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mbtorch",
                                     description="mbtorch command line")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="list backends, versions, devices and availability")
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    rows = status(load=True)
    if args.json:
        print(json.dumps([dataclasses.asdict(st) for st in rows], indent=2))
    else:
        print("\n".join(info_lines(rows)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
