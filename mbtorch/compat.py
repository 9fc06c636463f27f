"""How much of PyTorch's public API mbtorch has, measured against an installed PyTorch.

``python -m mbtorch.compat`` compares mbtorch with ``torch`` namespace by namespace (``torch``,
``Tensor``, ``torch.nn`` module classes, ``nn.functional``, ..., ``torch.backends``) and prints a
table; ``--details`` adds the missing and the excluded names with the reason for each;
``--json PATH`` writes the baseline (tests/api_coverage.json); ``--readme PATH`` rewrites the
block between the lines ``<!-- api-coverage:start -->`` and ``<!-- api-coverage:end -->``;
``--check`` fails naming every name the baseline lists as present that mbtorch no longer has
(it needs no PyTorch, so CI runs it anywhere).

A name counts when it is public (no leading underscore) and PyTorch's own in that namespace;
``EXCLUDED`` lists the rules that leave names out of a total, each with its reason, and the
report names every name each rule left out.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ._compat_rules import COMMON, EXCLUDED, Rule, home

__all__ = ["BASELINE", "END", "EXCLUDED", "NAMESPACES", "START", "Namespace", "Rule", "check",
           "coverage", "main", "markdown_table", "replace_block"]

START = "<!-- api-coverage:start -->"
END = "<!-- api-coverage:end -->"
BASELINE = Path(__file__).resolve().parents[1] / "tests" / "api_coverage.json"


@dataclass(frozen=True)
class Namespace:
    """One row: where the names live in torch and in mbtorch, which names count, the floor."""

    label: str
    torch: str
    mbtorch: str
    select: str = "public"  # public | modules | optimizers | schedulers (see _SELECT)
    floor: float | None = None  # the target in per cent


# The floors are issue 15's "done when" targets (PyTorch 2.13 as the reference).
NAMESPACES = (
    Namespace("torch", "torch", "mbtorch", floor=80),
    Namespace("Tensor", "torch.Tensor", "mbtorch.Tensor", floor=90),
    Namespace("torch.nn", "torch.nn", "mbtorch.nn", "modules", floor=95),
    Namespace("nn.functional", "torch.nn.functional", "mbtorch.nn.functional", floor=95),
    Namespace("nn.init", "torch.nn.init", "mbtorch.nn.init"),
    Namespace("nn.utils", "torch.nn.utils", "mbtorch.nn.utils"),
    Namespace("torch.optim", "torch.optim", "mbtorch.optim", "optimizers", floor=100),
    Namespace("optim.lr_scheduler", "torch.optim.lr_scheduler", "mbtorch.optim.lr_scheduler",
              "schedulers", floor=100),
    Namespace("torch.autograd", "torch.autograd", "mbtorch.autograd"),
    Namespace("torch.utils.data", "torch.utils.data", "mbtorch.utils.data"),
    Namespace("torch.linalg", "torch.linalg", "mbtorch.linalg"),
    Namespace("torch.fft", "torch.fft", "mbtorch.fft"),
    Namespace("torch.special", "torch.special", "mbtorch.special"),
    Namespace("torch.distributions", "torch.distributions", "mbtorch.distributions", floor=60),
    Namespace("torch.amp", "torch.amp", "mbtorch.amp"),
    Namespace("torch.backends", "torch.backends", "mbtorch.backends"),
    # model compression (issue 20): the top-level row leaves quantization out, these count it
    Namespace("ao.quantization", "torch.ao.quantization", "mbtorch.ao.quantization"),
    Namespace("ao.nn.quantized", "torch.ao.nn.quantized", "mbtorch.ao.nn.quantized",
              "modules"),
    Namespace("nn.utils.prune", "torch.nn.utils.prune", "mbtorch.nn.utils.prune"),
)

_COUNTS = {"public": "public names", "modules": "nn.Module subclasses",
           "optimizers": "torch.optim.Optimizer subclasses",
           "schedulers": "learning-rate scheduler classes"}


def _subclass_of(*bases: str):
    def select(obj: Any, torch: Any) -> bool:
        classes = tuple(_resolve(f"torch.{b}", torch) for b in bases)
        return isinstance(obj, type) and issubclass(obj, classes)
    return select


_SELECT = {
    "public": lambda obj, torch: True,
    "modules": _subclass_of("nn.Module"),
    "optimizers": _subclass_of("optim.Optimizer"),
    "schedulers": _subclass_of("optim.lr_scheduler.LRScheduler",
                               "optim.lr_scheduler.ReduceLROnPlateau"),
}


def _resolve(path: str, root: Any = None) -> Any:
    """The object at a dotted path, importing modules on the way; None if a module is absent."""
    parts = path.split(".")
    obj = root if root is not None else importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=2):
        dotted = ".".join(parts[:i])
        try:
            try:
                obj = getattr(obj, part)  # a lazy attribute may import its module here
            except AttributeError:
                obj = importlib.import_module(dotted)
        except ModuleNotFoundError as exc:
            # only the namespace itself being absent means "missing"; a module that fails
            # inside (a bug, a missing dependency) must surface, not read as zero coverage
            if exc.name is None or not (dotted + ".").startswith(exc.name + "."):
                raise
            return None
    return obj


def _classify(ns: Namespace, torch: Any) -> tuple[list[str], dict[str, str]]:
    """The names that count for ``ns`` and the excluded ones, each with its reason."""
    space = _resolve(ns.torch, torch)
    if space is None:
        raise RuntimeError(f"mbtorch.compat: the installed PyTorch {torch.__version__} has no "
                           f"{ns.torch}; the row {ns.label!r} needs a PyTorch that has it")
    declared = set(getattr(space, "__all__", ()))
    with warnings.catch_warnings():  # deprecated attributes warn on access; we only look
        warnings.simplefilter("ignore")
        objects = {n: getattr(space, n) for n in dir(space) if not n.startswith("_")}
    select = _SELECT[ns.select]
    ctx = {"path": ns.torch, "declared": declared, "torch": torch,
           "module": isinstance(space, types.ModuleType)}
    rules: Sequence[Rule] = (*EXCLUDED.get(ns.label, ()), *COMMON)
    counted, excluded = [], {}
    for name, obj in sorted(objects.items()):
        if not select(obj, torch):
            continue
        why = next((r.reason for r in rules if r.test(name, obj, ctx)), None)
        if why is None:
            counted.append(name)
        else:
            excluded[name] = why
    # a file module whose classes and functions are counted by name would count them twice
    homes = {home(objects[n]) for n in counted if not isinstance(objects[n], types.ModuleType)}
    for name in [n for n in counted if isinstance(objects[n], types.ModuleType)]:
        if objects[name].__name__ in homes:
            counted.remove(name)
            excluded[name] = "the file module that defines names counted here by name"
    return counted, dict(sorted(excluded.items()))


def _present(target: Any, names: Sequence[str]) -> list[str]:
    return [n for n in names if target is not None and hasattr(target, n)]


def coverage(namespaces: Sequence[Namespace] = NAMESPACES) -> dict[str, Any]:
    """The report: per namespace the counted names, which mbtorch has, and the exclusions."""
    try:
        import torch
    except ModuleNotFoundError as exc:
        raise RuntimeError("mbtorch.compat.coverage: PyTorch is not installed; the report "
                           "compares with it (pip install torch)") from exc
    import mbtorch

    rows = {}
    for ns in namespaces:
        names, excluded = _classify(ns, torch)
        target = _resolve(ns.mbtorch)
        present = _present(target, names)
        have = set(present)
        rows[ns.label] = {
            "torch": ns.torch, "mbtorch": ns.mbtorch, "counts": _COUNTS[ns.select],
            "mbtorch_has_namespace": target is not None,
            "total": len(names), "present_count": len(present),
            "percent": round(100 * len(present) / len(names), 1) if names else 100.0,
            "floor": ns.floor, "floor_met": _met(len(present), len(names), ns.floor),
            "present": present, "missing": [n for n in names if n not in have],
            "excluded": excluded,
        }
    return {"torch_version": torch.__version__, "mbtorch_version": mbtorch.__version__,
            "namespaces": rows}


def _met(present: int, total: int, floor: float | None) -> bool | None:
    if floor is None:
        return None
    return total == 0 or 100 * present >= floor * total


def markdown_table(report: dict[str, Any]) -> str:
    """The README table: namespace | present | total | % | floor (met or missed)."""
    lines = ["| namespace | present | total | % | floor |", "|---|---:|---:|---:|---|"]
    for label, row in report["namespaces"].items():
        floor = "—" if row["floor"] is None else (
            f"≥ {row['floor']:g} %: " + ("met" if row["floor_met"] else "**missed**"))
        lines.append(f"| `{label}` | {row['present_count']} | {row['total']} | "
                     f"{row['percent']:.1f} | {floor} |")
    excluded = sum(len(row["excluded"]) for row in report["namespaces"].values())
    lines += ["", f"Measured against PyTorch {report['torch_version']} by "
              "`python -m mbtorch.compat`; the totals leave out "
              f"{excluded} names: CUDA-, quantization-, build- and internals-specific ones, "
              "removed and deprecated ones, lazy modules, and imports that are not PyTorch's "
              "own (`python -m mbtorch.compat --details` lists each with its reason, and "
              "every missing name)."]
    return "\n".join(lines)


def _details(report: dict[str, Any]) -> str:
    out = []
    for label, row in report["namespaces"].items():
        out.append(f"\n## {label} ({row['present_count']}/{row['total']}, {row['counts']})")
        out.append("missing: " + (", ".join(row["missing"]) or "none"))
        out += [f"excluded: {name} ({why})" for name, why in row["excluded"].items()]
    return "\n".join(out)


def replace_block(path: str | os.PathLike[str], text: str) -> None:
    """Replace the lines between the START and END marker lines of ``path`` with ``text``.

    Everything else in the file, the markers included, stays byte for byte; the file is
    replaced atomically (a temporary file in the same folder, then ``os.replace``).
    """
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as f:  # keep the file's own line endings
        lines = f.read().splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.strip() == START]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if len(starts) != 1 or len(ends) != 1 or starts[0] > ends[0]:
        raise ValueError(f"mbtorch.compat --readme: {path} needs exactly one line {START!r} "
                         f"followed by one line {END!r} (found {len(starts)} start and "
                         f"{len(ends)} end markers); add them where the table belongs")
    newline = "\r\n" if lines[starts[0]].endswith("\r\n") else "\n"
    block = "".join(line + newline for line in text.splitlines())
    new = "".join(lines[:starts[0] + 1]) + block + "".join(lines[ends[0]:])
    _write_atomically(path, new)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        # mkstemp makes the file private (0600): keep the replaced file's mode, or rw-r--r--
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def check(baseline: str | os.PathLike[str] = BASELINE) -> tuple[list[str], list[str]]:
    """Compare mbtorch with a baseline written by ``--json``: (gone, new) as "label: name".

    ``gone`` are names the baseline lists as present that mbtorch lacks now (CI fails on
    them); ``new`` are names it lists as missing that mbtorch has now (regenerate it).
    """
    try:
        rows = json.loads(Path(baseline).read_text(encoding="utf-8"))["namespaces"]
        gone, new = [], []
        for label, row in rows.items():
            target = _resolve(row["mbtorch"])
            have = set(_present(target, row["present"] + row["missing"]))
            gone += [f"{label}: {n}" for n in row["present"] if n not in have]
            new += [f"{label}: {n}" for n in row["missing"] if n in have]
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"mbtorch.compat.check: {baseline} is not a baseline written by "
                         f"--json ({type(exc).__name__}: {exc})") from exc
    return gone, new


def _run_check(baseline: str) -> int:
    if not Path(baseline).is_file():
        print(f"mbtorch.compat --check: no baseline at {baseline} (write one with --json)",
              file=sys.stderr)
        return 2
    gone, new = check(baseline)
    for entry in gone:
        print(f"gone: {entry}")
    if new:
        print(f"{len(new)} names the baseline lists as missing are present now; regenerate "
              f"it with: python -m mbtorch.compat --json {baseline}")
    if gone:
        print(f"{len(gone)} names that {baseline} lists as present are gone from mbtorch",
              file=sys.stderr)
        return 1
    print(f"api coverage: every name {baseline} lists as present is still present")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mbtorch.compat", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="PATH", help="write the report as JSON (baseline)")
    parser.add_argument("--readme", metavar="PATH", help="rewrite the marked table in PATH")
    parser.add_argument("--details", action="store_true",
                        help="print the missing and the excluded names of each namespace")
    parser.add_argument("--check", action="store_true",
                        help="fail if a name the baseline lists as present is gone")
    parser.add_argument("--baseline", metavar="PATH", default=str(BASELINE),
                        help="the baseline --check reads (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.check:
        if args.json or args.readme or args.details:
            parser.error("--check runs alone (it compares with the baseline, not with torch)")
        return _run_check(args.baseline)
    report = coverage()
    table = markdown_table(report)
    print(table)
    if args.details:
        print(_details(report))
    try:
        if args.readme:
            replace_block(args.readme, table)
        if args.json:
            _write_atomically(Path(args.json), json.dumps(report, indent=1) + "\n")
    except (OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
