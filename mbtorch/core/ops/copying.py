"""Copies and conversions: ``copy_``, ``clone``, ``contiguous``, ``to``, ``detach``,
``numpy``/``item``/``tolist``, and host <-> device transfer."""

from __future__ import annotations

from typing import Any

from .. import dispatch
from .. import dtypes as _dt
from .. import memory_format as _mf
from .._lazy import lazy_import
from ..device import device as Device
from ..host import to_host_array
from ..meta import broadcast_shapes
from ..op import Op, define
from ..state import STATE
from ..tensor import Tensor, _host_read, is_contiguous_layout, method_table
from ._common import (
    cast,
    check_dtype_supported,
    device_index,
    resolve_device,
    run,
    scalar_for,
    wrap,
)

__all__ = ["clone", "detach", "detach_"]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

np = lazy_import("numpy", globals(), "np")

# members read per call: ``Op.X`` is a slow attribute on Python 3.11 (EnumType.__getattr__)
_CONTIGUOUS, _COPY_ = Op.CONTIGUOUS, Op.COPY_


def _has_internal_overlap(t: Tensor) -> bool:
    # an empty tensor has no elements to overlap (NumPy gives empty arrays 0 strides)
    shape = t._shape
    return 0 not in shape and any(st == 0 and s > 1 for s, st in zip(shape, t.stride()))


def partial_overlap(out: Tensor, src: Any) -> bool:
    """PyTorch's check before ``out`` is written from ``src``: both non-overlapping and
    dense views of one storage whose element ranges intersect, unless they are the very same
    elements in the same layout. (Other layouts are "too hard" to tell, and allowed.)"""
    if not isinstance(src, Tensor) or src is out:
        return False
    root = out if out._root is None else out._root
    if (src if src._root is None else src._root) is not root:
        return False
    if src._dtype.itemsize != out._dtype.itemsize or 0 in out._shape or 0 in src._shape:
        return False
    so, ss = out.stride(), src.stride()
    if not (_non_overlapping_and_dense(out._shape, so)
            and _non_overlapping_and_dense(src._shape, ss)):
        return False
    a, b = out._offset, src._offset
    a_end, b_end = a + out.numel(), b + src.numel()
    if not (a < b_end and b < a_end):
        return False
    return not (a == b and a_end == b_end and so == ss)


def check_no_overlap(out: Tensor, src: Any, op: str) -> None:
    if partial_overlap(out, src):
        raise RuntimeError(f"{op}(): unsupported operation: some elements of the input tensor "
                           "and the written-to tensor refer to a single memory location. "
                           "Please clone() the tensor before performing the operation.")


def check_writable(t: Tensor, op: str, overlap_ok: bool = False) -> None:
    """The checks PyTorch makes before any in-place write into ``t`` (``overlap_ok``: a fill,
    which may write one element twice)."""
    if not overlap_ok and t._root is not None and _has_internal_overlap(t):
        raise RuntimeError(f"{op}(): unsupported operation: more than one element of the "
                           "written-to tensor refers to a single memory location. Please "
                           "clone() the tensor before performing the operation.")
    if dispatch.STATE.grad_enabled:
        if t._requires_grad and t._grad_fn is None:
            raise RuntimeError(f"{op}(): a leaf Variable that requires grad is being used in "
                               "an in-place operation.")
        root = t._root
        if (root is not None and root._requires_grad and root._grad_fn is None
                and t._grad_fn is not None):
            raise RuntimeError(f"{op}(): a view of a leaf Variable that requires grad is being "
                               "used in an in-place operation.")


@tensor_method
def copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """Write ``src`` (tensor or number, broadcast, any dtype or device) into ``self``."""
    if not isinstance(self, Tensor):
        raise TypeError(f"copy_(): argument 'self' must be Tensor, not {type(self).__name__}")
    check_writable(self, "copy_")
    check_no_overlap(self, src, "copy_")
    return _copy_checked(self, src)


