"""``mbtorch.fft``'s real-valued functions against ``torch.fft``: sample frequencies and
shifts, with PyTorch's dtypes, rounding and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mbtorch as mt


@pytest.mark.parametrize("n", [0, 1, 2, 5, 8, 11, 100])
@pytest.mark.parametrize("d", [1.0, 0.1, 3.0, 1e-3])
@pytest.mark.parametrize("dtype", [None, "float64", "float16", "bfloat16"])
def test_fftfreq_and_rfftfreq_match_torch(n, d, dtype):
    ours_dt = getattr(mt, dtype) if dtype else None
    their_dt = getattr(torch, dtype) if dtype else None
    for name in ("fftfreq", "rfftfreq"):
        ours = getattr(mt.fft, name)(n, d, dtype=ours_dt)
        theirs = getattr(torch.fft, name)(n, d, dtype=their_dt)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.float().numpy(), theirs.float().numpy())


def test_fftfreq_options_and_errors():
    f = mt.fft.fftfreq(4, requires_grad=True)
    assert f.requires_grad and f.is_leaf
    assert mt.fft.fftfreq(3, device="cpu").device == mt.device("cpu")
    with pytest.raises(RuntimeError, match="floating point"):
        mt.fft.fftfreq(4, dtype=mt.int64)
    with pytest.raises(RuntimeError, match="negative dimension"):
        mt.fft.rfftfreq(-1)
    with pytest.raises(TypeError, match="'n'.*must be int"):
        mt.fft.fftfreq(3.5)


@pytest.mark.parametrize("shape", [(7,), (6,), (2, 5), (4, 3, 2), (1,), (0,), ()])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, -1)])
def test_fftshift_and_ifftshift_match_torch(shape, dim):
    if not shape:  # torch's errors for a 0-d tensor
        error = RuntimeError if dim is None else IndexError
        with pytest.raises(error, match="shifts" if dim is None else "no dimensions"):
            mt.fft.fftshift(mt.tensor(1.0), dim=dim)
        return
    a = np.arange(int(np.prod(shape))).reshape(shape).astype(np.float32)
    for name in ("fftshift", "ifftshift"):
        ours = getattr(mt.fft, name)(mt.tensor(a), dim=dim)
        theirs = getattr(torch.fft, name)(torch.tensor(a), dim=dim)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    back = mt.fft.ifftshift(mt.fft.fftshift(mt.tensor(a), dim), dim)
    np.testing.assert_array_equal(back.numpy(), a)


def test_shift_keeps_dtype_and_gradient():
    x = mt.arange(5.0, requires_grad=True)
    y = mt.fft.fftshift(x)
    (y * mt.arange(5.0)).sum().backward()
    tx = torch.arange(5.0, requires_grad=True)
    (torch.fft.fftshift(tx) * torch.arange(5.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert mt.fft.fftshift(mt.arange(4)).dtype is mt.int64
    with pytest.raises(TypeError, match="fftshift"):
        mt.fft.fftshift([1, 2, 3])


def test_transforms_needing_complex_tensors_are_absent():
    # not faked: they need a complex dtype, which mbtorch does not have yet
    for name in ("fft", "ifft", "rfft", "irfft", "fftn", "rfft2", "hfft"):
        assert not hasattr(mt.fft, name)
