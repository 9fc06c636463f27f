"""Semantic checks: views share storage both ways, in-place ops write through views and
leave the rest of the storage alone, and bad input raises PyTorch's exception type (the same
type on the device under test as on the reference device)."""

from __future__ import annotations

import numpy as np

import mbtorch as mt

from .. import layouts
from ..db import Entry, MissingAPI
from ..samples import Sample, draw, seed_for, tensor_arg
from ..tolerances import compare, round_to, tolerance
from .common import (
    Context,
    Outcome,
    call,
    device_args,
    expected_dtypes,
    reference,
    repro,
    samples,
    to_host,
)


def views(entry: Entry, dtype: mt.dtype, ctx: Context) -> Outcome:
    """Writes into the base show in the view, and writes into the view show in the base."""
    out = Outcome()
    rng = np.random.default_rng(seed_for(entry.name, dtype.name, "views"))
    for s in samples(entry, dtype, ctx.tier, specials=False):
        if not s.args[0].size:
            continue
        out.n += 1
        x = layouts.to_device(s.args[0], ctx.device)
        view = call(entry, [x, *device_args(Sample(s.args[1:], {}, ""), ctx.device)],
                    dict(s.kwargs), ctx.device, dtype)[0]
        new = draw(rng, s.args[0].shape, dtype, "real")
        x.copy_(mt.tensor(new, device=ctx.device))
        seen = reference(entry, dtype, Sample([new, *s.args[1:]], s.kwargs, s.name))[0]
        if not np.array_equal(to_host(view), seen, equal_nan=dtype.is_floating_point):
            out.fail(f"sample #{s.index} ({s.name}): a write into the base is not seen by the "
                     "view (the result does not share storage)", repro(entry, s, dtype, ctx))
            continue
        if entry.writes and view.numel():
            _write_through(entry, s, dtype, ctx, out, x, view, new, rng)
    return out


def _write_through(entry: Entry, s: Sample, dtype: mt.dtype, ctx: Context, out: Outcome,
                   x: mt.Tensor, view: mt.Tensor, base_vals: np.ndarray, rng) -> None:
    # which base element each view element aliases: the reference applied to positions
    pos = np.arange(base_vals.size, dtype=np.int64).reshape(base_vals.shape)
    where = entry.ref(pos, *s.args[1:], **_ref_kwargs(entry, s))
    vals = draw(rng, tuple(view.shape), dtype, "real")
    version = x._version
    view.copy_(mt.tensor(vals, device=ctx.device))
    expected = base_vals.copy()
    expected.reshape(-1)[np.asarray(where).reshape(-1)] = vals.reshape(-1)
    if not np.array_equal(to_host(x), expected, equal_nan=dtype.is_floating_point):
        out.fail(f"sample #{s.index} ({s.name}): a write into the view does not reach the base",
                 repro(entry, s, dtype, ctx))
    elif x._version == version:
        out.fail(f"sample #{s.index} ({s.name}): writing through the view did not bump the "
                 "base's version counter")


def _ref_kwargs(entry: Entry, s: Sample) -> dict:
    return {(entry.ref_kw or {}).get(k, k): v for k, v in s.kwargs.items()}


def inplace(entry: Entry, dtype: mt.dtype, ctx: Context) -> Outcome:
    """``x.op_(...)`` returns ``x``, equals the out-of-place answer, and writes only through
    ``x``'s own elements when ``x`` is a strided view into a larger buffer."""
    out = Outcome()
    for s in samples(entry, dtype, ctx.tier):
        target = s.args[0]
        if expected_dtypes(entry, dtype, s)[0] is not dtype or not target.size:
            continue
        expected = reference(entry, dtype, s)[0]
        if expected.shape != target.shape:
            continue
        for layout in ("contiguous", "strided"):
            out.n += 1
            _inplace_one(entry, s, dtype, ctx, out, layout, expected)
    return out


def _inplace_one(entry: Entry, s: Sample, dtype: mt.dtype, ctx: Context, out: Outcome,
                 layout: str, expected: np.ndarray) -> None:
    args = device_args(s, ctx.device, "contiguous")
    x = layouts.to_device(s.args[0], ctx.device, layout)
    base = x._base if x._base is not None else x
    before = to_host(base)
    version = x._version
    method = getattr(x, entry.inplace, None)
    if method is None:
        raise MissingAPI(f"Tensor.{entry.inplace} does not exist in this mbtorch")
    label = Sample(s.args, s.kwargs, f"{s.name} [in-place, {layout}]", s.index, s.special, layout)
    try:
        ret = method(*args[1:], **s.kwargs)
    except Exception as exc:  # noqa: BLE001
        out.fail(f"{label.name}: x.{entry.inplace}() raised {type(exc).__name__}: {exc}",
                 repro(entry, label, dtype, ctx, [expected]))
        return
    rtol, atol = tolerance(dtype, entry.tol)
    errs, bad = compare(to_host(x), expected, dtype, rtol, atol)
    out.errors.merge(errs)
    mask = np.ones(before.shape, bool)
    if layout == "strided":
        strides, _ = layouts.strided_geometry(s.args[0].shape)
        mask.reshape(-1)[1 + _positions(s.args[0].shape, strides)] = False
    untouched = np.array_equal(to_host(base)[mask], before[mask], equal_nan=True)
    if ret is not x:
        out.fail(f"{label.name}: x.{entry.inplace}() did not return x itself")
    elif bad is not None:
        out.fail(f"{label.name}: {bad}", repro(entry, label, dtype, ctx, [expected], str(bad)))
    elif layout == "strided" and not untouched:
        out.fail(f"{label.name}: the in-place op wrote outside the view's elements")
    elif x._version == version:
        out.fail(f"{label.name}: the in-place op did not bump the version counter")


def _positions(shape: tuple, strides: tuple) -> np.ndarray:
    grids = np.indices(shape).reshape(len(shape), -1) if shape else np.zeros((0, 1), np.int64)
    return (np.asarray(strides, np.int64)[:, None] * grids).sum(0) if shape else np.zeros(1,
                                                                                          int)


def errors(entry: Entry, ctx: Context) -> Outcome:
    """Each bad input raises the listed (PyTorch's) exception type, on both devices."""
    out = Outcome()
    rng = np.random.default_rng(seed_for(entry.name, "errors"))
    for bad in entry.errors:
        out.n += 1
        host = [tensor_arg(a, rng, bad.dtype, "real") for a in bad.args]
        got = {dev: _raised(entry, host, bad, dev) for dev in {ctx.device, ctx.reference}}
        mine, ref = got[ctx.device], got[ctx.reference]
        if mine is not bad.exc or ref is not bad.exc:
            names = {d: (t.__name__ if t else "nothing") for d, t in got.items()}
            out.fail(f"bad input ({bad.why}): expected {bad.exc.__name__} (as PyTorch), "
                     f"{ctx.device} raised {names[ctx.device]}, {ctx.reference} raised "
                     f"{names[ctx.reference]}",
                     repro(entry, Sample(host, dict(bad.kwargs), bad.why), bad.dtype, ctx))
    return out


def _raised(entry: Entry, host: list, bad, device: str) -> type | None:
    try:
        args = [layouts.to_device(a, device) if isinstance(a, np.ndarray) else a for a in host]
        call(entry, args, dict(bad.kwargs), device, bad.dtype)
    except MissingAPI:
        raise
    except Exception as exc:  # noqa: BLE001 - the exception type is what we compare
        return type(exc)
    return None


__all__ = ["views", "inplace", "errors", "round_to"]
