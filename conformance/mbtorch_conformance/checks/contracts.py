"""The primitives' calling convention (``mbtorch.core.op.PRIMITIVES``), one check per promise
that the op-by-op samples do not pin down on their own:

- ``no_alias``: a kernel returns a new handle, never its input (``x + 0`` must not be ``x``):
  writing into the result leaves the input alone, and the other way round.
- ``copy_overlap``: ``COPY_`` (and an in-place kernel) whose source overlaps its destination
  reads every source element before writing (``x[2::2].copy_(x[:-2:2])``).
- ``cast``: float to integer truncates toward zero; to ``bool`` is ``x != 0`` (NaN is true).
- ``sort``: ``SORT`` is stable both ways, NaN sorts above ``+inf``.
- ``empty_reduction``: a reduction over a dimension of size 0 gives 0 (sum) and 1 (prod).
- ``generator``: successive draws from one generator continue the stream (``PHILOX``'s
  offset), equal to the reference device's draw by draw.
- ``kernel_errors``: integer division by zero, and (at a compiled graph's replay, where the
  core no longer checks) an out-of-range ``GATHER``/``SCATTER`` index, raise the reference
  device's exception type.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import mbtorch as mt
from mbtorch.core.host import NUMPY_DTYPES

from .. import layouts
from ..samples import draw, seed_for
from .common import Context, Outcome, to_host

__all__ = ["CONTRACTS", "applies", "contract"]

CONTRACTS = ("no_alias", "copy_overlap", "cast", "sort", "empty_reduction", "generator",
             "kernel_errors")


def applies(name: str, dtype: mt.dtype | None) -> bool:
    """Whether contract ``name`` has a cell for ``dtype`` (``kernel_errors``: one, no dtype)."""
    if name == "kernel_errors":
        return dtype is None
    if dtype is None:
        return False
    if name in ("cast", "sort"):
        return dtype is not mt.bool
    return True


def contract(name: str, dtype: mt.dtype | None, ctx: Context) -> Outcome:
    """Run contract ``name`` (one of ``CONTRACTS``) for ``dtype`` on ``ctx``'s device."""
    if name not in _CHECKS:
        raise ValueError(f"contract(): unknown contract {name!r}; one of {CONTRACTS}")
    out = Outcome()
    _CHECKS[name](dtype, ctx, out)
    return out


def _host(values: Any, dtype: mt.dtype) -> np.ndarray:
    return np.asarray(values).astype(NUMPY_DTYPES[dtype])


def _other(arr: np.ndarray) -> np.ndarray:
    """Values that differ from ``arr`` in every element (NaN included)."""
    return np.asarray(arr == 0).astype(arr.dtype)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"
                                                 or a.dtype.name == "bfloat16")


def _attempt(fn: Callable[[str], Any], device: str) -> tuple[Any, type | None]:
    try:
        return fn(device), None
    except Exception as exc:  # noqa: BLE001 - compared with the reference device's
        return None, type(exc)


# -- no_alias -----------------------------------------------------------------------------

def _eye(x: mt.Tensor) -> mt.Tensor:
    return mt.eye(x.shape[-1], dtype=x.dtype, device=x.device)


_IDENTITIES: list[tuple[str, Callable[[mt.Tensor], Any]]] = [
    ("x + 0", lambda x: x + 0), ("0 + x", lambda x: 0 + x), ("x * 1", lambda x: x * 1),
    ("x - 0", lambda x: x - 0), ("x / 1", lambda x: x / 1),
    ("x + zeros_like(x)", lambda x: x + mt.zeros_like(x)),
    ("maximum(x, x)", lambda x: mt.maximum(x, x)),
    ("where(true, x, x)", lambda x: mt.where(mt.ones_like(x, dtype=mt.bool), x, x)),
    ("abs(x)", lambda x: mt.abs(x)), ("floor(x)", lambda x: mt.floor(x)),
    ("sum over a size-1 dim", lambda x: x.unsqueeze(-1).sum(-1)),
    ("prod over a size-1 dim", lambda x: x.unsqueeze(-1).prod(-1)),
    ("amax over a size-1 dim", lambda x: x.unsqueeze(-1).amax(-1)),
    ("x @ eye", lambda x: x @ _eye(x)),
    ("gather(x, 1, arange)", lambda x: mt.gather(
        x, 1, mt.arange(x.shape[1], device=x.device).expand(x.shape).contiguous())),
    ("sort(x).values", lambda x: mt.sort(x, -1, stable=True)[0]),
    ("x.to(x.dtype, copy=True)", lambda x: x.to(x.dtype, copy=True)),
    ("x.clone()", lambda x: x.clone()),
    ("x.t().contiguous()", lambda x: x.t().contiguous()),
    ("relu(x)", lambda x: mt.relu(x)),
]


