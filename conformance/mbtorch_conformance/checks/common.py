"""What every check shares: the run context, outcomes, sample generation for an entry, calling
an entry on a device, the reference and the expected output dtypes, and reproductions."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import mbtorch as mt
from mbtorch.core.host import NUMPY_DTYPES

from .. import layouts
from ..db import Entry, call_code, resolve
from ..samples import Sample, from_cases, seed_for, special_samples
from ..tolerances import Errors, Mismatch, round_to

__all__ = [
    "Context", "Outcome", "entry_seed", "samples", "compute_dtype", "expected_dtypes", "reference",
    "device_args", "call", "to_host", "check_outputs", "repro"
]


@dataclass
class Context:
    """One conformance run: the device under test and the reference device."""

    device: str
    backend: Any
    tier: str = "standard"
    reference: str = "cpu"

    def native(self, entry: Entry) -> bool:
        return self.backend.kernels[entry.op] is not None


@dataclass
class Outcome:
    """A cell's result before it becomes a report row."""

    n: int = 0
    errors: Errors = field(default_factory=Errors)
    message: str = ""
    repro: str = ""
    failed: bool = False
    skipped: str = ""

    def fail(self, message: str, repro: str = "") -> None:
        if not self.failed:  # keep the first failure: the smallest reproduction
            self.failed, self.message, self.repro = True, message, repro


def entry_seed(entry: Entry, dtype: mt.dtype, tier: str) -> int:
    return seed_for(entry.name, dtype.name, tier)


def samples(entry: Entry, dtype: mt.dtype, tier: str, domain: str | None = None,
            specials: bool = True) -> list[Sample]:
    """The entry's samples for one dtype: its cases plus the special values."""
    domains = (domain,) * len(entry.domains) if domain else entry.domains
    out = list(from_cases(entry.cases, dtype, tier, entry_seed(entry, dtype, tier), domains))
    want = entry.specials is True or (entry.specials == "float" and dtype.is_floating_point)
    if specials and want:
        n_tensors = len(entry.cases[0].args) if entry.cases else 1
        out += list(special_samples(min(n_tensors, 2), dtype, tier, len(out), entry.scalars))
    return out


def _is_scalar(a: Any) -> bool:
    return type(a) in (bool, int, float)


def compute_dtype(entry: Entry, dtype: mt.dtype, sample: Sample) -> mt.dtype:
    """PyTorch's promotion of a tensor of ``dtype`` with the sample's Python scalars."""
    base = dtype
    if entry.scalar_promotion:
        for a in sample.args:
            if not _is_scalar(a):
                continue
            cat = 0 if type(a) is bool else (1 if type(a) is int else 2)
            if cat > base.category:
                base = mt.get_default_dtype() if cat == 2 else mt.int64
    return base


def expected_dtypes(entry: Entry, dtype: mt.dtype, sample: Sample) -> list[mt.dtype]:
    base = compute_dtype(entry, dtype, sample)
    rules = entry.out if isinstance(entry.out, tuple) else (entry.out,)
    return [_apply_rule(r, base, sample) for r in rules]


def _apply_rule(rule: Any, base: mt.dtype, sample: Sample) -> mt.dtype:
    if isinstance(rule, mt.dtype):
        return rule
    if callable(rule):
        return rule(base)
    if rule == "same":
        return base
    if rule == "bool":
        return mt.bool
    if rule == "int64":
        return mt.int64
    if rule == "float":
        return base if base.is_floating_point else mt.get_default_dtype()
    if rule.startswith("kw:"):
        return sample.kwargs[rule[3:]]
    raise ValueError(f"unknown output dtype rule {rule!r}")


def reference(entry: Entry, dtype: mt.dtype, sample: Sample) -> list[np.ndarray]:
    """The NumPy float64 reference, rounded to the expected output dtypes."""
    wide = compute_dtype(entry, dtype, sample).is_floating_point or entry.float_ref
    native = np.dtype(round_to(np.zeros(0), dtype).dtype)
    # integers that the op computes in a float dtype are rounded into it first
    first = expected_dtypes(entry, dtype, sample)[0]
    via = NUMPY_DTYPES[first] if first.is_floating_point else np.float64
    with np.errstate(all="ignore"):
        args = [a.astype(via).astype(np.float64) if isinstance(a, np.ndarray) and wide
                and a.dtype == native else a for a in sample.args]
    kwargs = {(entry.ref_kw or {}).get(k, k): v for k, v in sample.kwargs.items()}
    if entry.ref_dtype:
        kwargs["_dtype"] = dtype
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # empty means, zero dof: NaN wanted
        res = entry.ref(*args, **kwargs)
    res = list(res) if isinstance(res, tuple) else [res]
    return [round_to(np.asarray(r), d) for r, d in zip(res, expected_dtypes(entry, dtype, sample))]


