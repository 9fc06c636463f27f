"""ONNX operators as mbtorch calls, for ``mbtorch.onnx.load``: elementwise math, reductions,
shapes, indexing. Each function takes the node's inputs (mbtorch tensors, ``None`` for an
omitted optional input), its attributes and the run's device, and returns its outputs; every
call goes through mbtorch's dispatcher, so it runs on any installed device. Shape-like inputs
(``Reshape``'s shape, ``Slice``'s starts) are read to the host, as onnxruntime does on a GPU.

Neural-network operators (convolution, pooling, normalization, recurrent layers) are in
``_import_nn``.
"""

from __future__ import annotations

__all__ = ["IMPORTS", "imports", "Run", "host_ints"]

from typing import Any, Callable

import mbtorch as mt

IMPORTS: dict[str, Callable] = {}


def imports(*names: str) -> Callable:
    def register(fn: Callable) -> Callable:
        for name in names:
            IMPORTS[name] = fn
        return fn
    return register


class Run:
    """What an operator sees: ``device`` (of the call's inputs), ``opset``, the node name."""

    def __init__(self, device: Any, opset: int, node: str) -> None:
        self.device, self.opset, self.node = device, opset, node

    def error(self, op: str, why: str) -> Exception:
        return RuntimeError(f"mbtorch.onnx: {op} (node {self.node!r}): {why}")


def host_ints(t: Any) -> list[int]:
    return [int(v) for v in t.reshape(-1).tolist()]


def _int_div(a: Any, b: Any) -> Any:
    if a.dtype.is_floating_point or b.dtype.is_floating_point:
        return mt.div(a, b)
    return mt.div(a, b, rounding_mode="trunc")  # ONNX's integer Div truncates


_BINARY = {"Add": mt.add, "Sub": mt.sub, "Mul": mt.mul, "Div": _int_div, "Pow": mt.pow,
           "Equal": mt.eq, "Less": mt.lt, "LessOrEqual": mt.le, "Greater": mt.gt,
           "GreaterOrEqual": mt.ge, "And": mt.logical_and, "Or": mt.logical_or,
           "Xor": mt.logical_xor, "BitwiseAnd": mt.bitwise_and, "BitwiseOr": mt.bitwise_or,
           "BitwiseXor": mt.bitwise_xor}
_UNARY = {"Abs": mt.abs, "Exp": mt.exp, "Log": mt.log, "Sqrt": mt.sqrt, "Sin": mt.sin,
          "Cos": mt.cos, "Tan": mt.tan, "Asin": mt.asin, "Acos": mt.acos, "Atan": mt.atan,
          "Sinh": mt.sinh, "Cosh": mt.cosh, "Tanh": mt.tanh, "Sigmoid": mt.sigmoid,
          "Relu": mt.relu, "Floor": mt.floor, "Ceil": mt.ceil, "Round": mt.round,
          "Erf": mt.erf, "Neg": mt.neg, "Sign": mt.sign, "Reciprocal": mt.reciprocal,
          "IsNaN": mt.isnan, "Not": mt.logical_not, "BitwiseNot": mt.bitwise_not,
          "Identity": lambda x: x, "Softsign": mt.nn.functional.softsign,
          "Asinh": mt.asinh, "Acosh": mt.acosh, "Atanh": mt.atanh}


@imports(*_BINARY)
def _binary(op: str, run: Run, a: Any, b: Any) -> list:
    return [_BINARY[op](a, b)]


@imports(*_UNARY)
def _unary(op: str, run: Run, x: Any) -> list:
    return [_UNARY[op](x)]


@imports("Max", "Min", "Sum", "Mean")
def _variadic(op: str, run: Run, *xs: Any) -> list:
    fn = {"Max": mt.maximum, "Min": mt.minimum, "Sum": mt.add, "Mean": mt.add}[op]
    out = xs[0]
    for x in xs[1:]:
        out = fn(out, x)
    return [out / len(xs) if op == "Mean" else out]


@imports("IsInf")
def _isinf(op: str, run: Run, x: Any, detect_negative: int = 1,
           detect_positive: int = 1) -> list:
    pos, neg = mt.isposinf(x), mt.isneginf(x)
    out = mt.logical_or(pos if detect_positive else mt.zeros_like(pos),
                        neg if detect_negative else mt.zeros_like(neg))
    return [out]


@imports("LeakyRelu", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish", "Softplus", "Gelu",
         "ThresholdedRelu", "Mish")
def _activation(op: str, run: Run, x: Any, alpha: float | None = None,
                beta: float | None = None, gamma: float | None = None,
                approximate: str = "none") -> list:
    F = mt.nn.functional
    if op == "LeakyRelu":
        return [F.leaky_relu(x, 0.01 if alpha is None else alpha)]
    if op == "Elu":
        return [F.elu(x, 1.0 if alpha is None else alpha)]
    if op == "Celu":
        return [F.celu(x, 1.0 if alpha is None else alpha)]
    if op == "Selu":
        a = 1.67326319217681884765625 if alpha is None else alpha
        g = 1.05070102214813232421875 if gamma is None else gamma
        return [g * mt.where(x > 0, x, a * (mt.exp(x) - 1))]
    if op == "HardSigmoid":
        a, b = (0.2 if alpha is None else alpha), (0.5 if beta is None else beta)
        return [mt.clamp(a * x + b, 0.0, 1.0)]
    if op == "HardSwish":
        return [F.hardswish(x)]
    if op == "Softplus":
        return [mt.log1p(mt.exp(-mt.abs(x))) + mt.relu(x)]
    if op == "ThresholdedRelu":
        return [mt.where(x > (1.0 if alpha is None else alpha), x, mt.zeros_like(x))]
    if op == "Mish":
        return [F.mish(x)]
    return [F.gelu(x, approximate=approximate)]


