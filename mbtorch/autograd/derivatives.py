"""THE derivative table: one entry per differentiable op, written with mbtorch ops.

Read an entry like a line of PyTorch's ``derivatives.yaml``::

    Op.MUL: d("a, b", lambda g, b: g * b, lambda g, a: g * a)

``"a, b"`` names the op's inputs (attrs follow a ``|``); then one gradient function per input,
whose *parameter names* say what it reads (see ``graph.Rule``): ``g`` is the output's
gradient, ``result`` the op's output, ``x_shape`` an input's shape. Only what a needed
gradient reads is saved. Gradients come back in the input's shape: broadcasting is undone by
``sum_to`` after each function, so entries are written as if shapes matched. Integer and bool
inputs never get gradients. A longer rule is a named ``_grad_<op>`` function above the table.

Every ``Op`` is in exactly one of three places: ``DERIVATIVES`` (this table),
``NON_DIFFERENTIABLE`` (outputs never require grad), or ``DECOMPOSED`` (composites whose
decomposition runs under autograd so its parts are recorded; their gradient is then the same
whether a backend runs them natively or not). ``tests/autograd/test_derivatives.py`` fails for
an op in none of them.
"""

from __future__ import annotations

import math

from ..core.op import Op
from ..core.ops import binary as B
from ..core.ops import unary as U
from ..core.ops._common import cast
from ..core.ops.complex import conj_physical, fft_c2c, real, view_as_complex, view_as_real
from ..core.ops.creation import zeros_like
from ..core.ops.joining import cat
from ..core.ops.linalg import matmul
from ..core.ops.rearranging import flip
from ..core.ops.scans import cumprod, cumsum
from ..core.ops.spectral import eigh_backward, svd_backward
from ..core.ops.views import (
    diagonal,
    expand,
    permute,
    reshape,
    select,
    slice_dim,
    transpose,
    unfold_,
)
from ..core.ops.windows import col2im, im2col, max_pool_grad
from ..core.tensor import Tensor
from . import linalg_grads as LG
from ._grad_ops import (
    inverse_permutation,
    reduce_sum,
    run_like,
    scalar_or_tensor_log,
    strided_view,
    sum_to,
    unsqueeze_to,
    write_into,
    zeros_for,
)
from .graph import Rule

