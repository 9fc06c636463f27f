"""Activation, dropout, normalisation, convolution, embedding-bag, distance and container
layers against PyTorch (weights through the state dict; outputs and gradients compared), the
``torch.nn.modules.*`` import paths, and the module-class coverage of ``torch.nn``."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

import mbtorch as mt
from tests.nn._compare import check_module, close, randn, to_mt

torch = pytest.importorskip("torch")


def _pair(name, *args, **kwargs):
    return getattr(torch.nn, name)(*args, **kwargs), getattr(mt.nn, name)(*args, **kwargs)


ACTIVATIONS = [
    ("Hardshrink", {}), ("Hardshrink", {"lambd": 1.1}), ("Softshrink", {}),
    ("Softshrink", {"lambd": 0.2}), ("Tanhshrink", {}), ("Threshold", {"threshold": 0.1,
                                                                       "value": -2.0}),
    ("GLU", {}), ("GLU", {"dim": 1}), ("Softmin", {"dim": 1}), ("LogSigmoid", {}),
    ("CELU", {"alpha": 0.7}), ("SELU", {}), ("Mish", {}), ("Hardswish", {}), ("Hardsigmoid", {}),
    ("RReLU", {}), ("RReLU", {"lower": 0.05, "upper": 0.4}), ("PReLU", {}),
    ("PReLU", {"num_parameters": 4, "init": 0.1}),
]


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=str)
def test_activations(name, kw):
    t, m = _pair(name, **kw)
    t.eval()
    m.eval()  # RReLU's slope is the mean of its bounds in evaluation, random in training
    assert repr(m) == repr(t)
    # float32: several of PyTorch's backward kernels use single-precision constants even for
    # float64 (hardsigmoid's 1/6, celu's 1/alpha), so float64 agrees only to ~1e-8 anyway
    check_module(t, m, randn(torch, 3, 4, 6))
    check_module(t, m, randn(torch, 6, 4, seed=1), copy=False)


def test_softmax2d():
    t, m = _pair("Softmax2d")
    check_module(t, m, randn(torch, 2, 3, 4, 5))
    check_module(t, m, randn(torch, 3, 4, 5))
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D"):
        m(mt.randn(4, 5))


def test_rrelu_training_slopes_in_range():
    m = mt.nn.RReLU(0.1, 0.3)
    x = -mt.ones(2000)
    y = m(x)
    slopes = -y.numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    assert np.array_equal(m(mt.ones(5)).numpy(), np.ones(5, np.float32))
    with pytest.raises(RuntimeError, match="lower bound .* should be less than or equal"):
        mt.nn.functional.rrelu(x, 0.5, 0.1, training=True)


def test_prelu_errors():
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel"):
        mt.nn.PReLU(3)(mt.randn(2, 4))


@pytest.mark.parametrize("name,shape,per", [
    ("Dropout3d", (8, 50, 2, 2, 2), (8, 50, 1, 1, 1)), ("Dropout3d", (50, 2, 2, 2), (50, 1, 1, 1)),
    ("FeatureAlphaDropout", (8, 50, 3, 2), (8, 50, 1, 1)), ("AlphaDropout", (40, 50), (40, 50)),
])
def test_dropouts(name, shape, per):
    m = getattr(mt.nn, name)(p=0.3)
    assert repr(m) == repr(getattr(torch.nn, name)(p=0.3))
    mt.manual_seed(0)
    x = mt.randn(*shape) + 3.0  # no input equals a dropped unit's value
    y = m(x).numpy()
    xn = x.numpy()
    if name == "Dropout3d":
        dropped = (y == 0)
        scaled = np.isclose(y, xn / 0.7, rtol=1e-5)
    else:
        a = (1.0 / ((1 - 0.3) * (1 + 0.3 * 1.7580993408473766 ** 2))) ** 0.5
        b = a * 1.7580993408473766 * 0.3
        dropped = np.isclose(y, -1.7580993408473766 * a + b, rtol=1e-5)
        scaled = np.isclose(y, xn * a + b, rtol=1e-5)
    assert np.all(dropped | scaled)
    # one decision per channel (or per element for AlphaDropout)
    per_unit = dropped.reshape(per + (-1,))
    assert np.all(per_unit.all(-1) | (~per_unit).all(-1))
    assert 0.15 < dropped.mean() < 0.45
    m.eval()
    assert np.array_equal(m(x).numpy(), xn)


def test_alpha_dropout_keeps_selu_statistics():
    mt.manual_seed(1)
    x = mt.randn(200000)
    y = mt.nn.functional.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1.0) < 0.02
    assert np.all(mt.nn.functional.alpha_dropout(x, 1.0, training=True).numpy() == 0)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        mt.nn.AlphaDropout(1.5)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm3d_and_sync(momentum):
    for name in ("BatchNorm3d", "SyncBatchNorm"):
        t, m = _pair(name, 3, momentum=momentum)
        shape = (2, 3, 3, 2, 4) if name == "BatchNorm3d" else (4, 3, 5)
        x = randn(torch, *shape, dtype=torch.float64)
        t.double()
        m.double()
        check_module(t, m, x)
        check_module(t, m, x * 2 + 1, copy=False)
        for k, v in t.state_dict().items():
            close(m.state_dict()[k], v, 1e-10, 1e-12, k)
        t.eval()
        m.eval()
        check_module(t, m, x, copy=False)
    with pytest.raises(ValueError, match="expected 5D input"):
        mt.nn.BatchNorm3d(3)(mt.randn(2, 3, 4, 4))


def test_convert_sync_batchnorm():
    net = mt.nn.Sequential(mt.nn.Conv2d(2, 3, 1), mt.nn.BatchNorm2d(3))
    conv = mt.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert isinstance(conv[1], mt.nn.SyncBatchNorm) and conv[1].weight is net[1].weight
    assert list(conv.state_dict()) == list(net.state_dict())


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (True, True)])
def test_instance_norm(n, affine, track):
    t, m = _pair(f"InstanceNorm{n}d", 3, affine=affine, track_running_stats=track)
    assert list(m.state_dict()) == list(t.state_dict())
    assert repr(m) == repr(t)
    x = randn(torch, *((2, 3) + (4, 5, 3)[:n]), dtype=torch.float64)
    t.double()
    m.double()
    check_module(t, m, x)
    check_module(t, m, x[0] * 3 - 1, copy=False)  # unbatched
    for k, v in t.state_dict().items():
        close(m.state_dict()[k], v, 1e-10, 1e-12, k)
    if track:
        t.eval()
        m.eval()
        check_module(t, m, x, copy=False)
    with pytest.raises(ValueError, match="expected .*D input"):
        m(mt.randn(*((3,) * (n + 3))))


def test_rms_norm():
    for kw in ({}, {"eps": 1e-3}, {"elementwise_affine": False}):
        t, m = _pair("RMSNorm", [3, 4], **kw)
        assert repr(m) == repr(t)
        with torch.no_grad():
            for p in t.parameters():
                p.uniform_(0.5, 1.5)
        check_module(t, m, randn(torch, 2, 5, 3, 4))
    with pytest.raises(RuntimeError, match="rms_norm.*expected input with shape"):
        mt.nn.RMSNorm(4)(mt.randn(2, 3))


def test_local_response_norm():
    for name, shape, args in (("LocalResponseNorm", (2, 6, 5), (3,)),
                              ("LocalResponseNorm", (2, 7, 4, 3), (4, 1e-2, 0.6, 2.0)),
                              ("LocalResponseNorm", (1, 5, 3, 2, 2), (2,)),
                              ("CrossMapLRN2d", (2, 6, 4, 3), (3, 1e-3, 0.75, 1)),
                              ("CrossMapLRN2d", (2, 7, 2, 3), (4, 0.5, 0.6, 2.0)),
                              ("CrossMapLRN2d", (1, 3, 2, 2), (5, 0.3))):
        t, m = _pair(name, *args)
        x = randn(torch, *shape, dtype=torch.float64)
        if name == "CrossMapLRN2d":  # PyTorch's is a legacy Function: compare values only
            close(m(to_mt(x)), t(x), 1e-10, 1e-12, name)
        else:
            assert repr(m) == repr(t)
            check_module(t, m, x)
    with pytest.raises(ValueError, match="Expected 3D or higher dimensionality input"):
        mt.nn.LocalResponseNorm(2)(mt.randn(3, 4))


CONV3D = [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=2, bias=False),
          dict(groups=2, padding=(1, 0, 1)), dict(padding=1, padding_mode="circular")]


@pytest.mark.parametrize("kw", CONV3D, ids=str)
def test_conv3d(kw):
    t, m = _pair("Conv3d", 4, 6, 3, **kw)
    assert repr(m) == repr(t)
    check_module(t, m, randn(torch, 2, 4, 5, 6, 5), rtol=1e-4, atol=1e-5)
    check_module(t, m, randn(torch, 4, 5, 5, 5, seed=1), copy=False, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, output_padding=1),
                                dict(groups=2, dilation=2, bias=False),
                                dict(stride=(2,) * 3, padding=2)], ids=str)
def test_conv_transpose_1d_3d(n, kw):
    kw = {k: (v[:n] if isinstance(v, tuple) else v) for k, v in kw.items()}
    t, m = _pair(f"ConvTranspose{n}d", 4, 6, 3, **kw)
    assert repr(m) == repr(t)
    shape = (2, 4) + (5, 4, 6)[:n]
    check_module(t, m, randn(torch, *shape), rtol=1e-4, atol=1e-5)


def test_conv_transpose_output_size():
    t, m = _pair("ConvTranspose1d", 3, 2, 3, stride=2)
    size = [12]
    check_module(t, m, randn(torch, 1, 3, 5), kwargs={"output_size": size},
                 mkwargs={"output_size": size})
    with pytest.raises(ValueError, match="requested an output size of"):
        m(mt.randn(1, 3, 5), output_size=[20])
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported'):
        mt.nn.ConvTranspose3d(2, 2, 3, padding_mode="reflect")


BAGS = [
    dict(mode="sum"), dict(mode="mean"), dict(mode="max"), dict(mode="mean", padding_idx=2),
    dict(mode="sum", include_last_offset=True), dict(mode="max", padding_idx=0),
]


@pytest.mark.parametrize("kw", BAGS, ids=str)
def test_embedding_bag(kw):
    t, m = _pair("EmbeddingBag", 10, 3, **kw)
    assert list(m.state_dict()) == ["weight"] and repr(m) == repr(t)
    idx = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9, 0, 2])
    offsets = torch.tensor([0, 3, 3, 7]) if not kw.get("include_last_offset") \
        else torch.tensor([0, 3, 3, 7, 10])
    check_module(t, m, idx, offsets)
    check_module(t, m, torch.tensor([[1, 2, 0], [4, 2, 2]]), copy=False)


def test_embedding_bag_per_sample_weights_and_pretrained():
    t, m = _pair("EmbeddingBag", 6, 2, mode="sum")
    idx, off = torch.tensor([0, 1, 5, 2]), torch.tensor([0, 2])
    psw = randn(torch, 4)
    check_module(t, m, idx, off, psw)
    w = randn(torch, 4, 2)
    tb = torch.nn.EmbeddingBag.from_pretrained(w, mode="max")
    mb = mt.nn.EmbeddingBag.from_pretrained(to_mt(w), mode="max")
    assert not mb.weight.requires_grad
    close(mb(to_mt(torch.tensor([[0, 3], [2, 1]]))), tb(torch.tensor([[0, 3], [2, 1]])), 0, 0)
    with pytest.raises(ValueError, match="offsets has to be None"):
        m(mt.tensor([[0, 1]]), mt.tensor([0]))
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for"):
        mt.nn.EmbeddingBag(6, 2, mode="mean")(mt.tensor([0, 1]), mt.tensor([0]),
                                              mt.ones(2))
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        m(mt.tensor([0, 1]), mt.tensor([1]))


def test_distances():
    for kw in ({}, {"p": 1.0, "keepdim": True}, {"p": 3.0, "eps": 1e-3}):
        t, m = _pair("PairwiseDistance", **kw)
        check_module(t, m, randn(torch, 5, 4), randn(torch, 5, 4, seed=1))
        check_module(t, m, randn(torch, 4), randn(torch, 4, seed=2), copy=False)
    for kw in ({}, {"dim": 0, "eps": 1e-6}):
        t, m = _pair("CosineSimilarity", **kw)
        check_module(t, m, randn(torch, 5, 4), randn(torch, 5, 4, seed=1))


def test_container_and_data_parallel():
    with pytest.warns(UserWarning, match="nn.Container is deprecated"):
        c = mt.nn.Container(a=mt.nn.Linear(2, 3), b=mt.nn.ReLU())
    assert list(c.state_dict()) == ["a.weight", "a.bias"]
    inner_t, inner_m = torch.nn.Linear(3, 2), mt.nn.Linear(3, 2)
    t, m = torch.nn.DataParallel(inner_t), mt.nn.DataParallel(inner_m)
    assert list(m.state_dict()) == list(t.state_dict()) == ["module.weight", "module.bias"]
    check_module(t, m, randn(torch, 4, 3))
    sd = dict(m.state_dict())
    mt.nn.modules.utils.consume_prefix_in_state_dict_if_present(sd, "module.")
    mt.nn.Linear(3, 2).load_state_dict(sd)
    with pytest.raises(NotImplementedError, match="DataParallel: splitting a batch"):
        mt.nn.DataParallel(mt.nn.Linear(3, 2), device_ids=[0, 1])


def test_adaptive_log_softmax():
    args = (8, 20, [4, 10, 15])
    t = torch.nn.AdaptiveLogSoftmaxWithLoss(*args, div_value=2.0, head_bias=True)
    m = mt.nn.AdaptiveLogSoftmaxWithLoss(*args, div_value=2.0, head_bias=True)
    assert list(m.state_dict()) == list(t.state_dict())
    target = torch.tensor([0, 5, 19, 3, 12, 10, 4, 16])
    check_module(t, m, randn(torch, 8, 8, dtype=torch.float64).float(), target)
    x = randn(torch, 6, 8)
    close(m.log_prob(to_mt(x)), t.log_prob(x), 1e-5, 1e-6, "log_prob")
    close(m.predict(to_mt(x)), t.predict(x), 0, 0, "predict")
    out = m(to_mt(x[0]), mt.tensor(7))
    close(out.output, t(x[0], torch.tensor(7)).output, 1e-5, 1e-6, "unbatched")
    with pytest.raises(RuntimeError, match="Target values should be in \\[0, 19\\]"):
        m(to_mt(x[:2]), mt.tensor([0, 20]))
    with pytest.raises(ValueError, match="cutoffs should be a sequence of unique"):
        mt.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4, 4])


def test_fractional_max_pool():
    for n, shape, kw in ((2, (2, 3, 9, 11), dict(output_size=(4, 5))),
                         (2, (3, 10, 10), dict(output_ratio=0.5)),
                         (3, (1, 2, 7, 8, 9), dict(output_size=(3, 4, 5)))):
        x = randn(torch, *shape, dtype=torch.float64)
        batch = 1 if len(shape) == n + 1 else shape[0]
        samples = torch.from_numpy(np.random.default_rng(n).random((batch, shape[-n - 1], n)))
        t = getattr(torch.nn, f"FractionalMaxPool{n}d")(2, return_indices=True,
                                                        _random_samples=samples, **kw)
        m = getattr(mt.nn, f"FractionalMaxPool{n}d")(2, return_indices=True,
                                                     _random_samples=to_mt(samples), **kw)
        assert list(m.state_dict()) == list(t.state_dict()) == ["_random_samples"]
        check_module(t, m, x)
    drawn = mt.nn.FractionalMaxPool2d(2, output_ratio=(0.5, 0.5))(mt.randn(1, 2, 8, 8))
    assert drawn.shape == (1, 2, 4, 4)
    with pytest.raises(ValueError, match="output_ratio must be between 0 and 1"):
        mt.nn.FractionalMaxPool2d(2, output_ratio=1.5)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        mt.nn.FractionalMaxPool3d(2, output_size=2, output_ratio=0.5)


# torch.nn.modules submodules whose classes are all lazy, internal, or functions only
_SKIP_SUBMODULES = {"linear_cross_entropy", "linear_cross_entropy_options", "_functions"}


def _torch_module_paths():
    import pkgutil

    import torch.nn.modules as tm

    return [i.name for i in pkgutil.iter_modules(tm.__path__) if i.name not in _SKIP_SUBMODULES]


@pytest.mark.parametrize("sub", _torch_module_paths())
def test_module_import_paths(sub):
    """``import torch.nn.modules.<sub>`` programs work after ``import mbtorch as torch``: the
    same submodule exists, and its classes are the public ``nn`` classes."""
    t_sub = importlib.import_module(f"torch.nn.modules.{sub}")
    m_sub = importlib.import_module(f"mbtorch.nn.modules.{sub}")
    names = [n for n in getattr(t_sub, "__all__", []) if inspect.isclass(getattr(t_sub, n))]
    for name in names:
        if hasattr(torch.nn, name):
            assert getattr(m_sub, name) is getattr(mt.nn, name), f"{sub}.{name}"
        elif not name.startswith("Lazy"):  # torch re-exports its lazy classes per family
            assert hasattr(m_sub, name), f"{sub}.{name}"
    if sub == "utils":
        assert m_sub._pair(3) == (3, 3) and m_sub._triple((1, 2, 3)) == (1, 2, 3)


def test_torch_nn_module_class_coverage():
    """Every ``torch.nn`` layer class is in ``mbtorch.nn``."""
    classes = [n for n, v in vars(torch.nn).items()
               if inspect.isclass(v) and issubclass(v, torch.nn.Module)]
    assert len(classes) > 150
    missing = [n for n in classes if not hasattr(mt.nn, n)]
    assert missing == []
    for n in classes:
        if hasattr(mt.nn, n):
            assert issubclass(getattr(mt.nn, n), mt.nn.Module), n


@pytest.mark.parametrize("kw", [dict(max_norm=1.0), dict(max_norm=0.5, norm_type=1.0),
                                dict(scale_grad_by_freq=True),
                                dict(scale_grad_by_freq=True, padding_idx=1)], ids=str)
def test_embedding_max_norm_and_scale_grad_by_freq(kw):
    t, m = _pair("Embedding", 6, 3, **kw)
    assert repr(m) == repr(t)
    idx = torch.tensor([[0, 2, 2], [5, 1, 2]])
    check_module(t, m, idx)
    close(m.weight, t.weight, 1e-6, 1e-7, "weight renormalised in place alike")
    t, m = _pair("EmbeddingBag", 6, 3, mode="sum", **{k: v for k, v in kw.items()
                                                      if k == "max_norm"})
    check_module(t, m, idx)
