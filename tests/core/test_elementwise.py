"""Elementwise ops against PyTorch (values, dtypes) and NumPy, on contiguous and strided
inputs, with scalars, broadcasting, in-place forms and the error paths."""

import math

import numpy as np
import pytest

import mbtorch as mt
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

UNARY_FLOAT = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin",
               "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "erf",
               "reciprocal"]
UNARY_ANY = ["abs", "neg", "square", "sign", "floor", "ceil", "trunc", "round", "relu"]
SPECIAL = [0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1e-8, 3.0, -7.25, 100.0, math.inf, -math.inf,
           math.nan, 0.9999, -0.9999, 1e30]


def _pair(values, dtype="float32"):
    arr = np.array(values, dtype=np.float64)
    return mt.tensor(arr, dtype=getattr(mt, dtype)), torch.tensor(arr, dtype=getattr(torch,
                                                                                     dtype))


@pytest.mark.parametrize("name", UNARY_FLOAT + UNARY_ANY)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_float_values_match_torch(name, dtype):
    x, tx = _pair(SPECIAL, dtype)
    with np.errstate(all="ignore"):
        got = getattr(mt, name)(x)
    want = getattr(torch, name)(tx)
    assert got.dtype.name == str(want.dtype)[6:]
    rtol = 4e-6 if dtype == "float32" else 1e-12
    assert_close(got, want, rtol=rtol, atol=1e-30)
    # -0.0 survives where torch keeps it
    ok = ~np.isnan(want.numpy())  # a NaN's sign bit carries no meaning
    np.testing.assert_array_equal(np.signbit(got.numpy())[ok], np.signbit(want.numpy())[ok])


@pytest.mark.parametrize("name", UNARY_FLOAT)
def test_unary_float_ops_promote_integers(name):
    x = mt.tensor([1, 2, 3])
    assert getattr(mt, name)(x).dtype is mt.float32
    assert_close(getattr(mt, name)(x), getattr(torch, name)(torch.tensor([1, 2, 3])),
                 rtol=2e-6)


@pytest.mark.parametrize("name", ["abs", "neg", "square", "sign", "floor", "ceil", "round",
                                  "trunc"])
def test_unary_integer_ops_keep_dtype(name):
    x = mt.tensor([-3, 0, 5], dtype=mt.int16)
    tx = torch.tensor([-3, 0, 5], dtype=torch.int16)
    got, want = getattr(mt, name)(x), getattr(torch, name)(tx)
    assert got.dtype is mt.int16 and got.tolist() == want.tolist()


BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "remainder",
          "floor_divide", "eq", "ne", "lt", "le", "gt", "ge", "fmod"]


@pytest.mark.parametrize("name", BINARY)
def test_binary_float_broadcast_noncontiguous(name):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 6)) * 3
    b = rng.standard_normal((6,)) * 2 + 0.5
    ma, mb = mt.tensor(a, dtype=mt.float32).t(), mt.tensor(b[:4], dtype=mt.float32)
    ta, tb = torch.tensor(a, dtype=torch.float32).t(), torch.tensor(b[:4], dtype=torch.float32)
    assert not ma.is_contiguous()
    got, want = getattr(mt, name)(ma, mb), getattr(torch, name)(ta, tb)
    assert got.shape == tuple(want.shape) and got.dtype.name == str(want.dtype)[6:]
    assert_close(got, want, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "floor_divide", "remainder", "maximum",
                                  "minimum", "bitwise_and", "bitwise_or", "bitwise_xor",
                                  "div", "pow"])
@pytest.mark.parametrize("dtypes", [("int32", "int64"), ("uint8", "int8"), ("int16", "int16"),
                                    ("bool", "int32")])
