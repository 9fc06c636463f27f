"""Gradient checks: the device's gradients equal the reference device's float64 gradients
(``grad``, every floating dtype), and ``mbtorch.autograd.gradcheck`` passes in float64 on the
device (``gradcheck``). Both report "skipped" with the reason while mbtorch has no autograd.

Gradients are judged by rtol/atol (``GRAD_TOLERANCES``), not in ULPs as forward values are: a
backward pass chains several rounded ops (each with its own accuracy class) whose errors scale
with intermediate values, not with the gradient (``1 - tanh(x)^2`` cancels where the gradient
is small), so no per-element ULP bound is sound; and gradcheck compares with central finite
differences, whose truncation and cancellation errors (~eps^(2/3) relative) are far above a
ULP. ``max_ulp`` is still reported for the ``grad`` rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import mbtorch as mt
from mbtorch.core.host import NUMPY_DTYPES

from .. import layouts
from ..db import Entry
from ..samples import Sample, draw, seed_for
from ..tolerances import compare, round_to
from .common import Context, Outcome, call, repro, samples, to_host

__all__ = ["GRAD_TOLERANCES", "autograd", "NO_AUTOGRAD", "grad_samples", "grad", "gradcheck"]

# Gradients chain several rounded ops; these bounds still catch a wrong derivative.
GRAD_TOLERANCES = {mt.float16: (1e-2, 1e-2), mt.bfloat16: (6e-2, 6e-2),
                   mt.float32: (1e-4, 1e-5), mt.float64: (1e-7, 1e-7)}
_LIMITS = {"smoke": 2, "standard": 8, "full": 16}


def autograd() -> Any:
    """``mbtorch.autograd`` when it exists with ``gradcheck`` and ``Tensor.backward``."""
    try:
        import mbtorch.autograd as ag
    except ImportError:
        return None
    if not hasattr(ag, "gradcheck") or not hasattr(mt.Tensor, "backward"):
        return None
    return ag


NO_AUTOGRAD = ("mbtorch.autograd (with gradcheck and Tensor.backward) is not available in this "
               "mbtorch; gradient checks turn on when it is")


def _finite(s: Sample) -> bool:
    return all(np.isfinite(a).all() for a in s.args
               if isinstance(a, np.ndarray) and a.dtype.kind == "f")


def grad_samples(entry: Entry, dtype: mt.dtype, ctx: Context, limit: int,
                 max_numel: int = 400, finite: bool = False) -> list[Sample]:
    """The first ``limit`` non-empty samples of the tier with at most ``max_numel`` elements
    (filtered before the limit, so a tier whose first samples are large still gets some);
    with ``finite``, only samples without inf or NaN (finite differences need them)."""
    chosen = [s for s in samples(entry, dtype, ctx.tier, entry.grad_domain, specials=False)
              if 0 < s.numel() <= max_numel and (not finite or _finite(s))]
    return chosen[:limit]


def _leaves(s: Sample, dtype: mt.dtype, device: str, as_dtype: mt.dtype) -> tuple[list, list]:
    """Device args; floating arrays of the dtype under test become leaves requiring grad."""
    native = NUMPY_DTYPES[dtype]
    args, leaves = [], []
    for a in s.args:
        if isinstance(a, np.ndarray) and a.dtype == native:
            t = mt.tensor(a.astype(NUMPY_DTYPES[as_dtype]), device=device).requires_grad_()
            leaves.append(t)
            args.append(t)
        elif isinstance(a, np.ndarray):
            args.append(layouts.to_device(a, device))
        else:
            args.append(a)
    return args, leaves


def _backward(entry: Entry, s: Sample, dtype: mt.dtype, device: str, as_dtype: mt.dtype,
              g: np.ndarray) -> list[np.ndarray]:
    args, leaves = _leaves(s, dtype, device, as_dtype)
    out = call(entry, args, dict(s.kwargs), device, as_dtype)[0]
    if not out.requires_grad:
        raise RuntimeError("the output does not require grad")
    out.backward(mt.tensor(g.astype(NUMPY_DTYPES[as_dtype]), device=device))
    return [to_host(t.grad) if t.grad is not None else np.zeros(t.shape, NUMPY_DTYPES[as_dtype])
            for t in leaves]


def grad(entry: Entry, dtype: mt.dtype, ctx: Context) -> Outcome:
    out = Outcome()
    if autograd() is None:
        out.skipped = NO_AUTOGRAD
        return out
    rng = np.random.default_rng(seed_for(entry.name, dtype.name, "grad"))
    rtol, atol = GRAD_TOLERANCES[dtype]
    for s in grad_samples(entry, dtype, ctx, _LIMITS[ctx.tier]):
        out.n += 1
        try:
            ref_out = call(entry, [layouts.to_device(a, ctx.reference) if isinstance(
                a, np.ndarray) else a for a in s.args], dict(s.kwargs), ctx.reference, dtype)[0]
            g = draw(rng, tuple(ref_out.shape), dtype, "real")
            want = _backward(entry, s, dtype, ctx.reference, mt.float64, g)
        except Exception as exc:  # noqa: BLE001
            out.fail(f"sample #{s.index} ({s.name}): the reference device ({ctx.reference}, "
                     f"float64) could not differentiate: {type(exc).__name__}: {exc}")
            continue
        try:
            got = _backward(entry, s, dtype, ctx.device, dtype, g)
        except Exception as exc:  # noqa: BLE001
            out.fail(f"sample #{s.index} ({s.name}): backward raised {type(exc).__name__}: "
                     f"{exc}", repro(entry, s, dtype, ctx))
            continue
        for k, (a, w) in enumerate(zip(got, want)):
            errs, bad = compare(a, round_to(w, dtype), dtype, rtol, atol)
            out.errors.merge(errs)
            if bad is not None:
                out.fail(f"sample #{s.index} ({s.name}): gradient of input {k} differs from "
                         f"the {ctx.reference} float64 gradient: {bad}",
                         repro(entry, s, dtype, ctx) + "\nout.backward(<grad_output>)")
    return out


def gradcheck(entry: Entry, dtype: mt.dtype, ctx: Context) -> Outcome:
    """Finite differences against analytic gradients, in float64 on the device."""
    out = Outcome()
    ag = autograd()
    if ag is None:
        out.skipped = NO_AUTOGRAD
        return out
    # finite differences cost two calls per input element: small samples only
    for s in grad_samples(entry, dtype, ctx, _LIMITS[ctx.tier] // 2, max_numel=60,
                          finite=True):
        out.n += 1
        args, leaves = _leaves(s, dtype, ctx.device, mt.float64)
        slots = [i for i, a in enumerate(args) if any(a is t for t in leaves)]

        def fn(*ts, args=args, slots=slots, s=s):
            full = list(args)
            for i, t in zip(slots, ts):
                full[i] = t
            return call(entry, full, dict(s.kwargs), ctx.device, mt.float64)[0]

        try:
            ok = ag.gradcheck(fn, tuple(leaves))
        except Exception as exc:  # noqa: BLE001 - gradcheck raises with the details
            ok, why = False, f"{type(exc).__name__}: {exc}"
        else:
            why = "gradcheck returned False"
        if not ok:
            out.fail(f"sample #{s.index} ({s.name}): {why}", repro(entry, s, dtype, ctx))
    return out
