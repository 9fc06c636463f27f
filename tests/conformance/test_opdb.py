"""The op database itself: complete, big enough, and right about PyTorch.

The references, output dtype rules and expected exception types are checked against PyTorch
(the specification) sample by sample, so a wrong entry cannot make a wrong backend pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from mbtorch_conformance.checks.common import expected_dtypes, reference, samples
from mbtorch_conformance.db import all_entries, missing_ops
from mbtorch_conformance.samples import tensor_arg
from mbtorch_conformance.tolerances import compare, tolerance

import mbtorch as mt
from mbtorch.core.op import Op

ENTRIES = all_entries()
IDS = [e.name for e in ENTRIES]


def test_every_op_has_an_entry():
    assert missing_ops() == [], "add an entry to mbtorch_conformance/db for these ops"


def test_entry_names_are_unique():
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_standard_tier_has_eight_samples_per_dtype(entry):
    for dtype in entry.dtypes:
        n = len(samples(entry, dtype, "standard"))
        assert n >= 8, f"{entry.name} [{dtype}] has {n} samples at the standard tier"


def test_samples_are_deterministic():
    e = next(e for e in ENTRIES if e.name == "add")
    a = samples(e, mt.float32, "standard")
    b = samples(e, mt.float32, "standard")
    assert all(np.array_equal(x, y, equal_nan=True) for s, t in zip(a, b)
               for x, y in zip(s.tensors(), t.tensors()))


# -- against PyTorch ----------------------------------------------------------------------------
def _torch_value(torch, a):
    if isinstance(a, np.ndarray):
        if a.dtype.name == "bfloat16":
            return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
        return torch.from_numpy(a.copy())
    return a


def _torch_kwargs(torch, kwargs):
    return {k: getattr(torch, v.name) if isinstance(v, mt.dtype) else v
            for k, v in kwargs.items()}


def _torch_call(torch, entry, args, kwargs, dtype):
    if entry.api.startswith("expr:"):
        scope = {"mbtorch": torch, "kw": kwargs, "device": "cpu",
                 "dtype": getattr(torch, dtype.name), **{f"x{i}": a for i, a in enumerate(args)}}
        out = eval(entry.api[5:], scope)  # noqa: S307 - the database's own expressions
    else:
        owner, _, attr = entry.api.partition(".")
        if owner == "Tensor":
            out = getattr(args[0], attr)(*args[1:], **kwargs)
        else:
            fn = torch
            for name in attr.split("."):
                fn = getattr(fn, name)
            out = fn(*args, **kwargs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _to_numpy(t):
    import torch

    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.float().numpy().astype(ml_dtypes.bfloat16)
    return t.numpy()


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.op is not Op.PHILOX],
                         ids=[e.name for e in ENTRIES if e.op is not Op.PHILOX])
def test_reference_matches_torch(entry):
    torch = pytest.importorskip("torch")
    problems = []
    for dtype in entry.dtypes:
        for s in samples(entry, dtype, "standard"):
            args = [_torch_value(torch, a) for a in s.args]
            try:
                outs = _torch_call(torch, entry, args, _torch_kwargs(torch, s.kwargs), dtype)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"[{dtype.name}] {s.name}: torch raised {exc!r}")
                continue
            want = reference(entry, dtype, s)
            for t, e, d in zip(outs, want, expected_dtypes(entry, dtype, s)):
                if str(t.dtype) != f"torch.{d.name}":
                    problems.append(f"[{dtype.name}] {s.name}: torch gives {t.dtype}, rule {d}")
                    continue
                rtol, atol = tolerance(d, entry.tol)
                _, bad = compare(_to_numpy(t), e, d, rtol, atol)
                if bad is not None:
                    problems.append(f"[{dtype.name}] {s.name}: {bad}")
    assert not problems, f"{entry.name}: " + "\n".join(problems[:8])


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.errors],
                         ids=[e.name for e in ENTRIES if e.errors])
def test_bad_inputs_raise_what_torch_raises(entry):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for bad in entry.errors:
        args = [_torch_value(torch, tensor_arg(a, rng, bad.dtype, "real")) for a in bad.args]
        with pytest.raises(Exception) as info:
            _torch_call(torch, entry, args, dict(bad.kwargs), bad.dtype)
        assert type(info.value) is bad.exc, f"{entry.name} ({bad.why}): torch raised " \
                                            f"{type(info.value).__name__}: {info.value}"