def _no_alias(dtype: mt.dtype, ctx: Context, out: Outcome) -> None:
    rng = np.random.default_rng(seed_for("contract", "no_alias", dtype.name))
    arr = draw(rng, (3, 4), dtype, "pos")
    if dtype is mt.bool:
        arr[0, 0] = True
    for label, fn in _IDENTITIES:
        _, ref_exc = _attempt(lambda d, fn=fn: fn(layouts.to_device(arr, d)), ctx.reference)
        x = layouts.to_device(arr, ctx.device)
        y, exc = _attempt(lambda d, fn=fn, x=x: fn(x), ctx.device)
        if ref_exc is not None:
            if exc is not ref_exc:
                out.n += 1
                out.fail(f"{label} on {dtype}: {ctx.reference} raised {ref_exc.__name__}, "
                         f"{ctx.device} {exc.__name__ if exc else 'nothing'}")
            continue  # not defined for this dtype, as on the reference
        out.n += 1
        if exc is not None:
            out.fail(f"{label} on {dtype}: raised {exc.__name__} ({ctx.reference} did not)")
            continue
        _independent(label, dtype, x, y, arr, out)


def _independent(label: str, dtype: mt.dtype, x: mt.Tensor, y: mt.Tensor, arr: np.ndarray,
                 out: Outcome) -> None:
    y_vals = to_host(y)
    y.copy_(mt.tensor(_other(y_vals), device=y.device))
    if not _same(to_host(x), arr):
        out.fail(f"y = {label} on {dtype}: writing into y changed x: the kernel returned its "
                 "input (or a view of it) instead of a new handle (mbtorch.core.op: kernels "
                 "return new handles that never alias their inputs)")
        return
    x.copy_(mt.tensor(_other(arr), device=x.device))
    if not _same(to_host(y), _other(y_vals)):
        out.fail(f"y = {label} on {dtype}: writing into x changed y: the result aliases its "
                 "input")


# -- copy_overlap --------------------------------------------------------------------------

# Strided (step 2) views: PyTorch refuses a copy between dense views that partly overlap
# (``x[1:].copy_(x[:-1])`` raises, in mbtorch too), but lets strided ones through, and then
# the kernel must read every source element before it overwrites it.
def _shift_right(v: np.ndarray) -> np.ndarray:
    w = v.copy()
    w[2::2] = v[:-2:2]
    return w


def _shift_left(v: np.ndarray) -> np.ndarray:
    w = v.copy()
    w[:-2:2] = v[2::2]
    return w


def _add_shifted(v: np.ndarray) -> np.ndarray:
    w = v.copy()
    w[2::2] = v[2::2] + v[:-2:2]
    return w


def _shift_right_by_two(v: np.ndarray) -> np.ndarray:
    w = v.copy()
    w[4::2] = v[:-4:2]
    return w


_OVERLAPS: list[tuple[str, Callable, Callable]] = [
    ("x[2::2].copy_(x[:-2:2])", lambda x: x[2::2].copy_(x[:-2:2]), _shift_right),
    ("x[:-2:2].copy_(x[2::2])", lambda x: x[:-2:2].copy_(x[2::2]), _shift_left),
    ("x[4::2].copy_(x[:-4:2])", lambda x: x[4::2].copy_(x[:-4:2]), _shift_right_by_two),
    ("x[2::2].add_(x[:-2:2])", lambda x: x[2::2].add_(x[:-2:2]), _add_shifted),
]


def _copy_overlap(dtype: mt.dtype, ctx: Context, out: Outcome) -> None:
    rng = np.random.default_rng(seed_for("contract", "copy_overlap", dtype.name))
    for n in (9, 300):
        arr = draw(rng, (n,), dtype, "small")
        for label, fn, expect in _OVERLAPS:
            def run(d: str, fn=fn, arr=arr) -> np.ndarray:
                x = layouts.to_device(arr, d)
                fn(x)
                return to_host(x)

            _, ref_exc = _attempt(run, ctx.reference)
            got, exc = _attempt(run, ctx.device)
            if ref_exc is not None or exc is not None:
                if exc is not ref_exc:
                    out.n += 1
                    out.fail(f"{label} (n={n}, {dtype}): {ctx.reference} raised "
                             f"{getattr(ref_exc, '__name__', 'nothing')}, {ctx.device} "
                             f"{getattr(exc, '__name__', 'nothing')}")
                continue
            out.n += 1
            with np.errstate(all="ignore"):
                want = expect(arr)
            if not _same(got, want):
                bad = int(np.flatnonzero(~_eq(got, want))[0])
                out.fail(f"{label} (n={n}, {dtype}): element {bad} is {got[bad]}, expected "
                         f"{want[bad]}: the source overlaps the destination, and every source "
                         "element must be read before it is overwritten")


