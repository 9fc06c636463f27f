"""``empty_strided``, ``empty_permuted``, ``frombuffer`` and ``scalar_tensor``
(``buffer_factories.py``) against PyTorch: geometry, shared memory, dtypes, errors."""

import array

import pytest

import mbtorch as mt
from tests.core.torch_parity import same, same_error

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("size,stride", [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((4,), (2,)),
                                         ((2, 0, 3), (0, 5, 1)), ((), ())])
def test_empty_strided_geometry(size, stride):
    ours = mt.empty_strided(size, stride, dtype=mt.float64)
    theirs = torch.empty_strided(size, stride, dtype=torch.float64)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.stride() == theirs.stride() and ours.dtype is mt.float64
    ours.fill_(2.0)  # writable, and every element reachable
    assert float(ours.sum()) == 2.0 * ours.numel()


@pytest.mark.parametrize("size,layout", [((2, 3, 4), (2, 0, 1)), ((2, 3), (1, 0)),
                                         ((5,), (0,)), ((2, 3, 4), (0, 1, 2))])
def test_empty_permuted_strides(size, layout):
    ours = mt.empty_permuted(size, layout)
    theirs = torch.empty_permuted(size, layout)
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.stride() == theirs.stride()
    assert ours.dtype is mt.float32


@pytest.mark.parametrize("call", [
    lambda m: m.empty_permuted((2, 3), (0, 0)),
    lambda m: m.empty_permuted((2, 3), (0,)),
    lambda m: m.empty_strided((2, 3), (1,)),
])
def test_layout_errors_match_torch(call):
    same_error(call, RuntimeError)


def test_frombuffer_shares_memory():
    buf = array.array("f", [1.0, 2.0, 3.0])
    t = mt.frombuffer(buf, dtype=mt.float32)
    same(t, torch.frombuffer(array.array("f", [1.0, 2.0, 3.0]), dtype=torch.float32))
    t[0] = 5.0
    assert buf[0] == 5.0
    raw = bytearray(b"\x01\x02\x03\x04")
    same(mt.frombuffer(raw, dtype=mt.int16, offset=2),
         torch.frombuffer(bytearray(raw), dtype=torch.int16, offset=2))
    same(mt.frombuffer(raw, dtype=mt.uint8, count=2, offset=1),
         torch.frombuffer(bytearray(raw), dtype=torch.uint8, count=2, offset=1))


@pytest.mark.parametrize("data,kwargs", [
    (b"", {"dtype": "int16"}), (b"\x01\x02\x03", {"dtype": "int16"}),
    (b"\x01\x02\x03", {"dtype": "int8", "offset": 5}),
    (b"\x01\x02\x03", {"dtype": "int8", "count": 5}),
])
def test_frombuffer_errors_match_torch(data, kwargs):
    with pytest.raises(ValueError) as theirs:
        torch.frombuffer(bytearray(data), **dict(kwargs, dtype=getattr(torch, kwargs["dtype"])))
    with pytest.raises(ValueError) as ours:
        mt.frombuffer(bytearray(data), **dict(kwargs, dtype=getattr(mt, kwargs["dtype"])))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("value,dtype", [(3, None), (True, None), (2.5, None), (2, "int32"),
                                         (7, "float64"), (1, "bool")])
def test_scalar_tensor(value, dtype):
    ours = mt.scalar_tensor(value, dtype=None if dtype is None else getattr(mt, dtype))
    theirs = torch.scalar_tensor(value, dtype=None if dtype is None else getattr(torch, dtype))
    same(ours, theirs)
