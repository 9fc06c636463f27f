"""``nn.utils`` fusion, ``skip_init``, ``stateless.functional_call``, the split gradient
clipping (``get_total_norm`` + ``clip_grads_with_norm_``), the deprecated ``nn.init`` names,
``nn.init.sparse_`` and grouped-query ``scaled_dot_product_attention``, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from tests.nn._compare import close, randn, to_mt

torch = pytest.importorskip("torch")


def _copy(t, m):
    m.load_state_dict({k: to_mt(v) for k, v in t.state_dict().items()})


def _bn_pair(torch_cls, mt_cls, n):
    t, m = torch_cls(n), mt_cls(n)
    with torch.no_grad():
        t.running_mean.uniform_(-1, 1)
        t.running_var.uniform_(0.5, 2)
        t.weight.uniform_(0.5, 1.5)
        t.bias.uniform_(-1, 1)
    _copy(t, m)
    return t.eval(), m.eval()


@pytest.mark.parametrize("transpose", [False, True])
def test_fuse_conv_bn(transpose):
    tc = (torch.nn.ConvTranspose2d if transpose else torch.nn.Conv2d)(3, 4, 3)
    mc = (mt.nn.ConvTranspose2d if transpose else mt.nn.Conv2d)(3, 4, 3)
    _copy(tc, mc)
    tb, mb = _bn_pair(torch.nn.BatchNorm2d, mt.nn.BatchNorm2d, 4)
    tc.eval()
    mc.eval()
    tf = torch.nn.utils.fuse_conv_bn_eval(tc, tb, transpose=transpose)
    mf = mt.nn.utils.fuse_conv_bn_eval(mc, mb, transpose=transpose)
    x = randn(torch, 2, 3, 6, 6)
    close(mf(to_mt(x)), tf(x), 1e-5, 1e-5, "fused")
    close(mf(to_mt(x)), mb(mc(to_mt(x))), 1e-5, 1e-5, "fused == conv then bn")
    assert mc.weight is not mf.weight  # a copy: the original conv is unchanged
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        mt.nn.utils.fuse_conv_bn_eval(mc.train(), mb)


def test_fuse_linear_bn():
    tl, ml = torch.nn.Linear(5, 3), mt.nn.Linear(5, 3)
    _copy(tl, ml)
    tb, mb = _bn_pair(torch.nn.BatchNorm1d, mt.nn.BatchNorm1d, 3)
    tf = torch.nn.utils.fuse_linear_bn_eval(tl.eval(), tb)
    mf = mt.nn.utils.fuse_linear_bn_eval(ml.eval(), mb)
    x = randn(torch, 4, 5)
    close(mf(to_mt(x)), tf(x), 1e-5, 1e-5)
    with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
        mt.nn.utils.fuse_linear_bn_eval(mt.nn.Linear(5, 2).eval(), mb)


def test_skip_init():
    m = mt.nn.utils.skip_init(mt.nn.Linear, 4, 3)
    assert isinstance(m, mt.nn.Linear) and m.weight.shape == (3, 4)

    class NoDevice(mt.nn.Module):
        def __init__(self, n):
            super().__init__()

    with pytest.raises(RuntimeError, match="must support a 'device' arg"):
        mt.nn.utils.skip_init(NoDevice, 3)


def test_functional_call():
    tm, mm = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)), \
        mt.nn.Sequential(mt.nn.Linear(3, 2), mt.nn.BatchNorm1d(2))
    _copy(tm, mm)
    w = randn(torch, 2, 3, seed=5).requires_grad_()
    mw = to_mt(w)
    x = randn(torch, 4, 3)
    before = mm[0].weight
    out_t = torch.func.functional_call(tm, {"0.weight": w}, (x,))
    out_m = mt.nn.utils.stateless.functional_call(mm, {"0.weight": mw}, (to_mt(x),))
    close(out_m, out_t, 1e-5, 1e-5)
    out_t.sum().backward()
    out_m.sum().backward()
    close(mw.grad, w.grad, 1e-5, 1e-5, "grad of the substituted weight")
    assert mm[0].weight.grad is None  # the module's own weight was not used
    close(mm[1].running_mean, tm[1].running_mean, 1e-6, 1e-6, "buffers updated alike")
    assert mm[0].weight is before  # restored after the call
    with pytest.raises(AttributeError, match="has no parameter or buffer named"):
        mt.nn.utils.stateless.functional_call(mm, {"9.weight": mw}, (to_mt(x),))


def test_split_clipping_and_deprecated_alias():
    ps = [mt.nn.Parameter(mt.ones(3)), mt.nn.Parameter(mt.ones(2))]
    for p, g in zip(ps, (mt.tensor([3.0, 0.0, 4.0]), mt.tensor([0.0, 12.0]))):
        p.grad = g
    total = mt.nn.utils.get_total_norm([p.grad for p in ps])
    assert abs(total.item() - 13.0) < 1e-5
    mt.nn.utils.clip_grads_with_norm_(ps, 1.3, total)
    np.testing.assert_allclose(ps[1].grad.numpy(), [0.0, 1.2], rtol=1e-5)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        mt.nn.utils.clip_grad_norm(ps, 10.0)
    with pytest.raises(RuntimeError, match="non-finite"):
        mt.nn.utils.get_total_norm([mt.tensor([float("inf")])], error_if_nonfinite=True)


def test_init_aliases_and_sparse():
    w = mt.empty(3, 4)
    with pytest.warns(FutureWarning, match="nn.init.xavier_uniform_"):
        mt.nn.init.xavier_uniform(w)
    with pytest.warns(FutureWarning, match="nn.init.constant_"):
        mt.nn.init.constant(w, 2.0)
    assert np.all(w.numpy() == 2.0)
    mt.manual_seed(0)
    s = mt.nn.init.sparse_(mt.empty(10, 6), sparsity=0.3, std=0.5)
    assert np.all((s.numpy() == 0).sum(0) == 3)  # ceil(0.3 * 10) zeros per column
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        mt.nn.init.sparse_(mt.empty(3), 0.1)


def test_sdpa_grouped_query():
    q, k, v = randn(torch, 2, 8, 5, 4), randn(torch, 2, 2, 6, 4, seed=1), \
        randn(torch, 2, 2, 6, 4, seed=2)
    want = torch.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True,
                                                            is_causal=True)
    got = mt.nn.functional.scaled_dot_product_attention(to_mt(q), to_mt(k), to_mt(v),
                                                         enable_gqa=True, is_causal=True)
    close(got, want, 1e-5, 1e-6)
    with pytest.raises(RuntimeError, match="must be divisible by the number of key/value"):
        mt.nn.functional.scaled_dot_product_attention(mt.randn(1, 3, 2, 4), mt.randn(1, 2, 2, 4),
                                                      mt.randn(1, 2, 2, 4), enable_gqa=True)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_nn_grad_conv_input_and_weight(n):
    shape = (2, 4) + (6, 5, 4)[:n]
    x = randn(torch, *shape, dtype=torch.float64)
    w = randn(torch, *((6, 2) + (3,) * n), dtype=torch.float64, seed=1)
    kw = dict(stride=2, padding=1, dilation=1, groups=2)
    out = getattr(torch.nn.functional, f"conv{n}d")(x, w, None, **kw)
    g = randn(torch, *out.shape, dtype=torch.float64, seed=2)
    for kind, args_t, args_m in (
            ("input", (x.shape, w, g), (tuple(x.shape), to_mt(w), to_mt(g))),
            ("weight", (x, w.shape, g), (to_mt(x), tuple(w.shape), to_mt(g)))):
        want = getattr(torch.nn.grad, f"conv{n}d_{kind}")(*args_t, **kw)
        got = getattr(mt.nn.grad, f"conv{n}d_{kind}")(*args_m, **kw)
        close(got, want, 1e-10, 1e-10, kind)


def test_factory_kwargs_common_types_is_lazy():
    assert mt.nn.factory_kwargs({"device": "cpu", "factory_kwargs": {"dtype": mt.float64}}) == \
        {"device": "cpu", "dtype": mt.float64}
    assert mt.nn.factory_kwargs(None) == {}
    with pytest.raises(TypeError, match="unexpected kwargs"):
        mt.nn.factory_kwargs({"bias": True})
    with pytest.raises(TypeError, match="specified twice"):
        mt.nn.factory_kwargs({"dtype": mt.float32, "factory_kwargs": {"dtype": mt.float64}})
    from mbtorch.nn.common_types import _size_2_t  # noqa: F401 - what layer code imports
    from mbtorch.nn.parameter import is_lazy

    lazy = mt.nn.LazyLinear(3)
    assert is_lazy(lazy.weight)
    lazy(mt.randn(2, 4))
    assert not is_lazy(lazy.weight)