def _eq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return (a64 == b64) | (np.isnan(a64) & np.isnan(b64))


# -- cast ----------------------------------------------------------------------------------

_FRACTIONS = [-2.75, -2.5, -1.5, -0.75, -0.5, -0.25, -0.0, 0.0, 0.25, 0.5, 0.75, 1.5, 2.5,
              2.75, 3.0, 60.5, -60.5]


def _cast(dtype: mt.dtype, ctx: Context, out: Outcome) -> None:
    declared = ctx.backend.dtypes
    if dtype.is_floating_point:
        src = _host(_FRACTIONS, dtype)
        targets = [t for t in (mt.int8, mt.int16, mt.int32, mt.int64, mt.uint8) if t in declared]
        to_bool = _host(_FRACTIONS + [float("nan"), float("inf"), -float("inf")], dtype)
    else:
        src, targets = None, []
        to_bool = _host([-3, 0, 1, 2, 0, -1, 5], dtype)
    for target in targets:
        vals = src if target.is_signed else src[src >= 0]
        want = np.trunc(vals.astype(np.float64)).astype(NUMPY_DTYPES[target])
        _cast_one(vals, dtype, target, want, "truncates toward zero", ctx, out)
    if mt.bool in declared:
        want = to_bool.astype(np.float64) != 0
        _cast_one(to_bool, dtype, mt.bool, want, "is x != 0 (NaN is true)", ctx, out)


def _cast_one(vals: np.ndarray, dtype: mt.dtype, target: mt.dtype, want: np.ndarray,
              rule: str, ctx: Context, out: Outcome) -> None:
    out.n += 1
    for how, fn in (("contiguous", lambda x: x.to(target)),
                    ("strided", lambda x: x[::2].to(target))):
        expect = want if how == "contiguous" else want[::2]
        got = to_host(fn(layouts.to_device(vals, ctx.device)))
        if got.dtype != expect.dtype or not np.array_equal(got, expect):
            bad = int(np.flatnonzero(got != expect)[0]) if got.shape == expect.shape else 0
            out.fail(f"{dtype} -> {target} ({how}): {layouts.values_literal(vals)[:120]} gave "
                     f"{layouts.values_literal(got)[:120]} (element {bad}); CAST {rule}")
            return


# -- sort ----------------------------------------------------------------------------------

