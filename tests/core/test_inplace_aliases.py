"""Top-level in-place functions, in-place aliases and the inverse hyperbolic functions,
against PyTorch on the same values."""

import math

import numpy as np
import pytest
import torch

import mbtorch as mt

VALUES = [-3.0, -0.7, -0.0, 0.0, 0.4, 0.9, 1.0, 1.5, 2.0, 7.5]


def _pair(values=VALUES, dtype="float32"):
    return mt.tensor(values, dtype=getattr(mt, dtype)), torch.tensor(values,
                                                                      dtype=getattr(torch, dtype))


def _same(a, b, rtol=1e-6, atol=1e-6):
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    np.testing.assert_allclose(np.asarray(a.tolist(), dtype=np.float64),
                               b.double().numpy() if b.dtype is not torch.bool else b.numpy(),
                               rtol=rtol, atol=atol, equal_nan=True)


UNARY_INPLACE = [
    "abs_", "ceil_", "cos_", "cosh_", "deg2rad_", "erf_", "erfc_", "exp2_", "exp_", "expm1_",
    "fix_", "floor_", "frac_", "i0_", "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_",
    "round_", "sigmoid_", "sin_", "sinc_", "sinh_", "square_", "tan_", "tanh_", "trunc_",
    "zero_", "asinh_", "arcsinh_", "atan_", "arctan_",
]
DOMAIN_01 = ["acos_", "arccos_", "asin_", "arcsin_", "atanh_", "arctanh_", "logit_"]
POSITIVE = ["log10_", "log1p_", "log2_", "log_", "rsqrt_", "sqrt_", "acosh_", "arccosh_"]


@pytest.mark.parametrize("name", UNARY_INPLACE + DOMAIN_01 + POSITIVE)
def test_top_level_inplace_matches_torch(name):
    values = ([0.1, 0.3, 0.5, 0.9] if name in DOMAIN_01 else
              [1.0, 1.5, 3.0, 10.0] if name in POSITIVE else VALUES)
    a, b = _pair(values)
    out = getattr(mt, name)(a)
    getattr(torch, name)(b)
    assert out is a and a._version == 1
    _same(a, b, rtol=2e-6)


@pytest.mark.parametrize("name", ["clamp_", "clip_", "clamp_min_", "clamp_max_"])
def test_clamps(name):
    args = {"clamp_": (-0.5, 1.2), "clip_": (-0.5, 1.2), "clamp_min_": (0.2,),
            "clamp_max_": (0.2,)}[name]
    a, b = _pair()
    assert getattr(mt, name)(a, *args) is a
    getattr(torch, name)(b, *args)
    _same(a, b)
    a, b = _pair()
    getattr(a, name)(*args)
    getattr(b, name)(*args)
    _same(a, b)


def test_clamp_min_int_refuses_float_result():
    with pytest.raises(RuntimeError, match="can't be cast"):
        mt.tensor([1, 2]).clamp_min_(1.5)


def test_forwarders_with_arguments():
    a, b = _pair([float("nan"), float("inf"), -float("inf"), 1.0])
    mt.nan_to_num_(a, nan=1.0, posinf=2.0)
    torch.nan_to_num_(b, nan=1.0, posinf=2.0)
    _same(a, b)
    a, b = _pair([0.2, 0.5, 0.7])
    mt.logit_(a, eps=0.3)
    torch.logit_(b, eps=0.3)
    _same(a, b)
    a, b = _pair([1.26, -2.5, 0.5])
    mt.round_(a, decimals=1)
    torch.round_(b, decimals=1)
    _same(a, b)
    a, b = _pair([1.0, 2.0, 0.0])
    mt.xlogy_(a, mt.tensor([2.0, 3.0, 0.0]))
    torch.xlogy_(b, torch.tensor([2.0, 3.0, 0.0]))
    _same(a, b)
    a, b = _pair([1.0, 2.0])
    assert mt.fill_(a, mt.tensor(3.0)) is a
    torch.fill_(b, torch.tensor(3.0))
    _same(a, b)


