"""Special and floating-point elementwise functions (``special.py``) and the small unary
additions (``sgn``, ``frac``, ``deg2rad``, ``rad2deg``) against PyTorch: values, dtypes,
strided and empty inputs, gradients, error types; ``mini`` runs the decompositions."""

import math

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.autograd import gradcheck
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
X = RNG.uniform(-3, 3, (4, 5)).astype(np.float32)
Y = RNG.uniform(-3, 3, (4, 5)).astype(np.float32)
SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e30, -1e-30, 2.5],
                   dtype=np.float32)


def _both(arr, dtype=None):
    t = torch.tensor(arr) if dtype is None else torch.tensor(arr, dtype=getattr(torch, dtype))
    m = mt.tensor(arr) if dtype is None else mt.tensor(arr, dtype=getattr(mt, dtype))
    return m, t


# -- erfinv --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype, tol", [("float32", 2e-7), ("float64", 1e-15)])
def test_erfinv_is_accurate_across_the_range(dtype, tol):
    scipy_special = pytest.importorskip("scipy.special")
    np_dtype = np.dtype(dtype)
    tail = 1 - np.logspace(-1, -(np.finfo(np_dtype).precision + 1), 40)
    v = np.concatenate([RNG.uniform(-1, 1, 5000), tail, -tail, [0.0, 1e-30]]).astype(np_dtype)
    ours = mt.erfinv(mt.tensor(v)).numpy().astype(np.float64)
    ref = scipy_special.erfinv(v.astype(np.float64))
    np.testing.assert_allclose(ours, ref, rtol=4 * tol, atol=0)
    theirs = torch.erfinv(torch.tensor(v)).numpy().astype(np.float64)
    np.testing.assert_allclose(ours, theirs, rtol=8 * tol, atol=0)


def test_erfinv_edges_dtypes_and_layouts():
    m, t = _both(np.array([1.0, -1.0, 1.5, -2.0, np.nan, 0.0, -0.0], np.float32))
    assert_close(mt.erfinv(m), torch.erfinv(t))
    assert math.copysign(1.0, mt.erfinv(m)[6].item()) == -1.0  # -0.0 keeps its sign
    for dtype in ("int64", "bool"):  # integers compute in the default float
        mi, ti = _both(np.array([0, 1, 1]).astype(dtype), dtype)
        out = mt.erfinv(mi)
        assert out.dtype is mt.float32
        assert_close(out, torch.erfinv(ti))
    for dtype in ("float16", "bfloat16"):
        mh, th = _both(np.linspace(-0.99, 0.99, 33, dtype=np.float32), dtype)
        out = mt.erfinv(mh)
        assert out.dtype is getattr(mt, dtype)
        assert_close(out, torch.erfinv(th).float(), rtol=1e-2, atol=1e-3)
    g = mt.tensor(np.linspace(-0.9, 0.9, 12, dtype=np.float32).reshape(3, 4)).t()
    assert_close(g.erfinv(), torch.tensor(g.numpy()).erfinv())
    assert mt.erfinv(mt.zeros(0, 3)).shape == (0, 3)
    y = mt.tensor([0.2, 0.4])
    y.erfinv_()
    assert_close(y, torch.erfinv(torch.tensor([0.2, 0.4])))


def test_erfinv_runs_decomposed_on_mini(mini_device):
    v = np.linspace(-0.999, 0.999, 41)
    for dtype in (mt.float32, mt.float64):
        out = mt.erfinv(mt.tensor(v, dtype=dtype, device=mini_device))
        ref = torch.erfinv(torch.tensor(v, dtype=getattr(torch, dtype.name)))
        assert_close(out.cpu(), ref, rtol=1e-6 if dtype is mt.float32 else 1e-14, atol=0)


def test_erfinv_gradient():
    x = mt.tensor([-0.7, 0.1, 0.5], dtype=mt.float64, requires_grad=True)
    assert gradcheck(mt.erfinv, (x,))
    mt.erfinv(x).sum().backward()
    tx = torch.tensor([-0.7, 0.1, 0.5], dtype=torch.float64, requires_grad=True)
    torch.erfinv(tx).sum().backward()
    assert_close(x.grad, tx.grad, rtol=1e-12)