def fill_number(self: Tensor, value: Any) -> Tensor:
    """``fill_``/``zero_``: ``self.copy_(number)``, where elements sharing memory (an
    ``expand``ed view) are allowed, as in PyTorch."""
    check_writable(self, "fill_", overlap_ok=True)
    return _copy_checked(self, value)


def _copy_checked(self: Tensor, src: Any) -> Tensor:
    if isinstance(src, Tensor):
        if src._device is not self._device:
            src = transfer(src, self._device, self._be)
        src = cast(src, self._dtype, "copy_")
        full = broadcast_shapes(self._shape, src._shape, "copy_")
        if full != self._shape:
            raise RuntimeError(f"copy_(): output with shape {list(self._shape)} doesn't match "
                               f"the broadcast shape {list(full)}")
    elif type(src) in (bool, int, float, complex):
        src = scalar_for(src, self._dtype)
    elif isinstance(src, (np.bool_, np.number)):  # a NumPy scalar is a number to PyTorch
        src = scalar_for(src.item(), self._dtype)
    else:
        raise TypeError(f"copy_(): argument 'src' must be Tensor or a number, not "
                        f"{type(src).__name__}")
    dispatch.write(_COPY_, self, src)
    return self


def write_result(self: Tensor, result: Tensor, op: str) -> Tensor:
    """Finish an in-place op: check dtype and shape, then copy ``result`` into ``self``."""
    if not _dt.can_cast(result._dtype, self._dtype):
        raise RuntimeError(f"{op}(): result type {result._dtype.scalar_name} can't be cast to "
                           f"the desired output type {self._dtype.scalar_name}")
    if result._shape != self._shape:
        if broadcast_shapes(self._shape, result._shape, op) != self._shape:
            raise RuntimeError(f"{op}(): output with shape {list(self._shape)} doesn't match "
                               f"the broadcast shape {list(result._shape)}")
    return copy_(self, result)


def transfer(x: Tensor, d: Any, be: Any) -> Tensor:
    """``x`` on device ``d`` (another backend, or another device of the same one)."""
    if x._dtype._q is not None:  # its integers travel; it stays quantized over ``be``
        from ..quantized import as_quantized, int_view

        return as_quantized(transfer(int_view(x), d, be), x._dtype)
    check_dtype_supported(be, x._dtype, "to")
    source = _contiguous_handle(x)
    if be is x._be:
        handle = be.storage.to_device(source, device_index(d))
    else:
        # not ascontiguousarray: it turns a 0-d array into shape (1,)
        host = np.asarray(x._be.storage.to_numpy(source), order="C")
        if source is x._data and not _independent(host, source):
            host = host.copy()
        handle = be.storage.from_numpy(host, device_index(d))
    out = wrap(handle, x._shape, x._dtype, d, be)
    if dispatch.TRACING and STATE.tracer is not None and not STATE.tracer.depth:
        STATE.tracer.capture_transfer(x, out)
    if dispatch.needs_grad((x,)):
        dispatch.AUTOGRAD.record_transfer(x, out)
    return out


def _independent(host: Any, handle: Any) -> bool:
    """Whether ``to_numpy(handle)`` gave memory of its own. ``.to()`` to another device must
    copy, yet both ``to_numpy`` and ``from_numpy`` may share memory on host backends (a backend
    derived from ``cpu`` keeps NumPy handles as they are), so only a NumPy handle that provably
    does not overlap the host array is trusted; anything else is copied once more on the host
    (cheap next to a device transfer)."""
    return isinstance(handle, np.ndarray) and not np.may_share_memory(host, handle)


def _contiguous_handle(x: Tensor) -> Any:
    return x._data if x._root is None or x.is_contiguous() else contiguous(x)._data


@define(Op.CONTIGUOUS)
def _contiguous_decomp(x: Tensor) -> Tensor:
    from ._common import empty_on

    out = empty_on(x._shape, x._dtype, x._device, x._be)
    dispatch.write(_COPY_, out, x, fresh=True)
    return out


