"""Complex dtypes and numbers against real ``torch`` (2.13, CPU): promotion, creation,
printing, casts, the views between complex tensors and real pairs, conjugation, the
elementwise/reduction kernels on cpu, the ops PyTorch refuses, and gradients (PyTorch's
conjugate-Wirtinger convention) compared with torch's ``.grad`` on the same inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import mbtorch as mt

_REAL = ["bool", "uint8", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
_COMPLEX = ["complex32", "complex64", "complex128"]


def _t(x):
    """The NumPy value of an mbtorch or torch tensor."""
    if isinstance(x, torch.Tensor):
        return x.detach().resolve_conj().numpy()
    return x.detach().numpy()


def _same_dtype(ours, theirs):
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


def _close(ours, theirs, atol=1e-6):
    _same_dtype(ours, theirs)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(_t(ours), _t(theirs), rtol=1e-5, atol=atol)


_RNG = np.random.default_rng(7)
_Z = (_RNG.standard_normal((3, 4)) + 1j * _RNG.standard_normal((3, 4))).astype(np.complex64)


# -- dtypes and promotion ---------------------------------------------------------------------
@pytest.mark.parametrize("a", _REAL + _COMPLEX)
@pytest.mark.parametrize("b", _COMPLEX)
def test_promote_types_matches_torch(a, b):
    ours = mt.promote_types(getattr(mt, a), getattr(mt, b))
    theirs = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert ours.name == str(theirs).split(".")[-1]
    assert mt.promote_types(getattr(mt, b), getattr(mt, a)) is ours


def test_dtype_objects_and_properties():
    assert mt.cfloat is mt.complex64 and mt.cdouble is mt.complex128
    assert mt.chalf is mt.complex32
    for name in _COMPLEX:
        ours, theirs = getattr(mt, name), getattr(torch, name)
        assert ours.is_complex and not ours.is_floating_point
        assert ours.itemsize == theirs.itemsize and ours.is_signed == theirs.is_signed
        assert ours.to_real().name == str(theirs.to_real()).split(".")[-1]
        assert ours.to_complex() is ours
    for name in ("float16", "bfloat16", "float32", "float64", "int32"):
        assert getattr(mt, name).to_real() is getattr(mt, name)
    assert mt.float32.to_complex() is mt.complex64 and mt.bfloat16.to_complex() is mt.complex64
    assert mt.float16.to_complex() is mt.complex32
    with pytest.raises(RuntimeError, match="Unknown Complex ScalarType for Int"):
        mt.int32.to_complex()
    with pytest.raises(TypeError, match="only floating-point types"):
        mt.set_default_dtype(mt.complex64)
    assert repr(mt.complex64) == "mbtorch.complex64"


@pytest.mark.parametrize("dt", ["int32", "float16", "bfloat16", "float32", "float64"])
def test_python_complex_scalar_promotion(dt):
    if dt == "float16":  # torch makes complex32, which the cpu backend does not store
        assert mt.promote_types(mt.float16, mt.complex32) is mt.complex32
        with pytest.raises(TypeError, match="complex32.*not supported"):
            mt.ones(2, dtype=mt.float16) + 1j
        return
    ours = mt.ones(2, dtype=getattr(mt, dt)) * (1 + 2j)
    theirs = torch.ones(2, dtype=getattr(torch, dt)) * (1 + 2j)
    _close(ours, theirs)


def test_tensor_inference_and_default_dtype_pairing():
    _same_dtype(mt.tensor([1 + 2j]), torch.tensor([1 + 2j]))
    _same_dtype(mt.tensor([1, 2.5j]), torch.tensor([1, 2.5j]))
    _same_dtype(mt.tensor(np.complex128(1j)), torch.tensor(np.complex128(1j)))
    _close(mt.tensor([1, 2], dtype=mt.complex64), torch.tensor([1, 2], dtype=torch.complex64))
    mt.set_default_dtype(mt.float64)
    try:
        assert mt.tensor(1j).dtype is mt.complex128
        assert (mt.ones(2, dtype=mt.float32) + 1j).dtype is mt.complex64
        assert (mt.ones(2, dtype=mt.int64) + 1j).dtype is mt.complex128
        assert repr(mt.tensor([1j])) == "tensor([0.+1.j])"
    finally:
        mt.set_default_dtype(mt.float32)
    # a 0-d complex tensor does not outrank a dimensioned float tensor's precision
    ours = mt.ones(2, dtype=mt.float64) + mt.tensor(1j)
    _close(ours, torch.ones(2, dtype=torch.float64) + torch.tensor(1j))


def test_finfo_of_complex_is_its_value_type():
    for name in ("complex64", "complex128"):
        ours, theirs = mt.finfo(getattr(mt, name)), torch.finfo(getattr(torch, name))
        assert (ours.eps, ours.max, ours.tiny, ours.bits) == (theirs.eps, theirs.max,
                                                              theirs.tiny, theirs.bits)
        assert ours.dtype == theirs.dtype
    with pytest.raises(TypeError):
        mt.iinfo(mt.complex64)


@pytest.mark.parametrize("values", [
    [1 + 2j, -3.5 - 0.25j, 0j], [[1.123456 + 2j, 1e-5j], [1e6, 3]], [1 + 2j],
    [float("nan") + 1j, float("inf")], [[-0.0 - 1j]], 1 + 2j,
])
def test_repr_matches_torch(values):
    ours, theirs = repr(mt.tensor(values)), repr(torch.tensor(values))
    assert ours == theirs


def test_repr_with_dtype_suffix_and_empty():
    assert repr(mt.tensor([1 + 2j], dtype=mt.complex128)) == \
        repr(torch.tensor([1 + 2j], dtype=torch.complex128)).replace("torch.", "mbtorch.")
    assert repr(mt.zeros(0, dtype=mt.complex64)) == "tensor([], dtype=mbtorch.complex64)"
    assert repr(mt.ones(30, dtype=mt.complex64) * 1.5j) == \
        repr(torch.ones(30, dtype=torch.complex64) * 1.5j)


def test_numpy_round_trip_shares_memory():
    arr = _Z.copy()
    t = mt.from_numpy(arr)
    assert t.dtype is mt.complex64 and t.is_complex() and not t.is_floating_point()
    arr[0, 0] = 5 + 5j
    assert t[0, 0].item() == 5 + 5j
    assert t.numpy().dtype == np.complex64
    assert mt.tensor([1j, 2]).tolist() == [1j, 2 + 0j]
    assert complex(mt.tensor(1 + 2j)) == 1 + 2j
    assert mt.is_complex(t) and not mt.is_complex(mt.ones(1))


def test_casts_and_the_discarded_imaginary_part_warning():
    z = mt.tensor([1.5 + 2j, -3.5 - 1j])
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        f = z.to(mt.float32)
    _close(f, torch.tensor([1.5, -3.5]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's own ComplexWarning must not leak
        with pytest.warns(UserWarning, match="discards"):
            assert z.to(mt.int64).tolist() == [1, -3]
        assert mt.ones(2).to(mt.complex64).tolist() == [1 + 0j, 1 + 0j]
        assert z.to(mt.complex128).dtype is mt.complex128
    with pytest.raises(RuntimeError):
        mt.ones(2).add_(mt.tensor([1j, 1j]))  # a complex result cannot go into a float tensor


# -- views and parts --------------------------------------------------------------------------
def test_real_imag_and_view_as_real_are_views():
    z = mt.tensor(_Z.copy())
    r = mt.view_as_real(z)
    _close(r, torch.view_as_real(torch.tensor(_Z)))
    assert r.stride() == torch.view_as_real(torch.tensor(_Z)).stride()
    z.real[0, 0] = 7.0
    z.imag[1] *= 0.0
    r[2, 3, 1] = -4.0
    expected = _Z.copy()
    expected[0, 0] = 7 + 1j * expected[0, 0].imag
    expected[1] = expected[1].real
    expected[2, 3] = expected[2, 3].real - 4j
    np.testing.assert_array_equal(z.numpy(), expected)
    assert z.real.stride() == (8, 2) and z.real.dtype is mt.float32
    x = mt.ones(3)
    assert mt.real(x) is x
    with pytest.raises(RuntimeError, match="imag is not implemented"):
        x.imag  # noqa: B018


def test_view_as_complex_and_its_errors():
    x = mt.arange(12.0).reshape(3, 2, 2)
    z = mt.view_as_complex(x)
    _close(z, torch.view_as_complex(torch.arange(12.0).reshape(3, 2, 2)))
    z[0, 0] = 100j
    assert x[0, 0].tolist() == [0.0, 100.0]
    cases = [(mt.ones(2, 3), "last dimension of size 2"),
             (mt.ones(2, 4)[:, 1:3], "stride divisible by 2|storage_offset"),
             (mt.ones(2, 2).t(), "last dimension with stride 1"),
             (mt.ones(3, 2, dtype=mt.float16), "float and double")]
    for bad, msg in cases:
        with pytest.raises(RuntimeError, match=msg):
            mt.view_as_complex(bad)
    with pytest.raises(RuntimeError, match="only supported for complex"):
        mt.view_as_real(mt.ones(2))


def test_views_of_non_contiguous_complex_storage():
    arr = np.asfortranarray(_Z.astype(np.complex128))  # a root NumPy calls non-contiguous
    z = mt.from_numpy(arr)
    np.testing.assert_array_equal(z.real.numpy(), arr.real)
    z.imag[0, 1] = 9.0
    assert arr[0, 1].imag == 9.0


def test_complex_polar_and_their_errors():
    a, b = np.array([1.0, -2.0, 0.5]), np.array([0.5, 3.0, -1.0])
    _close(mt.complex(mt.tensor(a), mt.tensor(b)), torch.complex(torch.tensor(a),
                                                                 torch.tensor(b)))
    _close(mt.polar(mt.tensor(a), mt.tensor(b)), torch.polar(torch.tensor(a), torch.tensor(b)))
    _close(mt.complex(mt.ones(2, 1), mt.zeros(3)), torch.complex(torch.ones(2, 1),
                                                                 torch.zeros(3)))
    with pytest.raises(RuntimeError, match="Expected object of scalar type Float"):
        mt.complex(mt.ones(1), mt.ones(1, dtype=mt.float64))
    with pytest.raises(RuntimeError, match="Float or Double"):
        mt.complex(mt.ones(1, dtype=mt.int64), mt.ones(1, dtype=mt.int64))
    with pytest.raises(TypeError, match="'imag' must be Tensor"):
        mt.complex(mt.ones(1), 2.0)


def test_conj_is_eager_and_consistent():
    z, tz = mt.tensor(_Z), torch.tensor(_Z)
    _close(z.conj(), tz.conj())
    _close(mt.conj_physical(z), torch.conj_physical(tz))
    assert not z.conj().is_conj() and not mt.is_conj(z) and not z.is_neg()
    assert z.resolve_conj() is z and mt.resolve_neg(z) is z
    x = mt.ones(2)
    assert x.conj() is x
    _close(mt.conj_physical(x), torch.conj_physical(torch.ones(2)))
    w = z.clone()
    w.conj_physical_()
    _close(w, tz.conj())


def test_angle_isreal_abs_sgn():
    z, tz = mt.tensor(_Z), torch.tensor(_Z)
    _close(mt.angle(z), torch.angle(tz))
    _close(z.abs(), tz.abs())
    _close(mt.sgn(z), torch.sgn(tz))
    _close(mt.sgn(mt.zeros(2, dtype=mt.complex64)), torch.sgn(torch.zeros(2, dtype=torch.cfloat)))
    real = [-1.0, 2.0, 0.0, float("nan"), float("-inf")]
    _close(mt.angle(mt.tensor(real)), torch.angle(torch.tensor(real)))
    _close(mt.angle(mt.tensor([-1, 2])), torch.angle(torch.tensor([-1, 2])))
    v = [1 + 0j, 2j, 0j]
    assert mt.isreal(mt.tensor(v)).tolist() == torch.isreal(torch.tensor(v)).tolist()
    assert mt.isreal(mt.ones(2)).tolist() == [True, True]


# -- kernels on cpu ---------------------------------------------------------------------------
_UNARY = ["exp", "log", "sqrt", "sin", "cos", "tanh", "neg", "reciprocal", "square", "sigmoid",
          "rsqrt", "log2", "log10", "sinh", "cosh", "tan", "exp2", "asin", "atan", "expm1",
          "log1p"]


@pytest.mark.parametrize("name", _UNARY)
def test_unary_math_matches_torch(name):
    _close(getattr(mt, name)(mt.tensor(_Z)), getattr(torch, name)(torch.tensor(_Z)), atol=1e-5)


@pytest.mark.parametrize("expr", [
    "a + b", "a - b", "a * b", "a / b", "a ** 2", "a * 2.5", "a + 1j", "2 - a", "a == b",
    "a != a", "a @ b.t()", "a.sum()", "a.mean(0)", "a.prod(1)", "a.sum(1, keepdim=True)",
    "a.cumsum(0)", "torch.where(a.real > 0, a, b)", "torch.cat([a, b])", "a.isnan()",
    "a.isfinite()", "torch.allclose(a, a)",
])
def test_binary_and_reductions_match_torch(expr):
    a2 = _Z[::-1].copy() + 0.5
    ours = eval(expr, {"torch": mt, "a": mt.tensor(_Z), "b": mt.tensor(a2)})
    theirs = eval(expr, {"torch": torch, "a": torch.tensor(_Z), "b": torch.tensor(a2)})
    if isinstance(theirs, bool):
        assert ours == theirs
    else:
        _close(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("expr, exc", [
    ("a < a", NotImplementedError), ("a > 1", NotImplementedError),
    ("a.floor()", NotImplementedError), ("a.sign()", NotImplementedError),
    ("torch.maximum(a, a)", RuntimeError), ("a // a", NotImplementedError),
    ("a % a", NotImplementedError), ("a.amax()", NotImplementedError),
    ("a.max()", NotImplementedError), ("a.min(0)", RuntimeError),
    ("a.argmax()", RuntimeError), ("a.sort()", RuntimeError), ("torch.relu(a)", Exception),
    ("torch.atan2(a, a)", NotImplementedError), ("a.round()", NotImplementedError),
    ("a & a", RuntimeError),
])
def test_ops_torch_refuses_on_complex_raise(expr, exc):
    with pytest.raises(exc):
        eval(expr, {"torch": torch, "a": torch.tensor(_Z)})
    with pytest.raises(exc):
        eval(expr, {"torch": mt, "a": mt.tensor(_Z)})


def test_complex32_is_a_dtype_but_not_stored_on_cpu():
    assert mt.complex32.itemsize == 4 and mt.complex32.scalar_name == "ComplexHalf"
    with pytest.raises(TypeError, match="complex32 is not supported on device type 'cpu'"):
        mt.zeros(2, dtype=mt.complex32)
    with pytest.raises(TypeError, match="complex32"):
        mt.tensor([1j], dtype=mt.complex32)


@pytest.mark.parametrize("device", ["mini", "opencl"])
def test_backends_without_complex_refuse_by_name(device):
    try:
        x = mt.ones(3, device=device)
    except Exception as exc:  # noqa: BLE001 - the backend is optional here
        pytest.skip(f"{device} unavailable: {exc}")
    with pytest.raises(TypeError, match=f"(zeros|full)\\(\\).*complex64.*'{device}'"):
        mt.zeros(2, dtype=mt.complex64, device=device)
    with pytest.raises(TypeError, match=f"fft.fft\\(\\).*complex64.*'{device}'"):
        mt.fft.fft(x)
    with pytest.raises(TypeError, match=f"add\\(\\).*complex64.*'{device}'"):
        x + 1j
    with pytest.raises(TypeError, match=f"complex64.*'{device}'"):
        mt.tensor([1j]).to(device)


# -- autograd: PyTorch's convention (the conjugate Wirtinger derivative) ----------------------
_W = (_RNG.standard_normal((3, 4)) + 1j * _RNG.standard_normal((3, 4)))
_XR = _RNG.standard_normal((3, 4))


def _grads_match(fn, *arrays):
    ours = [mt.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    fn(mt, *ours).backward()
    fn(torch, *theirs).backward()
    for o, t in zip(ours, theirs):
        assert o.grad is not None and o.grad.dtype is o.dtype
        np.testing.assert_allclose(_t(o.grad), _t(t.grad), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss", [
    lambda t, a, b: (a * b).abs().sum(),
    lambda t, a, b: (a / b).real.sum() + (1 / b).imag.sum(),
    lambda t, a, b: (a @ b.transpose(0, 1)).imag.sum(),
    lambda t, a, b: t.exp(a).abs().sum() + t.log(b).real.sum(),
    lambda t, a, b: t.sqrt(a).imag.sum() + t.sin(b).abs().sum() + t.cos(a).real.sum(),
    lambda t, a, b: t.tanh(b).imag.sum() + (a ** 2).abs().sum() + t.sgn(a).real.sum(),
    lambda t, a, b: (a.sum() * b.mean()).abs(),
    lambda t, a, b: t.view_as_real((a * b).resolve_conj()).pow(3).sum(),
    lambda t, a, b: t.angle(a).sum() + (a.conj() * b).real.sum(),
    lambda t, a, b: (a - b).abs().pow(2).sum() + (a + 1j).abs().sum() + (a * 2.5j).real.sum(),
    lambda t, a, b: (a.real * b.imag).sum() + t.conj_physical(a).imag.sum(),
])
def test_complex_leaf_gradients_match_torch(loss):
    _grads_match(loss, _Z.astype(np.complex128), _W)


@pytest.mark.parametrize("loss", [
    lambda t, a, b: t.complex(a, b).abs().sum(),
    lambda t, a, b: t.polar(a.abs() + 0.1, b).imag.sum(),
    lambda t, a, b: t.view_as_complex(t.stack([a, b], -1)).pow(2).real.sum(),
    lambda t, a, b: (a.to(t.complex128) * (1 + 2j) * b).abs().sum(),
    lambda t, a, b: (a * (1 - 1j) + b).abs().sum() + t.angle(a - 5.0).sum(),
])
def test_real_leaf_gradients_through_complex_match_torch(loss):
    _grads_match(loss, _XR, _XR[::-1].copy())


def test_complex_leaves_and_backward_rules():
    z = mt.tensor([1 + 1j], requires_grad=True)
    assert z.requires_grad and z.is_leaf
    with pytest.raises(RuntimeError, match="real scalar outputs"):
        (z * 2).sum().backward()
    (z * z).real.sum().backward()
    tz = torch.tensor([1 + 1j], requires_grad=True)
    (tz * tz).real.sum().backward()
    np.testing.assert_allclose(_t(z.grad), _t(tz.grad))
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        mt.ones(2, dtype=mt.int64).requires_grad_()


@pytest.mark.parametrize("expr", [
    "z.var()", "z.std(1)", "torch.var(z, 0, keepdim=True)", "torch.linalg.vector_norm(z)",
    "z.norm()", "torch.linalg.vector_norm(z, 1, dim=1)", "torch.vdot(z[0], z[1])",
    "torch.var_mean(z, 1)[0]",
])
def test_statistics_norms_and_vdot_of_complex_match_torch(expr):
    results = []
    for mod in (mt, torch):
        z = mod.tensor(_W, requires_grad=True)
        out = eval(expr, {"torch": mod, "z": z})
        (out.abs().sum() if out.is_complex() else out.sum()).backward()
        results.append((out, z.grad))
    (ours, our_grad), (theirs, their_grad) = results
    _close(ours, theirs, atol=1e-9)
    np.testing.assert_allclose(_t(our_grad), _t(their_grad), atol=1e-9)


def test_type_strings():
    assert mt.tensor([1j]).type() == torch.tensor([1j]).type() == "torch.ComplexFloatTensor"
    assert mt.tensor([1j], dtype=mt.complex128).type() == "torch.ComplexDoubleTensor"


# -- uint16 / uint32 / uint64: PyTorch's limited support --------------------------------------
_LIMITED_EXPRS = [
    "torch.add(a, b)", "torch.sub(a, b)", "torch.mul(a, b)", "torch.div(a, b)", "a ** 2",
    "torch.maximum(a, b)", "a // b", "a % b", "a == b", "a != 1", "a < b", "a & b", "a | b",
    "a ^ b", "torch.logical_and(a, b)", "a.abs()", "-a", "a.sign()", "~a", "a.floor()",
    "a.isnan()", "a.square()", "a.sqrt()", "a.sum()", "a.prod()", "a.mean()", "a.amax()",
    "a.argmax()", "a.max()", "a.min(0)", "a.sort()[0]", "a.cumsum(0)", "a * 1.5", "a * 2",
    "a + 1", "a + torch.ones(3, dtype=torch.int32)", "torch.logical_and(a, a > 0)",
    "torch.where(torch.tensor([True, False, True]), a, b)", "torch.cat([a, b])",
    "a.clone().fill_(2)", "a.to(torch.int64)", "a.to(torch.float32).to(a.dtype)", "a.bool()",
    "a[torch.tensor([0, 2])]", "a.reshape(3, 1).t()", "torch.ones_like(a)", "a.any()",
]


@pytest.mark.parametrize("dt", ["uint16", "uint32", "uint64"])
@pytest.mark.parametrize("expr", _LIMITED_EXPRS)
def test_limited_unsigned_dtypes_match_torch(dt, expr):
    results = []
    for mod in (mt, torch):
        a = mod.tensor([3, 1, 2], dtype=getattr(mod, dt))
        b = mod.tensor([1, 1, 2], dtype=getattr(mod, dt))
        try:
            results.append(eval(expr, {"torch": mod, "a": a, "b": b}))
        except (RuntimeError, NotImplementedError) as exc:
            results.append(type(exc))
    ours, theirs = results
    if isinstance(theirs, type):
        assert ours is theirs
    else:
        _close(ours, theirs)


def test_limited_unsigned_dtype_objects():
    for name in ("uint16", "uint32", "uint64"):
        ours, theirs = getattr(mt, name), getattr(torch, name)
        assert (ours.itemsize, ours.is_signed, ours.is_floating_point) == \
            (theirs.itemsize, theirs.is_signed, theirs.is_floating_point)
        assert mt.iinfo(ours).max == torch.iinfo(theirs).max
        assert mt.promote_types(ours, mt.float64) is mt.float64
        with pytest.raises(RuntimeError, match="Promotion for uint16, uint32, uint64"):
            mt.promote_types(ours, mt.int64)
    big = [1, 2 ** 63]
    assert repr(mt.tensor(big, dtype=mt.uint64)) == \
        repr(torch.tensor(big, dtype=torch.uint64)).replace("torch.", "mbtorch.")
    arr = np.arange(3, dtype=np.uint32)
    assert mt.from_numpy(arr).dtype is mt.uint32 and mt.from_numpy(arr).numpy() is not None


def test_randn_complex_has_unit_variance_split_between_the_parts():
    mt.manual_seed(0)
    z = mt.randn(20000, dtype=mt.complex64)
    assert z.dtype is mt.complex64 and torch.randn(2, dtype=torch.complex64).dtype.is_complex
    assert abs(z.real.var().item() - 0.5) < 0.03 and abs(z.imag.var().item() - 0.5) < 0.03
    assert mt.randn(2, 3, dtype=mt.complex128).shape == (2, 3)
    mt.manual_seed(1)
    a = mt.randn(4, dtype=mt.complex64)
    mt.manual_seed(1)
    assert a.tolist() == mt.randn(4, dtype=mt.complex64).tolist()
    assert mt.randn(3, dtype=mt.cfloat, requires_grad=True).is_leaf


def test_adjoint_mh_and_complex_converters_follow_torch():
    import warnings

    import numpy as np
    import torch

    a = np.arange(12.0).reshape(2, 2, 3) + 1j * np.arange(12.0).reshape(2, 2, 3)
    x, tx = mt.tensor(a.astype(np.complex64)), torch.tensor(a.astype(np.complex64))
    assert np.array_equal(mt.adjoint(x).numpy(), torch.adjoint(tx).resolve_conj().numpy())
    assert np.array_equal(x.mH.numpy(), tx.mH.resolve_conj().numpy())
    r = mt.arange(6.0).reshape(2, 3)
    assert r.mH.tolist() == torch.arange(6.0).reshape(2, 3).mH.tolist()
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        mt.adjoint(mt.ones(3))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert mt.adjoint(mt.tensor(2.0)).item() == 2.0
    assert "deprecated on 0-D" in str(w[0].message)
    assert r.cfloat().dtype is mt.complex64 and r.cdouble().dtype is mt.complex128
    assert r.cdouble().tolist() == torch.arange(6.0).reshape(2, 3).cdouble().tolist()
    assert not r.is_distributed()