# -- logit, xlogy ----------------------------------------------------------------------------
def test_logit_matches_torch():
    v = np.array([0.0, 0.1, 0.5, 0.99, 1.0, -0.5, 1.5, np.nan], np.float32)
    m, t = _both(v)
    assert_close(mt.logit(m), torch.logit(t))
    assert_close(m.logit(eps=0.05), t.logit(eps=0.05))
    mi, ti = _both(np.array([0, 1, 2]), "int64")
    assert mt.logit(mi).dtype is mt.float32
    assert_close(mt.logit(mi), torch.logit(ti))
    mh, th = _both(v, "float16")
    assert mt.logit(mh).dtype is mt.float16
    assert_close(mt.logit(mh), torch.logit(th), rtol=1e-3)
    x = mt.tensor([0.2, 0.7, 0.01], dtype=mt.float64, requires_grad=True)
    assert gradcheck(lambda a: mt.logit(a, 0.05), (x,))
    w = mt.tensor([0.3, 0.6])
    w.logit_()
    assert_close(w, torch.logit(torch.tensor([0.3, 0.6])))


def test_xlogy_matches_torch_with_scalars_and_nan():
    a = np.array([0.0, 0.0, 2.0, -1.5, 3.0, 0.0], np.float32)
    b = np.array([0.0, np.nan, 3.0, 0.5, -1.0, np.inf], np.float32)
    (ma, ta), (mb, tb) = _both(a), _both(b)
    assert_close(mt.xlogy(ma, mb), torch.xlogy(ta, tb))
    assert_close(mt.xlogy(ma, 2), torch.xlogy(ta, 2))
    assert_close(mt.xlogy(2, mb), torch.xlogy(2, tb))
    assert_close(mt.xlogy(ma, mb[:1]), torch.xlogy(ta, tb[:1]))  # broadcasting
    mi, ti = _both(np.array([1, -2, 0]), "int64")
    out = mt.xlogy(mi, mi)
    assert out.dtype is mt.float32
    assert_close(out, torch.xlogy(ti, ti))
    assert mt.xlogy(ma, mt.tensor(2.0, dtype=mt.float64)).dtype is mt.float32
    x = mt.tensor([0.5, 2.0], dtype=mt.float64, requires_grad=True)
    y = mt.tensor([1.5, 0.7], dtype=mt.float64, requires_grad=True)
    assert gradcheck(mt.xlogy, (x, y))
    with pytest.raises(TypeError):
        mt.xlogy(2, 3)


# -- logaddexp, logaddexp2, hypot --------------------------------------------------------------
@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "hypot"])
def test_binary_float_functions_match_torch(name):
    mf, tf = getattr(mt, name), getattr(torch, name)
    (mx, tx), (my, ty) = _both(X), _both(Y)
    assert_close(mf(mx, my), tf(tx, ty), rtol=2e-6)
    assert_close(mf(mx.t(), my[:, :1].t()), tf(tx.t(), ty[:, :1].t()), rtol=2e-6)
    s = np.repeat(SPECIAL, SPECIAL.size)
    r = np.tile(SPECIAL, SPECIAL.size)
    (ms, ts), (mr, tr) = _both(s), _both(r)
    assert_close(mf(ms, mr), tf(ts, tr), rtol=2e-6)
    (md, td) = _both(X.astype(np.float64))
    out = mf(md, mx)
    assert out.dtype is mt.float64
    assert_close(out, tf(td, tx), rtol=1e-6)
    (mh, th) = _both(X, "float16")
    assert mf(mh, mh).dtype is mt.float16
    assert_close(mf(mh, mh), tf(th, th), rtol=1e-3)
    assert mf(mt.zeros(0, 2), mt.zeros(2)).shape == (0, 2)
    mi = mt.tensor([1, 2])
    with pytest.raises(NotImplementedError):
        mf(mi, mi)
    with pytest.raises(TypeError):
        mf(mx, 1.0)
    a = mt.tensor(X[:2, :3].astype(np.float64), requires_grad=True)
    b = mt.tensor(Y[:2, :3].astype(np.float64), requires_grad=True)
    assert gradcheck(mf, (a, b))


def test_hypot_does_not_overflow_and_has_inplace():
    big = mt.tensor([3e30, 1e-30, 0.0])
    assert_close(mt.hypot(big, big * 4 / 3), torch.hypot(torch.tensor([3e30, 1e-30, 0.0]),
                                                         torch.tensor([4e30, 4e-30 / 3, 0.0])))
    x = mt.tensor([3.0, 5.0])
    x.hypot_(mt.tensor([4.0, 12.0]))
    assert x.tolist() == [5.0, 13.0]


