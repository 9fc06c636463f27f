"""The window functions (``signal_windows.py``) against PyTorch: lengths 0, 1 and more,
periodic and symmetric, dtypes, shape parameters, errors."""

import pytest

import mbtorch as mt
from tests.core.torch_parity import same

torch = pytest.importorskip("torch")

NAMES = ["bartlett_window", "blackman_window", "hamming_window", "hann_window",
         "kaiser_window"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("length", [0, 1, 2, 5, 8, 33])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_windows_match_torch(name, length, periodic, dtype):
    rtol = 1e-6 if dtype == "float32" else 1e-12
    same(getattr(mt, name)(length, periodic, dtype=getattr(mt, dtype)),
         getattr(torch, name)(length, periodic, dtype=getattr(torch, dtype)),
         rtol=rtol, atol=rtol / 5)


def test_default_dtype_and_parameters():
    same(mt.hann_window(6), torch.hann_window(6))
    same(mt.hamming_window(7, True, 0.5, 0.5), torch.hamming_window(7, True, 0.5, 0.5))
    same(mt.hamming_window(7, False, alpha=0.6, beta=0.3),
         torch.hamming_window(7, False, alpha=0.6, beta=0.3))
    same(mt.kaiser_window(9, False, 5.0), torch.kaiser_window(9, False, 5.0), rtol=1e-6)
    same(mt.kaiser_window(9, True, 0.5, dtype=mt.float64),
         torch.kaiser_window(9, True, 0.5, dtype=torch.float64), rtol=1e-12)
    assert mt.hann_window(4, requires_grad=True).requires_grad


@pytest.mark.parametrize("name", NAMES)
def test_errors(name):
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch, name)(-1)
    with pytest.raises(RuntimeError) as ours:
        getattr(mt, name)(-1)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match=f"{name} expects floating point dtypes"):
        getattr(mt, name)(3, dtype=mt.int64)
    with pytest.raises(TypeError, match="window_length"):
        getattr(mt, name)(3.0)
