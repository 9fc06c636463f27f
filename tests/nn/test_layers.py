"""Every layer against PyTorch: the torch layer's weights are loaded into the mbtorch layer and
forward outputs, input gradients and parameter gradients must agree."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from tests.nn._compare import check_module, close, copy_state, randn, to_mt


def pair(torch, name: str, *args, dtype=None, **kwargs):
    """The same layer built in torch and mbtorch (mbtorch weights are overwritten later)."""
    t = getattr(torch.nn, name)(*args, **kwargs)
    m = getattr(mt.nn, name)(*args, **kwargs)
    if dtype == "float64":
        t, m = t.double(), m.double()
    return t, m


def run(torch, name, args, kwargs, shape, dtype="float32", **check):
    t, m = pair(torch, name, *args, dtype=dtype, **kwargs)
    x = randn(torch, *shape, dtype=getattr(torch, dtype))
    return check_module(t, m, x, **check)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
def test_linear(dtype, bias, shape):
    torch = pytest.importorskip("torch")
    run(torch, "Linear", (4, 3), {"bias": bias}, shape, dtype)


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear(bias):
    torch = pytest.importorskip("torch")
    t, m = pair(torch, "Bilinear", 3, 4, 5, bias=bias)
    check_module(t, m, randn(torch, 6, 3), randn(torch, 6, 4, seed=1))


CONV1D = [
    dict(),
    dict(stride=2, padding=1),
    dict(padding="same", dilation=2),
    dict(padding="valid"),
    dict(groups=2, bias=False),
    dict(padding=2, padding_mode="reflect"),
    dict(padding=1, padding_mode="circular"),
]


@pytest.mark.parametrize("kw", CONV1D, ids=str)
def test_conv1d(kw):
    torch = pytest.importorskip("torch")
    run(torch, "Conv1d", (4, 6, 3), kw, (2, 4, 11))


CONV2D = [
    dict(),
    dict(stride=2),
    dict(stride=(2, 1), padding=(1, 2)),
    dict(padding="same"),
    dict(padding="same", dilation=(2, 3)),
    dict(dilation=2, padding=1),
    dict(groups=2),
    dict(groups=4, bias=False),
    dict(padding=1, padding_mode="reflect"),
    dict(padding=(1, 2), padding_mode="replicate"),
    dict(padding=1, padding_mode="circular", stride=2),
]


@pytest.mark.parametrize("kw", CONV2D, ids=str)
def test_conv2d(kw):
    torch = pytest.importorskip("torch")
    run(torch, "Conv2d", (4, 8, 3), kw, (2, 4, 9, 8))


def test_conv2d_even_kernel_same_and_float64():
    torch = pytest.importorskip("torch")
    run(torch, "Conv2d", (2, 3, (2, 4)), dict(padding="same"), (1, 2, 6, 7))
    run(torch, "Conv2d", (2, 3, 3), dict(padding=1), (2, 2, 5, 5), "float64")
    run(torch, "Conv2d", (2, 3, 3), {}, (2, 5, 5))  # unbatched


CONVT2D = [
    dict(),
    dict(stride=2),
    dict(stride=2, padding=1, output_padding=1),
    dict(stride=(3, 2), padding=(1, 0), output_padding=(2, 1)),
    dict(groups=2, bias=False),
    dict(dilation=2, padding=1),
    dict(dilation=2, stride=2, output_padding=1),
]


@pytest.mark.parametrize("kw", CONVT2D, ids=str)
def test_conv_transpose2d(kw):
    torch = pytest.importorskip("torch")
    run(torch, "ConvTranspose2d", (4, 6, 3), kw, (2, 4, 5, 6))


def test_conv_transpose2d_output_size():
    torch = pytest.importorskip("torch")
    t, m = pair(torch, "ConvTranspose2d", 2, 3, 3, stride=2, padding=1)
    check_module(t, m, randn(torch, 1, 2, 4, 4), kwargs={"output_size": (8, 8)})


POOL1D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
          dict(kernel_size=3, stride=2, ceil_mode=True)]
POOL2D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
          dict(kernel_size=(2, 3), stride=(2, 2), ceil_mode=True),
          dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)]


@pytest.mark.parametrize("kw", POOL1D + [dict(kernel_size=2, dilation=2)], ids=str)
def test_max_pool1d(kw):
    torch = pytest.importorskip("torch")
    run(torch, "MaxPool1d", (), kw, (2, 3, 10))
    run(torch, "MaxPool1d", (), dict(kw, return_indices=True), (2, 3, 10))


@pytest.mark.parametrize("kw", POOL2D + [dict(kernel_size=2, dilation=(1, 2), padding=1)],
                         ids=str)
def test_max_pool2d(kw):
    torch = pytest.importorskip("torch")
    run(torch, "MaxPool2d", (), kw, (2, 3, 7, 9))
    run(torch, "MaxPool2d", (), dict(kw, return_indices=True), (2, 3, 7, 9))


@pytest.mark.parametrize("include", [True, False])
@pytest.mark.parametrize("kw", POOL1D, ids=str)
def test_avg_pool1d(kw, include):
    torch = pytest.importorskip("torch")
    run(torch, "AvgPool1d", (), dict(kw, count_include_pad=include), (2, 3, 10))


@pytest.mark.parametrize("include", [True, False])
@pytest.mark.parametrize("kw", POOL2D + [dict(kernel_size=2, divisor_override=3)], ids=str)
def test_avg_pool2d(kw, include):
    torch = pytest.importorskip("torch")
    run(torch, "AvgPool2d", (), dict(kw, count_include_pad=include), (2, 3, 7, 9))


@pytest.mark.parametrize("size", [(2, 3), 3, (4, None), (1, 1), (5, 7)], ids=str)
def test_adaptive_avg_pool2d(size):
    torch = pytest.importorskip("torch")
    run(torch, "AdaptiveAvgPool2d", (size,), {}, (2, 3, 7, 9))


@pytest.mark.parametrize("name,shape", [("BatchNorm1d", (6, 4)), ("BatchNorm1d", (5, 4, 3)),
                                        ("BatchNorm2d", (3, 4, 5, 2))])
@pytest.mark.parametrize("kw", [dict(), dict(momentum=None), dict(momentum=0.3, eps=1e-3),
                                dict(affine=False)], ids=str)
def test_batch_norm_train_then_eval(name, shape, kw):
    torch = pytest.importorskip("torch")
    t, m = pair(torch, name, 4, **kw)
    copy_state(t, m)
    for step in range(3):  # running statistics must follow torch's step for step
        check_module(t, m, randn(torch, *shape, seed=step) * 2 + 1, copy=False)
        for key, tv in t.state_dict().items():
            close(m.state_dict()[key], tv, 1e-6, 1e-6, key)
    t.eval()
    m.eval()
    check_module(t, m, randn(torch, *shape, seed=9), copy=False)


@pytest.mark.parametrize("name,args,shape", [("BatchNorm1d", (4,), (5, 4)),
                                             ("GroupNorm", (2, 4), (3, 4, 5))])
def test_norm_without_bias(name, args, shape):
    torch = pytest.importorskip("torch")
    t, m = pair(torch, name, *args, bias=False)
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    with torch.no_grad():
        t.weight.normal_()
    check_module(t, m, randn(torch, *shape))


def test_batch_norm_without_running_stats():
    torch = pytest.importorskip("torch")
    t, m = pair(torch, "BatchNorm2d", 3, track_running_stats=False)
    assert list(m.state_dict()) == list(t.state_dict())
    t.eval()
    m.eval()  # batch statistics even in eval mode
    run_x = randn(torch, 2, 3, 4, 4)
    check_module(t, m, run_x)


def test_batch_norm_rejects_wrong_rank():
    with pytest.raises(ValueError, match="expected 4D input"):
        mt.nn.BatchNorm2d(3)(mt.randn(2, 3))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("args,kw", [((5,), {}), (((3, 5),), {}), ((5,), dict(eps=1e-3)),
                                     ((5,), dict(elementwise_affine=False)),
                                     ((5,), dict(bias=False))], ids=str)
def test_layer_norm(args, kw, dtype):
    torch = pytest.importorskip("torch")
    t, m = pair(torch, "LayerNorm", *args, dtype=dtype, **kw)
    with torch.no_grad():
        for p in t.parameters():
            p.normal_()
    check_module(t, m, randn(torch, 2, 3, 5, dtype=getattr(torch, dtype)) * 3)


@pytest.mark.parametrize("groups,kw", [(1, {}), (2, {}), (6, {}), (3, dict(affine=False))])
def test_group_norm(groups, kw):
    torch = pytest.importorskip("torch")
    t, m = pair(torch, "GroupNorm", groups, 6, **kw)
    with torch.no_grad():
        for p in t.parameters():
            p.normal_()
    check_module(t, m, randn(torch, 2, 6, 3, 4) * 2 + 1)
    check_module(t, m, randn(torch, 3, 6, 5), copy=False)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_statistics_and_gradient(p):
    mt.manual_seed(0)
    layer = mt.nn.Dropout(p)
    x = mt.ones(200, 200, requires_grad=True)
    y = layer(x)
    yn = y.detach().numpy()
    kept = yn != 0
    assert abs(1 - kept.mean() - p) < 0.01  # 40,000 draws: 5 standard deviations
    np.testing.assert_allclose(yn[kept], 1 / (1 - p), rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / (1 - p), rtol=1e-6)


def test_dropout_eval_and_extremes():
    x = mt.randn(10, 10)
    layer = mt.nn.Dropout(0.5).eval()
    assert layer(x) is x or np.array_equal(layer(x).numpy(), x.numpy())
    np.testing.assert_array_equal(mt.nn.Dropout(0.0)(x).numpy(), x.numpy())
    out = mt.nn.Dropout(1.0)(x)
    assert out.shape == x.shape and not out.numpy().any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        mt.nn.Dropout(1.5)


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding(padding_idx):
    torch = pytest.importorskip("torch")
    t, m = pair(torch, "Embedding", 7, 4, padding_idx=padding_idx)
    idx = torch.tensor([[0, 2, 6], [2, 2, 1]])
    check_module(t, m, idx)
    if padding_idx is not None:
        row = padding_idx % 7
        np.testing.assert_array_equal(m.weight.grad.numpy()[row], 0)
        fresh = mt.nn.Embedding(7, 4, padding_idx=padding_idx)
        np.testing.assert_array_equal(fresh.weight.detach().numpy()[row], 0)


def test_flatten_unflatten():
    torch = pytest.importorskip("torch")
    run(torch, "Flatten", (), {}, (2, 3, 4, 5))
    run(torch, "Flatten", (0, 2), {}, (2, 3, 4, 5))
    run(torch, "Unflatten", (1, (3, 4)), {}, (2, 12, 5))
    run(torch, "Unflatten", (-1, (2, -1)), {}, (2, 3, 8))


UPSAMPLE = [dict(scale_factor=2), dict(size=(5, 7)), dict(scale_factor=(1.5, 2.5)),
            dict(scale_factor=2, mode="bilinear"),
            dict(scale_factor=2, mode="bilinear", align_corners=True),
            dict(size=(7, 3), mode="bilinear", align_corners=False),
            dict(size=(7, 3), mode="bilinear", align_corners=True),
            dict(scale_factor=0.5, mode="bilinear")]


@pytest.mark.parametrize("kw", UPSAMPLE, ids=str)
def test_upsample(kw):
    torch = pytest.importorskip("torch")
    run(torch, "Upsample", (), kw, (2, 3, 4, 6), rtol=1e-5, atol=1e-5)


ACTIVATIONS = [
    ("ReLU", (), {}), ("LeakyReLU", (0.2,), {}), ("ELU", (), dict(alpha=0.7)),
    ("GELU", (), {}), ("GELU", (), dict(approximate="tanh")), ("SiLU", (), {}),
    ("Mish", (), {}), ("Sigmoid", (), {}), ("Tanh", (), {}), ("Softmax", (), dict(dim=1)),
    ("Softmax", (), dict(dim=-1)), ("LogSoftmax", (), dict(dim=1)),
    ("Softplus", (), {}), ("Softplus", (), dict(beta=2.0, threshold=3.0)),
    ("Hardtanh", (), {}), ("Hardtanh", (-0.5, 2.0), {}), ("ReLU6", (), {}),
    ("CELU", (), dict(alpha=0.5)), ("SELU", (), {}), ("Hardsigmoid", (), {}),
    ("Hardswish", (), {}), ("LogSigmoid", (), {}), ("Softsign", (), {}),
    ("Tanhshrink", (), {}), ("Softmin", (), dict(dim=0)), ("GLU", (), dict(dim=1)),
    ("Threshold", (0.1, -2.0), {}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kw", ACTIVATIONS, ids=lambda v: str(v))
def test_activation(name, args, kw, dtype):
    torch = pytest.importorskip("torch")
    # away from the kinks, where torch and mbtorch may pick different subgradients
    x = randn(torch, 4, 6, 5, dtype=getattr(torch, dtype)) * 3
    x = torch.where(x.abs() < 1e-3, torch.full_like(x, 0.5), x)
    t, m = pair(torch, name, *args, dtype=dtype, **kw)
    # torch's CPU hardsigmoid backward multiplies by the float literal 1.0f / 6.0f
    rtol = 1e-7 if name == "Hardsigmoid" and dtype == "float64" else None
    check_module(t, m, x, rtol=rtol)


def test_inplace_activation_writes_input():
    x = mt.tensor([-1.0, 2.0])
    out = mt.nn.ReLU(inplace=True)(x)
    np.testing.assert_array_equal(x.numpy(), [0.0, 2.0])
    np.testing.assert_array_equal(out.numpy(), [0.0, 2.0])


def test_softmax_default_dim_matches_torch():
    torch = pytest.importorskip("torch")
    import warnings

    for shape in [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 5)]:
        x = randn(torch, *shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = torch.nn.Softmax()(x)
        close(mt.nn.Softmax()(to_mt(x)), expected, 1e-6, 1e-6, str(shape))


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    torch = pytest.importorskip("torch")
    x = torch.tensor([[[[1.0, 1.0, 0.0, 2.0], [1.0, 0.0, 2.0, 2.0]]]])
    run_t = torch.nn.MaxPool2d(2, return_indices=True)
    run_m = mt.nn.MaxPool2d(2, return_indices=True)
    check_module(run_t, run_m, x)


def test_conv_argument_errors():
    with pytest.raises(ValueError, match="strided"):
        mt.nn.Conv2d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        mt.nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        mt.nn.Conv1d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="zeros"):
        mt.nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(RuntimeError, match="channels"):
        mt.nn.Conv2d(3, 4, 3)(mt.randn(1, 2, 5, 5))
