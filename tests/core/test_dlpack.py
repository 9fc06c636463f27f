"""DLPack: zero-copy exchange with NumPy and PyTorch in both directions, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt


def test_from_numpy_producer_shares_memory_both_ways():
    a = np.arange(6.0).reshape(2, 3)
    t = mt.from_dlpack(a)
    assert t.shape == (2, 3) and t.dtype is mt.float64 and t.device == "cpu"
    t.mul_(2)
    np.testing.assert_array_equal(a, np.arange(6.0).reshape(2, 3) * 2)
    a[0, 0] = -1.0
    assert t[0, 0].item() == -1.0


def test_export_to_numpy_shares_memory_and_keeps_view_strides():
    x = mt.arange(12, dtype=mt.float32).reshape(3, 4)
    assert x.__dlpack_device__() == (1, 0)
    col = np.from_dlpack(x.t())
    assert col.shape == (4, 3)
    np.testing.assert_array_equal(col, np.arange(12, dtype=np.float32).reshape(3, 4).T)
    col[1, 0] = 99.0
    assert x[0, 1].item() == 99.0


@pytest.mark.parametrize("dtype", [mt.bool, mt.uint8, mt.int8, mt.int16, mt.int32, mt.int64,
                                   mt.float16, mt.float32, mt.float64])
def test_round_trip_dtypes(dtype):
    x = mt.tensor([[0, 1], [1, 0]], dtype=dtype)
    y = mt.from_dlpack(x)
    assert y.dtype is dtype and y.tolist() == x.tolist()


def test_with_torch_both_ways():
    torch = pytest.importorskip("torch")
    tt = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    m = mt.from_dlpack(tt[:, 1:])
    assert m.shape == (2, 2) and m.dtype is mt.float32
    assert m.tolist() == tt[:, 1:].tolist()
    m.fill_(7.0)
    assert tt[:, 1:].eq(7.0).all()

    x = mt.arange(4, dtype=mt.int64)
    back = torch.from_dlpack(x)
    assert back.dtype is torch.int64 and back.tolist() == [0, 1, 2, 3]
    back[2] = 40
    assert x[2].item() == 40
    assert mt.from_dlpack(torch.tensor([True, False])).tolist() == [True, False]


def test_export_refuses_tensor_requiring_grad():
    x = mt.zeros(2, requires_grad=True)
    with pytest.raises(BufferError, match="require gradient"):
        x.__dlpack__()
    assert np.from_dlpack(x.detach()).shape == (2,)


def test_unsupported_dtype_and_producer_errors():
    with pytest.raises(BufferError, match="bfloat16"):
        np.from_dlpack(mt.zeros(2, dtype=mt.bfloat16))
    with pytest.raises(TypeError, match="__dlpack__"):
        mt.from_dlpack([1, 2, 3])


def test_torch_bfloat16_import_is_a_clear_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(BufferError, match="from_dlpack"):
        mt.from_dlpack(torch.zeros(2, dtype=torch.bfloat16))


def test_backend_without_dlpack_refuses(mini_device):
    x = mt.zeros(2, device=mini_device)
    with pytest.raises(BufferError, match="does not support DLPack"):
        x.__dlpack__()
    with pytest.raises(BufferError, match="does not support DLPack"):
        x.__dlpack_device__()


def test_unknown_dlpack_device_type():
    class Producer:
        def __dlpack_device__(self):
            return (99, 0)

        def __dlpack__(self, **kwargs):
            raise AssertionError("not reached")

    with pytest.raises(RuntimeError, match="no installed backend accepts DLPack device type 99"):
        mt.from_dlpack(Producer())


def test_to_dlpack_capsule_round_trips_through_torch_and_utils_dlpack():
    import torch.utils.dlpack

    from mbtorch.utils import dlpack as mt_dlpack

    x = mt.arange(6.0).reshape(2, 3)
    back = torch.utils.dlpack.from_dlpack(mt.to_dlpack(x))
    back[0, 0] = 9.0  # shares memory
    assert x[0, 0].item() == 9.0
    capsule = torch.utils.dlpack.to_dlpack(torch.ones(2))
    with pytest.warns(UserWarning, match="read-only"):
        y = mt_dlpack.from_dlpack(capsule)
    assert y.tolist() == [1.0, 1.0]
    with pytest.raises(BufferError, match="consumed only once"):
        mt.from_dlpack(capsule)
    z = mt.from_dlpack(mt.to_dlpack(x))  # an mbtorch capsule back into mbtorch
    z[1, 1] = 5.0
    assert x[1, 1].item() == 5.0
    with pytest.raises(TypeError, match=r"to_dlpack\(\): argument 'tensor' must be Tensor"):
        mt.to_dlpack([1.0])
    with pytest.raises(BufferError, match="require gradient"):
        mt_dlpack.to_dlpack(mt.ones(2, requires_grad=True))


def test_grad_scaler_is_amp_grad_scaler():
    assert mt.GradScaler is mt.amp.GradScaler
