import itertools

import pytest

import mbtorch as mt
from mbtorch.core import dtypes as dt

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64"]


def test_promote_types_matches_torch_table():
    torch = pytest.importorskip("torch")
    for a, b in itertools.product(NAMES, NAMES):
        got = mt.promote_types(getattr(mt, a), getattr(mt, b))
        want = torch.promote_types(getattr(torch, a), getattr(torch, b))
        assert got.name == str(want).removeprefix("torch."), (a, b)


def test_result_type_with_scalars_and_zero_dim_matches_torch():
    torch = pytest.importorskip("torch")
    cases = [("int32", 2.5), ("uint8", 1000), ("bool", 1), ("float16", 1.0), ("int64", True),
             ("int8", -3), ("bfloat16", 2)]
    for name, scalar in cases:
        x = mt.zeros(3, dtype=getattr(mt, name))
        tx = torch.zeros(3, dtype=getattr(torch, name))
        assert (x + scalar).dtype.name == str((tx + scalar).dtype)[6:], (name, scalar)
    for a, b in itertools.product(NAMES, NAMES):
        x = mt.zeros(2, dtype=getattr(mt, a))
        z = mt.zeros((), dtype=getattr(mt, b))
        tx = torch.zeros(2, dtype=getattr(torch, a))
        tz = torch.zeros((), dtype=getattr(torch, b))
        if a == b == "bool":
            continue
        assert (x * z).dtype.name == str((tx * tz).dtype)[6:], (a, b)


def test_int_true_division_gives_default_float():
    assert (mt.tensor([3]) / mt.tensor([2])).dtype is mt.float32
    mt.set_default_dtype(mt.float64)
    try:
        assert (mt.tensor([3]) / 2).dtype is mt.float64
        assert mt.tensor([1.5]).dtype is mt.float64
    finally:
        mt.set_default_dtype(mt.float32)


def test_set_default_dtype_rejects_integers():
    with pytest.raises(TypeError, match="floating"):
        mt.set_default_dtype(mt.int32)


def test_dtype_aliases_and_repr():
    assert mt.float is mt.float32 and mt.double is mt.float64 and mt.long is mt.int64
    assert mt.half is mt.float16 and mt.int is mt.int32 and mt.short is mt.int16
    assert repr(mt.float32) == "mbtorch.float32"
    assert mt.float16.is_floating_point and not mt.int8.is_floating_point
    assert mt.finfo(mt.float32).eps == pytest.approx(1.1920929e-07)
    assert mt.iinfo(mt.int8).max == 127


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64",
                                  "complex64", "complex128"])
def test_finfo_equals_torch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = mt.finfo(getattr(mt, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.dtype == theirs.dtype


def test_bfloat16_storage_and_conversion():
    x = mt.tensor([1.0, 2.5, 3.140625], dtype=mt.bfloat16)
    assert x.dtype is mt.bfloat16
    assert x.float().tolist() == [1.0, 2.5, 3.140625]
    assert (x + x).dtype is mt.bfloat16
    assert (x + mt.ones(3, dtype=mt.float16)).dtype is mt.float32
    assert dt.promote_types(dt.bfloat16, dt.float16) is dt.float32
