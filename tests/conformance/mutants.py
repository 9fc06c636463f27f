"""Mutation testing of the conformance suite: broken backends, each one realistic bug built
the way a plugin author builds one (a copy of the cpu backend with one kernel replaced), and
what the suite must report for it. ``tests/conformance/test_mutants.py`` runs every mutant of
every ``mutants_*.py`` module here; ``python -m tests.conformance.mutants`` prints the score
(the README states it).

A module adds mutants by defining ``MUTANTS: list[Mutant]``. A new check comes with the mutant
it was written to catch.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["Mutant", "collect", "score"]


@dataclass(frozen=True)
class Mutant:
    """``kernels`` replace the cpu backend's (``spec`` changes other ``BackendSpec`` fields);
    the suite run on ``ops`` (entry names; ``checks``/``dtypes``/``tier`` narrow it) must
    report ``must_fail`` (``(op, check)``) as failing, and ``must_pass`` (if given) not."""

    name: str
    bug: str  # what the author got wrong, in words
    kernels: Mapping[Any, Callable] = field(default_factory=dict)
    ops: tuple = ()
    must_fail: tuple = ()
    must_pass: tuple | None = None
    tier: str = "standard"
    checks: tuple = ()
    dtypes: tuple = ()
    spec: Mapping[str, Any] = field(default_factory=dict)


def collect() -> list[Mutant]:
    """Every ``MUTANTS`` list of the ``mutants_*`` modules beside this one."""
    out: list[Mutant] = []
    here = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if info.name.startswith("mutants_"):
            module = importlib.import_module(f"{__package__}.{info.name}")
            out += module.MUTANTS
    names = [m.name for m in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"mutant names must be unique: {sorted(dupes)}")
    return out


def caught(m: Mutant) -> tuple[bool, str]:
    """Run the suite against ``m``: (caught as required, what was seen)."""
    from mbtorch_conformance.derive import derive_backend, forget_backend
    from mbtorch_conformance.runner import run

    device = f"mutant_{m.name}"
    derive_backend("cpu", device, kernels=dict(m.kernels), **dict(m.spec))
    try:  # a mutant's own NumPy calls may warn (overflow): its bug, not news
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            report = run(device, m.tier, ops=list(m.ops) or None,
                         dtypes=list(m.dtypes) or None, checks=list(m.checks) or None)
    finally:
        forget_backend(device)
    failing = {(r.op, r.check) for r in report.failures}
    ok = tuple(m.must_fail) in failing and (m.must_pass is None
                                            or tuple(m.must_pass) not in failing)
    return ok, f"failures: {sorted(failing)}"


def score() -> tuple[int, int, list[str]]:
    """``(caught, total, names of the mutants not caught)``."""
    missed = [m.name for m in collect() if not caught(m)[0]]
    total = len(collect())
    return total - len(missed), total, missed


if __name__ == "__main__":
    got, total, missed = score()
    print(f"the conformance suite catches {got} of {total} mutants"
          + (f"; missed: {', '.join(missed)}" if missed else ""))
    sys.exit(0 if not missed else 1)
