"""Creation ops: ``tensor``, ``from_numpy``, ``zeros``/``ones``/``full``/``empty`` and their
``_like`` forms, ``arange``, ``linspace``, ``eye``."""

from __future__ import annotations

import math
from typing import Any

from .. import dispatch
from .. import dtypes as _dt
from .. import memory_format as _mf
from .._lazy import lazy_import
from ..host import dtype_from_numpy
from ..meta import check_nonnegative_shape, check_shape_arg
from ..op import Op, define
from ..settings import uninitialized_fill
from ..tensor import Tensor, is_contiguous_layout, method_table
from . import binary as _b
from ._common import cast, empty_on, resolve_device, run, scalar_for
from .copying import from_host, host_to_tensor

__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "full", "zeros", "ones", "empty", "zeros_like",
    "ones_like", "empty_like", "full_like", "zero_", "fill_", "arange", "linspace", "eye"
]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

np = lazy_import("numpy", globals(), "np")


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, NumPy arrays,
    tensors), with PyTorch's dtype inference."""
    if isinstance(data, Tensor):
        out = data.detach().to(device=device or data._device, dtype=dtype or data._dtype,
                               copy=True)
        return _finish(out, requires_grad)
    if requires_grad and dtype is None:
        pass
    t = host_to_tensor(data, dtype, device, "tensor")
    if requires_grad and t._dtype.category < _dt.FLOATING_CATEGORY:
        raise RuntimeError("tensor(): Only Tensors of floating point dtype can require "
                           "gradients")
    return _finish(t, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with a tensor or a cpu NumPy array when it can."""
    if isinstance(data, Tensor):
        return data.to(device=device or data._device, dtype=dtype or data._dtype)
    if isinstance(data, np.ndarray):
        d, be = resolve_device(device, "as_tensor")
        target = dtype or dtype_from_numpy(data.dtype, "as_tensor")
        if be.device_type == "cpu" and dtype_from_numpy(data.dtype, "as_tensor") is target:
            return from_numpy(data)
    return host_to_tensor(data, dtype, device, "as_tensor")


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A cpu tensor sharing memory with ``ndarray`` (writes go both ways)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy(): expected np.ndarray (got {type(ndarray).__name__})")
    if any(s < 0 for s in ndarray.strides):
        raise ValueError("from_numpy(): At least one stride in the given numpy array is "
                         "negative, and tensors with negative strides are not currently "
                         "supported. (You can probably work around this by making a copy of "
                         "your array with array.copy().)")
    dtype = dtype_from_numpy(ndarray.dtype, "from_numpy")
    d, be = resolve_device("cpu", "from_numpy")
    return from_host(ndarray, dtype, d, be, "from_numpy")


def _creation_args(size: tuple, dtype: Any, device: Any, op: str):
    shape = check_shape_arg(size, op)
    check_nonnegative_shape(shape, op)
    d, be = resolve_device(device, op)
    return shape, d, be


@define(Op.FULL)
def _full(shape: tuple, value: Any, dtype: _dt.dtype, device: Any) -> Tensor:
    out = empty_on(shape, dtype, device, device_backend(device), "full")
    dispatch.write(Op.COPY_, out, value, fresh=True)
    return out


def device_backend(d: Any) -> Any:
    return resolve_device(d)[1]


def _full_on(shape: tuple, value: Any, dtype: _dt.dtype, d: Any, be: Any) -> Tensor:
    from ._common import check_dtype_supported

    check_dtype_supported(be, dtype, "full")
    value = scalar_for(value, dtype)
    return run(Op.FULL, (), (shape, value, dtype, d), (shape, dtype), d, be)


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    if not isinstance(size, (int, tuple, list)):
        raise TypeError(f"full(): argument 'size' must be tuple of ints, not "
                        f"{type(size).__name__}")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = _dt.scalar_dtype(fill_value)
    shape, d, be = _creation_args((size,) if isinstance(size, int) else size, dtype, device,
                                  "full")
    return _finish(_full_on(shape, fill_value, _dt.as_dtype(dtype, "full"), d, be),
                   requires_grad)


_NO_SIZE: Any = object()


def size_args(args: tuple, size: Any, op: str) -> tuple:
    """The sizes of a factory called as ``op(2, 3)``, ``op((2, 3))`` or ``op(size=(2, 3))``
    (PyTorch accepts the keyword wherever a factory takes ``*size``)."""
    if size is _NO_SIZE:
        return args
    if args:
        raise TypeError(f"{op}() got multiple values for argument 'size'")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"{op}(): argument 'size' must be tuple of ints, not "
                        f"{type(size).__name__}")
    return (size,)


def _filled(value: Any, name: str):
    def fn(*args: Any, size: Any = _NO_SIZE, dtype: Any = None, device: Any = None,
           requires_grad: bool = False, out: Any = None) -> Tensor:
        shape, d, be = _creation_args(size_args(args, size, name), dtype, device, name)
        dt_ = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype, name)
        return _finish(_full_on(shape, value, dt_, d, be), requires_grad)

    fn.__name__ = name
    fn.__doc__ = f"A tensor of {value}s of the given size."
    return fn


zeros = _filled(0, "zeros")
ones = _filled(1, "ones")


def empty(*args: Any, size: Any = _NO_SIZE, dtype: Any = None, device: Any = None,
          requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    shape, d, be = _creation_args(size_args(args, size, "empty"), dtype, device, "empty")
    dt_ = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype, "empty")
    order = (None if memory_format is None else
             _mf.format_order(len(shape), _mf.check_format(memory_format, "empty"), "empty"))
    return _finish(_mf.allocate_in_order(shape, order, lambda s: _uninitialized(s, dt_, d, be)),
                   requires_grad)


def _like(fn_name: str, value: Any):
    def fn(input: Tensor, *args: Any, fill_value: Any = _NO_SIZE, dtype: Any = None,
           device: Any = None, requires_grad: bool = False, memory_format: Any = None) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"{fn_name}(): argument 'input' must be Tensor, not "
                            f"{type(input).__name__}")
        dt_ = input._dtype if dtype is None else _dt.as_dtype(dtype, fn_name)
        d, be = (input._device, input._be) if device is None else resolve_device(device)
        if fill_value is not _NO_SIZE:  # full_like(x, fill_value=...)
            args = (fill_value,) + args
        v = args[0] if value is None else value
        if value is None and not args:
            raise TypeError(f"{fn_name}(): missing argument 'fill_value'")
        if isinstance(v, Tensor):
            v = v.item()
        order = _like_order(input, memory_format, fn_name)
        if v is _EMPTY:
            out = _mf.allocate_in_order(input._shape, order,
                                        lambda s: _uninitialized(s, dt_, d, be))
        else:
            out = _mf.allocate_in_order(input._shape, order, lambda s: _full_on(s, v, dt_, d, be))
        return _finish(out, requires_grad)

    fn.__name__ = fn_name
    return fn


def _like_order(input: Tensor, memory_format: Any, op: str) -> tuple[int, ...] | None:
    """The layout of a ``_like`` result: ``input``'s own by default (``preserve_format``)."""
    if memory_format is None or memory_format is _mf.preserve_format:
        if is_contiguous_layout(input._shape, input.stride()):
            return None
        return _mf.preserve_order(input)
    return _mf.format_order(input.ndim, _mf.check_format(memory_format, op), op)


_EMPTY = object()


def _uninitialized(shape: tuple, dtype: _dt.dtype, d: Any, be: Any) -> Tensor:
    """``empty``'s memory: filled while deterministic algorithms are on, as PyTorch does."""
    fill = uninitialized_fill(dtype)
    return empty_on(shape, dtype, d, be) if fill is None else _full_on(shape, fill, dtype, d, be)
zeros_like = _like("zeros_like", 0)
ones_like = _like("ones_like", 1)
empty_like = _like("empty_like", _EMPTY)
full_like = _like("full_like", None)


def _new(fn_name: str, value: Any):
    def method(self: Tensor, *args: Any, size: Any = _NO_SIZE, fill_value: Any = _NO_SIZE,
               dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        if value is None:  # new_full(size, fill_value), either by keyword
            if fill_value is _NO_SIZE:
                if not args:
                    raise TypeError("new_full(): missing argument 'fill_value'")
                args, fill_value = args[:-1], args[-1]
            v = fill_value
        else:
            v = value
        size = size_args(args, size, fn_name)
        shape = check_shape_arg(size, fn_name)
        check_nonnegative_shape(shape, fn_name)
        dt_ = self._dtype if dtype is None else dtype
        d, be = (self._device, self._be) if device is None else resolve_device(device)
        if v is _EMPTY:
            return _finish(_uninitialized(shape, dt_, d, be), requires_grad)
        return _finish(_full_on(shape, v, dt_, d, be), requires_grad)

    method.__name__ = fn_name
    return method


TENSOR_METHODS["new_zeros"] = _new("new_zeros", 0)
TENSOR_METHODS["new_ones"] = _new("new_ones", 1)
TENSOR_METHODS["new_empty"] = _new("new_empty", _EMPTY)
TENSOR_METHODS["new_full"] = _new("new_full", None)


@tensor_method
def new_tensor(self: Tensor, data: Any, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return tensor(data, dtype=dtype or self._dtype, device=device or self._device,
                  requires_grad=requires_grad)


@tensor_method
def zero_(self: Tensor) -> Tensor:
    return fill_(self, 0)


@tensor_method
def fill_(self: Tensor, value: Any) -> Tensor:
    from .copying import fill_number

    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions.")
        # PyTorch fills from a tensor through copy_, which refuses overlapping elements
        return self.copy_(value.item())
    return fill_number(self, value)


def iota(n: int, d: Any, be: Any) -> Tensor:
    """``[0, 1, ..., n-1]`` as int64 on device ``d``."""
    return run(Op.IOTA, (), (n, d.index or 0), ((n,), _dt.int64), d, be)


def _number(x: Any, op: str, arg: str) -> Any:
    if isinstance(x, Tensor):
        return x.item()
    if type(x) not in (int, float, bool) and not isinstance(x, (int, float)):
        raise TypeError(f"{op}(): argument '{arg}' must be a number, not {type(x).__name__}")
    return x


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """``[start, start + step, ...)`` below ``end``, as ``torch.arange``."""
    if end is None:
        start, end = 0, start
    start, end, step = (_number(start, "arange", "start"), _number(end, "arange", "end"),
                        _number(step, "arange", "step"))
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange(): upper bound and larger bound inconsistent with step "
                           f"sign (start={start}, end={end}, step={step})")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = _dt.get_default_dtype() if is_float else _dt.int64
    dtype = _dt.as_dtype(dtype, "arange")
    n = max(0, math.ceil((end - start) / step))
    d, be = resolve_device(device, "arange")
    idx = iota(n, d, be)
    if dtype.category == _dt.FLOATING_CATEGORY:
        wide = _dt.float64 if _dt.float64 in be.dtypes else _dt.float32
        vals = _b.add(_b.mul(cast(idx, wide), float(step)), float(start))
    else:
        vals = _b.add(_b.mul(idx, int(step)), int(start))
    return _finish(cast(vals, dtype), requires_grad)


def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if not isinstance(steps, int) or steps < 0:
        raise RuntimeError(f"linspace(): number of steps must be non-negative, got {steps}")
    start, end = _number(start, "linspace", "start"), _number(end, "linspace", "end")
    dtype = _dt.as_dtype(dtype or _dt.get_default_dtype(), "linspace")
    d, be = resolve_device(device, "linspace")
    wide = _dt.float64 if _dt.float64 in be.dtypes else _dt.float32
    i = cast(iota(steps, d, be), wide)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    # PyTorch fills the first half from start and the second half back from end
    low = _b.add(_b.mul(i, step), float(start))
    high = _b.sub(float(end), _b.mul(_b.sub(float(steps - 1), i), step))
    from .unary import where

    vals = where(_b.lt(i, steps // 2), low, high)
    if dtype.category != _dt.FLOATING_CATEGORY:
        from .unary import trunc

        vals = trunc(vals)
    return _finish(cast(vals, dtype), requires_grad)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    m = n if m is None else m
    if n < 0 or m < 0:
        raise RuntimeError(f"eye(): n and m must be non-negative, got {n}, {m}")
    dtype = _dt.as_dtype(dtype or _dt.get_default_dtype(), "eye")
    d, be = resolve_device(device, "eye")
    rows = iota(n, d, be).reshape(n, 1)
    cols = iota(m, d, be).reshape(1, m)
    return _finish(cast(_b.eq(rows, cols), dtype), requires_grad)
