"""Runs the checks for one backend and turns outcomes into report rows.

A *cell* is (entry, dtype, check). Which cells exist: every dtype the op allows gets
``forward`` and, where they apply, ``noncontig``, ``views``, ``inplace``, ``grad`` and (float64)
``gradcheck``, when the backend declares the dtype; when it does not, one ``undeclared`` cell
runs the forward check on a probe copy of the backend that declares it, and fails if the op in
fact works ("works but undeclared"). ``errors`` is one cell per entry. Backend-wide cells:
``roundtrip``, ``random``, ``fused`` and the primitives' ``contract`` cells
(``checks/contracts.py``) per declared dtype, ``refused`` per undeclared dtype.

Expectations come from the backend's own ``BackendSpec.expectations``::

    {"xfail": {"remainder:float16:forward": "why it is a known gap", ...},
     "skip": {"matmul:bfloat16": "why it is not run at all", ...}}

Keys are ``entry[:dtype[:check]]`` with ``fnmatch`` wildcards. An expected failure that
passes is an ``xpass`` and counts as a failure, so stale declarations get removed. Gaps of the
suite itself, common to every backend, are listed once in ``gaps.py``.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

import mbtorch as mt
from mbtorch.core import plugins

from .checks import backend as backend_checks
from .checks import contracts, forward, grads, semantics
from .checks import fusion as fusion_checks
from .checks.common import Context, Outcome, expected_dtypes
from .db import Entry, MissingAPI, all_entries
from .gaps import known_gap
from .report import Report, Row
from .samples import Sample

__all__ = ["CHECKS", "Expectations", "Plan", "Cell", "cells", "run"]

CHECKS = ("forward", "noncontig", "views", "inplace", "errors", "grad", "gradcheck",
          "undeclared", "roundtrip", "refused", "random", "fused", "contract")


class Expectations:
    """A backend's declared known gaps: ``xfail`` (run, expected to fail) and ``skip``."""

    def __init__(self, raw: Mapping[str, Any] | None):
        raw = dict(raw or {})
        unknown = set(raw) - {"xfail", "skip"}
        if unknown:
            raise ValueError(f"BackendSpec.expectations: unknown keys {sorted(unknown)}; use "
                             "'xfail' and 'skip' (each a mapping 'entry:dtype:check' -> reason)")
        self.xfail = dict(raw.get("xfail", {}))
        self.skip = dict(raw.get("skip", {}))

    @staticmethod
    def _find(table: Mapping[str, str], key: str) -> str | None:
        for pattern, reason in table.items():
            parts = pattern.split(":") + ["*"] * (3 - len(pattern.split(":")))
            if fnmatch.fnmatchcase(key, ":".join(parts[:3])):
                return reason
        return None

    def lookup(self, op: str, dtype: str, check: str) -> tuple[str | None, str | None]:
        key = f"{op}:{dtype}:{check}"
        return self._find(self.skip, key), self._find(self.xfail, key)


@dataclass
class Plan:
    ops: set | None = None
    probe: Context | None = field(default=None, repr=False)


def _entry_cells(entry: Entry, ctx: Context) -> Iterator[tuple[str, Any]]:
    for dtype in entry.dtypes:
        if dtype not in ctx.backend.dtypes:
            yield "undeclared", dtype
            continue
        yield "forward", dtype
        if entry.noncontig and entry.has_tensor_args:
            yield "noncontig", dtype
        if entry.view:
            yield "views", dtype
        if entry.inplace and expected_dtypes(entry, dtype, Sample([], {}, ""))[0] is dtype:
            yield "inplace", dtype  # in-place needs the result to keep the input's dtype
        if entry.grad and dtype.is_floating_point:
            yield "grad", dtype
            if dtype is mt.float64:
                yield "gradcheck", dtype
    if entry.errors:
        yield "errors", None


def _run_entry_cell(entry: Entry, check: str, dtype: Any, ctx: Context, plan: Plan) -> Outcome:
    if check == "forward":
        return forward.forward(entry, dtype, ctx)
    if check == "noncontig":
        return forward.noncontig(entry, dtype, ctx)
    if check == "views":
        return semantics.views(entry, dtype, ctx)
    if check == "inplace":
        out = semantics.inplace(entry, dtype, ctx)
        if not out.n and not out.failed:
            out.skipped = "no sample keeps the input's dtype and shape"
        return out
    if check == "errors":
        return semantics.errors(entry, ctx)
    if check == "grad":
        return grads.grad(entry, dtype, ctx)
    if check == "gradcheck":
        return grads.gradcheck(entry, dtype, ctx)
    if check == "undeclared":
        return _undeclared(entry, dtype, ctx, plan)
    raise ValueError(check)


def _undeclared(entry: Entry, dtype: Any, ctx: Context, plan: Plan) -> Outcome:
    if plan.probe is None:
        plan.probe = backend_checks.probe_context(ctx)
    probe = forward.forward(entry, dtype, plan.probe)
    out = Outcome(n=probe.n)
    if probe.n and not probe.failed:
        out.fail(f"{ctx.device} does not declare {dtype}, but {entry.name} works in it on "
                 f"all {probe.n} samples: declare the dtype (works but undeclared)")
    return out