@imports("PRelu")
def _prelu(op: str, run: Run, x: Any, slope: Any) -> list:
    return [mt.where(x >= 0, x, x * slope)]


@imports("Where")
def _where(op: str, run: Run, cond: Any, a: Any, b: Any) -> list:
    return [mt.where(cond, a, b)]


@imports("Cast")
def _cast(op: str, run: Run, x: Any, to: int, saturate: int = 1, round_mode: str = "") -> list:
    from ._load import mbtorch_dtype

    return [x.to(mbtorch_dtype(to, f"Cast (node {run.node!r})"))]


@imports("CastLike")
def _cast_like(op: str, run: Run, x: Any, like: Any, saturate: int = 1) -> list:
    return [x.to(like.dtype)]


@imports("Clip")
def _clip(op: str, run: Run, x: Any, lo: Any = None, hi: Any = None) -> list:
    return [mt.clamp(x, lo, hi)]


@imports("Mod")
def _mod(op: str, run: Run, a: Any, b: Any, fmod: int = 0) -> list:
    return [mt.fmod(a, b) if fmod else mt.remainder(a, b)]


@imports("Dropout")
def _dropout(op: str, run: Run, x: Any, ratio: Any = None, training: Any = None,
             seed: int | None = None) -> list:
    if training is not None and bool(training.item()):
        raise run.error(op, "training_mode=True: only inference is supported")
    return [x, mt.ones(x.shape, dtype=mt.bool, device=x.device)]


# -- reductions ---------------------------------------------------------------------------
def _axes(run: Run, x: Any, axes_in: Any, axes_attr: Any, noop: int) -> tuple | None:
    axes = host_ints(axes_in) if axes_in is not None else axes_attr
    if not axes:
        return None if not noop else ()
    return tuple(a % max(x.ndim, 1) for a in axes)


_REDUCE = {"ReduceSum": mt.sum, "ReduceMean": mt.mean, "ReduceProd": mt.prod,
           "ReduceMax": mt.amax, "ReduceMin": mt.amin, "ReduceL1": None, "ReduceL2": None,
           "ReduceLogSumExp": mt.logsumexp, "ReduceSumSquare": None, "ReduceLogSum": None}


@imports(*_REDUCE)
def _reduce(op: str, run: Run, x: Any, axes_in: Any = None, axes: Any = None,
            keepdims: int = 1, noop_with_empty_axes: int = 0) -> list:
    dims = _axes(run, x, axes_in, axes, noop_with_empty_axes)
    if dims == ():
        return [x]
    if dims is None:
        dims = tuple(range(x.ndim))
    keep = bool(keepdims)
    if op == "ReduceL1":
        return [mt.sum(mt.abs(x), dims, keep)]
    if op == "ReduceL2":
        return [mt.sqrt(mt.sum(x * x, dims, keep))]
    if op == "ReduceSumSquare":
        return [mt.sum(x * x, dims, keep)]
    if op == "ReduceLogSum":
        return [mt.log(mt.sum(x, dims, keep))]
    if op == "ReduceProd" and len(dims) != 1:
        out = x
        for d in sorted(dims, reverse=True):
            out = mt.prod(out, d, keep)
        return [out]
    if op == "ReduceProd":
        return [mt.prod(x, dims[0], keep)]
    return [_REDUCE[op](x, dims, keep)]


@imports("ArgMax", "ArgMin")
def _arg(op: str, run: Run, x: Any, axis: int = 0, keepdims: int = 1,
         select_last_index: int = 0) -> list:
    if select_last_index:
        n = x.shape[axis]
        idx = (mt.argmax if op == "ArgMax" else mt.argmin)(mt.flip(x, (axis,)), axis,
                                                             bool(keepdims))
        return [n - 1 - idx]
    return [(mt.argmax if op == "ArgMax" else mt.argmin)(x, axis, bool(keepdims))]


@imports("Softmax", "LogSoftmax", "Hardmax")
def _softmax(op: str, run: Run, x: Any, axis: int | None = None) -> list:
    if axis is None:
        axis = -1 if run.opset >= 13 else 1
    if run.opset < 13:  # the old definition: flatten to 2-D at axis
        raise run.error(op, f"opset {run.opset} softmax (2-D coercion) is not supported")
    if op == "Hardmax":
        hot = mt.nn.functional.one_hot(mt.argmax(x, axis), x.shape[axis])
        return [mt.movedim(hot, -1, axis).to(x.dtype)]
    return [(mt.softmax if op == "Softmax" else mt.log_softmax)(x, axis)]


@imports("CumSum")
def _cumsum(op: str, run: Run, x: Any, axis: Any, exclusive: int = 0, reverse: int = 0) -> list:
    dim = host_ints(axis)[0]
    y = mt.flip(x, (dim,)) if reverse else x
    out = mt.cumsum(y, dim)
    if exclusive:
        out = out - y
    return [mt.flip(out, (dim,)) if reverse else out]