def device_args(sample: Sample, device: str, layout: str | None = None) -> list:
    lay = layout or sample.layout
    return [layouts.to_device(a, device, lay) if isinstance(a, np.ndarray) else a
            for a in sample.args]


def call(entry: Entry, args: list, kwargs: dict, device: str, dtype: mt.dtype) -> list:
    """Run the entry through the public API; always a list of output tensors."""
    out = resolve(entry.api)(args, kwargs, device, dtype)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def to_host(t: Any) -> np.ndarray:
    return np.array(t.cpu().numpy(), copy=True)


def check_outputs(outs: list, expected: list[np.ndarray], dtypes: list[mt.dtype],
                  tol: Any) -> tuple[Errors, str]:
    """Compare outputs with the reference: count, shape, dtype, values. ``tol`` is
    ``(rtol, atol)`` or a function of the output's dtype giving that or a ``UlpTolerance``."""
    errs = Errors()
    if len(outs) != len(expected):
        return errs, f"returned {len(outs)} outputs, expected {len(expected)}"
    for k, (t, e, d) in enumerate(zip(outs, expected, dtypes)):
        which = f"output {k}: " if len(outs) > 1 else ""
        if not isinstance(t, mt.Tensor):
            return errs, f"{which}returned {type(t).__name__}, expected a Tensor"
        if tuple(t.shape) != e.shape:
            return errs, f"{which}shape {tuple(t.shape)}, expected {e.shape}"
        if t.dtype is not d:
            return errs, f"{which}dtype {t.dtype}, expected {d}"
        from ..tolerances import UlpTolerance, compare, compare_ulp

        host = to_host(t)
        if host.dtype != NUMPY_DTYPES[d] or host.shape != e.shape:
            return errs, (f"{which}the tensor says {d} {tuple(t.shape)}, but the backend's data "
                          f"is {host.dtype} {host.shape}")
        tol_k = tol(d) if callable(tol) else tol
        if isinstance(tol_k, UlpTolerance):
            e_k, bad = compare_ulp(host, e, d, tol_k)
        else:
            rtol, atol = tol_k if d.is_floating_point else (0.0, 0.0)
            e_k, bad = compare(host, e, d, rtol, atol)
        errs.merge(e_k)
        if bad is not None:
            return errs, f"{which}{bad}"
    return errs, ""


def repro(entry: Entry, sample: Sample, dtype: mt.dtype, ctx: Context,
          expected: list[np.ndarray] | None = None, mismatch: Mismatch | str = "") -> str:
    """A self-contained, mbtorch-only script that reproduces one sample."""
    seed = entry_seed(entry, dtype, ctx.tier)
    hint = (f"regenerate with: mbtorch-conformance --device {ctx.device} --ops "
            f"'{entry.name}' --dtypes {dtype.name} --tier {ctx.tier} (seed {seed}, sample "
            f"#{sample.index})")
    lines = ["import mbtorch", "from math import inf, nan",
             f"# {entry.name} [{dtype.name}] sample #{sample.index}: {sample.name}; seed {seed}",
             f"device, dtype = {ctx.device!r}, mbtorch.{dtype.name}"]
    names = []
    for i, a in enumerate(sample.args):
        if isinstance(a, np.ndarray):
            lines.append(layouts.rebuild_code(f"x{i}", a, ctx.device, sample.layout, hint))
            names.append(f"x{i}")
        else:
            names.append(repr(a))
    lines.append(call_code(entry.api, names, sample.kwargs))
    lines.append("print(out)")
    if expected is not None and sum(e.size for e in expected) <= 64:
        vals = ", ".join(layouts.values_literal(e) for e in expected)
        lines.append(f"# expected ({', '.join(str(e.shape) for e in expected)}): {vals}")
    if mismatch:
        lines.append(f"# observed: {mismatch}")
    return "\n".join(lines)