def test_fill_returns_new_tensor():
    x = mt.ones(2, dtype=mt.int32)
    out = mt.fill(x, 2.7)
    ref = torch.fill(torch.ones(2, dtype=torch.int32), 2.7)
    assert out is not x and x.tolist() == [1, 1]
    _same(out, ref)
    with pytest.raises(RuntimeError, match="0-dimension value tensor"):
        mt.fill(x, mt.tensor([2.0]))
    grads = []
    for lib in (mt, torch):
        inp = lib.tensor([1.0, float("nan")], requires_grad=True)
        v = lib.tensor(3.0, requires_grad=True)
        out = lib.fill(inp, v)
        assert out.requires_grad and out.tolist() == [3.0, 3.0]
        (out * 2).sum().backward()
        grads.append((v.grad.item(), inp.grad.tolist()))
    assert grads[0] == grads[1]


def test_errors_match_torch():
    with pytest.raises(TypeError, match=r"abs_\(\): argument 'input'"):
        mt.abs_(1.0)
    with pytest.raises(RuntimeError, match="can't be cast"):
        mt.sqrt_(mt.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="bool tensor"):
        mt.negative_(mt.tensor([True]))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        mt.exp_(mt.ones(3, requires_grad=True))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        mt.ones(3, requires_grad=True).arcsinh_()


def test_inplace_on_non_leaf_records_gradient():
    # PyTorch has no derivative for asinh_; the gradient must be asinh's
    x = mt.tensor([0.5, 1.0, 2.0], requires_grad=True)
    y = x * 1.0
    mt.asinh_(y)
    y.sum().backward()
    xt = torch.tensor([0.5, 1.0, 2.0], requires_grad=True)
    torch.asinh(xt).sum().backward()
    _same(x.grad, xt.grad)
    x.grad = None
    y = x * 1.0
    mt.exp_(y)
    y.sum().backward()
    _same(x.grad, torch.exp(torch.tensor([0.5, 1.0, 2.0])))


@pytest.mark.parametrize("name,other", [
    ("greater_", 2), ("greater_equal_", 2), ("less_", 2), ("less_equal_", 2),
    ("not_equal_", 2), ("arctan2_", [1.0, 2.0])])
def test_binary_aliases(name, other):
    a, b = mt.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    oa = mt.tensor(other) if isinstance(other, list) else other
    ob = torch.tensor(other) if isinstance(other, list) else other
    assert getattr(a, name)(oa) is a
    getattr(b, name)(ob)
    _same(a, b)


def test_alias_dtype_rules():
    a = mt.tensor([1, 4])
    a.less_(mt.tensor([2.5, 3.5]))
    assert a.tolist() == torch.tensor([1, 4]).less_(torch.tensor([2.5, 3.5])).tolist()
    with pytest.raises(RuntimeError, match="can't be cast"):
        mt.tensor([1, 4]).arctan2_(mt.tensor([1.0, 2.0]))
    with pytest.raises(NotImplementedError):
        mt.tensor([True]).absolute_()


def test_unary_aliases_methods():
    for name in ("absolute_", "fix_", "negative_", "arccos_", "arcsin_", "arctan_"):
        a, b = _pair([-0.5, 0.25, 0.75])
        getattr(a, name)()
        getattr(b, name)()
        _same(a, b)
    a, b = _pair([float("nan"), 1.0])
    a.nan_to_num_(nan=7.0)
    b.nan_to_num_(nan=7.0)
    _same(a, b)