def test_binary_integer_promotion(name, dtypes):
    a = np.array([7, -3, 5, 0, 9])
    b = np.array([2, 3, -4, 1, 2])
    if "uint8" in dtypes[0] or "bool" in dtypes[0]:
        a = np.abs(a) % 2 if dtypes[0] == "bool" else np.abs(a)
    if name == "pow":
        b = np.abs(b)
    ma, mb = mt.tensor(a, dtype=getattr(mt, dtypes[0])), mt.tensor(b, dtype=getattr(mt,
                                                                                      dtypes[1]))
    ta = torch.tensor(a, dtype=getattr(torch, dtypes[0]))
    tb = torch.tensor(b, dtype=getattr(torch, dtypes[1]))
    if name == "sub" and "bool" in dtypes:
        with pytest.raises(RuntimeError, match="with a bool tensor is not supported"):
            mt.sub(ma, mb)
        return
    got, want = getattr(mt, name)(ma, mb), getattr(torch, name)(ta, tb)
    assert got.dtype.name == str(want.dtype)[6:]
    assert_close(got, want)


def test_scalar_operands_and_reflected_operators():
    x = mt.tensor([1.0, 2.0, 4.0])
    assert (2 - x).tolist() == [1.0, 0.0, -2.0]
    assert (8 / x).tolist() == [8.0, 4.0, 2.0]
    assert (2 ** x).tolist() == [2.0, 4.0, 16.0]
    assert (x ** 2).tolist() == [1.0, 4.0, 16.0]
    assert (7 // x).tolist() == [7.0, 3.0, 1.0]
    assert (7 % x).tolist() == [0.0, 1.0, 3.0]
    assert (-x).tolist() == [-1.0, -2.0, -4.0]
    assert (1 < x).tolist() == [False, True, True]
    assert (x >= 2).tolist() == [False, True, True]
    assert (mt.tensor([True, False]) & True).tolist() == [True, False]
    assert (~mt.tensor([True, False])).tolist() == [False, True]
    assert (~mt.tensor([0, 5], dtype=mt.uint8)).tolist() == [255, 250]


def test_integer_scalar_wraps_like_torch():
    x = mt.tensor([1, 2], dtype=mt.int8)
    assert (x + 1000).tolist() == (torch.tensor([1, 2], dtype=torch.int8) + 1000).tolist()
    assert (mt.tensor([1], dtype=mt.uint8) - 2).tolist() == [255]


def test_div_rounding_modes_match_torch():
    a = [7, -7, 7, -7, 0, 2**40 + 1]
    b = [2, 2, -2, -2, 3, 3]
    for mode in ("trunc", "floor"):
        got = mt.div(mt.tensor(a), mt.tensor(b), rounding_mode=mode)
        want = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
        assert got.dtype is mt.int64 and got.tolist() == want.tolist()
        gf = mt.div(mt.tensor(a, dtype=mt.float64), mt.tensor(b, dtype=mt.float64),
                    rounding_mode=mode)
        assert gf.tolist() == torch.div(torch.tensor(a, dtype=torch.float64),
                                        torch.tensor(b, dtype=torch.float64),
                                        rounding_mode=mode).tolist()


def test_inplace_ops_write_through_views():
    base = mt.zeros(3, 4)
    row = mt.select(base, 0, 1)
    row.add_(2.0)
    row.mul_(mt.arange(4.0))
    assert base.tolist()[1] == [0.0, 2.0, 4.0, 6.0]
    assert base._version == row._version >= 2
    x = mt.ones(3)
    x += 1
    x *= mt.tensor([1.0, 2.0, 3.0])
    assert x.tolist() == [2.0, 4.0, 6.0]


def test_inplace_dtype_and_shape_errors():
    x = mt.ones(3, dtype=mt.int64)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        x.add_(1.5)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        mt.ones(3).add_(mt.ones(2, 3))
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        mt.ones(1).expand(3).add_(1)


def test_error_messages_name_op_and_argument():
    with pytest.raises(RuntimeError, match=r"add\(\): The size of tensor a \(3\) must match the "
                                           r"size of tensor b \(4\) at non-singleton dimension 1"):
        mt.ones(2, 3) + mt.ones(4)
    with pytest.raises(TypeError, match=r"add\(\): argument 'other' must be Tensor"):
        mt.add(mt.ones(2), "x")
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool"):
        mt.tensor([True]) - mt.tensor([False])
    with pytest.raises(RuntimeError, match="Negation, the `-` operator, on a bool tensor"):
        -mt.tensor([True])
    with pytest.raises(NotImplementedError, match=r"bitwise_and\(\): not implemented for "
                                                  "'float32'"):
        mt.ones(2) & 1
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        mt.tensor([1, 2]) ** -1
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        mt.tensor([1, 2]) // mt.tensor([0, 1])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        mt.tensor([1, 2]) % 0


def test_where_clamp_lerp_nan_to_num_match_torch():
    x = mt.tensor([-2.0, -0.5, math.nan, 0.5, 3.0, math.inf])
    tx = torch.tensor([-2.0, -0.5, math.nan, 0.5, 3.0, math.inf])
    assert_close(mt.clamp(x, -1, 1), torch.clamp(tx, -1, 1))
    assert_close(x.clamp(min=0.0), tx.clamp(min=0.0))
    assert_close(mt.clamp(x, max=mt.tensor(0.25)), torch.clamp(tx, max=torch.tensor(0.25)))
    assert_close(mt.where(x > 0, x, 0.0), torch.where(tx > 0, tx, 0.0))
    assert mt.where(mt.tensor([True, False]), 1, 2.5).dtype is mt.float32
    assert_close(mt.nan_to_num(x), torch.nan_to_num(tx))
    assert_close(mt.nan_to_num(x, nan=1.0, posinf=2.0), torch.nan_to_num(tx, 1.0, 2.0))
    a, b = mt.tensor([0.0, 1.0, 10.0]), mt.tensor([10.0, 11.0, -10.0])
    for w in (0.0, 0.25, 0.5, 1.0):
        assert_close(mt.lerp(a, b, w), torch.lerp(torch.tensor([0.0, 1.0, 10.0]),
                                                   torch.tensor([10.0, 11.0, -10.0]), w))
    with pytest.raises(RuntimeError, match="expected condition to be a boolean"):
        mt.where(mt.ones(3), a, a)


def test_classification_ops():
    x = mt.tensor([1.0, math.nan, math.inf, -math.inf, -0.0])
    assert mt.isnan(x).tolist() == [False, True, False, False, False]
    assert mt.isinf(x).tolist() == [False, False, True, True, False]
    assert mt.isfinite(x).tolist() == [True, False, False, False, True]
    assert mt.signbit(x).tolist() == [False, False, False, True, True]
    assert mt.isnan(mt.tensor([1, 2])).tolist() == [False, False]
    assert mt.isfinite(mt.tensor([1, 2])).tolist() == [True, True]


def test_half_precision_compute():
    x = mt.tensor([0.1, 1.5, 3.0], dtype=mt.float16)
    tx = torch.tensor([0.1, 1.5, 3.0], dtype=torch.float16)
    for name in ("exp", "sin", "sqrt", "tanh", "erf"):
        got, want = getattr(mt, name)(x), getattr(torch, name)(tx)
        assert got.dtype is mt.float16
        assert_close(got, want.float(), rtol=1e-3, atol=1e-3)
    xb = mt.tensor([0.1, 1.5, 3.0], dtype=mt.bfloat16)
    assert mt.exp(xb).dtype is mt.bfloat16
    assert_close(mt.exp(xb).float(), torch.exp(torch.tensor([0.1, 1.5, 3.0],
                                                            dtype=torch.bfloat16)).float(),
                 rtol=1e-2)


def test_composite_decompositions_agree_with_native_kernels():
    """Run every elementwise composite through its decomposition on cpu handles and compare
    with the native NumPy kernel, so the template plugin (primitives only) gets the same
    answers."""
    from mbtorch.core.op import OPS, Op

    x = mt.tensor([-2.5, -0.5, 0.0, 0.3, 0.5, 1.5, 2.5, 7.0])
    y = mt.tensor([1.0, 2.0, -3.0, 0.5, 4.0, -1.5, 2.5, 3.0])
    unary_ops = [Op.NEG, Op.EXP2, Op.LOG2, Op.LOG10, Op.TAN, Op.SINH, Op.COSH, Op.CEIL,
                 Op.TRUNC, Op.SQUARE, Op.ISNAN, Op.ISINF, Op.ISFINITE]
    for op in unary_ops:
        kernel = x._be.kernels[op]
        with np.errstate(all="ignore"):
            native = kernel(x._data)
            decomposed = OPS[op].decomposition(x).numpy()
        np.testing.assert_allclose(decomposed.astype(float), native.astype(float), rtol=3e-6,
                                   atol=1e-7, err_msg=op.name, equal_nan=True)
    for op in [Op.SUB, Op.MINIMUM, Op.NE, Op.LE, Op.GT, Op.GE]:
        native = x._be.kernels[op](x._data, y._data)
        decomposed = OPS[op].decomposition(x, y).numpy()
        np.testing.assert_allclose(decomposed.astype(float), native.astype(float),
                                   err_msg=op.name)


def _bf16(values):
    arr = np.array(values, dtype=np.float32)
    return mt.tensor(arr, dtype=mt.bfloat16), torch.tensor(arr, dtype=torch.bfloat16)


@pytest.mark.parametrize("device", ["cpu", "mini"])
def test_bfloat16_with_python_floats_stays_bfloat16(device, request):
    # ml_dtypes promotes bfloat16 with a Python float to float32; the kernels must not
    if device == "mini":
        device = request.getfixturevalue("mini_device")
    x, tx = _bf16([-1.5, 0.1, 2.0, 3.7, -0.0])
    x = x.to(device)
    cases = [
        (lambda t: t + 3.3, lambda t: t + 3.3), (lambda t: 0.1 - t, lambda t: 0.1 - t),
        (lambda t: t * 0.1, lambda t: t * 0.1), (lambda t: t / 3.0, lambda t: t / 3.0),
        (lambda t: t ** 2.5, lambda t: t ** 2.5), (lambda t: t // 0.7, lambda t: t // 0.7),
        (lambda t: t.clamp(-1.0, 1.5), lambda t: t.clamp(-1.0, 1.5)),
        (lambda t: t.sigmoid(), lambda t: t.sigmoid()), (lambda t: t.rsqrt(), lambda t: t.rsqrt()),
        (lambda t: t.reciprocal(), lambda t: t.reciprocal()),
        (lambda t: t.round(), lambda t: t.round()), (lambda t: t.relu(), lambda t: t.relu()),
        (lambda t: t.masked_fill(t > 1, 2.2), lambda t: t.masked_fill(t > 1, 2.2)),
        (lambda t: mt.where(t > 1, t, 0.3), lambda t: torch.where(t > 1, t, 0.3)),
    ]
    for ours, theirs in cases:
        got, want = ours(x), theirs(tx)
        assert got.dtype is mt.bfloat16 and got._data.dtype.name == "bfloat16"
        assert_close(got.float(), want.float(), rtol=1.6e-2, atol=1e-5)
    assert (x == 0.1).tolist() == (tx == 0.1).tolist()  # the scalar rounds to bfloat16 first
    tri = mt.tril(mt.ones(3, 3, dtype=mt.bfloat16, device=device))
    assert tri._data.dtype.name == "bfloat16"
    assert mt.rand(4, dtype=mt.bfloat16, device=device)._data.dtype.name == "bfloat16"
    nan = mt.tensor([math.nan, math.inf], dtype=mt.bfloat16, device=device).nan_to_num()
    assert nan._data.dtype.name == "bfloat16"


def test_half_precision_composites_round_once(mini_device):
    # decomposed in float16 each step would round; PyTorch computes in float32 and rounds once
    rng = np.random.default_rng(0)
    a = rng.uniform(0.05, 4.0, 600).astype(np.float16)
    b = rng.uniform(-4.0, 4.0, 600).astype(np.float16)
    w = rng.uniform(0.0, 1.0, 600).astype(np.float16)
    x, y, z = (mt.tensor(v, device=mini_device) for v in (a, b, w))
    tx, ty, tz = (torch.tensor(v) for v in (a, b, w))
    pairs = [(mt.sigmoid(y), torch.sigmoid(ty)), (mt.log2(x), torch.log2(tx)),
             (mt.lerp(x, y, z), torch.lerp(tx, ty, tz)), (y % x, ty % tx),
             (mt.sinh(y), torch.sinh(ty)), (mt.rsqrt(x), torch.rsqrt(tx))]
    for got, want in pairs:
        assert got.dtype is mt.float16
        assert_close(got, want, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("name", ["abs", "floor", "ceil", "round", "trunc", "fix"])
def test_bool_input_is_not_implemented_as_torch(name):
    b = mt.tensor([True, False])
    with pytest.raises(NotImplementedError):
        getattr(torch, name)(torch.tensor([True, False]))
    with pytest.raises(NotImplementedError, match=f"{name if name != 'fix' else 'trunc'}"):
        getattr(mt, name)(b)
    with pytest.raises(NotImplementedError):
        getattr(b.clone(), (name if name != "fix" else "trunc") + "_")()


def test_more_error_parity():
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        mt.relu(mt.tensor([True]))
    with pytest.raises(NotImplementedError, match="lerp"):
        mt.lerp(mt.tensor([1, 2]), mt.tensor([3, 4]), 0.5)
    with pytest.raises(NotImplementedError, match="round"):
        mt.round(mt.tensor([1, 2]), decimals=1)
    assert mt.round(mt.tensor([1, 2])).tolist() == [1, 2]


def test_round_inplace_and_decimals():
    vals = [1234.5678, -0.0049, 25.0, 35.0, 2.5]
    for decimals in (0, 2, -1):
        x = mt.tensor(vals)
        assert x.round_(decimals=decimals) is x
        assert_close(x, torch.tensor(vals).round(decimals=decimals), rtol=0, atol=0)


def test_logical_not_of_any_dtype_is_bool(mini_device):
    for dev in ("cpu", mini_device):
        for values in ([0, 3, -1], [0.0, math.nan, -0.0, 2.5], [True, False]):
            got = mt.logical_not(mt.tensor(values, device=dev))
            assert got.dtype is mt.bool
            assert got.tolist() == torch.logical_not(torch.tensor(values)).tolist()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_floor_divide_bit_exact_with_torch(dtype):
    # PyTorch divides tensors step by step in the half format, and by a scalar divisor
    # (a Python number or a 0-d tensor) in float32, rounding once. The cpu kernels do the
    # same; the template (mini) divides in float32 and rounds once, in its plainest form,
    # which the conformance suite's tolerances accept
    rng = np.random.default_rng(1)
    a = (rng.standard_normal(4000) * 10 ** rng.uniform(-3, 4, 4000)).astype(np.float32)
    b = (rng.standard_normal(4000) * 10 ** rng.uniform(-3, 3, 4000)).astype(np.float32)
    ta, tb = (torch.tensor(v).to(getattr(torch, dtype)) for v in (a, b))
    ts = torch.tensor(0.7, dtype=getattr(torch, dtype))
    x, y, s = (mt.tensor(t.float().numpy(), dtype=getattr(mt, dtype)) for t in (ta, tb, ts))
    for got, want in ((x // y, ta // tb), (x // 0.7, ta // 0.7), (3.3 // y, 3.3 // tb),
                      (x // s, ta // ts), (s // y, ts // tb)):
        assert_close(got.float(), want.float(), rtol=0, atol=0)
