"""``gcd``, ``lcm`` and the bit shifts with their operators (``integer_math.py``) against
PyTorch: signs, zeros, broadcasting, promotion, every shift amount, in-place forms, errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import same, same_error

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(19)


@pytest.mark.parametrize("name", ["gcd", "lcm"])
def test_gcd_lcm_match_torch(name):
    a = RNG.integers(-60, 61, (4, 5))
    b = RNG.integers(-60, 61, (5,))
    a[0, :2] = 0
    b[1] = 0
    same(getattr(mt, name)(mt.tensor(a), mt.tensor(b)),
         getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
    same(getattr(mt.tensor(a), name)(mt.tensor(b)), getattr(torch.tensor(a), name)(
        torch.tensor(b)))


def test_gcd_large_values_promotion_and_inplace():
    a, b = np.array([3 * 2**40, 7, 832040]), np.array([2**30, 5, 514229], np.int32)
    same(mt.gcd(mt.tensor(a), mt.tensor(b)), torch.gcd(torch.tensor(a), torch.tensor(b)))
    x8 = np.array([12, -18, 0], np.int8)
    same(mt.lcm(mt.tensor(x8), mt.tensor(x8[::-1].copy())),
         torch.lcm(torch.tensor(x8), torch.tensor(x8[::-1].copy())))
    ours, theirs = mt.tensor([12, 18]), torch.tensor([12, 18])
    assert ours.gcd_(mt.tensor([8, 4])) is ours
    theirs.gcd_(torch.tensor([8, 4]))
    same(ours, theirs)
    mt.lcm_(ours, mt.tensor([3, 5]))
    torch.lcm_(theirs, torch.tensor([3, 5]))
    same(ours, theirs)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64"])
@pytest.mark.parametrize("name", ["bitwise_left_shift", "bitwise_right_shift"])
def test_shifts_every_amount(dtype, name):
    info = np.iinfo(dtype)
    values = np.array([info.min, -5, -1, 0, 1, 3, 77, info.max]).astype(dtype)
    bits = info.bits
    amounts = np.array([-1, 0, 1, 2, bits - 1, bits, bits + 3]).astype(
        "int64" if dtype == "uint8" else dtype if bits > 8 else "int16")
    a, s = np.broadcast_arrays(values[:, None], amounts[None, :])
    a, s = a.astype(dtype), s.copy()
    if dtype == "uint8":
        s = np.clip(s, 0, None).astype("uint8")
    same(getattr(mt, name)(mt.tensor(a), mt.tensor(s)),
         getattr(torch, name)(torch.tensor(a), torch.tensor(s)))


@pytest.mark.parametrize("expr", [
    lambda m: m.tensor([-8, 8, 3], dtype=m.int8) >> m.tensor([1, 9, -1], dtype=m.int8),
    lambda m: m.tensor([-8, 8, 3], dtype=m.int8) << m.tensor([1, 9, -1], dtype=m.int8),
    lambda m: m.tensor([-8, 8, 3, -8]) >> m.tensor([62, 64, 63, 64]),
    lambda m: 3 << m.tensor([1, 2]),
    lambda m: 300 >> m.tensor([1, 2], dtype=m.uint8),
    lambda m: m.bitwise_left_shift(3, m.tensor([1, 2])),
    lambda m: m.tensor([1, 2], dtype=m.uint8) << 7,
    lambda m: m.tensor([True]) << 1,
    lambda m: m.tensor([1], dtype=m.int8) << 300,
    lambda m: m.tensor([[1], [2]], dtype=m.int32) << m.tensor([1, 2, 3]),
])
def test_shift_operators_and_promotion(expr):
    same(expr(mt), expr(torch))


def test_inplace_shifts():
    ours, theirs = mt.tensor([1, -2, 3]), torch.tensor([1, -2, 3])
    ours <<= 2
    theirs <<= 2
    same(ours, theirs)
    ours >>= mt.tensor([1, 1, 3])
    theirs >>= torch.tensor([1, 1, 3])
    same(ours, theirs)
    ours.bitwise_left_shift_(1)
    theirs.bitwise_left_shift_(1)
    same(ours, theirs)
    ours.bitwise_right_shift_(1)
    theirs.bitwise_right_shift_(1)
    same(ours, theirs)


@pytest.mark.parametrize("call,exc", [
    (lambda m: m.tensor([1.5]) << 1, NotImplementedError),
    (lambda m: m.tensor([True]) << m.tensor([True]), NotImplementedError),
    (lambda m: m.gcd(m.tensor([4.0]), m.tensor([6.0])), NotImplementedError),
    (lambda m: m.lcm(m.tensor([4.0]), m.tensor([6])), NotImplementedError),
])
def test_errors_match_torch(call, exc):
    same_error(call, exc)


def test_gcd_wants_tensors():
    with pytest.raises(TypeError, match="gcd"):
        mt.gcd(mt.tensor([4]), 6)