def _row(ctx: Context, entry: Entry | None, name: str, dtype: Any, check: str,
         outcome: Outcome, exp: Expectations, seconds: float) -> Row:
    dname = dtype.name if dtype is not None else "-"
    row = Row(ctx.device, name, entry.op.name if entry else "-", dname, check, "pass",
              outcome.n, outcome.errors.max_abs, outcome.errors.max_rel,
              outcome.errors.max_ulp, _impl(ctx, entry), outcome.message, outcome.repro,
              round(seconds, 4), outcome.errors.allowed_ulp)
    _, xfail = exp.lookup(name, dname, check)
    gap = None if xfail else known_gap(name, dname, check, ctx.tier)
    if outcome.skipped:
        row.status, row.message = "skip", outcome.skipped
    elif outcome.failed:
        row.status = "xfail" if xfail else "fail"
        if xfail:
            row.message = f"expected failure ({xfail}): {outcome.message}"
        elif gap is not None:
            row.status = "xfail"
            row.message = f"known gap of the suite ({gap.reason}): {outcome.message}"
    elif outcome.n == 0:
        row.status = "fail"
        row.message = "no samples ran (a cell with zero samples is never a pass)"
    elif xfail:
        row.status = "xpass"
        row.message = (f"declared as an expected failure ({xfail}) but passes: remove the "
                       "expectation")
    return row


def _impl(ctx: Context, entry: Entry | None) -> str:
    if entry is None:
        return "-"
    return "native" if ctx.native(entry) else "decomposed"


def _guarded(fn: Callable[[], Outcome]) -> Outcome:
    try:
        return fn()
    except MissingAPI as exc:
        return Outcome(skipped=f"not run: {exc}")
    except Exception as exc:  # noqa: BLE001 - a crash inside a check is that cell's failure
        out = Outcome()
        out.fail(f"the check crashed: {type(exc).__name__}: {exc}")
        return out


def _cells(ctx: Context, plan: Plan) -> Iterator[tuple[Entry | None, str, str, Any, Callable]]:
    for entry in all_entries():
        if plan.ops and entry.name not in plan.ops and entry.op.name.lower() not in plan.ops:
            continue
        for check, dtype in _entry_cells(entry, ctx):
            yield entry, entry.name, check, dtype, (
                lambda e=entry, c=check, d=dtype: _run_entry_cell(e, c, d, ctx, plan))
    if plan.ops and not plan.ops & {"roundtrip", "random", "refused", "fused", "contracts"}:
        return
    yield None, "contract kernel_errors", "contract", None, (
        lambda: contracts.contract("kernel_errors", None, ctx))
    for dtype in mt.core.dtypes.ALL_DTYPES:
        if dtype in ctx.backend.dtypes:
            yield None, "host<->device", "roundtrip", dtype, (
                lambda d=dtype: backend_checks.roundtrip(d, ctx))
            yield None, "random streams", "random", dtype, (
                lambda d=dtype: backend_checks.random_streams(d, ctx))
            yield None, "fused kernels", "fused", dtype, (
                lambda d=dtype: fusion_checks.fused(d, ctx))
            for name in contracts.CONTRACTS:
                if contracts.applies(name, dtype):
                    yield None, f"contract {name}", "contract", dtype, (
                        lambda n=name, d=dtype: contracts.contract(n, d, ctx))
        else:
            yield None, "dtype refused", "refused", dtype, (
                lambda d=dtype: backend_checks.undeclared(d, ctx))


@dataclass
class Cell:
    """One (entry, dtype, check) to run; ``run()`` gives its report row."""

    id: str
    ctx: Context
    entry: Entry | None
    name: str
    check: str
    dtype: Any
    fn: Callable[[], Outcome]
    exp: Expectations

    def run(self) -> Row:
        dname = self.dtype.name if self.dtype is not None else "-"
        skip, _ = self.exp.lookup(self.name, dname, self.check)
        t0 = time.perf_counter()
        outcome = Outcome(skipped=f"declared skip: {skip}") if skip else _guarded(self.fn)
        return _row(self.ctx, self.entry, self.name, self.dtype, self.check, outcome, self.exp,
                    time.perf_counter() - t0)


def cells(device: str, tier: str = "standard", ops: Iterable[str] | None = None,
          dtypes: Iterable[str] | None = None, checks: Iterable[str] | None = None,
          reference: str = "cpu", plan: Plan | None = None) -> Iterator[Cell]:
    """The cells of a run, in report order (lazy: nothing runs until ``Cell.run``)."""
    be = plugins.get_backend(device)
    ctx = Context(device, be, tier, reference)
    exp = Expectations(be.spec.expectations)
    plan = plan or Plan()
    plan.ops = set(ops) if ops else None
    want_dtypes, want_checks = set(dtypes or ()), set(checks or ())
    for entry, name, check, dtype, fn in _cells(ctx, plan):
        if want_dtypes and dtype is not None and dtype.name not in want_dtypes:
            continue
        if want_checks and check not in want_checks:
            continue
        yield Cell(f"{device}-{name}-{dtype.name if dtype else 'any'}-{check}", ctx, entry,
                   name, check, dtype, fn, exp)


def run(device: str, tier: str = "standard", ops: Iterable[str] | None = None,
        dtypes: Iterable[str] | None = None, checks: Iterable[str] | None = None,
        progress: Callable[[Row], None] | None = None, reference: str = "cpu") -> Report:
    """Run the suite against ``device`` and return the report."""
    be = plugins.get_backend(device)
    report = Report(device, be.spec.distribution, be.spec.version, tier)
    plan = Plan()
    start = time.perf_counter()
    try:
        for cell in cells(device, tier, ops, dtypes, checks, reference, plan):
            row = cell.run()
            report.rows.append(row)
            if progress:
                progress(row)
    finally:
        if plan.probe is not None:
            plugins.unregister(plan.probe.device)
    report.seconds = time.perf_counter() - start
    return report
