"""Padding, resampling and pooling layers against PyTorch: values, input gradients, reprs and
the argument errors."""

from __future__ import annotations

import pytest

import mbtorch as mt
from tests.nn._compare import check_module, close, randn, to_mt

torch = pytest.importorskip("torch")


def _pair(name, *args, **kwargs):
    return getattr(torch.nn, name)(*args, **kwargs), getattr(mt.nn, name)(*args, **kwargs)


PADS = [
    ("ZeroPad1d", (2,), (2, 3, 5)), ("ZeroPad2d", ((1, 0, 2, 1),), (2, 3, 4, 5)),
    ("ZeroPad3d", (1,), (1, 2, 3, 3, 3)), ("ConstantPad1d", ((1, 2), 3.5), (3, 5)),
    ("ConstantPad2d", (1, -1.0), (2, 3, 4, 4)), ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), 0.5),
                                                  (1, 2, 3, 3, 3)),
    ("ReflectionPad1d", (2,), (2, 3, 5)), ("ReflectionPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)),
    ("ReflectionPad3d", (1,), (2, 3, 3, 3)), ("ReplicationPad1d", ((3, 1),), (3, 4)),
    ("ReplicationPad2d", (2,), (1, 2, 3, 3)), ("ReplicationPad3d", ((1, 0, 2, 0, 0, 1),),
                                               (1, 2, 3, 3, 3)),
    ("CircularPad1d", (2,), (2, 3, 5)), ("CircularPad2d", ((1, 2, 2, 0),), (3, 4, 4)),
    ("CircularPad3d", (1,), (1, 2, 3, 3, 3)),
]


@pytest.mark.parametrize("name,args,shape", PADS, ids=lambda v: str(v))
def test_padding_layers(name, args, shape):
    t, m = _pair(name, *args)
    assert repr(m) == repr(t)
    check_module(t, m, randn(torch, *shape))


def test_padding_errors():
    with pytest.raises(NotImplementedError, match="Padding size 4 is not supported for 2D"):
        mt.nn.ReflectionPad2d(1)(mt.randn(3, 3))
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        mt.nn.CircularPad2d(1)(mt.randn(3, 3))
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        mt.nn.ReflectionPad1d(3)(mt.randn(1, 3))
    with pytest.raises(ValueError, match="ZeroPad2d: padding must be an int or a tuple of 4"):
        mt.nn.ZeroPad2d((1, 2))


UPSAMPLE = [
    dict(scale_factor=2, mode="nearest"), dict(size=(7, 5), mode="nearest"),
    dict(scale_factor=1.7, mode="nearest-exact"), dict(size=(9, 7), mode="nearest-exact"),
    dict(scale_factor=2, mode="bilinear"), dict(scale_factor=2, mode="bilinear",
                                                align_corners=True),
    dict(size=(3, 7), mode="bilinear"), dict(scale_factor=(1.5, 2.5), mode="bicubic"),
    dict(size=(8, 3), mode="bicubic", align_corners=True), dict(size=(2, 3), mode="area"),
    dict(scale_factor=0.5, mode="area"), dict(scale_factor=0.6, mode="bilinear",
                                              recompute_scale_factor=True),
]


@pytest.mark.parametrize("kw", UPSAMPLE, ids=str)
def test_upsample_2d(kw):
    t, m = _pair("Upsample", **kw)
    assert repr(m) == repr(t)
    check_module(t, m, randn(torch, 2, 3, 5, 4, dtype=torch.float64))


@pytest.mark.parametrize("kw,shape", [
    (dict(scale_factor=2.5, mode="linear"), (2, 3, 5)),
    (dict(size=4, mode="linear", align_corners=True), (2, 3, 7)),
    (dict(scale_factor=2, mode="nearest"), (2, 3, 4)),
    (dict(size=(3, 5, 4), mode="trilinear"), (1, 2, 4, 3, 5)),
    (dict(scale_factor=2, mode="trilinear", align_corners=True), (1, 2, 2, 3, 2)),
    (dict(size=(2, 3, 2), mode="area"), (1, 2, 5, 4, 3)),
    (dict(scale_factor=(2, 1, 3), mode="nearest"), (1, 2, 2, 3, 2)),
], ids=str)
def test_upsample_1d_3d(kw, shape):
    t, m = _pair("Upsample", **kw)
    check_module(t, m, randn(torch, *shape, dtype=torch.float64))