EDGE = [-1e30, -3e38, -5.0, -1.0, -0.999, -1e-30, -0.0, 0.0, 1e-30, 0.5, 0.999, 1.0, 1.0001,
        2.0, 5e3, 1e10, 3e38, math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("name", ["asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_inverse_hyperbolic_values(name, dtype):
    values = EDGE if dtype in ("float32", "float64") else [v for v in EDGE if abs(v) < 6e4]
    a, b = _pair(values, dtype)
    out, ref = getattr(mt, name)(a), getattr(torch, name)(b)
    tol = 2e-6 if dtype in ("float32", "float64") else 1e-2
    _same(out.float() if dtype == "bfloat16" else out, ref.float() if dtype == "bfloat16" else ref,
          rtol=tol, atol=0)
    got, ref = torch.tensor(out.float().tolist()), ref.float()
    keep = ~ref.isnan()  # a NaN's sign bit is not specified
    assert torch.equal(got[keep].signbit(), ref[keep].signbit())
    assert getattr(a, name)().dtype is a.dtype


@pytest.mark.parametrize("name", ["asinh", "acosh", "atanh"])
def test_inverse_hyperbolic_integers_and_grad(name):
    ints = mt.tensor([1, 2, 3])
    assert getattr(mt, name)(ints).dtype is mt.float32
    values = [1.5, 2.0, 4.0] if name == "acosh" else [-0.5, 0.0, 0.25, 0.75]
    x = mt.tensor(values, dtype=mt.float64, requires_grad=True)
    xt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    getattr(mt, name)(x).sum().backward()
    getattr(torch, name)(xt).sum().backward()
    _same(x.grad, xt.grad, rtol=1e-12)
    assert mt.autograd.gradcheck(getattr(mt, name), (mt.tensor(values, dtype=mt.float64,
                                                               requires_grad=True),))


def test_positive_and_ravel():
    x = mt.arange(6.0).reshape(2, 3)
    assert mt.positive(x) is x and x.positive() is x
    with pytest.raises(RuntimeError, match="`\\+` operator"):
        mt.positive(mt.tensor([True]))
    r = mt.ravel(x)
    assert r.shape == (6,) and r._base is x._base
    assert mt.ravel(x.t()).tolist() == torch.arange(6.0).reshape(2, 3).t().ravel().tolist()
    assert mt.ravel(mt.tensor(3.0)).shape == (1,)


def test_nn_inplace_forwarders():
    x = mt.tensor([-1.0, 0.05, 0.5, 2.0])
    xt = torch.tensor([-1.0, 0.05, 0.5, 2.0])
    for name, args in (("selu_", ()), ("celu_", (2.0,)), ("threshold_", (0.1, 20.0)),
                       ("rrelu_", (0.1, 0.3, False))):
        a, b = x.clone(), xt.clone()
        assert getattr(mt, name)(a, *args) is a
        getattr(torch, name)(b, *args)
        _same(a, b, rtol=1e-6)


@pytest.mark.parametrize("name", ["dropout_", "alpha_dropout_", "feature_dropout_",
                                  "feature_alpha_dropout_"])
def test_dropouts(name):
    x = mt.ones(4, 6)
    assert getattr(mt, name)(x, 0.5, False) is x and x.tolist() == [[1.0] * 6] * 4
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        getattr(mt, name)(mt.ones(2, 2), 1.5, True)
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        getattr(mt, name)(mt.ones(2, 2, dtype=mt.int64), 0.5, True)
    ints = mt.ones(2, 2, dtype=mt.int64)
    assert getattr(mt, name)(ints, 0.5, False) is ints
    mt.manual_seed(0)
    y = mt.ones(16, 8, 5)
    assert getattr(mt, name)(y, 0.5, True) is y and y._version >= 1
    values = set(np.unique(np.asarray(y.tolist())).round(4))
    assert len(values) == 2  # kept and dropped units, each one value
    if name.startswith("feature"):
        rows = np.asarray(y.tolist()).reshape(-1, 5)
        assert all(len(set(r)) == 1 for r in rows)  # whole channels
        with pytest.raises(RuntimeError, match="at least 2 dimensions"):
            getattr(mt, name)(mt.ones(3), 0.5, True)
    if name == "dropout_":
        assert values == {0.0, 2.0}
