"""Differential fuzzing of elementwise ops against PyTorch: binary ops over every dtype pair
and Python scalars with broadcasting and type promotion, unary ops over every dtype, the
in-place variants (torch's casting and shape rules), and ``where``; inputs are zero-size, 0-d
and non-contiguous views too. tests/plugins/test_opencl_fuzz.py runs the same tests on
opencl."""

from __future__ import annotations

import pytest

from tests.fuzz.strategies import DTYPES, INTS, build, compare, mutual_shapes, scalars, tensor_case

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

pytestmark = pytest.mark.fuzz
# Half the profile's examples per op (30 in CI, 300 under MBTORCH_FUZZ=long): one test per op
# and device keeps every op covered while the whole file stays within its CI time.
PER_OP = settings(max_examples=max(10, settings.default.max_examples // 2))


@pytest.fixture(scope="module", params=["cpu", "mini"])
def device(request):
    """The device under test; mini is the template plugin, every composite decomposed."""
    return request.getfixturevalue("mini_device") if request.param == "mini" else "cpu"


BINARY = {
    "add": lambda m, a, b: a + b,
    "add_alpha": lambda m, a, b: m.add(a, b, alpha=2),
    "sub": lambda m, a, b: a - b,
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b,
    "div_trunc": lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
    "div_floor": lambda m, a, b: m.div(a, b, rounding_mode="floor"),
    "floor_divide": lambda m, a, b: a // b,
    "remainder": lambda m, a, b: a % b,
    "fmod": lambda m, a, b: m.fmod(a, b),
    "pow": lambda m, a, b: a ** b,
    "eq": lambda m, a, b: a == b,
    "ne": lambda m, a, b: a != b,
    "lt": lambda m, a, b: a < b,
    "le": lambda m, a, b: a <= b,
    "gt": lambda m, a, b: a > b,
    "ge": lambda m, a, b: a >= b,
    "bitwise_and": lambda m, a, b: a & b,
    "bitwise_or": lambda m, a, b: a | b,
    "bitwise_xor": lambda m, a, b: a ^ b,
    "logical_and": lambda m, a, b: m.logical_and(a, b),
    "logical_or": lambda m, a, b: m.logical_or(a, b),
    "logical_xor": lambda m, a, b: m.logical_xor(a, b),
    "maximum": lambda m, a, b: m.maximum(a, b),
    "minimum": lambda m, a, b: m.minimum(a, b),
    "fmax": lambda m, a, b: m.fmax(a, b),
    "fmin": lambda m, a, b: m.fmin(a, b),
    "atan2": lambda m, a, b: m.atan2(a, b),
    "hypot": lambda m, a, b: m.hypot(a, b),
    "copysign": lambda m, a, b: m.copysign(a, b),
}

# Integer operand ranges where an op needs them: powers stay small (int64 overflow is
# undefined behaviour in PyTorch's kernels) and integer exponents non-negative: mbtorch's
# backends refuse negative integer exponent tensors, where PyTorch gives 1, -1 or 0
# (xfail test_negative_integer_exponent_tensor in test_fuzz_regressions.py).
_LIMITS = {"pow": ((-6, 6), (0, 4)), "rpow": ((0, 4), (0, 4)), "pow_": ((-6, 6), (0, 4))}


def _case(draw, dtype, shape, name, which):
    lo, hi = _LIMITS.get(name, ((None, None), (None, None)))[which]
    if dtype not in INTS:
        lo = hi = None
    return draw(tensor_case(dtype, shape, lo=lo, hi=hi))


@pytest.mark.parametrize("name", sorted(BINARY))
@PER_OP
@given(data=st.data())
def test_binary_tensor_tensor(device, name, data):
    da, db = data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES))
    sa, sb = data.draw(mutual_shapes())
    (va, la), (vb, lb) = _case(data.draw, da, sa, name, 0), _case(data.draw, db, sb, name, 1)
    (ma, ta), (mb, tb) = build(va, la, device), build(vb, lb, device)
    compare(BINARY[name], (ma, mb), (ta, tb))


SCALAR_OPS = {name: fn for name, fn in BINARY.items() if name != "add_alpha"}
# Reflected operators (the Python number on the left): only the operator forms exist there.
REFLECTED = {
    "radd": lambda m, s, a: s + a, "rsub": lambda m, s, a: s - a,
    "rmul": lambda m, s, a: s * a, "rdiv": lambda m, s, a: s / a,
    "rfloordiv": lambda m, s, a: s // a, "rmod": lambda m, s, a: s % a,
    "rpow": lambda m, s, a: s ** a, "rlt": lambda m, s, a: s < a,
    "req": lambda m, s, a: s == a, "rand": lambda m, s, a: s & a,
    "ror": lambda m, s, a: s | a, "rxor": lambda m, s, a: s ^ a,
}


@pytest.mark.parametrize("name", sorted(SCALAR_OPS) + sorted(REFLECTED))
@PER_OP
@given(data=st.data())
def test_binary_tensor_scalar(device, name, data):
    dtype = data.draw(st.sampled_from(DTYPES))
    va, la = _case(data.draw, dtype, None, name, 0)
    scalar = data.draw(scalars())
    if name == "pow" and not isinstance(scalar, float):
        scalar = abs(int(scalar))  # see _LIMITS
    ma, ta = build(va, la, device)
    fn = SCALAR_OPS.get(name) or REFLECTED[name]
    compare(fn, (ma, scalar) if name in SCALAR_OPS else (scalar, ma),
            (ta, scalar) if name in SCALAR_OPS else (scalar, ta))