def test_legacy_upsampling_layers():
    for name, kw in (("UpsamplingNearest2d", dict(scale_factor=2)),
                     ("UpsamplingBilinear2d", dict(size=(6, 7)))):
        t, m = _pair(name, **kw)
        assert repr(m) == repr(t)
        check_module(t, m, randn(torch, 2, 3, 4, 5))


@pytest.mark.parametrize("kw,shape", [
    (dict(size=(7, 9)), (2, 3, 23, 31)),                        # down
    (dict(size=(40, 13)), (1, 2, 16, 29)),                      # up in H, down in W
    (dict(scale_factor=0.37), (1, 2, 30, 30)),                  # scale from scale_factor
    (dict(scale_factor=(0.5, 2.3)), (1, 1, 30, 31)),
    (dict(size=(7, 9), align_corners=True), (1, 2, 20, 21)),
    (dict(size=(1, 3)), (1, 1, 5, 40)),
    (dict(size=(9, 9)), (1, 1, 9, 9)),                          # same size: a copy
], ids=str)
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_interpolate_antialias_matches_torch(kw, shape, mode, dtype):
    """PyTorch's _upsample_{bilinear,bicubic}2d_aa: values and gradients."""
    x = randn(torch, *shape, dtype=getattr(torch, dtype)).requires_grad_()
    ours = to_mt(x.detach()).requires_grad_()
    expected = torch.nn.functional.interpolate(x, mode=mode, antialias=True, **kw)
    actual = mt.nn.functional.interpolate(ours, mode=mode, antialias=True, **kw)
    tol = 2e-6 if dtype == "float32" else 1e-12
    close(actual, expected, rtol=tol, atol=tol)
    grad = randn(torch, *expected.shape, dtype=expected.dtype)
    expected.backward(grad)
    actual.backward(to_mt(grad))
    close(ours.grad, x.grad, rtol=tol, atol=tol)
    if kw.get("size") == tuple(shape[2:]):
        assert actual.data_ptr() != ours.data_ptr()


def test_interpolate_errors():
    x = mt.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        mt.nn.functional.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        mt.nn.functional.interpolate(x, scale_factor=2, mode="nearest", align_corners=True)
    with pytest.raises(NotImplementedError, match="bicubic mode needs 4D input"):
        mt.nn.functional.interpolate(mt.randn(1, 2, 4), scale_factor=2, mode="bicubic")
    with pytest.raises(NotImplementedError, match="mode 'lanczos' is not supported"):
        mt.nn.functional.interpolate(x, scale_factor=2, mode="lanczos")
    # as PyTorch: antialias only for bilinear/bicubic on 4-D input
    with pytest.raises(ValueError, match="Anti-alias option is restricted to bilinear and "):
        mt.nn.functional.interpolate(x, scale_factor=2, mode="nearest", antialias=True)
    with pytest.raises(ValueError, match="requires a 4-D tensor"):
        mt.nn.functional.interpolate(mt.randn(1, 2, 4), size=2, mode="linear", antialias=True)


