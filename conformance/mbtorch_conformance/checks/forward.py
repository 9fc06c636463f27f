"""Forward checks: values, dtype and shape against the NumPy reference, on contiguous
inputs (``forward``) and on transposed, stepped and expanded ones (``noncontig``). Floating
values are judged in ULPs by the entry's accuracy class (``accuracy.py``)."""

from __future__ import annotations

import mbtorch as mt

from .. import layouts
from ..accuracy import tolerance_for
from ..db import Entry, MissingAPI
from ..samples import Sample
from .common import (
    Context,
    Outcome,
    call,
    check_outputs,
    device_args,
    expected_dtypes,
    reference,
    repro,
    samples,
)

__all__ = ["run_one", "forward", "noncontig"]


def run_one(entry: Entry, sample: Sample, dtype: mt.dtype, ctx: Context, out: Outcome) -> None:
    """Run one sample on the device and compare it with the reference; record into ``out``."""
    try:
        expected = reference(entry, dtype, sample)
    except Exception as exc:  # noqa: BLE001 - a database bug, reported as such
        out.fail(f"sample #{sample.index} ({sample.name}): the NumPy reference itself raised "
                 f"{type(exc).__name__}: {exc}")
        return
    out.n += 1
    try:
        outs = call(entry, device_args(sample, ctx.device), dict(sample.kwargs), ctx.device,
                    dtype)
    except MissingAPI:
        raise
    except Exception as exc:  # noqa: BLE001 - any exception is the backend's failure
        msg = f"raised {type(exc).__name__}: {exc}"
        out.fail(f"sample #{sample.index} ({sample.name}): {msg}",
                 repro(entry, sample, dtype, ctx, expected, msg))
        return
    errs, problem = check_outputs(outs, expected, expected_dtypes(entry, dtype, sample),
                                  lambda d: tolerance_for(entry, d, sample, expected,
                                                          ctx.native(entry)))
    out.errors.merge(errs)
    if problem:
        out.fail(f"sample #{sample.index} ({sample.name}): {problem}",
                 repro(entry, sample, dtype, ctx, expected, problem))


def forward(entry: Entry, dtype: mt.dtype, ctx: Context) -> Outcome:
    out = Outcome()
    for s in samples(entry, dtype, ctx.tier):
        run_one(entry, s, dtype, ctx, out)
    return out


def noncontig(entry: Entry, dtype: mt.dtype, ctx: Context) -> Outcome:
    out = Outcome()
    for s in samples(entry, dtype, ctx.tier):
        for v in layouts.variants(s, entry.mutates):
            run_one(entry, v, dtype, ctx, out)
    return out
