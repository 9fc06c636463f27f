"""matmul/@ and friends, einsum, tensordot and norms against NumPy (float64) and PyTorch
(dtypes, low precision, error types and messages), on strided and broadcast inputs."""

import math

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.core.op import Op
from tests.conftest import assert_close

RNG = np.random.default_rng(11)


def _t(arr, strided=False, dtype=mt.float64):
    """``arr`` as a tensor; ``strided`` gives a transposed (non-contiguous) view."""
    if not strided or arr.ndim < 2:
        return mt.tensor(arr, dtype=dtype)
    t = mt.tensor(np.ascontiguousarray(np.swapaxes(arr, -1, -2)), dtype=dtype).transpose(-1, -2)
    assert not t.is_contiguous() or min(arr.shape[-2:]) <= 1 or arr.size == 0  # empty: always
    return t


MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3,)),
    ((3,), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
    ((5, 1, 2, 3), (4, 3, 2)), ((1, 2, 3), (6, 3, 4)), ((2, 0), (0, 3)), ((0, 2, 3), (3, 1)),
    ((2, 3), (3, 0)), ((4, 1, 2, 0), (1, 3, 0, 5)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
@pytest.mark.parametrize("strided", [False, True])
def test_matmul_matches_numpy(sa, sb, strided):
    a, b = RNG.standard_normal(sa), RNG.standard_normal(sb)
    x, y = _t(a, strided), _t(b, strided)
    want = np.matmul(a, b)
    assert_close(mt.matmul(x, y), want, rtol=1e-12, atol=1e-12)
    assert_close(x @ y, want, rtol=1e-12, atol=1e-12)
    assert_close(x.matmul(y), want, rtol=1e-12, atol=1e-12)


def test_matmul_2d_products_and_rmatmul():
    a, b = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 5))
    x, y = mt.tensor(a), mt.tensor(b)
    assert_close(mt.mm(x, y), a @ b)
    assert_close(x.mm(y), a @ b)
    assert_close(mt.mv(x, y[:, 0]), a @ b[:, 0])
    assert_close(mt.dot(y[0], y[1]), np.dot(b[0], b[1]))
    assert_close(mt.vdot(y[0], y[1]), np.vdot(b[0], b[1]))
    assert_close(mt.outer(y[0], x[0]), np.outer(b[0], a[0]))
    assert_close(mt.ger(y[0], x[0]), np.outer(b[0], a[0]))
    assert_close(x.__rmatmul__(mt.tensor(a.T)), a.T @ a)
    bb = RNG.standard_normal((2, 4, 3)), RNG.standard_normal((2, 3, 5))
    assert_close(mt.bmm(mt.tensor(bb[0]), _t(bb[1], True)), bb[0] @ bb[1])
    assert_close(mt.trace(x), np.trace(a))
    assert_close(mt.trace(mt.tensor([[1, 2], [3, 4]], dtype=mt.int32)), np.array(5),
                 dtype=mt.int64)
    assert_close(mt.outer(mt.tensor([1, 2]), mt.tensor([0.5])), [[0.5], [1.0]],
                 dtype=mt.float32)


def test_addmm_baddbmm():
    a, b, c = (RNG.standard_normal(s) for s in ((2, 3), (3, 4), (2, 4)))
    x, y = mt.tensor(a), mt.tensor(b)
    assert_close(mt.addmm(mt.tensor(c), x, y), c + a @ b)
    assert_close(mt.addmm(mt.tensor(c[0]), x, y, beta=0.5, alpha=2.0), 0.5 * c[0] + 2 * a @ b)
    nan_in = mt.full((2, 4), math.nan, dtype=mt.float64)
    assert_close(mt.addmm(nan_in, x, y, beta=0), a @ b)  # beta=0 ignores input, NaN too
    b1, b2 = RNG.standard_normal((3, 2, 4)), RNG.standard_normal((3, 4, 2))
    assert_close(mt.baddbmm(mt.ones(2, 2, dtype=mt.float64), mt.tensor(b1), mt.tensor(b2),
                            alpha=3.0), 1 + 3 * (b1 @ b2))


