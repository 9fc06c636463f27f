"""Floating ``remainder`` and ``fmod`` (``mbtorch/core/ops/_fmod.py``): bit-exact against
PyTorch on random, large-quotient and special operands, on cpu and on the primitives-only
device (both run the decomposition), with gradients and Python scalars."""

import math

import numpy as np
import pytest

import mbtorch as mt

torch = pytest.importorskip("torch")


def _operands(np_dtype, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n) * np.exp(rng.uniform(-8, 8, n))
    b = rng.standard_normal(n) * np.exp(rng.uniform(-8, 8, n))
    fi = np.finfo(np_dtype)
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, math.inf, -math.inf, math.nan,
                        fi.max / 4, -fi.max / 4, fi.tiny, -fi.tiny, 100.0, -100.0, fi.eps])
    a = np.concatenate([a, np.repeat(special, special.size)])
    b = np.concatenate([b, np.tile(special, special.size)])
    return a.astype(np_dtype), b.astype(np_dtype)


def _assert_same(got, want):
    got, want = got.numpy(force=True), want.numpy()
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    bad = np.flatnonzero(~same)
    assert bad.size == 0, f"{bad.size} differ, e.g. got {got[bad[:3]]}, want {want[bad[:3]]}"


@pytest.mark.parametrize("name", ["remainder", "fmod"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("device", ["cpu", "mini"])
def test_bit_exact_against_torch(name, dtype, device, request):
    if device == "mini":
        device = request.getfixturevalue("mini_device")
    np_dtype = np.float32 if dtype == "bfloat16" else getattr(np, dtype)
    a, b = _operands(np_dtype)
    ta, tb = (torch.tensor(v).to(getattr(torch, dtype)) for v in (a, b))
    # where the quotient overflows (half formats divide in float32) PyTorch's vectorised
    # kernel gives NaN, as mbtorch, and its scalar tail the exact value: those pairs are left out
    wide = torch.float64 if dtype == "float64" else torch.float32
    with np.errstate(all="ignore"):
        q = ta.to(wide).numpy() / tb.to(wide).numpy()
        keep = ~(np.isinf(q) & np.isfinite(a) & np.isfinite(b) & (b != 0))
    ta, tb = ta[torch.tensor(keep)], tb[torch.tensor(keep)]
    x = mt.tensor(ta.float().numpy() if dtype == "bfloat16" else ta.numpy(), device=device,
                  dtype=getattr(mt, dtype))
    y = mt.tensor(tb.float().numpy() if dtype == "bfloat16" else tb.numpy(), device=device,
                  dtype=getattr(mt, dtype))
    got = getattr(mt, name)(x, y)
    assert got.dtype is x.dtype
    want = getattr(torch, name)(ta, tb)
    _assert_same(got.float() if dtype == "bfloat16" else got,
                 want.float() if dtype == "bfloat16" else want)


def test_large_quotients_are_exact():
    # a / b far beyond 2**24: plain a - floor(a/b)*b loses every digit here
    a = np.array([2221.465, 1e30, -3.0e38, 8.5e37], np.float32)
    b = np.array([3.2124673e-05, 3.0, 7.0, -100.0], np.float32)
    _assert_same(mt.remainder(mt.tensor(a), mt.tensor(b)),
                 torch.remainder(torch.tensor(a), torch.tensor(b)))
    _assert_same(mt.fmod(mt.tensor(a), mt.tensor(b)), torch.fmod(torch.tensor(a),
                                                                 torch.tensor(b)))


def test_infinite_divisor_and_scalars():
    x = mt.tensor([-2.5, 2.5, 0.0, -0.0, math.inf])
    tx = torch.tensor([-2.5, 2.5, 0.0, -0.0, math.inf])
    for other in (math.inf, -math.inf, 0.75, -0.75):
        _assert_same(x % other, tx % other)
        _assert_same(mt.fmod(x, other), torch.fmod(tx, other))
    _assert_same(5.5 % mt.tensor([2.0, -2.0]), 5.5 % torch.tensor([2.0, -2.0]))


def test_integer_operands_keep_python_semantics():
    a, b = [7, -7, 7, -7], [3, 3, -3, -3]
    assert mt.remainder(mt.tensor(a), mt.tensor(b)).tolist() == [1, 2, -2, -1]
    assert mt.fmod(mt.tensor(a), mt.tensor(b)).tolist() == [1, -1, 1, -1]
    assert mt.fmod(mt.tensor(a), 2.5).dtype is mt.float32


def test_gradients_match_torch():
    a = np.array([5.5, -5.5, 0.3, 7.25, -1.0])
    b = np.array([2.0, 2.0, -0.7, -1.5, 0.4])
    for name in ("remainder", "fmod"):
        x = mt.tensor(a, requires_grad=True)
        y = mt.tensor(b, requires_grad=True)
        getattr(mt, name)(x, y).sum().backward()
        tx = torch.tensor(a, requires_grad=True)
        ty = torch.tensor(b, requires_grad=True)
        getattr(torch, name)(tx, ty).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
        np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy())
