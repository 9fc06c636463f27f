"""The cuda ``fuse`` hook (mbtorch_cuda/fusion.py). Without a GPU its expressions are compiled
with the host C++ compiler, one loop over the elements, and compared with the cpu kernels run
step by step on the same values (the conformance suite's fused groups: broadcast and
transposed inputs, special values, narrow integers that wrap, casts, ``where``); on a GPU, a
compiled replay on ``cuda`` is compared with eager."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.core import plugins
from mbtorch.core.fusion import PointwiseGroup, Reduction, Ref, Step
from mbtorch.core.op import Op

pytest.importorskip("mbtorch_cuda.hooks", reason="mbtorch-cuda is not installed")
from mbtorch_conformance.checks.fusion import _arrays, groups  # noqa: E402
from mbtorch_cuda import fusion  # noqa: E402

from tests.plugins.test_cuda import _compile, needs_cxx, needs_gpu  # noqa: E402

_CTYPES = {mt.bool: ctypes.c_bool, mt.uint8: ctypes.c_ubyte, mt.int8: ctypes.c_byte,
           mt.int16: ctypes.c_short, mt.int32: ctypes.c_int, mt.int64: ctypes.c_longlong,
           mt.float32: ctypes.c_float, mt.float64: ctypes.c_double}
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]


def _host_source(group: PointwiseGroup) -> tuple[str, list, list]:
    params, scalars, expr = fusion.describe(group)
    n = len(group.inputs)
    args = [f"const {fusion.CTYPES[d]}* p{i}" for i, (_, d) in enumerate(params[:n])]
    args += [f"{fusion.CTYPES[d]} {name}" for name, d in params[n:]]
    args += [f"{fusion.CTYPES[group.dtype]}* out", "long long n"]
    loads = " ".join(f"{fusion.CTYPES[d]} x{i} = p{i}[i];" for i, (_, d) in enumerate(params[:n]))
    src = ("#include <cmath>\nusing namespace std;\n"
           f"extern \"C\" void run({', '.join(args)}) {{\n"
           f"    for (long long i = 0; i < n; ++i) {{ {loads} out[i] = {expr}; }}\n}}\n")
    return src, params[n:], scalars


def _step_by_step(group: PointwiseGroup, arrays: list) -> np.ndarray:
    kernels = plugins.get_backend("cpu").kernels
    vals: list = []
    for st in group.steps:
        args = [(arrays if a.kind == "input" else vals)[a.index] if isinstance(a, Ref) else a
                for a in st.args]
        kernel = kernels[st.op]
        if kernel is None:  # decomposed on cpu (sigmoid): the op itself, on cpu tensors
            x = getattr(mt, st.op.name.lower())(*[mt.tensor(np.asarray(a)) for a in args])
            vals.append(x.numpy())
        else:
            vals.append(kernel(*args, *st.attrs))
    return np.asarray(vals[-1])


@needs_cxx
@pytest.mark.parametrize("name", DTYPES)
def test_fused_expressions_match_the_cpu_kernels_step_by_step(tmp_path, name):
    d = getattr(mt, name)
    kernels = plugins.get_backend("cpu").kernels
    for k, (label, shapes, steps, *red) in enumerate(groups(d)):
        arrays = _arrays(label, shapes, d)
        group = PointwiseGroup(tuple((a.shape, d) for a in arrays), tuple(steps), (33, 65),
                               red[0] if red else None)
        if red and red[0].op is Op.AMAX:  # declined: no portable -inf literal
            assert fusion.describe(group) is None, label
            continue
        assert fusion.describe(group) is not None, label
        src, scalar_params, scalars = _host_source(group.without_reduction())
        lib = _compile(tmp_path, f"fused_{name}_{k}", src)
        full = [np.ascontiguousarray(np.broadcast_to(a, group.shape)) for a in arrays]
        out = np.empty(group.shape, np.dtype(group.dtype.name))
        lib.run(*[a.ctypes.data_as(ctypes.c_void_p) for a in full],
                *[_CTYPES[d](s) for (_, d), s in zip(scalar_params, scalars)],
                out.ctypes.data_as(ctypes.c_void_p), ctypes.c_longlong(out.size))
        want = _step_by_step(group, arrays)
        if red:  # the map expression above; the reduction is CuPy's, as unfused
            r = red[0]
            out = np.asarray(kernels[r.op](out, r.dims, r.keepdim))
            want = np.asarray(kernels[r.op](want, r.dims, r.keepdim))
        assert out.dtype == want.dtype, label
        if group.dtype.is_floating_point:
            np.testing.assert_allclose(out, want, rtol=1.3e-6, atol=1e-5, equal_nan=True,
                                       err_msg=label)
        else:
            np.testing.assert_array_equal(out, want, err_msg=label)


def test_reduction_parts():
    d = mt.float32
    steps = (Step(Op.MUL, (Ref("input", 0), Ref("input", 0)), d),)
    group = PointwiseGroup((((4, 5), d),), steps, (4, 5), Reduction(Op.SUM, (1,), False))
    assert fusion.reduction_parts(group) == ("a + b", "0", "float")
    params, _, expr = fusion.describe(group)
    assert params == [("x0", d)] and expr == "(float)(x0 * x0)"
    ints = PointwiseGroup((((4, 5), mt.int8),), (Step(Op.NEG, (Ref("input", 0),), mt.int8),),
                          (4, 5), Reduction(Op.PROD, (0, 1), True))
    assert fusion.reduction_parts(ints) == ("a * b", "1", "long long")


def test_declined_groups():
    def one(op, d, to=None):
        attrs = (to,) if to is not None else ()
        args = (Ref("input", 0), Ref("input", 0)) if op is not Op.CAST else (Ref("input", 0),)
        return PointwiseGroup((((4,), d),), (Step(op, args, to or d, attrs),), (4,))

    assert fusion.describe(one(Op.ADD, mt.float16)) is None
    assert fusion.describe(one(Op.ADD, mt.bfloat16)) is None
    assert fusion.describe(one(Op.FLOOR_DIVIDE, mt.int32)) is None
    assert fusion.describe(one(Op.POW, mt.int64)) is None
    assert fusion.describe(one(Op.CAST, mt.float32, mt.float16)) is None
    assert fusion.describe(one(Op.POW, mt.float32)) is not None


@needs_gpu
def test_gpu_compiled_chain_matches_eager():
    a, b, c = (mt.randn(300, 70, device="cuda") for _ in range(3))

    def f(a, b, c):
        return (a * b + c).relu() * 2.0 - (a > 0.5).float()

    cf = mt.compile(f)
    cf(a, b, c)
    out = cf(a, b, c)
    plans = [e.plan for entries in cf._entries.values() for e in entries]
    assert plans and plans[0].fused
    np.testing.assert_allclose(out.cpu().numpy(), f(a, b, c).cpu().numpy(), rtol=1.3e-6,
                               atol=1e-5)
