"""``mbtorch.fft`` against ``torch.fft``: sample frequencies and shifts, and the transforms
(values, output dtypes, ``n``/``s``/``dim``/``norm``, gradients and errors)."""

from __future__ import annotations

import warnings

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


def test_namespace_matches_torch_fft():
    for name in mt.fft.__all__:
        assert hasattr(torch.fft, name), name
    public = {n for n in dir(torch.fft) if not n.startswith("_") and callable(getattr(
        torch.fft, n))}
    assert public <= set(mt.fft.__all__) | {"Tensor"}


# -- the transforms ---------------------------------------------------------------------------
_RNG = np.random.default_rng(11)
_XR = _RNG.standard_normal((3, 5, 6))
_XC = _RNG.standard_normal((3, 5, 6)) + 1j * _RNG.standard_normal((3, 5, 6))
_ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
_N_D = ["fft2", "ifft2", "fftn", "ifftn", "rfft2", "irfft2", "rfftn", "irfftn", "hfft2",
        "ihfft2", "hfftn", "ihfftn"]
_REAL_ONLY = ("rfft", "ihfft")


def _np(t):
    return t.detach().resolve_conj().numpy() if isinstance(t, torch.Tensor) else \
        t.detach().numpy()


def _check_transform(name, x, atol, **kw):
    ours = getattr(mt.fft, name)(mt.tensor(x), **kw)
    theirs = getattr(torch.fft, name)(torch.tensor(x), **kw)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-4, atol=atol)


@pytest.mark.parametrize("name", _ONE_D)
@pytest.mark.parametrize("kind", ["float32", "float64", "complex64", "int64"])
@pytest.mark.parametrize("n, dim", [(None, -1), (3, -1), (8, 0), (4, 1), (None, 1)])
@pytest.mark.parametrize("norm", [None, "backward", "ortho", "forward"])
def test_one_dim_transforms_match_torch(name, kind, n, dim, norm):
    if kind == "int64":
        x = (_XR * 4).astype(np.int64)
    else:
        x = (_XC if kind.startswith("complex") else _XR).astype(kind)
    if name.startswith(_REAL_ONLY) and kind.startswith("complex"):
        with pytest.raises(RuntimeError, match="expects a real input tensor"):
            getattr(mt.fft, name)(mt.tensor(x))
        return
    atol = 1e-9 if kind == "float64" else 1e-4
    _check_transform(name, x, atol, n=n, dim=dim, norm=norm)


@pytest.mark.parametrize("name", _N_D)
@pytest.mark.parametrize("complex_input", [False, True])
@pytest.mark.parametrize("s, dim", [(None, None), ((3, 4), None), (None, (0, 2)),
                                    ((4, 5), (2, 0)), ((-1, 7), (0, 1))])
@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
def test_n_dim_transforms_match_torch(name, complex_input, s, dim, norm):
    if name.startswith(_REAL_ONLY) and complex_input:
        return
    kw = {"norm": norm}
    if s is not None:
        kw["s"] = s
    if dim is not None:
        kw["dim"] = dim
    _check_transform(name, _XC if complex_input else _XR, 1e-9, **kw)


def _loss(t, y):
    # a real loss that reads real and imaginary parts unevenly (a plain |y|^2 would hide
    # conjugation mistakes)
    if y.is_complex():
        return (y * y).real.sum() + y.abs().sum() + (y.imag * 3.0).sum()
    return (y * y).sum() + y.sum()


@pytest.mark.parametrize("name", _ONE_D + _N_D)
@pytest.mark.parametrize("complex_input", [False, True])
def test_transform_gradients_match_torch(name, complex_input):
    if name.startswith(_REAL_ONLY) and complex_input:
        return
    x = (_XC if complex_input else _XR)[0]
    kws = [{}, {"norm": "ortho"}]
    kws += [{"n": 5}, {"n": 8, "dim": 0}] if name in _ONE_D else \
        [{"s": (3, 5)}, {"s": (5, 9), "norm": "forward"}]
    for kw in kws:
        ours = mt.tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        _loss(mt, getattr(mt.fft, name)(ours, **kw)).backward()
        _loss(torch, getattr(torch.fft, name)(theirs, **kw)).backward()
        np.testing.assert_allclose(_np(ours.grad), _np(theirs.grad), rtol=1e-6, atol=1e-9)


def test_transform_examples_and_dtypes():
    out = mt.fft.fft(mt.tensor([1.0, 2.0, 3.0, 4.0]))
    assert out.dtype is mt.complex64
    assert out.tolist() == [10 + 0j, -2 + 2j, -2 + 0j, -2 - 2j]
    assert mt.fft.irfft(mt.ones(4)).dtype is mt.float32
    assert mt.fft.hfft(mt.ones(4, dtype=mt.float64)).dtype is mt.float64
    assert mt.fft.fft(mt.ones(4, dtype=mt.bool)).dtype is mt.complex64
    x = mt.tensor(_XR)
    back = mt.fft.irfftn(mt.fft.rfftn(x), s=x.shape)
    np.testing.assert_allclose(back.numpy(), _XR, atol=1e-12)
    assert mt.fft.fftn(mt.tensor(2.0)).tolist() == 2 + 0j  # no dims: the input made complex


