"""Comparing mbtorch results with PyTorch's: values, shapes and dtypes, through tuples and
named tuples, gradients of a scalar function of the inputs, and error messages."""

import numpy as np

import mbtorch as mt

__all__ = ["same", "dtype_name", "grads_match", "both", "same_error"]


def dtype_name(dtype) -> str:
    return str(dtype).rsplit(".", 1)[-1]


def same(ours, theirs, rtol=1e-6, atol=1e-7, exact=False):
    """Assert ``ours`` (mbtorch) equals ``theirs`` (torch): per tensor, same shape, dtype and
    values (NaN equal to NaN); tuples element by element."""
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)), f"expected a tuple, got {type(ours).__name__}"
        assert len(ours) == len(theirs), f"{len(ours)} results != {len(theirs)}"
        for a, b in zip(ours, theirs):
            same(a, b, rtol, atol, exact)
        return
    assert isinstance(ours, mt.Tensor), f"expected a Tensor, got {type(ours).__name__}"
    assert tuple(ours.shape) == tuple(theirs.shape), f"shape {ours.shape} != {theirs.shape}"
    assert dtype_name(ours.dtype) == dtype_name(theirs.dtype), \
        f"dtype {ours.dtype} != {theirs.dtype}"
    a, b = ours.detach().numpy(), theirs.detach().numpy()
    if exact or a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def same_error(call, exc=RuntimeError):
    """``call(torch)`` and ``call(mbtorch)`` both raise ``exc`` with the same message."""
    import pytest
    import torch

    with pytest.raises(exc) as theirs:
        call(torch)
    with pytest.raises(exc) as ours:
        call(mt)
    assert str(ours.value) == str(theirs.value)


def both(fn, *arrays, **kwargs):
    """``(fn(mbtorch, *tensors), fn(torch, *tensors))`` for NumPy ``arrays``."""
    import torch

    ours = fn(mt, *[mt.tensor(a) for a in arrays], **kwargs)
    theirs = fn(torch, *[torch.tensor(a) for a in arrays], **kwargs)
    return ours, theirs


def grads_match(fn, *arrays, rtol=1e-6, atol=1e-9):
    """The gradients of a weighted sum of ``fn(lib, *leaves)`` (float64 leaves) agree with
    torch's (distinct weights, so a gradient routed to the wrong element shows)."""
    import torch

    ours = [mt.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays]
    out_ours, out_theirs = fn(mt, *ours), fn(torch, *theirs)
    weights = np.linspace(0.5, 1.5, out_theirs.numel()).reshape(tuple(out_theirs.shape))
    (out_ours * mt.tensor(weights)).sum().backward()
    (out_theirs * torch.tensor(weights)).sum().backward()
    for a, b in zip(ours, theirs):
        assert a.grad is not None, "no gradient reached an input"
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)
