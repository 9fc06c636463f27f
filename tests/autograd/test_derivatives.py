"""The derivative table: every op is classified, and every differentiable op passes gradcheck
(float64, finite differences) on cpu; second derivatives for elementwise ops, matmul,
reductions and softmax."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
import mbtorch.nn.functional as F
from mbtorch.autograd import DECOMPOSED, DERIVATIVES, NON_DIFFERENTIABLE, gradcheck, gradgradcheck
from mbtorch.core.op import OPS, PRIMITIVES, Op


def rand(*shape, low=-1.0, high=1.0, seed=0):
    rng = np.random.default_rng(seed + len(shape) * 7 + sum(shape))
    return mt.tensor(rng.uniform(low, high, shape), dtype=mt.float64, requires_grad=True)


def pos(*shape, seed=0):
    return rand(*shape, low=0.5, high=2.0, seed=seed)


def distinct(*shape, seed=0):
    """Values far apart (no ties for max/min/sort, no kinks for abs/relu/floor)."""
    n = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    vals = rng.permutation(n) * 0.37 - n * 0.17 + 0.123
    return mt.tensor(vals.reshape(shape), dtype=mt.float64, requires_grad=True)


def _copy_into(x, y):
    z = x * 1.0
    z.copy_(y)
    return z * x


def _write_slice_of_fresh(x):
    z = mt.zeros(5, dtype=mt.float64)
    z[1:4] = x  # a view made without recording: replayed by its geometry (AS_STRIDED)
    return z * 2.0


def _write_view_of_nonleaf(x, y):
    base = x * 1.0
    base[:, 1].mul_(y)
    return base


IDX = mt.tensor([[0, 2, 1], [1, 0, 0]])
EYE3 = mt.eye(3, dtype=mt.float64)

# one sample per differentiable op: (function, inputs)
SAMPLES = {
    Op.ADD: (lambda a, b: a + b, (rand(3, 1), rand(4))),
    Op.SUB: (lambda a, b: a - b, (rand(3, 4), rand(4))),
    Op.MUL: (lambda a, b: a * b, (rand(2, 3), rand(3))),
    Op.DIV: (lambda a, b: a / b, (rand(2, 3), pos(3))),
    Op.POW: (lambda a, b: a ** b + a ** 3 + 2.0 ** b, (pos(3), rand(3))),
    Op.MAXIMUM: (lambda a, b: mt.maximum(a, b), (distinct(4), distinct(4, seed=1) + 0.1)),
    Op.MINIMUM: (lambda a, b: mt.minimum(a, b), (distinct(4), distinct(4, seed=1) + 0.1)),
    Op.ATAN2: (lambda a, b: mt.atan2(a, b), (rand(3), pos(3))),
    Op.NEG: (lambda x: -x, (rand(3),)),
    Op.ABS: (lambda x: x.abs(), (distinct(5),)),
    Op.EXP: (lambda x: x.exp(), (rand(3),)),
    Op.EXPM1: (lambda x: x.expm1(), (rand(3),)),
    Op.LOG: (lambda x: x.log(), (pos(3),)),
    Op.LOG1P: (lambda x: x.log1p(), (pos(3),)),
    Op.SQRT: (lambda x: x.sqrt(), (pos(3),)),
    Op.RSQRT: (lambda x: x.rsqrt(), (pos(3),)),
    Op.SIN: (lambda x: x.sin(), (rand(3),)),
    Op.COS: (lambda x: x.cos(), (rand(3),)),
    Op.TANH: (lambda x: x.tanh(), (rand(3),)),
    Op.SIGMOID: (lambda x: x.sigmoid(), (rand(3),)),
    Op.ERF: (lambda x: x.erf(), (rand(3),)),
    Op.ERFINV: (lambda x: x.erfinv(), (rand(3, low=-0.9, high=0.9),)),
    Op.RELU: (lambda x: x.relu(), (distinct(6),)),
    Op.RECIPROCAL: (lambda x: x.reciprocal(), (pos(3),)),
    Op.SQUARE: (lambda x: x.square(), (rand(3),)),
    Op.FLOOR: (lambda x: x.floor() * x, (distinct(4),)),
    Op.CEIL: (lambda x: x.ceil() * x, (distinct(4),)),
    Op.ROUND: (lambda x: x.round() * x, (distinct(4),)),
    Op.TRUNC: (lambda x: x.trunc() * x, (distinct(4),)),
    Op.SIGN: (lambda x: x.sign() * x, (distinct(4),)),
    Op.NAN_TO_NUM: (lambda x: x.nan_to_num(), (rand(3),)),
    Op.WHERE: (lambda a, b: mt.where(a > 0, a, b), (distinct(4), rand(4))),
    Op.CLAMP: (lambda x, lo, hi: x.clamp(lo, hi) + x.clamp(-0.3, 0.4),
               (distinct(6) * 0.2, rand(6, seed=3) - 1.0, rand(6, seed=4) + 1.0)),
    Op.LERP: (lambda a, b, w: mt.lerp(a, b, w), (rand(3), rand(3, seed=2), rand(3, seed=3))),
    # a float32 round trip: finite differences need a step float32 resolves
    Op.CAST: (lambda x: x.to(mt.float32).to(mt.float64), (rand(3),),
              {"eps": 1e-3, "atol": 1e-4}),
    Op.CONTIGUOUS: (lambda x: x.t().contiguous(), (rand(2, 3),)),
    Op.COPY_: (_copy_into, (rand(3), rand(3, seed=5))),
    Op.VIEW: (lambda x: x.view(3, 2), (rand(2, 3),)),
    Op.PERMUTE: (lambda x: x.permute(2, 0, 1), (rand(2, 3, 2),)),
    Op.EXPAND: (lambda x: x.expand(3, 2, 4), (rand(2, 1),)),
    Op.SLICE: (lambda x: x[:, 1::2], (rand(3, 5),)),
    Op.SELECT: (lambda x: x[1], (rand(3, 2),)),
    Op.DIAGONAL: (lambda x: x.diagonal(1), (rand(3, 4),)),
    Op.UNFOLD: (lambda x: x.unfold(0, 3, 1), (rand(6),)),
    Op.AS_STRIDED: (_write_slice_of_fresh, (rand(3),)),
    Op.SUM: (lambda x: x.sum(1) + x.sum(), (rand(2, 3),)),
    Op.MEAN: (lambda x: x.mean((0, 2), keepdim=True), (rand(2, 3, 2),)),
    Op.PROD: (lambda x: x.prod(1), (mt.tensor([[1.5, 0.0, 2.0], [0.5, 1.2, -0.7]],
                                             dtype=mt.float64, requires_grad=True),)),
    Op.AMAX: (lambda x: x.amax(1), (distinct(3, 4),)),
    Op.AMIN: (lambda x: x.amin(0), (distinct(3, 4),)),
    Op.LOGSUMEXP: (lambda x: x.logsumexp(1), (rand(2, 3),)),
    Op.SOFTMAX: (lambda x: x.softmax(-1), (rand(2, 3),)),
    Op.LOG_SOFTMAX: (lambda x: x.log_softmax(0), (rand(2, 3),)),
    Op.CUMSUM: (lambda x: x.cumsum(1), (rand(2, 4),)),
    Op.MATMUL: (lambda a, b: a @ b, (rand(2, 3, 4), rand(4, 2))),
    Op.GATHER: (lambda x: x.gather(1, IDX), (rand(2, 3),)),
    Op.SCATTER: (lambda x, s: x.scatter(1, IDX[:, :1], s[:, :1]) + x.scatter_add(1, IDX, s),
                 (rand(2, 3), rand(2, 3, seed=9))),
    Op.SORT: (lambda x: x.sort(1).values, (distinct(2, 4),)),
    Op.INDEX_SELECT: (lambda x: x.index_select(0, mt.tensor([2, 0, 2])), (rand(3, 2),)),
    Op.CAT: (lambda a, b: mt.cat([a, b, a], 1), (rand(2, 1), rand(2, 3))),
    Op.CONSTANT_PAD: (lambda x: F.pad(x, (1, 2)), (rand(2, 3),)),
    Op.IM2COL: (lambda x: F.unfold(x, (2, 3), dilation=(2, 1), stride=(1, 2)),
                (rand(2, 2, 5, 6),)),
    Op.COL2IM: (lambda c: F.fold(c, (4, 5), 2, stride=(1, 2), padding=(0, 1)),
                (rand(1, 8, 9),)),
    # overlapping windows (the gradient adds) and disjoint ones (it writes)
    Op.MAX_POOL: (lambda x: F.max_pool2d(x, 3, 2, 1) + F.max_pool2d(x, 2).sum(),
                  (distinct(1, 2, 5, 5),)),
    # composites left to their decomposition
    Op.REMAINDER: (lambda a, b: mt.remainder(a, b), (distinct(4) * 0.3, pos(4))),
    Op.EXP2: (lambda x: x.exp2(), (rand(3),)),
    Op.CONVOLUTION: (lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2),
                                           groups=2), (rand(2, 4, 5, 6), rand(2, 2, 3, 2))),
    Op.LOG2: (lambda x: x.log2(), (pos(3),)),
    Op.LOG10: (lambda x: x.log10(), (pos(3),)),
    Op.TAN: (lambda x: x.tan(), (rand(3),)),
    Op.ASIN: (lambda x: (x * 0.8).asin(), (rand(3),)),
    Op.ACOS: (lambda x: (x * 0.8).acos(), (rand(3),)),
    Op.ATAN: (lambda x: x.atan(), (rand(3),)),
    Op.SINH: (lambda x: x.sinh(), (rand(3),)),
    Op.COSH: (lambda x: x.cosh(), (rand(3),)),
    Op.VAR: (lambda x: x.var(1) + x.std(), (rand(2, 4),)),
    Op.VECTOR_NORM: (lambda x: mt.linalg.vector_norm(x, 3.0) + x.norm(), (rand(4),)),
    Op.CUMPROD: (lambda x: x.cumprod(0), (rand(4),)),
    Op.FLIP: (lambda x: x.flip(1), (rand(2, 3),)),
    Op.TRIL: (lambda x: x.tril(), (rand(3, 3),)),
    Op.TRIU: (lambda x: x.triu(1), (rand(3, 3),)),
    Op.MASKED_FILL: (lambda x: x.masked_fill(x > 0, 2.0), (distinct(4),)),
    Op.INDEX: (lambda x: x[mt.tensor([0, 2, 2])], (rand(3, 2),)),
    Op.INDEX_PUT: (lambda x, v: x.index_put((mt.tensor([0, 2]),), v, accumulate=True),
                   (rand(3, 2), rand(2, 2, seed=4))),
    # factorizations and solvers (well-conditioned inputs: a diagonal lift)
    Op.CHOLESKY: (lambda x: mt.linalg.cholesky(x @ x.mT + EYE3 * 3), (rand(3, 3),)),
    Op.LU_FACTOR: (lambda x: mt.linalg.lu_factor(x).LU, (rand(3, 3),)),
    Op.TRIANGULAR_SOLVE: (lambda a, b: mt.linalg.solve_triangular(a + EYE3 * 3, b, upper=True),
                          (rand(3, 3), rand(3, 2, seed=1))),
    Op.LINALG_SOLVE: (lambda a, b: mt.linalg.solve(a + EYE3 * 3, b),
                      (rand(3, 3), rand(3, 2, seed=1))),
    Op.SLOGDET: (lambda x: mt.linalg.slogdet(x).logabsdet, (rand(3, 3),)),
    Op.QR: (lambda x: mt.cat(list(mt.linalg.qr(x))), (rand(4, 3),)),
    # spectral: sign-free functions of the vectors (symmetrised: eigh reads one triangle)
    Op.EIGH: (lambda x: (lambda r: mt.cat([r[0].unsqueeze(0), r[1][:, :2] @ r[1][:, :2].mT]))(
        mt.linalg.eigh(x + x.mT)), (rand(3, 3),)),
    Op.SVD: (lambda x: (lambda r: mt.cat([(r.U * r.S) @ r.Vh, r.U[:, :1] @ r.U[:, :1].mT,
                                          r.S.unsqueeze(0)]))(mt.linalg.svd(x, False)),
             (rand(3, 3),)),
    # complex numbers and FFT: real inputs and outputs around complex intermediates
    Op.VIEW_AS_REAL: (lambda x, y: mt.view_as_real(mt.complex(x, y) * (1 + 2j)),
                      (rand(3), rand(3, seed=1))),
    Op.VIEW_AS_COMPLEX: (lambda x: mt.view_as_real(mt.view_as_complex(x) * (0.5 - 1j)),
                         (rand(3, 2),)),
    Op.CONJ_PHYSICAL: (lambda x, y: mt.view_as_real(mt.conj_physical(mt.complex(x, y) * 1j)),
                       (rand(3), rand(3, seed=1))),
    Op.FFT: (lambda x, y: mt.view_as_real(mt.fft.fft(mt.complex(x, y), dim=0, norm="ortho")),
             (rand(4, 2), rand(4, 2, seed=1))),
}

SECOND_ORDER = [
    Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.POW, Op.MAXIMUM, Op.ATAN2, Op.NEG, Op.ABS, Op.EXP,
    Op.EXPM1, Op.LOG, Op.LOG1P, Op.SQRT, Op.RSQRT, Op.SIN, Op.COS, Op.TANH, Op.SIGMOID,
    Op.ERF, Op.ERFINV, Op.RELU, Op.RECIPROCAL, Op.SQUARE, Op.WHERE, Op.CLAMP, Op.LERP,
    Op.MATMUL,
    Op.SUM, Op.MEAN, Op.PROD, Op.AMAX, Op.AMIN, Op.LOGSUMEXP, Op.SOFTMAX, Op.LOG_SOFTMAX,
    Op.CUMSUM, Op.VAR, Op.VIEW, Op.SLICE, Op.SELECT, Op.GATHER, Op.CAT, Op.COPY_,
    Op.AS_STRIDED, Op.IM2COL, Op.COL2IM, Op.MAX_POOL,
    Op.VIEW_AS_REAL, Op.VIEW_AS_COMPLEX, Op.CONJ_PHYSICAL, Op.FFT,
    Op.EIGH, Op.SVD,
]


def test_every_op_is_classified_exactly_once():
    groups = (set(DERIVATIVES), set(NON_DIFFERENTIABLE), set(DECOMPOSED))
    unclassified = [op.name for op in Op if not any(op in g for g in groups)]
    assert not unclassified, f"ops with no derivative decision: {unclassified}"
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2])
    assert not (groups[1] & groups[2])


def test_decomposed_ops_are_composites():
    for op in DECOMPOSED:
        assert op not in PRIMITIVES and OPS[op].decomposition is not None, op.name


# gradients that are not the derivative finite differences see: fake quantization's is the
# straight-through estimator, checked against PyTorch in tests/core/test_quantized.py
STRAIGHT_THROUGH = {Op.FAKE_QUANTIZE}


def test_every_differentiable_op_has_a_gradcheck_sample():
    wanted = (set(DERIVATIVES) | set(DECOMPOSED)) - set(SAMPLES) - STRAIGHT_THROUGH
    assert not wanted, sorted(op.name for op in wanted)


@pytest.mark.parametrize("op", list(SAMPLES), ids=lambda op: op.name)
def test_gradcheck(op):
    fn, inputs, *options = SAMPLES[op]
    inputs = tuple(x.detach().requires_grad_() for x in inputs)
    assert gradcheck(fn, inputs, **(options[0] if options else {}))


@pytest.mark.parametrize("op", SECOND_ORDER, ids=lambda op: op.name)
def test_gradgradcheck(op):
    fn, inputs, *_ = SAMPLES[op]
    inputs = tuple(x.detach().requires_grad_() for x in inputs)
    assert gradgradcheck(fn, inputs)


def test_sample_really_records_its_op():
    x = rand(3, 4)
    assert (x @ rand(4, 2)).grad_fn.name() == "MatmulBackward0"
    assert x.sum().grad_fn.name() == "SumBackward0"
    assert (x * 2).grad_fn.name() == "MulBackward0"
    assert x.t().grad_fn.name() == "PermuteBackward0"
    assert x.to(mt.float32).grad_fn.name() == "ToCopyBackward0"


def test_gradcheck_catches_a_wrong_gradient():
    class Wrong(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = rand(3)
    assert not gradcheck(Wrong.apply, (x,), raise_exception=False)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        gradcheck(Wrong.apply, (x,))


def test_integer_and_bool_inputs_get_no_gradient():
    x = rand(3)
    i = mt.tensor([1, 2, 3])
    y = x * i + (x > 0)
    y.sum().backward()
    assert i.grad is None and not i.requires_grad
    np.testing.assert_allclose(x.grad.numpy(), [1, 2, 3])
    assert not (x > 0).requires_grad and not x.argmax().requires_grad


def test_broadcasting_is_undone():
    a, b = rand(3, 1), rand(1, 4)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4)
    np.testing.assert_allclose(a.grad.numpy()[:, 0], b.detach().numpy().sum())


def test_cast_gradient_comes_back_in_the_input_dtype():
    x = mt.ones(3, requires_grad=True)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype == mt.float32
    np.testing.assert_allclose(x.grad.numpy(), [2, 2, 2])
