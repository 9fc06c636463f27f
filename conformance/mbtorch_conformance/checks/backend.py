"""Whole-backend checks: exact host <-> device round trips, the declared dtype list, and
device-independent random streams."""

from __future__ import annotations

from typing import Any

import numpy as np

import mbtorch as mt
from mbtorch.core import plugins

from .. import layouts
from ..derive import derive_backend
from ..samples import draw, seed_for, special_values
from .common import Context, Outcome, to_host

__all__ = ["roundtrip", "undeclared", "probe_context", "random_streams"]


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f" or a.dtype.name == "bfloat16":
        with np.errstate(over="ignore"):  # float64 beyond float32's range: inf, not NaN
            nan_a, nan_b = np.isnan(a.astype(np.float32)), np.isnan(b.astype(np.float32))
        if (nan_a != nan_b).any():
            return False
        a, b = np.where(nan_a, 0, a).astype(a.dtype), np.where(nan_b, 0, b).astype(b.dtype)
    return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def roundtrip(dtype: mt.dtype, ctx: Context) -> Outcome:
    """``tensor(host) -> device -> host`` and ``cpu -> device -> cpu`` keep every bit
    (signed zeros and infinities included), for contiguous and strided device tensors."""
    out = Outcome()
    rng = np.random.default_rng(seed_for("roundtrip", dtype.name))
    arrays = [special_values(dtype, "full"), draw(rng, (3, 5), dtype, "real"),
              draw(rng, (), dtype, "real"), draw(rng, (0, 4), dtype, "real"),
              draw(rng, (2, 3, 4), dtype, "real")]
    for i, arr in enumerate(arrays):
        for how in ("tensor", "to", "transposed", "strided"):
            out.n += 1
            try:
                if how == "tensor":
                    back = to_host(mt.tensor(arr, device=ctx.device))
                elif how == "to":
                    back = to_host(mt.tensor(arr).to(ctx.device).to("cpu"))
                else:
                    back = to_host(layouts.to_device(arr, ctx.device, how))
            except Exception as exc:  # noqa: BLE001
                out.fail(f"array #{i} {arr.shape} via {how}: raised {type(exc).__name__}: {exc}")
                continue
            if not _same_bits(back, arr):
                out.fail(f"array #{i} {arr.shape} via {how}: values changed on the way "
                         f"({layouts.values_literal(arr)[:200]} -> "
                         f"{layouts.values_literal(back)[:200]})")
        if arr.size:
            _independent_copies(i, arr, ctx, out)
    return out


def _independent_copies(i: int, arr: np.ndarray, ctx: Context, out: Outcome) -> None:
    """``.to()`` to another device copies, both ways and between two devices of the backend:
    writing into the copy leaves the original alone (a backend that keeps host memory as it
    is must not share it with ``cpu`` tensors)."""
    other = np.asarray(arr == 0).astype(arr.dtype)  # differs from arr in every element
    pairs = [(ctx.reference, ctx.device), (ctx.device, ctx.reference)]
    if ctx.backend.spec.device_count > 1:
        pairs.append((f"{ctx.device}:0", f"{ctx.device}:1"))
    for src, dst in pairs:
        if mt.device(src) == mt.device(dst):
            continue
        out.n += 1
        t = mt.tensor(arr, device=src)
        moved = t.to(dst)
        moved.copy_(mt.tensor(other, device=dst))
        if not _same_bits(to_host(t), arr):
            out.fail(f"array #{i} {arr.shape}: writing into t.to({dst!r}) changed t on {src}: "
                     ".to() another device must copy, whatever the storage")
            return


def undeclared(dtype: mt.dtype, ctx: Context) -> Outcome:
    """A dtype the backend does not declare must be refused with a TypeError."""
    out = Outcome(n=1)
    try:
        mt.zeros(3, dtype=dtype, device=ctx.device)
    except TypeError:
        return out
    except Exception as exc:  # noqa: BLE001
        out.fail(f"creating an undeclared {dtype} tensor raised {type(exc).__name__} "
                 "(expected TypeError)")
        return out
    out.fail(f"the backend does not declare {dtype}, yet a {dtype} tensor was created")
    return out


def probe_context(ctx: Context) -> Context | None:
    """A context for the same backend with every dtype declared, complex ones included
    (None when all are)."""
    if set(mt.core.dtypes.EVERY_DTYPE) <= set(ctx.backend.dtypes):
        return None
    name = derive_backend(ctx.device, f"{ctx.device}_dtype_probe",
                          dtypes=frozenset(mt.core.dtypes.EVERY_DTYPE))
    return Context(name, plugins.get_backend(name), ctx.tier, ctx.reference)


def random_streams(dtype: mt.dtype, ctx: Context) -> Outcome:
    """Seeded samplers give the same numbers on the device as on the reference device, and
    the same numbers again for the same seed."""
    out = Outcome()
    if not all(hasattr(mt, f) for f in ("Generator", "rand", "randn", "randint")):
        out.skipped = "mbtorch has no seeded random API (Generator, rand, randn, randint)"
        return out
    draws = [("rand", lambda g, dev: mt.rand(257, generator=g, dtype=dtype, device=dev), 0.0),
             ("randn", lambda g, dev: mt.randn(3, 65, generator=g, dtype=dtype, device=dev),
              None)]
    if dtype is mt.int64 or not dtype.is_floating_point:
        draws = [("randint", lambda g, dev: mt.randint(-50, 1000, (300,), generator=g,
                                                       dtype=dtype, device=dev), 0.0)]
        if dtype is mt.bool:
            draws = [("randint", lambda g, dev: mt.randint(0, 2, (300,), generator=g,
                                                           dtype=dtype, device=dev), 0.0)]
        elif not dtype.is_signed or dtype.itemsize == 1:
            draws = [("randint", lambda g, dev: mt.randint(0, 100, (300,), generator=g,
                                                           dtype=dtype, device=dev), 0.0)]
    for seed in (0, 7, 2**33 + 1):
        for name, fn, _ in draws:
            out.n += 1
            _compare_stream(out, name, fn, seed, dtype, ctx)
    return out


def _compare_stream(out: Outcome, name: str, fn: Any, seed: int, dtype: mt.dtype,
                    ctx: Context) -> None:
    from ..tolerances import compare, tolerance

    try:
        mine = to_host(fn(mt.Generator(ctx.device).manual_seed(seed), ctx.device))
        again = to_host(fn(mt.Generator(ctx.device).manual_seed(seed), ctx.device))
        ref = to_host(fn(mt.Generator(ctx.reference).manual_seed(seed), ctx.reference))
    except Exception as exc:  # noqa: BLE001
        out.fail(f"{name} seed {seed}: raised {type(exc).__name__}: {exc}")
        return
    if not _same_bits(mine, again):
        out.fail(f"{name} seed {seed}: the same seed gave different numbers twice")
        return
    rtol, atol = tolerance(dtype)  # transcendental steps (randn) may differ by rounding
    errs, bad = compare(mine, ref, dtype, rtol, atol)
    out.errors.merge(errs)
    if bad is not None:
        out.fail(f"mbtorch.{name}(generator=mbtorch.Generator({ctx.device!r}).manual_seed("
                 f"{seed}), dtype=mbtorch.{dtype.name}) differs from {ctx.reference}: {bad}")