def test_integer_and_low_precision_matmul(torch_or_skip):
    torch = torch_or_skip
    ai = RNG.integers(-5, 5, size=(3, 4))
    bi = RNG.integers(-5, 5, size=(4, 2))
    for name in ("int32", "int64", "float16", "bfloat16", "float32"):
        x = mt.tensor(ai).to(getattr(mt, name)) @ mt.tensor(bi).to(getattr(mt, name))
        tx = torch.tensor(ai).to(getattr(torch, name)) @ torch.tensor(bi).to(getattr(torch, name))
        assert x.dtype.name == str(tx.dtype)[6:]
        assert_close(x, tx.float() if tx.is_floating_point() else tx)
    long = mt.full((1, 4096), 0.1, dtype=mt.float16) @ mt.ones(4096, 1, dtype=mt.float16)
    t_long = (torch.full((1, 4096), 0.1, dtype=torch.float16)
              @ torch.ones(4096, 1, dtype=torch.float16))
    assert_close(long, t_long.float(), rtol=1e-3)  # accumulates wider than float16


ERRORS = [
    (lambda: mt.mm(mt.ones(2, 3), mt.ones(4, 2)), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x2)"),
    (lambda: mt.ones(2, 3) @ mt.ones(4, 2), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x2)"),
    (lambda: mt.ones(4) @ mt.ones(2, 3), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (1x4 and 2x3)"),
    (lambda: mt.ones(2, 2, 3) @ mt.ones(4, 2), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (4x3 and 4x2)"),
    (lambda: mt.mm(mt.ones(3), mt.ones(3, 2)), RuntimeError, "self must be a matrix"),
    (lambda: mt.mm(mt.ones(2, 3), mt.ones(3)), RuntimeError, "mat2 must be a matrix"),
    (lambda: mt.mm(mt.ones(2, 3), mt.ones(3, 2, dtype=mt.float64)), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (lambda: mt.matmul(mt.ones(2, 3), mt.ones(3, 2, dtype=mt.float64)), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (lambda: mt.ones(2, 2, 2) @ mt.ones(2, 2, 2, dtype=mt.float64), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda: mt.matmul(mt.tensor(1.0), mt.ones(2)), RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 0D and 1D"),
    (lambda: mt.matmul(mt.ones(2, 2), 2), TypeError, "must be Tensor, not int"),
    (lambda: mt.matmul(mt.ones(2, 2, dtype=mt.bool), mt.ones(2, 2, dtype=mt.bool)),
     NotImplementedError, "not implemented for 'Bool'"),
    (lambda: mt.dot(mt.ones(3), mt.ones(4)), RuntimeError,
     "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of "
     "elements, but got 3 and 4 elements respectively"),
    (lambda: mt.ones(3) @ mt.ones(4), RuntimeError, "inconsistent tensor size"),
    (lambda: mt.dot(mt.ones(2, 2), mt.ones(2, 2)), RuntimeError,
     "1D tensors expected, but got 2D and 2D tensors"),
    (lambda: mt.dot(mt.ones(3), mt.ones(3, dtype=mt.float64)), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    (lambda: mt.mv(mt.ones(2, 3), mt.ones(4)), RuntimeError,
     "size mismatch, got input (2), mat (2x3), vec (4)"),
    (lambda: mt.ones(2, 2, 3) @ mt.ones(4), RuntimeError,
     "size mismatch, got input (4), mat (4x3), vec (4)"),
    (lambda: mt.mv(mt.ones(3), mt.ones(3)), RuntimeError,
     "vector + matrix @ vector expected, got 1, 1, 1"),
    (lambda: mt.bmm(mt.ones(2, 3), mt.ones(2, 3)), RuntimeError, "batch1 must be a 3D tensor"),
    (lambda: mt.bmm(mt.ones(2, 2, 3), mt.ones(3, 3, 2)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [3, 3]."),
    (lambda: mt.ones(2, 2, 3) @ mt.ones(2, 4, 2), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [2, 4]."),
    (lambda: mt.ones(4) @ mt.ones(2, 3, 2), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 3]."),
    (lambda: mt.ones(2, 2, 3) @ mt.ones(3, 3, 2), RuntimeError,
     "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0"),
    (lambda: mt.outer(mt.ones(2, 2), mt.ones(2)), RuntimeError,
     "outer: Expected 1-D argument self, but got 2-D"),
    (lambda: mt.trace(mt.ones(2, 2, 2)), RuntimeError,
     "trace: expected a matrix, but got tensor with dim 3"),
    (lambda: mt.tensordot(mt.ones(2, 3, 4), mt.ones(3, 5, 5)), RuntimeError,
     "contracted dimensions need to match, but first has size 4 in dim -1 and second has size "
     "5 in dim 1"),
]


@pytest.mark.parametrize("fn,exc,msg", ERRORS)
def test_error_paths(fn, exc, msg):
    with pytest.raises(exc) as info:
        fn()
    assert msg in str(info.value)


def test_matmul_errors_match_torch(torch_or_skip):
    torch = torch_or_skip
    cases = [((2, 3), (4, 2)), ((4,), (2, 3)), ((2, 2, 3), (2, 4, 2)), ((3,), (4,)),
             ((2, 3), (4,)), ((2, 2, 3), (3, 3, 2)), ((4,), (2, 3, 2))]
    for sa, sb in cases:
        with pytest.raises(RuntimeError) as theirs:
            torch.ones(sa) @ torch.ones(sb)
        with pytest.raises(RuntimeError) as ours:
            mt.ones(sa) @ mt.ones(sb)
        assert str(ours.value).endswith(str(theirs.value).split("\n")[0]), (sa, sb)


def test_operator_with_non_tensor_is_type_error():
    with pytest.raises(TypeError):
        mt.ones(2) @ [1.0, 2.0]
    with pytest.raises(TypeError):
        [1.0, 2.0] @ mt.ones(2)


# -- einsum ---------------------------------------------------------------------------------
EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]), ("ij->ji", [(2, 3)]), ("ij->", [(2, 3)]), ("ba", [(2, 3)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("i,i->", [(4,), (4,)]), ("i,j->ij", [(3,), (2,)]),
    ("...ij,...jk->...ik", [(5, 1, 2, 3), (4, 3, 2)]), ("...ba", [(4, 2, 3)]),
    ("i...->...", [(2, 3, 4)]), ("ij,ij->ij", [(2, 3), (1, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("iij->j", [(3, 3, 2)]),
    ("bik,bjk->bij", [(2, 3, 4), (2, 5, 4)]), ("i,i,i->i", [(3,), (3,), (3,)]),
    ("ijk,kj->i", [(2, 3, 4), (4, 3)]), ("iji->j", [(2, 3, 2)]), ("ab,cd->abcd", [(2, 1),
                                                                                (3, 2)]),
    ("ij,ik->", [(0, 3), (0, 2)]), ("Ab,bA->A", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM)
def test_einsum_matches_numpy(eq, shapes):
    arrs = [RNG.standard_normal(s) for s in shapes]
    ts = [_t(a, strided=True) for a in arrs]
    want = np.einsum(eq, *arrs)
    assert_close(mt.einsum(eq, *ts), want, rtol=1e-10, atol=1e-12)
    assert_close(mt.einsum(eq.replace(",", " , "), ts), want, rtol=1e-10, atol=1e-12)


def test_einsum_sums_an_ellipsis_left_out_of_the_output():
    arr = RNG.standard_normal((4, 2, 3))
    assert_close(mt.einsum("...i->i", mt.tensor(arr)), arr.sum((0, 1)), rtol=1e-12)
    assert_close(mt.einsum("i...,i...->i", mt.tensor(arr), mt.tensor(arr[:, :1])),
                 np.einsum("i...,i...->i...", arr, arr[:, :1]).sum((1, 2)), rtol=1e-12)


def test_einsum_int_dtype_is_kept():
    a = mt.tensor([[1, 2], [3, 4]], dtype=mt.int32)
    out = mt.einsum("ij,jk->ik", a, a)
    assert_close(out, [[7, 10], [15, 22]], dtype=mt.int32)
    assert_close(mt.einsum("ij->i", a), [3, 7], dtype=mt.int32)


@pytest.mark.parametrize("eq,shapes,msg", [
    ("i1,jk->ik", [(2, 3), (3, 2)], "invalid subscript given at index 1 in the equation "
     "string, subscripts must be in [a-zA-Z]"),
    ("ij->ij", [(2, 3), (2, 3)], "more operands were provided than specified in the equation"),
    ("ij,jk->ik", [(2, 3)], "fewer operands were provided than specified in the equation"),
    ("ijk->i", [(2, 3)], "the number of subscripts in the equation (3) does not match the "
     "number of dimensions (2) for operand 0 and no ellipsis was given"),
    ("ij->ii", [(2, 3)], "output subscript i appears more than once in the output"),
    ("ij->ix", [(2, 3)], "output subscript x does not appear in the equation for any input"),
    ("ij,ij->", [(2, 3), (4, 2)], "subscript i has size 4 for operand 1 which does not "
     "broadcast with previously seen size 2"),
    ("ii->i", [(2, 3)], "subscript i is repeated for operand 0 but the sizes don't match, "
     "3 != 2"),
    ("...i...->i", [(2, 3)], "found '.' for operand 0 for which an ellipsis was already found"),
])
def test_einsum_errors(eq, shapes, msg):
    with pytest.raises(RuntimeError) as info:
        mt.einsum(eq, *[mt.ones(s) for s in shapes])
    assert "einsum(): " + msg in str(info.value)


def test_einsum_dtype_mismatch():
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        mt.einsum("ij,jk", mt.ones(2, 2), mt.ones(2, 2, dtype=mt.float64))


# -- tensordot ------------------------------------------------------------------------------
@pytest.mark.parametrize("dims", [0, 1, 2, ([1, 2], [1, 0]), ([0], [2]), (2, 0)])
def test_tensordot_matches_numpy(dims):
    a, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((4, 3, 2))
    if dims in (1, 2):
        b = RNG.standard_normal((3, 4, 2) if dims == 2 else (4, 5))
    want = np.tensordot(a, b, axes=dims)
    assert_close(mt.tensordot(mt.tensor(a), _t(b, True), dims), want, rtol=1e-12, atol=1e-12)


# -- norms ----------------------------------------------------------------------------------
NORM_OPS = (Op.AMIN, Op.VECTOR_NORM)


@pytest.fixture(params=["native", "decomposed"])
def path(request):
    kernels = mt.zeros(1)._be.kernels
    saved = {op: kernels[op] for op in NORM_OPS}
    if request.param == "decomposed":
        for op in NORM_OPS:
            kernels[op] = None
    yield request.param
    for op, k in saved.items():
        kernels[op] = k


@pytest.mark.parametrize("ord", [2, 1, math.inf, -math.inf, 0, 3, 0.5, -1, 2.5])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_vector_norm_matches_numpy(path, ord, dim, keepdim):
    arr = RNG.standard_normal((3, 4))
    arr[0, 0] = 0.0
    x = _t(arr, strided=True)
    flat = arr.reshape(-1) if dim is None else arr
    ax = 0 if dim is None else dim
    want = np.linalg.norm(flat, ord=ord, axis=ax) if not isinstance(ax, tuple) else \
        np.sum(np.abs(arr) ** ord) ** (1 / ord) if ord not in (0, math.inf, -math.inf) else None
    got = mt.linalg.vector_norm(x, ord, dim, keepdim)
    if want is None:
        want = {0: np.count_nonzero(arr), math.inf: np.abs(arr).max(),
                -math.inf: np.abs(arr).min()}[ord]
    if keepdim:
        want = np.reshape(want, [1 if dim is None or d in np.atleast_1d(dim) % 2 else s
                                 for d, s in enumerate(arr.shape)])
    assert_close(got, want, rtol=1e-12, atol=1e-12)
    assert got.dtype is mt.float64


@pytest.mark.parametrize("ord", ["fro", 1, -1, math.inf, -math.inf])
def test_matrix_norm_and_linalg_norm_match_numpy(path, ord):
    arr = RNG.standard_normal((2, 3, 4))
    x = _t(arr, strided=True)
    want = np.linalg.norm(arr, ord=ord, axis=(-2, -1))
    assert_close(mt.linalg.matrix_norm(x, ord), want, rtol=1e-12)
    assert_close(mt.linalg.norm(x, ord, dim=(1, 2)), want, rtol=1e-12)
    assert_close(mt.linalg.matrix_norm(x, ord, dim=(0, 2), keepdim=True),
                 np.linalg.norm(arr, ord=ord, axis=(0, 2), keepdims=True), rtol=1e-12)
    assert_close(mt.linalg.norm(x[0], ord), np.linalg.norm(arr[0], ord=ord), rtol=1e-12)
    assert_close(mt.linalg.matrix_norm(mt.zeros(0, 3), ord), np.array(0.0))


def test_linalg_norm_and_torch_norm_dispatch(path):
    arr = RNG.standard_normal((2, 3, 4))
    x = mt.tensor(arr)
    assert_close(mt.linalg.norm(x), np.sqrt(np.sum(arr ** 2)), rtol=1e-12)
    assert_close(mt.linalg.norm(x, dim=1), np.linalg.norm(arr, axis=1), rtol=1e-12)
    assert_close(mt.linalg.norm(x[0, 0], 3), np.linalg.norm(arr[0, 0], 3), rtol=1e-12)
    assert_close(mt.norm(x), np.sqrt(np.sum(arr ** 2)), rtol=1e-12)
    assert_close(x.norm(1), np.sum(np.abs(arr)), rtol=1e-12)  # torch.norm flattens for p=1
    assert_close(x.norm(p="fro", dim=(0, 2)), np.sqrt(np.sum(arr ** 2, axis=(0, 2))),
                 rtol=1e-12)
    assert_close(mt.norm(x, math.inf, dim=2, keepdim=True),
                 np.max(np.abs(arr), axis=2, keepdims=True))
    assert_close(mt.linalg.vector_norm(mt.tensor(-3.0)), np.array(3.0))
    assert_close(mt.linalg.vector_norm(mt.zeros(0)), np.array(0.0))
    assert_close(mt.linalg.vector_norm(mt.ones(3), dtype=mt.float64), np.array(math.sqrt(3)),
                 dtype=mt.float64)
    assert_close(mt.linalg.vecdot(x, x), np.sum(arr * arr, -1), rtol=1e-12)


@pytest.mark.parametrize("fn,exc,msg", [
    (lambda: mt.linalg.vector_norm(mt.arange(3)), RuntimeError,
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: mt.norm(mt.arange(3)), RuntimeError, "Expected a floating point"),
    (lambda: mt.linalg.vector_norm(mt.zeros(0), math.inf), RuntimeError,
     "linalg.vector_norm cannot compute the inf norm on an empty tensor because the operation "
     "does not have an identity"),
    (lambda: mt.linalg.vector_norm(mt.zeros(0), -1), RuntimeError, "compute the -1 norm"),
    (lambda: mt.linalg.vector_norm(mt.ones(2), "fro"), TypeError,
     "argument 'ord' (position 2) must be Number, not str"),
    (lambda: mt.linalg.vector_norm(mt.ones(2, dtype=mt.float64), dtype=mt.float32),
     RuntimeError, "the dtype of the input (Double) should be convertible without narrowing "
     "to the specified dtype (Float)"),
    (lambda: mt.linalg.matrix_norm(mt.ones(3)), RuntimeError,
     "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."),
    (lambda: mt.linalg.matrix_norm(mt.ones(2, 2), 3), RuntimeError,
     "linalg.matrix_norm: Order 3 not supported."),
    (lambda: mt.linalg.matrix_norm(mt.ones(2, 2), dim=(0, -2)), RuntimeError,
     "linalg.matrix_norm: dims must be different. Got (0, 0)"),
    (lambda: mt.norm(mt.ones(2, 2, 2), "fro", dim=(0, 1, 2)), RuntimeError,
     "linalg.matrix_norm: dim must be a 2-tuple. Got 0 1 2"),
    (lambda: mt.linalg.norm(mt.ones(2, 2, 2), 1), RuntimeError,
     "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got 3D."),
    (lambda: mt.linalg.norm(mt.ones(2, 3), dim=(0, 1, 1)), RuntimeError,
     "linalg.norm: If dim is specified, it must be of length 1 or 2. Got [0, 1, 1]"),
])
def test_norm_errors(fn, exc, msg):
    with pytest.raises(exc) as info:
        fn()
    assert msg in str(info.value)


def test_norms_match_torch_in_low_precision(torch_or_skip, path):
    torch = torch_or_skip
    arr = np.full((1000,), 300.0, dtype=np.float32)
    for name in ("float16", "bfloat16"):
        got = mt.linalg.vector_norm(mt.tensor(arr).to(getattr(mt, name)))
        want = torch.linalg.vector_norm(torch.tensor(arr).to(getattr(torch, name)))
        assert got.dtype.name == name
        assert got.float().item() == want.float().item()  # accumulated in float32
    m = RNG.standard_normal((3, 4)).astype(np.float32)
    for ord in ("fro", 1, math.inf):
        assert_close(mt.linalg.matrix_norm(mt.tensor(m), ord),
                     torch.linalg.matrix_norm(torch.tensor(m), ord), rtol=1e-6)


def test_inplace_addmm_baddbmm():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 2))
    out = mt.ones(2, 2, dtype=mt.float64)
    assert out.addmm_(mt.tensor(a), mt.tensor(b), beta=2.0) is out
    assert_close(out, 2 + a @ b)
    bb = mt.zeros(1, 2, 2, dtype=mt.float64)
    bb.baddbmm_(mt.tensor(a[None]), mt.tensor(b[None]), alpha=0.5)
    assert_close(bb, 0.5 * (a @ b)[None])


def test_products_and_norms_on_a_primitive_only_backend(mini_device):
    arr = RNG.standard_normal((3, 4, 5))
    x, c = mt.tensor(arr, device=mini_device), mt.tensor(arr)
    for f in (lambda m, t: m.einsum("ijk,ilk->jl", t, t), lambda m, t: t @ t.transpose(1, 2),
              lambda m, t: m.linalg.vector_norm(t, 3, 1),
              lambda m, t: m.linalg.matrix_norm(t, -math.inf),
              lambda m, t: m.tensordot(t, t, ([0, 2], [0, 2])), lambda m, t: m.trace(t[0])):
        got, want = f(mt, x), f(mt, c)
        assert got.device.type == "mini"
        assert_close(got.cpu(), want.numpy(), rtol=1e-12, atol=1e-12)