def _sort_keys(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = arr.astype(np.float64)
    nan = np.isnan(v)
    return np.where(nan, 0.0, v), nan


def _expected_order(arr: np.ndarray, descending: bool) -> np.ndarray:
    """Stable order along the last axis, NaN above +inf."""
    v, nan = _sort_keys(arr)
    pos = np.broadcast_to(np.arange(arr.shape[-1]), arr.shape)
    rows = []
    for r in range(arr.shape[0]):
        keys = (pos[r], -v[r], ~nan[r]) if descending else (pos[r], v[r], nan[r])
        rows.append(np.lexsort(keys))
    return np.stack(rows)


def _sort(dtype: mt.dtype, ctx: Context, out: Outcome) -> None:
    rng = np.random.default_rng(seed_for("contract", "sort", dtype.name))
    pool = [-2, -1, 0, 1, 2] if dtype.is_signed or dtype.is_floating_point else [0, 1, 2, 3]
    if dtype.is_floating_point:
        pool = pool + [float("inf"), -float("inf"), float("nan"), -0.0, 0.5]
    for width in (7, 40, 300):
        arr = _host(rng.choice(np.asarray(pool, dtype=np.float64), (3, width)), dtype)
        for descending in (False, True):
            out.n += 1
            values, idx = mt.sort(layouts.to_device(arr, ctx.device), dim=-1,
                                  descending=descending, stable=True)
            want = _expected_order(arr, descending)
            got = to_host(idx)
            if not np.array_equal(got, want):
                row, col = (int(a[0]) for a in np.nonzero(got != want))
                out.fail(f"sort({dtype}, width {width}, descending={descending}, stable=True): "
                         f"row {row} position {col} has index {got[row, col]}, expected "
                         f"{want[row, col]}: SORT is stable (equal keys keep their order) and "
                         "sorts NaN above +inf")
                return
            if not _same(to_host(values), np.take_along_axis(arr, want, -1)):
                out.fail(f"sort({dtype}, width {width}, descending={descending}): the values "
                         "do not follow the indices")
                return


# -- empty_reduction -----------------------------------------------------------------------

_EMPTY = [((0,), 0), ((3, 0), 1), ((0, 4), 0), ((2, 0, 3), 1)]


def _empty_reduction(dtype: mt.dtype, ctx: Context, out: Outcome) -> None:
    for shape, dim in _EMPTY:
        arr = _host(np.zeros(shape), dtype)
        for name, unit in (("sum", 0), ("prod", 1)):
            for keepdim in (False, True):
                out.n += 1
                x = layouts.to_device(arr, ctx.device)
                got = to_host(getattr(x, name)(dim, keepdim=keepdim))
                want_shape = np.sum(np.zeros(shape), axis=dim, keepdims=keepdim).shape
                if got.shape != want_shape or not (got.astype(np.float64) == unit).all():
                    out.fail(f"{name}(zeros({shape}, dtype={dtype}), dim={dim}, keepdim="
                             f"{keepdim}) gave {layouts.values_literal(got)[:80]} of shape "
                             f"{got.shape}, expected {unit} of shape {want_shape}: a reduction "
                             "over a dimension of size 0 gives its identity")


# -- generator -----------------------------------------------------------------------------

def _draws(dtype: mt.dtype) -> list[Callable]:
    if dtype.is_floating_point:
        return [lambda g, d: mt.rand(5, generator=g, dtype=dtype, device=d),
                lambda g, d: mt.randn(257, generator=g, dtype=dtype, device=d),
                lambda g, d: mt.rand(3, 4, generator=g, dtype=dtype, device=d)]
    hi = 2 if dtype is mt.bool else 100
    return [lambda g, d, n=n: mt.randint(0, hi, (n,), generator=g, dtype=dtype, device=d)
            for n in (5, 257, 12)]


def _generator(dtype: mt.dtype, ctx: Context, out: Outcome) -> None:
    from ..tolerances import compare, tolerance

    rtol, atol = tolerance(dtype)
    for seed in (3, 2**40 + 5):
        gens = {d: mt.Generator(d).manual_seed(seed) for d in {ctx.device, ctx.reference}}
        for i, fn in enumerate(_draws(dtype)):
            out.n += 1
            mine = to_host(fn(gens[ctx.device], ctx.device))
            ref = to_host(fn(gens[ctx.reference], ctx.reference)) \
                if ctx.reference != ctx.device else mine
            errs, bad = compare(mine, ref, dtype, rtol, atol)
            out.errors.merge(errs)
            if bad is not None:
                out.fail(f"draw #{i + 1} from one generator (seed {seed}, {dtype}) differs from "
                         f"{ctx.reference}'s: {bad}; each draw continues the stream where the "
                         "last one stopped (PHILOX's offset)")
                return


# -- kernel_errors -------------------------------------------------------------------------

def _int_div(op: Callable) -> Callable[[str], Any]:
    return lambda d: op(mt.tensor([4, 7, 9], device=d), mt.tensor([2, 0, 3], device=d))


def _replayed(fn: Callable, good: tuple, bad: tuple) -> Callable[[str], Any]:
    def run(d: str) -> Any:
        compiled = mt.compile(fn)
        compiled(*(mt.tensor(a, device=d) for a in good))  # traced with valid values
        return compiled(*(mt.tensor(a, device=d) for a in bad))
    return run


_ERRORS: list[tuple[str, Callable[[str], Any]]] = [
    ("floor_divide by an integer zero", _int_div(mt.floor_divide)),
    ("remainder by an integer zero", _int_div(mt.remainder)),
    ("replayed gather with an index past the end", _replayed(
        lambda x, i: mt.gather(x, 0, i), ([1.0, 2.0, 3.0], [0, 2]), ([1.0, 2.0, 3.0], [0, 3]))),
    ("replayed scatter with an index past the end", _replayed(
        lambda x, i, s: x.scatter(0, i, s), ([1.0, 2.0, 3.0], [0, 2], [5.0, 6.0]),
        ([1.0, 2.0, 3.0], [1, 7], [5.0, 6.0]))),
]


def _kernel_errors(dtype: None, ctx: Context, out: Outcome) -> None:
    for label, fn in _ERRORS:
        if "replayed" in label and not hasattr(mt, "compile"):
            continue
        out.n += 1
        _, ref = _attempt(fn, ctx.reference)
        _, mine = _attempt(fn, ctx.device)
        if ref is None:
            out.fail(f"{label}: the reference device {ctx.reference} raised nothing")
        elif mine is not ref:
            out.fail(f"{label}: expected {ref.__name__} (as {ctx.reference}; the kernel raises "
                     "mbtorch.core.plugin_api's index_error/zero_division_error), "
                     f"{ctx.device} raised {mine.__name__ if mine else 'nothing'}")


_CHECKS: dict[str, Callable[[Any, Context, Outcome], None]] = {
    "no_alias": _no_alias, "copy_overlap": _copy_overlap, "cast": _cast, "sort": _sort,
    "empty_reduction": _empty_reduction, "generator": _generator,
    "kernel_errors": _kernel_errors,
}
