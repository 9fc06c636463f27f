"""Memory formats (``mbtorch.core.memory_format``) against PyTorch: the strides of
``contiguous``/``clone``/``to``/``empty``/``*_like`` in each format, ``is_contiguous`` per
format, values and gradients through a channels-last copy, and the errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(4)
FORMATS = ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format")


def pair(*shape):
    a = RNG.normal(size=shape)
    return mt.tensor(a), torch.tensor(a)


# the same view taken of an (mbtorch, torch) pair
VIEWS = {
    "plain": lambda x: x,
    "nhwc_permuted": lambda x: x.permute(0, 2, 3, 1),
    "transposed": lambda x: x.transpose(1, 3),
    "sliced": lambda x: x[:, :, ::2],
    "permuted_sliced": lambda x: x.permute(0, 2, 3, 1)[:, ::2],
    "channels_last": lambda x: x.contiguous(memory_format=fmt_of(x, "channels_last")),
    "channels_last_sliced": lambda x: x.contiguous(
        memory_format=fmt_of(x, "channels_last"))[:, :, ::2],
    "size_one_dims": lambda x: x[:1, :, :1],
}


def fmt_of(x, name):
    return getattr(mt if isinstance(x, mt.Tensor) else torch, name)


def test_formats_are_torchs_names_and_reprs():
    for name in FORMATS:
        assert repr(getattr(mt, name)) == repr(getattr(torch, name))
    assert mt.legacy_contiguous_format is mt.contiguous_format
    assert isinstance(mt.channels_last, mt.memory_format)


@pytest.mark.parametrize("view", VIEWS)
def test_is_contiguous_per_format(view):
    m, t = (VIEWS[view](x) for x in pair(2, 3, 4, 5))
    for name in ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format"):
        assert (m.is_contiguous(memory_format=fmt_of(m, name))
                == t.is_contiguous(memory_format=fmt_of(t, name))), name
    assert m.is_contiguous() == t.is_contiguous()


@pytest.mark.parametrize("view", VIEWS)
def test_contiguous_and_to_in_channels_last(view):
    m, t = (VIEWS[view](x) for x in pair(2, 3, 4, 5))
    if m.ndim != 4:
        pytest.skip("the view changed the rank")
    for conv in (lambda x, f: x.contiguous(memory_format=f),
                 lambda x, f: x.to(memory_format=f)):
        cm, ct = conv(m, mt.channels_last), conv(t, torch.channels_last)
        assert cm.stride() == ct.stride()
        assert (cm.is_contiguous(memory_format=mt.channels_last)
                == ct.is_contiguous(memory_format=torch.channels_last))
        assert_close(cm, ct, 0, 0)
        back_m, back_t = cm.contiguous(), ct.contiguous()
        assert back_m.stride() == back_t.stride()
        assert_close(back_m, back_t, 0, 0)
    assert ((m.to(memory_format=mt.channels_last) is m)
            == (t.to(memory_format=torch.channels_last) is t))
    d = m.to(mt.float32, memory_format=mt.channels_last)
    assert d.dtype is mt.float32 and d.stride() == t.float().contiguous(
        memory_format=torch.channels_last).stride()


def test_channels_last_3d():
    m, t = pair(2, 3, 4, 5, 6)
    cm = m.contiguous(memory_format=mt.channels_last_3d)
    assert cm.stride() == t.contiguous(memory_format=torch.channels_last_3d).stride()
    assert cm.is_contiguous(memory_format=mt.channels_last_3d)
    assert_close(cm, t, 0, 0)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("fmt", ["preserve_format", "contiguous_format", "channels_last", None])
def test_like_factories_and_clone_lay_out_like_torch(view, fmt):
    m, t = (VIEWS[view](x) for x in pair(2, 3, 4, 5))
    kw_m = {} if fmt is None else {"memory_format": getattr(mt, fmt)}
    kw_t = {} if fmt is None else {"memory_format": getattr(torch, fmt)}
    for name in ("empty_like", "zeros_like", "ones_like"):
        om, ot = getattr(mt, name)(m, **kw_m), getattr(torch, name)(t, **kw_t)
        assert om.shape == ot.shape and _strides_agree(om, ot), name
    fm, ft = mt.full_like(m, 7.0, **kw_m), torch.full_like(t, 7.0, **kw_t)
    assert _strides_agree(fm, ft)
    assert_close(fm, ft, 0, 0)
    cm, ct = m.clone(**kw_m), t.clone(**kw_t)
    assert _strides_agree(cm, ct)
    assert_close(cm, ct, 0, 0)


def _strides_agree(m, t):
    # a size-1 dim's stride is not part of a layout (PyTorch itself varies it between paths)
    return all(a == b for a, b, s in zip(m.stride(), t.stride(), t.shape) if s != 1)


def test_empty_in_a_format():
    assert (mt.empty(2, 3, 4, 5, memory_format=mt.channels_last).stride()
            == torch.empty(2, 3, 4, 5, memory_format=torch.channels_last).stride())
    assert mt.empty(2, 3, memory_format=mt.contiguous_format).stride() == (3, 1)
    assert (mt.empty((1, 2, 3, 4, 5), memory_format=mt.channels_last_3d).stride()
            == torch.empty((1, 2, 3, 4, 5), memory_format=torch.channels_last_3d).stride())


def test_channels_last_values_writes_and_gradients():
    a = RNG.normal(size=(2, 3, 4, 5))
    xm = mt.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    ym, yt = xm.contiguous(memory_format=mt.channels_last), xt.contiguous(
        memory_format=torch.channels_last)
    w = RNG.normal(size=(4, 3, 3, 3))
    om = mt.conv2d(ym * 2.0, mt.tensor(w), None, 1, 1)
    ot = torch.conv2d(yt * 2.0, torch.tensor(w), None, 1, 1)
    assert_close(om.detach(), ot.detach(), 1e-10, 1e-10)
    (om ** 2).sum().backward()
    (ot ** 2).sum().backward()
    assert_close(xm.grad, xt.grad, 1e-10, 1e-10)
    zm = mt.zeros(2, 3, 4, 5).contiguous(memory_format=mt.channels_last)
    zm[:, 1] = 5.0
    zm.add_(1.0)
    zt = torch.zeros(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    zt[:, 1] = 5.0
    zt.add_(1.0)
    assert_close(zm, zt, 0, 0)
    assert zm.stride() == zt.stride()


def test_errors_match_torch():
    m = mt.ones(2, 3)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last"):
        m.contiguous(memory_format=mt.channels_last)
    with pytest.raises(RuntimeError, match="required rank 5 tensor to use channels_last_3d"):
        mt.ones(2, 3, 4, 5).contiguous(memory_format=mt.channels_last_3d)
    with pytest.raises(RuntimeError, match="required rank 4"):
        mt.empty(2, 3, memory_format=mt.channels_last)
    with pytest.raises(RuntimeError, match="required rank 4"):
        mt.empty_like(m, memory_format=mt.channels_last)
    with pytest.raises(RuntimeError, match="unsupported memory format Preserve"):
        mt.empty(2, 3, 4, 5, memory_format=mt.preserve_format)
    with pytest.raises(RuntimeError, match="preserve memory format is unsupported"):
        mt.ones(3, 4).t().contiguous(memory_format=mt.preserve_format)
    assert m.contiguous(memory_format=mt.preserve_format) is m  # as torch: already contiguous
    with pytest.raises(TypeError, match="contiguous.*memory_format.*must be torch.memory_format"):
        mt.ones(2, 3, 4, 5).contiguous(memory_format=3)
    with pytest.raises(TypeError, match="is_contiguous.*memory_format"):
        m.is_contiguous(memory_format="channels_last")


@pytest.mark.parametrize("view", VIEWS)
def test_dtype_conversions_preserve_the_layout(view):
    m, t = (VIEWS[view](x) for x in pair(2, 3, 4, 5))
    for conv in (lambda x, lib: x.float(), lambda x, lib: x.to(lib.float16),
                 lambda x, lib: x.to(dtype=lib.float32, copy=True)):
        cm, ct = conv(m, mt), conv(t, torch)
        assert _strides_agree(cm, ct)
        assert_close(cm, ct, 1e-3, 1e-3)
    if m.ndim == 4:
        cm = m.float(memory_format=mt.channels_last)
        assert cm.dtype is mt.float32 and _strides_agree(
            cm, t.float(memory_format=torch.channels_last))
    xm = m.detach().requires_grad_(True)
    xm.float().sum().backward()  # differentiable through the permutes
    assert xm.grad.shape == m.shape and bool((xm.grad == 1).all())


def test_module_to_channels_last_like_torch():
    m, t = mt.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(3, 4, 3)
    t.weight.data.copy_(torch.tensor(m.weight.detach().numpy()))
    t.bias.data.copy_(torch.tensor(m.bias.detach().numpy()))
    weight = m.weight
    m.to(memory_format=mt.channels_last)
    t.to(memory_format=torch.channels_last)
    assert m.weight is weight and m.weight.is_leaf and m.weight.requires_grad
    assert m.weight.stride() == t.weight.stride() and m.bias.stride() == t.bias.stride()
    a = RNG.normal(size=(2, 3, 6, 6)).astype(np.float32)
    out_m = m(mt.tensor(a).contiguous(memory_format=mt.channels_last))
    out_t = t(torch.tensor(a).contiguous(memory_format=torch.channels_last))
    assert_close(out_m.detach(), out_t.detach(), 1e-5, 1e-5)
    with pytest.raises(RuntimeError, match="required rank 4"):
        mt.nn.Conv3d(1, 1, 1).to(memory_format=mt.channels_last)
    with pytest.raises(RuntimeError, match="required rank 4"):
        torch.nn.Conv3d(1, 1, 1).to(memory_format=torch.channels_last)