@tensor_method
def contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    if memory_format is not None and memory_format is not _mf.contiguous_format:
        return _mf.contiguous_as(self, memory_format, _row_major_copy)
    if is_contiguous_layout(self._shape, self.stride()):
        return self
    return _row_major_copy(self)


def _row_major_copy(self: Tensor) -> Tensor:
    return run(_CONTIGUOUS, (self,), (), (self._shape, self._dtype), self._device, self._be)


def _non_overlapping_and_dense(shape: tuple, strides: tuple) -> bool:
    """PyTorch's ``is_non_overlapping_and_dense``: contiguous (any empty tensor is), or the
    dims of size 2 or more, taken by increasing stride, are laid out contiguously."""
    if is_contiguous_layout(shape, strides):
        return True
    if len(shape) == 1:
        return shape[0] < 2 or strides[0] == 1
    need = 1
    for d in sorted((d for d in range(len(shape)) if shape[d] >= 2), key=lambda d: strides[d]):
        if strides[d] != need:
            return False
        need *= shape[d]
    return True


@tensor_method
def clone(self: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy; by default (``preserve_format``, as PyTorch) in ``self``'s dimension order."""
    if memory_format is None or memory_format is _mf.preserve_format:
        shape, st = self._shape, self.stride()
        if is_contiguous_layout(shape, st) and 0 not in shape:
            out = _row_major_copy(self)
            if 1 not in shape:
                return out
        else:
            out = _mf.in_order(self, _mf.preserve_order(self), _row_major_copy)
        if _non_overlapping_and_dense(shape, st):
            # PyTorch keeps such a tensor's strides exactly; ours differ at most in size-1
            # dims or in an empty tensor, where they address the same elements
            out._stride = st
        return out
    fmt = _mf.check_format(memory_format, "clone")
    return _mf.in_order(self, _mf.format_order(self.ndim, fmt, "clone"), _row_major_copy)


@tensor_method
def to(self: Tensor, *args: Any, dtype: Any = None, device: Any = None,
       non_blocking: bool = False, copy: bool = False, memory_format: Any = None) -> Tensor:
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``; a
    ``memory_format`` other than ``preserve_format`` lays the result out in that format."""
    if memory_format is not None and memory_format is not _mf.preserve_format:
        out = to(self, *args, dtype=dtype, device=device, non_blocking=non_blocking)
        fmt = _mf.check_format(memory_format, "to")
        if out is self and not copy and _mf.suggest_format(out._shape, out.stride()) is fmt:
            return out  # as PyTorch: a tensor already laid out in that order is returned
        return _mf.in_order(out, _mf.format_order(out.ndim, fmt, "to"), _row_major_copy)
    for a in args:
        if isinstance(a, _dt.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype, device = a._dtype, a._device
        elif isinstance(a, (str, Device)):
            device = a
        else:
            raise TypeError(f"to(): unexpected argument {a!r}")
    out = self
    if device is not None:
        d, be = resolve_device(device, "to")
        if d is not out._device:
            out = transfer(out, d, be)
    if dtype is not None:
        out = _cast_preserving(out, _dt.as_dtype(dtype, "to"), "to")
    if copy and out is self:
        out = clone(self)
    return out


def _cast_preserving(x: Tensor, dtype: _dt.dtype, op: str) -> Tensor:
    """``cast`` keeping ``x``'s dimension order (PyTorch's ``preserve_format``): a cast of the
    view whose order is row-major, permuted back."""
    if x._dtype is dtype or is_contiguous_layout(x._shape, x.stride()):
        return cast(x, dtype, op)
    order = _mf.preserve_order(x)
    if order is None:
        return cast(x, dtype, op)
    return cast(x.permute(order), dtype, op).permute(_mf.inverse_order(order))


def _make_converter(dtype: _dt.dtype):
    def convert(self: Tensor, memory_format: Any = None) -> Tensor:
        if memory_format is None or memory_format is _mf.preserve_format:
            return _cast_preserving(self, dtype, "to")
        return to(self, dtype, memory_format=memory_format)

    convert.__doc__ = f"``self.to({dtype})``"
    return convert


for _name, _d in (("float", _dt.float32), ("double", _dt.float64), ("half", _dt.float16),
                  ("bfloat16", _dt.bfloat16), ("long", _dt.int64), ("int", _dt.int32),
                  ("short", _dt.int16), ("char", _dt.int8), ("byte", _dt.uint8),
                  ("bool", _dt.bool), ("cfloat", _dt.complex64), ("cdouble", _dt.complex128),
                  ("chalf", _dt.complex32)):
    tensor_method(_make_converter(_d), name=_name)


@tensor_method
def cpu(self: Tensor) -> Tensor:
    return to(self, "cpu")


@tensor_method
def cuda(self: Tensor, device: Any = None) -> Tensor:
    return to(self, "cuda" if device is None else (f"cuda:{device}" if isinstance(device, int)
                                                   else device))


@tensor_method
def numpy(self: Tensor, *, force: bool = False) -> np.ndarray:
    """The values as a NumPy array; shares memory on ``cpu`` (as ``torch.Tensor.numpy``)."""
    if STATE.tracer is not None:
        _host_read("numpy()", self)
    if not force:
        if self._device.type != "cpu":
            raise TypeError(f"numpy(): can't convert {self._device.type} tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        if self._requires_grad:
            raise RuntimeError("numpy(): Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
    arr = self._be.storage.to_numpy(self._data)
    return arr if isinstance(arr, np.ndarray) else np.asarray(arr)


@tensor_method
def item(self: Tensor) -> Any:
    if STATE.tracer is not None:
        _host_read("item()", self)
    if self.numel() != 1:
        raise RuntimeError(f"item(): a Tensor with {self.numel()} elements cannot be converted "
                           "to Scalar")
    if self._dtype._q is not None:  # the value it stands for, as PyTorch
        from .quantize import dequantize

        return item(dequantize(self))
    return self._dtype.to_python_type()(numpy(self, force=True).reshape(()).item())


@tensor_method
def tolist(self: Tensor) -> Any:
    if STATE.tracer is not None:
        _host_read("tolist()", self)
    if self._dtype._q is not None:
        raise RuntimeError("tolist(): a quantized tensor has no list of values (PyTorch: "
                           "load_scalar: invalid type); use dequantize().tolist() or "
                           "int_repr().tolist()")
    arr = numpy(self, force=True)
    if self._dtype is _dt.bfloat16:
        arr = arr.astype(np.float32)
    return arr.tolist()


@tensor_method
def detach(self: Tensor) -> Tensor:
    """A tensor sharing storage with ``self``, cut from the graph."""
    from .views import alias

    return alias(self)


@tensor_method
def detach_(self: Tensor) -> Tensor:
    if self._root is not None and self._root._requires_grad:
        raise RuntimeError("detach_(): Can't detach views in-place. Use detach() instead.")
    self._grad_fn = None
    self._requires_grad = False
    return self


def from_host(arr: np.ndarray, dtype: _dt.dtype, d: Any, be: Any, op: str) -> Tensor:
    check_dtype_supported(be, dtype, op)
    out = wrap(be.storage.from_numpy(arr, device_index(d)), tuple(arr.shape), dtype, d, be)
    if dispatch.TRACING and STATE.tracer is not None and not STATE.tracer.depth:
        STATE.tracer.on_host_data(out, arr, device_index(d))
    return out


def host_to_tensor(data: Any, dtype: Any, device: Any, op: str) -> Tensor:
    d, be = resolve_device(device, op)
    if dtype is not None:
        dtype = _dt.as_dtype(dtype, op)
    arr, dtype = to_host_array(data, dtype, op)
    if isinstance(data, np.ndarray) and np.shares_memory(arr, data):
        arr = arr.copy()  # mbtorch.tensor always copies, as torch.tensor does
    return from_host(arr, dtype, d, be, op)