# -- copysign, heaviside ---------------------------------------------------------------------
def test_copysign_matches_torch():
    (mx, tx), (ms, ts) = _both(X[0]), _both(SPECIAL[:5])
    assert_close(mt.copysign(mx, ms), torch.copysign(tx, ts))
    assert_close(mt.copysign(ms, mx), torch.copysign(ts, tx))
    assert_close(mx.copysign(-0.0), tx.copysign(-0.0))
    assert_close(mx.copysign(3), tx.copysign(3))
    mi, ti = _both(np.array([1, -2, 0]), "int64")
    out = mt.copysign(mi, mi)
    assert out.dtype is mt.float32
    assert_close(out, torch.copysign(ti, ti))
    assert_close(mt.copysign(mi, -0.0), torch.copysign(ti, -0.0))
    mb, tb = _both(np.array([True, False]), "bool")
    assert_close(mt.copysign(mb, mb), torch.copysign(tb, tb))
    a = mt.tensor([0.5, -2.0, 1.5], dtype=mt.float64, requires_grad=True)
    b = mt.tensor([-1.0, -3.0, 2.0], dtype=mt.float64, requires_grad=True)
    assert gradcheck(mt.copysign, (a, b))
    y = mt.tensor([1.0, -2.0])
    y.copysign_(-1)
    assert y.tolist() == [-1.0, -2.0]
    with pytest.raises(TypeError):
        mt.copysign(2, mx)


def test_heaviside_matches_torch():
    v = np.array([-1.5, 0.0, -0.0, 2.0, np.nan], np.float32)
    (m, t) = _both(v)
    for values in (np.float32(0.5), np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)):
        mv, tv = _both(values)
        assert_close(mt.heaviside(m, mv), torch.heaviside(t, tv))
    mi, ti = _both(np.array([-2, 0, 3]), "int64")
    assert_close(mt.heaviside(mi, mt.tensor(7)), torch.heaviside(ti, torch.tensor(7)))
    mb, tb = _both(np.array([True, False]), "bool")
    assert_close(mb.heaviside(mt.tensor(True)), tb.heaviside(torch.tensor(True)))
    with pytest.raises(RuntimeError, match="different dtypes"):
        mt.heaviside(mi, mt.tensor(0.5))
    with pytest.raises(TypeError):
        mt.heaviside(m, 0.5)
    w = mt.tensor([-1.0, 0.0, 1.0])
    w.heaviside_(mt.tensor(0.25))
    assert w.tolist() == [0.0, 0.25, 1.0]


# -- sgn, frac, deg2rad, rad2deg (unary.py) ------------------------------------------------------
def test_sgn_frac_and_angle_conversions_match_torch():
    v = np.array([-2.5, -0.0, 0.0, 1.25, np.inf, -np.inf, np.nan, 7.0], np.float32)
    m, t = _both(v)
    for name in ("sgn", "frac", "deg2rad", "rad2deg"):
        assert_close(getattr(mt, name)(m), getattr(torch, name)(t))
        assert_close(getattr(m[::2], name)(), getattr(t[::2], name)())
        assert getattr(mt, name)(mt.zeros(0)).shape == (0,)
    assert math.copysign(1.0, mt.frac(mt.tensor([-0.0])).item()) == 1.0  # as torch: 0.0
    mi, ti = _both(np.array([-3, 0, 5]), "int64")
    assert_close(mt.sgn(mi), torch.sgn(ti), dtype=mt.int64)
    for name in ("deg2rad", "rad2deg"):
        assert_close(getattr(mt, name)(mi), getattr(torch, name)(ti), dtype=mt.float32)
    mh, th = _both(v[:4], "bfloat16")
    assert_close(mt.deg2rad(mh), torch.deg2rad(th).float(), dtype=mt.bfloat16)
    with pytest.raises(NotImplementedError):
        mt.frac(mi)
    w = mt.tensor([1.75, -3.5])
    w.frac_()
    assert w.tolist() == [0.75, -0.5]
    x = mt.tensor([0.3, -1.7], dtype=mt.float64, requires_grad=True)
    for fn in (mt.frac, mt.deg2rad, mt.rad2deg):
        assert gradcheck(fn, (x,))


def test_xlogy_gradient_by_input_at_zero_is_log_other_as_torch():
    vals = ([0.0, 1.0, 0.0, 0.0, 2.0], [0.5, 0.5, 0.0, -1.0, 0.0])
    a = mt.tensor(vals[0], dtype=mt.float64, requires_grad=True)
    ta = torch.tensor(vals[0], dtype=torch.float64, requires_grad=True)
    out = mt.xlogy(a, mt.tensor(vals[1], dtype=mt.float64))
    tout = torch.xlogy(ta, torch.tensor(vals[1], dtype=torch.float64))
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_array_equal(np.signbit(out.detach().numpy()),
                                  np.signbit(tout.detach().numpy()))  # +0.0, as torch
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())