@pytest.mark.parametrize("name,args,kw,shape", [
    ("MaxPool3d", (2,), {}, (2, 2, 4, 5, 4)),
    ("MaxPool3d", (3,), dict(stride=2, padding=1, ceil_mode=True), (1, 2, 5, 6, 5)),
    ("AvgPool3d", (2,), dict(stride=1), (2, 2, 3, 4, 3)),
    ("AvgPool3d", (3,), dict(stride=2, padding=1, count_include_pad=False), (1, 2, 5, 5, 4)),
    ("AdaptiveAvgPool3d", ((2, 3, 1),), {}, (2, 2, 4, 5, 3)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 7)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 7, 5)),
    ("AdaptiveMaxPool1d", (3,), {}, (2, 3, 7)),
    ("AdaptiveMaxPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
    ("AdaptiveMaxPool2d", (2,), dict(return_indices=True), (2, 3, 6, 4)),
    ("AdaptiveMaxPool2d", ((3, 2),), dict(return_indices=True), (3, 7, 5)),
    ("AdaptiveMaxPool3d", ((2, 3, 2),), dict(return_indices=True), (1, 2, 5, 7, 4)),
    ("LPPool1d", (2, 3), dict(stride=2), (2, 3, 8)),
    ("LPPool2d", (3, 2), {}, (2, 3, 6, 4)),
    ("LPPool2d", (1.5, (2, 3)), dict(stride=1, ceil_mode=True), (2, 3, 5, 6)),
    ("LPPool3d", (2, 2), {}, (1, 2, 4, 4, 4)),
], ids=str)
def test_pooling_layers(name, args, kw, shape):
    t, m = _pair(name, *args, **kw)
    x = randn(torch, *shape, dtype=torch.float64)
    if name.startswith("LPPool"):
        x = x.abs() + 0.1  # fractional powers of negative sums are NaN in both
    check_module(t, m, x)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_roundtrip(n):
    shape = (2, 3) + (6,) * n
    x = randn(torch, *shape, dtype=torch.float64)
    tp = getattr(torch.nn, f"MaxPool{n}d")(2, return_indices=True)
    t_out, t_idx = tp(x)
    tu, mu = _pair(f"MaxUnpool{n}d", 2)
    assert repr(mu) == repr(tu)
    _, m_idx = getattr(mt.nn, f"MaxPool{n}d")(2, return_indices=True)(to_mt(x))
    close(m_idx, t_idx, 0, 0, "indices")
    check_module(tu, mu, t_out, t_idx)
    sizes = [s + 1 for s in shape[2:]]
    check_module(tu, mu, t_out, t_idx, kwargs={"output_size": sizes},
                 mkwargs={"output_size": sizes})


def test_pooling_errors():
    x = mt.randn(1, 2, 4, 4)
    _, idx = mt.nn.functional.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(ValueError, match="invalid output_size"):
        mt.nn.MaxUnpool2d(2)(mt.randn(1, 2, 2, 2), idx, output_size=(9, 9))
    with pytest.raises(RuntimeError, match="Expected shape of indices"):
        mt.nn.MaxUnpool2d(2)(mt.randn(1, 2, 2, 2), idx[..., :1])
    with pytest.raises(RuntimeError, match="adaptive_max_pool2d.*Expected 3D or 4D"):
        mt.nn.AdaptiveMaxPool2d(2)(mt.randn(4, 4))
    with pytest.raises(RuntimeError, match="max_pool3d.*Expected 4D or 5D"):
        mt.nn.MaxPool3d(2)(mt.randn(4, 4, 4))


def test_fold_unfold_layers():
    tu, mu = _pair("Unfold", (2, 3), dilation=1, padding=1, stride=2)
    assert repr(mu) == repr(tu)
    check_module(tu, mu, randn(torch, 2, 3, 6, 7))
    tf, mf = _pair("Fold", (4, 5), 2)
    assert repr(mf) == repr(tf)
    check_module(tf, mf, randn(torch, 2, 12, 12))


def test_pixel_and_channel_shuffle():
    for name, arg, shape in (("PixelShuffle", 2, (2, 8, 3, 4)), ("PixelShuffle", 3, (9, 2, 2)),
                             ("PixelUnshuffle", 2, (2, 3, 4, 6)),
                             ("PixelUnshuffle", 2, (5, 2, 3, 4, 2)),
                             ("ChannelShuffle", 3, (2, 6, 4, 3)), ("ChannelShuffle", 2, (1, 4, 5))):
        t, m = _pair(name, arg)
        assert repr(m) == repr(t)
        check_module(t, m, randn(torch, *shape))
    with pytest.raises(RuntimeError, match="divisible by the square of upscale_factor"):
        mt.nn.PixelShuffle(2)(mt.randn(1, 6, 2, 2))
    with pytest.raises(RuntimeError, match="divisible by downscale_factor"):
        mt.nn.PixelUnshuffle(2)(mt.randn(1, 1, 3, 2))
    with pytest.raises(RuntimeError, match="Number of channels must be divisible by groups"):
        mt.nn.ChannelShuffle(4)(mt.randn(1, 6, 2, 2))