@pytest.mark.parametrize("call, exc, msg", [
    (lambda f: f.fft(mt.ones(4), norm="bad"), RuntimeError, "Invalid normalization mode"),
    (lambda f: f.fft(mt.ones(4), n=0), RuntimeError, "Invalid number of data points \\(0\\)"),
    (lambda f: f.fft(mt.ones(4), n=-1), RuntimeError, "Invalid number of data points"),
    (lambda f: f.fft(mt.ones(4), n=2.5), TypeError, "'n' must be int"),
    (lambda f: f.fft(mt.ones(4), dim=3), IndexError, "Dimension out of range"),
    (lambda f: f.fft(mt.tensor(1.0)), IndexError, "no dimensions"),
    (lambda f: f.fft(mt.ones(0)), RuntimeError, "Invalid number of data points \\(0\\)"),
    (lambda f: f.irfft(mt.ones(1, dtype=mt.complex64)), RuntimeError, "data points \\(0\\)"),
    (lambda f: f.fft2(mt.ones(4)), IndexError, "Dimension out of range"),
    (lambda f: f.fftn(mt.ones(2, 3), dim=(0, 0)), RuntimeError, "FFT dims must be unique"),
    (lambda f: f.fftn(mt.ones(4, 4), s=(2,), dim=(0, 1)), RuntimeError, "same length"),
    (lambda f: f.rfft(mt.ones(4, dtype=mt.complex64)), RuntimeError, "real input tensor"),
    (lambda f: f.fft(mt.ones(4, dtype=mt.float16)), RuntimeError, "Unsupported dtype Half"),
    (lambda f: f.fft(mt.ones(4, dtype=mt.bfloat16)), RuntimeError, "Unsupported dtype"),
    (lambda f: f.fft("a"), TypeError, "must be Tensor"),
])
def test_transform_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(mt.fft)


def test_fft_decomposition_matches_the_native_kernel():
    """The DFT-as-matmul decomposition (for backends with complex dtypes and no FFT) agrees
    with NumPy's FFT, both directions, along an inner dim."""
    from mbtorch.core.ops.complex import _fft_as_matmul, fft_c2c

    for dtype, atol in ((mt.complex128, 1e-12), (mt.complex64, 1e-4)):
        x = mt.tensor(_XC, dtype=dtype)
        for dim, inverse in ((2, False), (1, True), (0, False)):
            native, decomposed = fft_c2c(x, dim, inverse), _fft_as_matmul(x, dim, inverse)
            assert decomposed.dtype is dtype and decomposed.shape == native.shape
            np.testing.assert_allclose(decomposed.numpy(), native.numpy(), atol=atol)


# -- stft / istft -----------------------------------------------------------------------------
_SIG = _RNG.standard_normal((2, 50))


@pytest.mark.parametrize("signal", ["batch", "single", "complex"])
@pytest.mark.parametrize("kw", [
    {"n_fft": 8}, {"n_fft": 16, "hop_length": 3}, {"n_fft": 8, "win_length": 6, "center": False},
    {"n_fft": 8, "normalized": True}, {"n_fft": 8, "onesided": False},
    {"n_fft": 10, "hop_length": 5, "pad_mode": "constant"},
])
@pytest.mark.parametrize("hann", [False, True])
def test_stft_and_istft_match_torch(signal, kw, hann):
    x = {"batch": _SIG, "single": _SIG[0], "complex": _SIG + 0.5j * _SIG[::-1]}[signal]
    wl = kw.get("win_length", kw["n_fft"])
    mw = mt.hann_window(wl, dtype=mt.float64) if hann else None
    tw = torch.hann_window(wl, dtype=torch.float64) if hann else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rectangular-window advice, in both libraries
        ours = mt.tensor(x).stft(window=mw, return_complex=True, **kw)
        theirs = torch.stft(torch.tensor(x), window=tw, return_complex=True, **kw)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-10)
        ikw = {k: v for k, v in kw.items() if k != "pad_mode"}
        for length in (x.shape[-1], None, 60):
            call = dict(window=None, length=length, return_complex=signal == "complex", **ikw)
            try:
                expected = torch.istft(theirs, **{**call, "window": tw})
            except RuntimeError:
                with pytest.raises(RuntimeError):
                    mt.istft(ours, **{**call, "window": mw})
                continue
            got = mt.istft(ours, **{**call, "window": mw})
            np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-10)


def test_stft_gradient_and_errors():
    x = mt.tensor(_SIG, requires_grad=True)
    tx = torch.tensor(_SIG, requires_grad=True)
    w, tw = mt.hann_window(8, dtype=mt.float64), torch.hann_window(8, dtype=torch.float64)
    mt.stft(x, 8, window=w, return_complex=True).abs().sum().backward()
    torch.stft(tx, 8, window=tw, return_complex=True).abs().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-10)
    with pytest.raises(RuntimeError, match="return_complex"):
        mt.stft(mt.ones(20), 8)
    with pytest.warns(UserWarning, match="window was not provided"):
        mt.stft(mt.ones(20), 8, return_complex=True)
    with pytest.raises(RuntimeError, match="1D or 2D"):
        mt.stft(mt.ones(2, 2, 20), 8, return_complex=True)
    with pytest.raises(RuntimeError, match="complex-valued input"):
        mt.istft(mt.ones(5, 3), 8)