__all__ = ["d", "NON_DIFFERENTIABLE", "DECOMPOSED", "DERIVATIVES", "RULES", "HANDLED"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0


# -- complex numbers: PyTorch's convention ----------------------------------------------------
# A gradient is the conjugate Wirtinger derivative, so a holomorphic f's rule multiplies the
# incoming gradient by the *conjugate* of f'(x): ``_cj`` is the identity on real values.
def _cj(x):
    if isinstance(x, Tensor):
        return conj_physical(x) if x._dtype.is_complex else x
    return x.conjugate() if type(x) is complex else x


def _grad_cast(g, x_dtype):
    # a real input made complex receives the real part (PyTorch's ToCopyBackward0)
    if g._dtype.is_complex and not x_dtype.is_complex:
        g = real(g)
    return g.to(x_dtype)


def _grad_view_as_real(g):
    return view_as_complex(g.contiguous())


def _grad_view_as_complex(g):
    return view_as_real(g.contiguous())


# -- longer rules ---------------------------------------------------------------------------
def _grad_pow_base(g, a, b):
    # d(a^b)/da = b * a^(b-1), defined as 0 where b == 0 (PyTorch's convention)
    if not isinstance(b, Tensor):
        return B.mul(g, 0.0) if b == 0 else B.mul(g, _cj(B.mul(B.pow(a, b - 1), b)))
    grad = B.mul(g, _cj(B.mul(b, B.pow(a, B.sub(b, 1)))))
    return U.where(B.eq(b, 0), 0.0, grad)


def _grad_pow_exponent(g, a, b, result):
    # d(a^b)/db = a^b * log(a), defined as 0 where a == 0 and b >= 0
    grad = B.mul(g, _cj(B.mul(result, scalar_or_tensor_log(a))))
    if isinstance(a, Tensor):
        return U.where(B.logical_and(B.eq(a, 0), B.ge(b, 0)), 0.0, grad)
    return B.mul(g, 0.0) if a == 0 else grad


def _grad_max_min(g, a, b, pick):
    # ties split the gradient in half, as PyTorch's maximum/minimum backward
    return U.where(B.eq(a, b), B.div(g, 2.0), U.where(pick(a, b), g, 0.0))


def _grad_clamp_x(g, x, lo, hi):
    keep = B.ge(x, lo) if lo is not None else None
    if hi is not None:
        keep = B.le(x, hi) if keep is None else B.logical_and(keep, B.le(x, hi))
    return U.where(keep, g, 0.0)


def _grad_clamp_lo(g, x, lo, hi):
    pick = B.lt(x, lo)
    return U.where(pick if hi is None else B.logical_and(pick, B.lt(lo, hi)), g, 0.0)


def _grad_clamp_hi(g, x, lo, hi):
    pick = B.gt(x, hi)
    return U.where(pick if lo is None else B.logical_or(pick, B.lt(hi, lo)), g, 0.0)


def _grad_slice(g, x_shape, dim, start, stop, step):
    z = zeros_for(g, x_shape)
    return write_into(z, slice_dim(z, dim, start, stop, step), g)


def _grad_select(g, x_shape, dim, index):
    z = zeros_for(g, x_shape)
    return write_into(z, select(z, dim, index), g)


def _grad_diagonal(g, x_shape, offset, dim1, dim2):
    z = zeros_for(g, x_shape)
    return write_into(z, diagonal(z, offset, dim1, dim2), g)


def _grad_unfold(g, x_shape, dim, size, step):
    # windows may overlap (step < size): add each window position's slice in turn
    shape = x_shape if x_shape else (1,)
    z = zeros_for(g, shape)
    if step >= size:
        # disjoint windows (pooling): the windows of z are a view, one write fills them
        write_into(z, unfold_(z, dim, size, step), g)
        return reshape(z, x_shape)
    n = g._shape[dim]
    for k in range(size):
        part = select(g, -1, k)
        region = slice_dim(z, dim, k, k + (n - 1) * step + 1, step)
        write_into(z, region, B.add(region, part))
    return reshape(z, x_shape)


def _grad_as_strided(g, x_shape, shape, strides, offset):
    z = zeros_for(g, x_shape)
    return write_into(z, strided_view(z, shape, strides, offset), g)


def _grad_amax(g, x, result, dims, keepdim):
    # ties share the gradient evenly, as PyTorch's amax/amin backward
    shape = x._shape
    hit = B.eq(x, unsqueeze_to(result, shape, dims, keepdim))
    count = reduce_sum(cast(hit, g._dtype), dims, True)
    return U.where(hit, B.div(unsqueeze_to(g, shape, dims, keepdim), count), 0.0)


def _grad_mean(g, x_shape, dims, keepdim):
    n = 1
    for d in dims:
        n *= x_shape[d]
    return B.div(unsqueeze_to(g, x_shape, dims, keepdim), float(n))


def _grad_prod(g, x, dims, keepdim):
    # product of the *other* elements, from exclusive cumulative products in both
    # directions (correct with zeros, unlike result / x)
    if not x._shape:
        return g
    keep = [d for d in range(x.ndim) if d not in dims]
    order = tuple(keep) + tuple(dims)
    moved = permute(x, order)
    flat = reshape(moved, moved._shape[:len(keep)] + (-1,))
    k = flat._shape[-1]
    one = B.add(zeros_for(g, flat._shape[:-1] + (1,)), 1.0)
    left = cat([one, cumprod(slice_dim(flat, flat.ndim - 1, 0, k - 1), -1)], -1)
    right = flip(cumprod(flip(slice_dim(flat, flat.ndim - 1, 1, k), (-1,)), -1), (-1,))
    others = B.mul(left, cat([right, one], -1))
    g_flat = reshape(unsqueeze_to(g, x._shape, dims, keepdim), x._shape)
    g_flat = reshape(permute(g_flat, order), flat._shape)
    return permute(reshape(B.mul(others, g_flat), moved._shape), inverse_permutation(order))


def _grad_softmax(g, result, dim):
    return B.mul(result, B.sub(g, reduce_sum(B.mul(g, result), (dim,))))


def _grad_log_softmax(g, result, dim):
    return B.sub(g, B.mul(U.exp(result), reduce_sum(g, (dim,))))


def _grad_logsumexp(g, x, result, dims, keepdim):
    shape = x._shape
    return B.mul(unsqueeze_to(g, shape, dims, keepdim),
                 U.exp(B.sub(x, unsqueeze_to(result, shape, dims, keepdim))))


def _grad_cumsum(g, dim):
    return flip(cumsum(flip(g, (dim,)), dim), (dim,))


def _grad_gather(g, x_shape, dim, index):
    return run_like(Op.SCATTER, (zeros_for(g, x_shape), dim, index, g), ("add",), x_shape, g)


def _grad_scatter_self(g, dim, index, reduce):
    if reduce == "add":
        return g
    return run_like(Op.SCATTER, (g, dim, index, zeros_for(g, index._shape)), ("none",),
                    g._shape, g)


def _grad_scatter_src(g, dim, index):
    return run_like(Op.GATHER, (g, dim, index), (), index._shape, g)


def _grad_sort(g, result, x_shape, dim):
    values, indices = result
    return run_like(Op.SCATTER, (zeros_for(values, x_shape), dim, indices, g[0]), ("none",),
                    x_shape, values)


def _grad_index_select(g, x_shape, index, dim):
    shape = g._shape
    view = (1,) * dim + index._shape + (1,) * (len(shape) - dim - 1)
    spread = expand(reshape(index, view), shape)
    return run_like(Op.SCATTER, (zeros_for(g, x_shape), dim, spread, g), ("add",), x_shape, g)


def _grad_cat(g, i, shapes, dim):
    start = sum(s[dim] for s in shapes[:i])
    return slice_dim(g, dim, start, start + shapes[i][dim])


def _grad_constant_pad(g, x_shape, pad, value):
    for d, (lo, _) in enumerate(pad):
        g = slice_dim(g, d, lo, lo + x_shape[d])
    return g


def _grad_matmul_a(g, b):
    return matmul(g, _cj(transpose(b, -1, -2)))


def _grad_matmul_b(g, a, b_shape, b_strides):
    if len(b_shape) == 2 and b_shape[0] > 1 and b_strides == (1, b_shape[0]):
        # b is a transposed matrix (``x @ w.t()`` in every linear layer): compute the
        # gradient in w's layout, so it reaches w.grad without a transposing copy
        return transpose(matmul(transpose(g, 0, 1), _cj(a)), 0, 1)
    return matmul(_cj(transpose(a, -1, -2)), g)


def _grad_max_pool(g, result, x_shape, kernel, stride, dilation):
    return max_pool_grad(g[0], result[1], x_shape, kernel, stride, dilation)


def d(signature: str, *fns, name: str | None = None, view: bool = False) -> tuple:
    return signature, fns, name, view


# -- the table ------------------------------------------------------------------------------
_ENTRIES: dict[Op, tuple] = {
    # binary arithmetic
    Op.ADD: d("a, b", lambda g: g, lambda g: g),
    Op.SUB: d("a, b", lambda g: g, lambda g: U.neg(g)),
    Op.MUL: d("a, b", lambda g, b: B.mul(g, _cj(b)), lambda g, a: B.mul(g, _cj(a))),
    Op.DIV: d("a, b", lambda g, b: B.div(g, _cj(b)),
              lambda g, a, b: U.neg(B.div(B.mul(g, _cj(a)), _cj(B.mul(b, b))))),
    Op.POW: d("a, b", _grad_pow_base, _grad_pow_exponent),
    Op.MAXIMUM: d("a, b", lambda g, a, b: _grad_max_min(g, a, b, B.gt),
                  lambda g, a, b: _grad_max_min(g, b, a, B.gt)),
    Op.MINIMUM: d("a, b", lambda g, a, b: _grad_max_min(g, a, b, B.lt),
                  lambda g, a, b: _grad_max_min(g, b, a, B.lt)),
    Op.ATAN2: d("a, b", lambda g, a, b: B.div(B.mul(g, b), B.add(B.mul(a, a), B.mul(b, b))),
                lambda g, a, b: B.div(B.mul(g, U.neg(a)), B.add(B.mul(a, a), B.mul(b, b)))),
    # unary
    Op.NEG: d("x", lambda g: U.neg(g)),
    Op.ABS: d("x", lambda g, x: B.mul(g, U.sgn(x))),
    Op.EXP: d("x", lambda g, result: B.mul(g, _cj(result))),
    Op.EXPM1: d("x", lambda g, result: B.mul(g, _cj(B.add(result, 1.0)))),
    Op.LOG: d("x", lambda g, x: B.div(g, _cj(x))),
    Op.LOG1P: d("x", lambda g, x: B.div(g, _cj(B.add(x, 1.0)))),
    Op.SQRT: d("x", lambda g, result: B.div(g, _cj(B.mul(result, 2.0)))),
    Op.RSQRT: d("x", lambda g, result: B.mul(B.mul(g, -0.5), _cj(B.pow(result, 3)))),
    Op.SIN: d("x", lambda g, x: B.mul(g, _cj(U.cos(x)))),
    Op.COS: d("x", lambda g, x: B.mul(g, _cj(U.neg(U.sin(x))))),
    Op.TANH: d("x", lambda g, result: B.mul(g, _cj(B.sub(1.0, B.mul(result, result))))),
    Op.SIGMOID: d("x", lambda g, result: B.mul(g, _cj(B.mul(result, B.sub(1.0, result))))),
    Op.ERF: d("x", lambda g, x: B.mul(g, B.mul(U.exp(U.neg(B.mul(x, x))), _TWO_OVER_SQRT_PI))),
    Op.ERFINV: d("x", lambda g, result: B.mul(g, B.mul(U.exp(B.mul(result, result)),
                                                        _SQRT_PI_OVER_TWO))),
    Op.RELU: d("x", lambda g, result: U.where(B.gt(result, 0), g, 0.0)),
    Op.RECIPROCAL: d("x", lambda g, result: U.neg(B.mul(g, _cj(B.mul(result, result))))),
    Op.SQUARE: d("x", lambda g, x: B.mul(g, _cj(B.mul(x, 2.0)))),
    Op.FLOOR: d("x", lambda g: zeros_like(g)),
    Op.CEIL: d("x", lambda g: zeros_like(g)),
    Op.ROUND: d("x", lambda g: zeros_like(g)),
    Op.TRUNC: d("x", lambda g: zeros_like(g)),
    Op.SIGN: d("x", lambda g: zeros_like(g)),
    Op.NAN_TO_NUM: d("x | nan, posinf, neginf", lambda g, x: U.where(U.isfinite(x), g, 0.0)),
    # ternary
    Op.WHERE: d("cond, a, b", None, lambda g, cond: U.where(cond, g, 0.0),
                lambda g, cond: U.where(cond, 0.0, g)),
    Op.CLAMP: d("x, lo, hi", _grad_clamp_x, _grad_clamp_lo, _grad_clamp_hi, name="ClampBackward1"),
    Op.LERP: d("start, end, weight", lambda g, weight: B.mul(g, B.sub(1.0, weight)),
               lambda g, weight: B.mul(g, weight),
               lambda g, start, end: B.mul(g, B.sub(end, start)), name="LerpBackward1"),
    # copies and casts
    Op.CAST: d("x | dtype", _grad_cast, name="ToCopyBackward0"),
    Op.CONTIGUOUS: d("x", lambda g: g, name="CloneBackward0"),
    Op.COPY_: d("dst, src", lambda g: zeros_like(g), lambda g: g, name="CopyBackwards"),
    # views
    Op.VIEW: d("x | shape", lambda g, x_shape: reshape(g, x_shape), view=True),
    Op.PERMUTE: d("x | dims", lambda g, dims: permute(g, inverse_permutation(dims)), view=True),
    Op.EXPAND: d("x | shape", lambda g, x_shape: sum_to(g, x_shape), view=True),
    Op.SLICE: d("x | dim, start, stop, step", _grad_slice, view=True),
    Op.SELECT: d("x | dim, index", _grad_select, view=True),
    Op.DIAGONAL: d("x | offset, dim1, dim2", _grad_diagonal, view=True),
    Op.UNFOLD: d("x | dim, size, step", _grad_unfold, view=True),
    Op.AS_STRIDED: d("x | shape, strides, offset", _grad_as_strided, view=True),
    # reductions and scans
    Op.SUM: d("x | dims, keepdim", lambda g, x_shape, dims, keepdim:
              unsqueeze_to(g, x_shape, dims, keepdim)),
    Op.MEAN: d("x | dims, keepdim", _grad_mean),
    Op.PROD: d("x | dims, keepdim", _grad_prod),
    Op.AMAX: d("x | dims, keepdim", _grad_amax),
    Op.AMIN: d("x | dims, keepdim", _grad_amax),
    Op.LOGSUMEXP: d("x | dims, keepdim", _grad_logsumexp),
    Op.SOFTMAX: d("x | dim", _grad_softmax),
    Op.LOG_SOFTMAX: d("x | dim", _grad_log_softmax),
    Op.CUMSUM: d("x | dim", _grad_cumsum),
    # linear algebra, indexing, joining
    Op.MATMUL: d("a, b", _grad_matmul_a, _grad_matmul_b),
    Op.GATHER: d("x, dim, index", _grad_gather, None, None),
    Op.SCATTER: d("x, dim, index, src | reduce", _grad_scatter_self, None, None,
                  _grad_scatter_src),
    Op.SORT: d("x | dim, descending", _grad_sort),
    Op.INDEX_SELECT: d("x, index | dim", _grad_index_select, None),
    Op.CAT: d("*tensors | dim", _grad_cat),
    Op.CONSTANT_PAD: d("x | pad, value", _grad_constant_pad),
    # sliding windows: im2col and col2im are each other's gradient
    Op.IM2COL: d("x | kernel, dilation, stride", lambda g, x_shape, kernel, dilation, stride:
                 col2im(g, x_shape[2:], kernel, dilation, stride), name="Im2ColBackward0"),
    Op.COL2IM: d("cols | spatial, kernel, dilation, stride",
                 lambda g, kernel, dilation, stride: im2col(g, kernel, dilation, stride),
                 name="Col2ImBackward0"),
    Op.MAX_POOL: d("x | kernel, stride, padding, dilation, ceil_mode", _grad_max_pool,
                   name="MaxPoolWithIndicesBackward0"),
    # factorizations and solvers (rules in linalg_grads.py)
    Op.CHOLESKY: d("A", LG.grad_cholesky, name="LinalgCholeskyExBackward0"),
    Op.LU_FACTOR: d("A", LG.grad_lu_factor, name="LinalgLuFactorExBackward0"),
    Op.TRIANGULAR_SOLVE: d("A, B | upper, unitriangular", LG.grad_triangular_solve_A,
                           LG.grad_triangular_solve_B, name="LinalgSolveTriangularBackward0"),
    Op.LINALG_SOLVE: d("A, B", LG.grad_solve_A, LG.grad_solve_B, name="LinalgSolveExBackward0"),
    Op.SLOGDET: d("A", LG.grad_slogdet, name="LinalgSlogdetBackward0"),
    Op.QR: d("A | mode", LG.grad_qr, name="LinalgQrBackward0"),
    # complex numbers and FFT
    Op.VIEW_AS_REAL: d("x", _grad_view_as_real, view=True),
    Op.VIEW_AS_COMPLEX: d("x", _grad_view_as_complex, view=True),
    Op.CONJ_PHYSICAL: d("x", lambda g: conj_physical(g)),
    Op.FFT: d("x | dim, inverse", lambda g, dim, inverse: fft_c2c(g, dim, not inverse),
              name="FftC2CBackward0"),
    # spectral decompositions: PyTorch's formulas (mbtorch/core/ops/spectral.py)
    Op.EIGH: d("A | uplo", lambda g, result: eigh_backward(g, result),
               name="LinalgEighBackward0"),
    Op.SVD: d("A | full_matrices", lambda g, result, full_matrices:
              svd_backward(g, result, full_matrices), name="LinalgSvdBackward0"),
}

# outputs of these never require grad (comparisons, integer results, random bits, ...)
NON_DIFFERENTIABLE: frozenset[Op] = frozenset({
    Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.BITWISE_AND, Op.BITWISE_OR, Op.BITWISE_XOR,
    Op.BITWISE_NOT, Op.LOGICAL_NOT, Op.LOGICAL_AND, Op.LOGICAL_OR, Op.LOGICAL_XOR,
    Op.ISNAN, Op.ISINF, Op.ISFINITE, Op.FLOOR_DIVIDE, Op.NONZERO, Op.ARGMAX, Op.ARGMIN,
    Op.ANY, Op.ALL, Op.IOTA, Op.PHILOX, Op.FULL,
    Op.GEQRF, Op.LDL_FACTOR,  # as PyTorch: their derivatives are not implemented
    Op.QUANTIZE, Op.DEQUANTIZE,  # integer output / integer input
})

# composites whose decomposition gives the right gradient: recorded part by part
DECOMPOSED: frozenset[Op] = frozenset({
    Op.REMAINDER, Op.EXP2, Op.LOG2, Op.LOG10, Op.TAN, Op.ASIN, Op.ACOS, Op.ATAN, Op.SINH,
    Op.COSH, Op.VAR, Op.VECTOR_NORM, Op.CUMPROD, Op.FLIP, Op.TRIL, Op.TRIU, Op.MASKED_FILL,
    Op.INDEX, Op.INDEX_PUT, Op.CONVOLUTION,
    Op.FAKE_QUANTIZE,  # the decomposition is the masked straight-through estimator
})


def _camel(op: Op) -> str:
    return "".join(part.capitalize() for part in op.name.split("_") if part)


def _build() -> dict[Op, Rule]:
    rules = {}
    for op, (signature, fns, name, view) in _ENTRIES.items():
        rules[op] = Rule(name or f"{_camel(op)}Backward0", signature, fns, view)
    return rules


DERIVATIVES: dict[Op, Rule] = _build()

# indexed by Op value for the hot path; None marks a listed non-differentiable op
RULES: list = [DERIVATIVES.get(op) for op in Op]

# the ops the dispatcher must not decompose under autograd (see dispatch.run)
HANDLED: frozenset[Op] = frozenset(DERIVATIVES) | NON_DIFFERENTIABLE