UNARY = {
    "exp": lambda m, a: m.exp(a), "exp2": lambda m, a: m.exp2(a),
    "expm1": lambda m, a: m.expm1(a), "log": lambda m, a: m.log(a),
    "log2": lambda m, a: m.log2(a), "log10": lambda m, a: m.log10(a),
    "log1p": lambda m, a: m.log1p(a), "sqrt": lambda m, a: m.sqrt(a),
    "rsqrt": lambda m, a: m.rsqrt(a), "abs": lambda m, a: abs(a),
    "neg": lambda m, a: -a, "sin": lambda m, a: m.sin(a), "cos": lambda m, a: m.cos(a),
    "tan": lambda m, a: m.tan(a), "asin": lambda m, a: m.asin(a),
    "acos": lambda m, a: m.acos(a), "atan": lambda m, a: m.atan(a),
    "sinh": lambda m, a: m.sinh(a), "cosh": lambda m, a: m.cosh(a),
    "tanh": lambda m, a: m.tanh(a), "asinh": lambda m, a: m.asinh(a),
    "acosh": lambda m, a: m.acosh(a), "atanh": lambda m, a: m.atanh(a),
    "sigmoid": lambda m, a: m.sigmoid(a), "erf": lambda m, a: m.erf(a),
    "floor": lambda m, a: m.floor(a), "ceil": lambda m, a: m.ceil(a),
    "round": lambda m, a: m.round(a), "round_decimals": lambda m, a: m.round(a, decimals=1),
    "trunc": lambda m, a: m.trunc(a), "frac": lambda m, a: m.frac(a),
    "sign": lambda m, a: m.sign(a), "sgn": lambda m, a: m.sgn(a),
    "reciprocal": lambda m, a: m.reciprocal(a), "square": lambda m, a: m.square(a),
    "relu": lambda m, a: m.relu(a), "logical_not": lambda m, a: m.logical_not(a),
    "bitwise_not": lambda m, a: ~a, "isnan": lambda m, a: m.isnan(a),
    "isinf": lambda m, a: m.isinf(a), "isfinite": lambda m, a: m.isfinite(a),
    "signbit": lambda m, a: m.signbit(a), "nan_to_num": lambda m, a: m.nan_to_num(a),
    "clamp": lambda m, a: m.clamp(a, min=-1, max=2.5),
    "clamp_min": lambda m, a: m.clamp(a, min=0),
    "positive": lambda m, a: +a,
}


@pytest.mark.parametrize("name", sorted(UNARY))
@PER_OP
@given(data=st.data())
def test_unary(device, name, data):
    dtype = data.draw(st.sampled_from(DTYPES))
    ma, ta = build(*data.draw(tensor_case(dtype)), device)
    compare(UNARY[name], (ma,), (ta,))


INPLACE = {
    "add_": lambda a, b: a.add_(b), "sub_": lambda a, b: a.sub_(b),
    "mul_": lambda a, b: a.mul_(b), "div_": lambda a, b: a.div_(b),
    "floor_divide_": lambda a, b: a.floor_divide_(b),
    "remainder_": lambda a, b: a.remainder_(b), "pow_": lambda a, b: a.pow_(b),
    "clamp_": lambda a, b: a.clamp_(min=b),
    "bitwise_and_": lambda a, b: a.bitwise_and_(b), "logical_or_": lambda a, b: a.logical_or_(b),
    "iadd": lambda a, b: a.__iadd__(b), "imul": lambda a, b: a.__imul__(b),
}


def _run_inplace(name, a, b):
    out = INPLACE[name](a, b)
    assert out is a, f"{name} returned a new tensor, not its input"
    return a


@pytest.mark.parametrize("name", sorted(INPLACE))
@PER_OP
@given(data=st.data())
def test_inplace(device, name, data):
    da = data.draw(st.sampled_from(DTYPES))
    sa, sb = data.draw(mutual_shapes())
    va, la = _case(data.draw, da, sa, name, 0)
    if data.draw(st.booleans()):
        b_mt = b_torch = data.draw(scalars())
        if name == "pow_" and not isinstance(b_mt, float):
            b_mt = b_torch = abs(int(b_mt))
    else:
        vb, lb = _case(data.draw, data.draw(st.sampled_from(DTYPES)), sb, name, 1)
        b_mt, b_torch = build(vb, lb, device)
    ma, ta = build(va, la, device)
    compare(lambda m, a, b: _run_inplace(name, a, b), (ma, b_mt), (ta, b_torch))


@given(data=st.data())
def test_where(device, data):
    sc, sx, sy = data.draw(mutual_shapes(3))
    mc, tc = build(*data.draw(tensor_case("bool", sc)), device)
    args = []
    for shape in (sx, sy):
        if data.draw(st.integers(0, 3)) == 0:
            scalar = data.draw(scalars())
            args.append((scalar, scalar))
        else:
            args.append(build(*data.draw(tensor_case(data.draw(st.sampled_from(DTYPES)),
                                                     shape)), device))
    (mx, tx), (my, ty) = args
    compare(lambda m, c, x, y: m.where(c, x, y), (mc, mx, my), (tc, tx, ty))


__all__ = ["BINARY", "INPLACE", "REFLECTED", "SCALAR_OPS", "UNARY", "test_binary_tensor_scalar",
           "test_binary_tensor_tensor", "test_inplace", "test_unary", "test_where"]
