import numpy as np
import pytest

import mbtorch as mt
from tests.conftest import assert_close


def test_tensor_infers_dtypes_like_torch():
    assert mt.tensor([1, 2]).dtype is mt.int64
    assert mt.tensor([1, 2.0]).dtype is mt.float32
    assert mt.tensor([True, False]).dtype is mt.bool
    assert mt.tensor([True, 2]).dtype is mt.int64
    assert mt.tensor(3.5).shape == () and mt.tensor(3.5).item() == 3.5
    assert mt.tensor([]).dtype is mt.float32 and mt.tensor([]).shape == (0,)
    assert mt.tensor(np.arange(3, dtype=np.float64)).dtype is mt.float64
    assert mt.tensor([[1, 2], [3, 4]], dtype=mt.float16).dtype is mt.float16


def test_tensor_copies_but_from_numpy_shares():
    arr = np.arange(4, dtype=np.float32)
    t = mt.tensor(arr)
    s = mt.from_numpy(arr)
    arr[0] = 42
    assert t[0].item() == 0.0
    assert s.tolist()[0] == 42.0
    s.add_(1)
    assert arr[1] == 2.0
    assert mt.as_tensor(arr).numpy() is not None and np.shares_memory(mt.as_tensor(arr).numpy(),
                                                                       arr)


def test_from_numpy_errors():
    with pytest.raises(TypeError, match="can't convert np.ndarray of type float128"):
        mt.from_numpy(np.zeros(2, np.longdouble))  # uint16 and complex64 convert (issue 15)
    with pytest.raises(ValueError, match="negative"):
        mt.from_numpy(np.arange(4)[::-1])
    with pytest.raises(TypeError, match="expected np.ndarray"):
        mt.from_numpy([1, 2])


def test_ragged_and_bad_data():
    with pytest.raises(ValueError, match="tensor"):
        mt.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="could not infer dtype of str"):
        mt.tensor(["a"])


def test_filled_constructors():
    assert mt.zeros(2, 3).tolist() == [[0.0] * 3] * 2
    assert mt.ones((2,), dtype=mt.int32).tolist() == [1, 1]
    assert mt.full((2, 2), 7).dtype is mt.int64
    assert mt.full((2,), 1.5).dtype is mt.float32
    assert mt.full((2,), True).dtype is mt.bool
    x = mt.ones(2, 3, dtype=mt.float64)
    assert mt.zeros_like(x).dtype is mt.float64 and mt.zeros_like(x).shape == (2, 3)
    assert mt.full_like(x, 3).tolist() == [[3.0] * 3] * 2
    assert mt.empty(0, 4).shape == (0, 4)
    assert x.new_zeros(3).dtype is mt.float64 and x.new_full((1,), 5).tolist() == [5.0]
    with pytest.raises(RuntimeError, match="negative dimension -1"):
        mt.zeros(2, -1)
    with pytest.raises(TypeError, match="sequence of ints"):
        mt.zeros(2.5)


def test_arange_linspace_eye_match_torch():
    torch = pytest.importorskip("torch")
    cases = [(5,), (1, 10, 3), (0.0, 1.0, 0.1), (10, 0, -3), (-1.5, 2.25, 0.25)]
    for args in cases:
        got, want = mt.arange(*args), torch.arange(*args)
        assert got.dtype.name == str(want.dtype)[6:]
        assert_close(got, want)
    for args in [(0, 1, 5), (-3, 7, 11), (2, 2, 1), (0, 1, 0), (10, -10, 7)]:
        assert_close(mt.linspace(*args), torch.linspace(*args), rtol=1e-6)
    assert_close(mt.eye(3), torch.eye(3))
    assert_close(mt.eye(2, 4, dtype=mt.int64), torch.eye(2, 4, dtype=torch.int64))
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        mt.arange(0, 1, 0)
    with pytest.raises(RuntimeError, match="inconsistent with step sign"):
        mt.arange(0, 10, -1)


def test_conversions():
    x = mt.tensor([1.7, -2.2, 0.0])
    assert x.long().tolist() == [1, -2, 0] and x.int().dtype is mt.int32
    assert x.bool().tolist() == [True, True, False]
    assert x.double().dtype is mt.float64 and x.half().dtype is mt.float16
    assert x.to(mt.int16).dtype is mt.int16
    assert x.to("cpu") is x
    assert x.to("cpu", copy=True) is not x
    assert x.to(mt.zeros(1, dtype=mt.float64)).dtype is mt.float64
    assert mt.tensor(5).item() == 5 and isinstance(mt.tensor(5).item(), int)
    assert int(mt.tensor(3.9)) == 3 and float(mt.tensor(2)) == 2.0
    assert np.asarray(x).dtype == np.float32
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)


def test_clone_and_contiguous():
    x = mt.arange(6.0).reshape(2, 3)
    c = x.clone()
    c.add_(1)
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    t = x.t()
    assert not t.is_contiguous()
    tc = t.contiguous()
    assert tc.is_contiguous() and tc.tolist() == t.tolist() and tc.stride() == (2, 1)
    assert x.contiguous() is x


def test_repr_matches_torch_layout():
    torch = pytest.importorskip("torch")
    cases = [[1.0, 2.5, 3.0], [1e10, 1.0], [1, 2, 3], [[1, 2], [3, 4]], [True, False], 3.5,
             [float("nan"), float("inf"), 1.25], [1e-5, 1.0], [], [0.0, 1.0, 2.0]]
    for data in cases:
        want = repr(torch.tensor(data)).replace("torch.", "mbtorch.")
        assert repr(mt.tensor(data)) == want, data
    for dtype in ("float64", "int32", "float16"):
        want = repr(torch.tensor([1, 2], dtype=getattr(torch, dtype))).replace("torch.",
                                                                               "mbtorch.")
        assert repr(mt.tensor([1, 2], dtype=getattr(mt, dtype))) == want
    assert repr(mt.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(mt.arange(2000.0)) == repr(torch.arange(2000.0))
