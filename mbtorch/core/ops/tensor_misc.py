"""``Tensor`` metadata and small utilities PyTorch programs call: ``positive``, ``ravel``,
``get_device``, ``ndimension``/``nbytes``, ``dim_order``, ``data_ptr``, the pinned/shared
questions, ``sum_to_size``, ``narrow_copy``, ``new_empty_strided``,
``as_subclass``, ``module_load``, the CPU-only ``apply_``/``map_``/``map2_``, the errors of
devices PyTorch was built without (``ipu``, ``xpu``, ``mtia``), and a dense tensor's side of the
sparse API (``to_dense``, ``to_sparse_coo``, ``sparse_mask`` and the layout errors).
"""

from __future__ import annotations

from typing import Any, Callable

from .. import dtypes as _dt
from ..meta import broadcast_shapes, check_shape_arg
from ..op import Op
from ..tensor import Tensor, is_contiguous_layout, method_table, wrap_dim
from . import views as _v
from ._common import empty_on, resolve_device
from .copying import check_writable, clone

__all__ = ["positive", "ravel", "get_device"]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


def _check_input(input: Any, name: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return input


@tensor_method
def positive(input: Tensor) -> Tensor:
    """``+input``: ``input`` itself (refused for bool, as PyTorch)."""
    if _check_input(input, "positive")._dtype is _dt.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


@tensor_method
def ravel(input: Tensor) -> Tensor:
    """``input`` flattened to one dim: a view when its layout allows, else a copy."""
    return _v.reshape(_check_input(input, "ravel"), -1)


@tensor_method
def get_device(input: Tensor) -> int:
    """The device index (``-1`` on the CPU, as PyTorch)."""
    d = _check_input(input, "get_device")._device
    return -1 if d.type == "cpu" else (d.index or 0)


@tensor_method
def ndimension(self: Tensor) -> int:
    """``self.dim()`` (PyTorch's older name)."""
    return len(self._shape)


TENSOR_METHODS["nbytes"] = property(lambda self: self.numel() * self._dtype.itemsize,
                                    doc="``numel() * element_size()``")
TENSOR_METHODS["output_nr"] = property(lambda self: getattr(self, "_output_nr", 0),
                                       doc="Which output of its ``grad_fn`` this tensor is.")
TENSOR_METHODS["name"] = property(lambda self: None, doc="None: mbtorch has no named tensors")


@tensor_method
def is_pinned(self: Tensor, device: Any = None) -> bool:
    """False: mbtorch allocates no page-locked host memory."""
    return False


@tensor_method
def pin_memory(self: Tensor, device: Any = None) -> Tensor:
    """PyTorch copies into page-locked memory for faster transfers to an accelerator; with
    none present it raises, as here. mbtorch has no page-locked memory: with an accelerator it
    returns a contiguous host copy (what a pinned tensor holds), ``is_pinned()`` still False."""
    from ... import accelerator

    if not accelerator.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    if self._device.type != "cpu":
        raise RuntimeError(f"pin_memory(): cannot pin '{self._device.type}' memory, only "
                           "dense CPU tensors can be pinned")
    return clone(self)


@tensor_method
def is_inference(self: Tensor) -> bool:
    """False: mbtorch has no inference tensors (``inference_mode`` turns grad mode off; what it
    creates can be used with autograd later), as ``mbtorch.is_inference``."""
    return False


@tensor_method
def is_shared(self: Tensor) -> bool:
    """False: mbtorch places no tensor in memory shared between processes."""
    return False


@tensor_method
def is_distributed(self: Tensor) -> bool:
    """False, as PyTorch for every dense tensor (it names a long-removed tensor type)."""
    return False


def _storage_address(self: Tensor, op: str) -> int:
    root = self if self._root is None else self._root
    if root.numel() == 0:
        return 0  # no storage allocated: PyTorch's null pointer
    handle = self._data
    for protocol in ("__array_interface__", "__cuda_array_interface__"):
        info = getattr(handle, protocol, None)
        if info is not None:
            return int(info["data"][0])
    raise RuntimeError(f"{op}(): the '{self._device.type}' backend's storage handles expose "
                       "no memory address")


@tensor_method
def data_ptr(self: Tensor) -> int:
    """The address of the first element (the storage's address plus the offset's bytes)."""
    return _storage_address(self, "data_ptr")


@tensor_method
def const_data_ptr(self: Tensor) -> int:
    """``data_ptr()``, for reading only."""
    return _storage_address(self, "const_data_ptr")


@tensor_method
def dim_order(self: Tensor, *, ambiguity_check: bool = False) -> tuple:
    """The dims from outermost to innermost in memory (PyTorch's rules: contiguous and
    channels-last first, then by stride; ties and zero strides keep the logical order)."""
    if not isinstance(ambiguity_check, bool):
        raise NotImplementedError("dim_order(): ambiguity_check as a list of memory formats "
                                  "is not supported; pass a bool")
    shape, st = self._shape, self.stride()
    if ambiguity_check and (any(s == 1 for s in shape) or
                            any(a == b for a, b in zip(st, st[1:]))):
        raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact "
                           "one of the given memory formats.")
    n = len(shape)
    if n < 2:
        return tuple(range(n))
    contiguous = is_contiguous_layout(shape, st)
    last = n == 4 and is_contiguous_layout(tuple(shape[d] for d in (0, 2, 3, 1)),
                                           tuple(st[d] for d in (0, 2, 3, 1)))
    if contiguous and not last:
        return tuple(range(n))
    if last and not contiguous:
        return (0, 2, 3, 1)
    return _order_by_strides(shape, st)


def _order_by_strides(shape: tuple, st: tuple) -> tuple:
    """PyTorch's insertion sort of the dims, innermost first, on an ambiguous comparison."""
    def ge(a: int, b: int) -> bool:
        return True if b == 0 else (False if a == 0 else a >= b or a % b == 0)

    def should_swap(a: int, b: int) -> int:
        if st[a] == 0 or st[b] == 0:
            return 0
        if st[a] == st[b]:
            return 0 if ge(shape[b], shape[a]) else 1
        return -1 if ge(st[b], st[a]) else (1 if ge(st[a], st[b]) else 0)

    perm = list(reversed(range(len(shape))))
    for i in range(1, len(perm)):
        d1 = i
        for d0 in reversed(range(i)):
            c = should_swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    return tuple(reversed(perm))


@tensor_method
def sum_to_size(self: Tensor, *size: Any) -> Tensor:
    """``self`` summed down to ``size``, which must be expandable to ``self``'s shape."""
    if not size:
        raise TypeError('sum_to_size() missing 1 required positional arguments: "size"')
    shape = check_shape_arg(size, "sum_to_size")
    lead = self.ndim - len(shape)
    if lead < 0 or any(s not in (1, t) for s, t in zip(shape, self._shape[lead:])):
        raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size "
                           f"{{{list(self._shape)}}}.")
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and self._shape[lead + i] != 1)
    out = self.sum(dims, keepdim=True) if dims else self
    return _v.reshape(out, shape)


@tensor_method
def narrow_copy(self: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``self.narrow(dim, start, length)`` copied into new storage."""
    d = wrap_dim(dim, self.ndim, "narrow_copy")
    size = self._shape[d]
    if start < -size or start > size:
        raise IndexError(f"narrow_copy(): start out of range (expected to be in range of "
                         f"[{-size}, {size}], but got {start})")
    if start < 0:
        start += size
    if length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return clone(_v.narrow(self, d, start, length))


@tensor_method
def new_empty_strided(self: Tensor, size: Any, stride: Any, *, dtype: Any = None,
                      device: Any = None, requires_grad: bool = False, layout: Any = None,
                      pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor with the given strides (``self``'s dtype and device unless
    given): a root over just the storage the geometry spans."""
    shape = check_shape_arg((size,), "new_empty_strided")
    strides = check_shape_arg((stride,), "new_empty_strided")
    if len(shape) != len(strides):
        raise RuntimeError(f"new_empty_strided(): mismatch in length of strides and shape "
                           f"({len(strides)} and {len(shape)})")
    if any(s < 0 for s in shape) or any(s < 0 for s in strides):
        raise RuntimeError("new_empty_strided(): sizes and strides must be non-negative")
    dtype = self._dtype if dtype is None else _dt.as_dtype(dtype, "new_empty_strided")
    d, be = (self._device, self._be) if device is None else resolve_device(device)
    extent = 0 if 0 in shape else 1 + sum((s - 1) * st for s, st in zip(shape, strides))
    store = empty_on((extent,), dtype, d, be, "new_empty_strided")
    out = empty_on((0,), dtype, d, be, "new_empty_strided")
    out._data = be.kernels[Op.AS_STRIDED](store._data, shape, strides, 0)
    out._shape, out._stride = shape, strides
    return out.requires_grad_(True) if requires_grad else out


@tensor_method
def as_subclass(self: Tensor, cls: type) -> Tensor:
    """A ``cls`` instance sharing ``self``'s storage and staying in its autograd graph."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from "
                        "Tensor is not possible. Make sure your class inherits from Tensor.")
    out = _v.view(self, *self._shape)
    out.__class__ = cls
    return out


@tensor_method
def module_load(self: Tensor, other: Tensor, assign: bool = False) -> Tensor:
    """What ``load_state_dict`` swaps in for ``self`` (PyTorch's default): ``other`` detached
    with ``assign``, else ``self.copy_(other).detach()``."""
    if assign:
        return other.detach()
    return self.copy_(other).detach()


# -- element-wise Python callables (CPU only, as PyTorch) -----------------------------------
def _python_map(self: Tensor, others: tuple, fn: Callable, op: str) -> Tensor:
    if not callable(fn):
        raise TypeError(f"{op}(): argument 'callable' must be callable, not "
                        f"{type(fn).__name__}")
    for t in (self, *others):
        if t._device.type != "cpu":
            raise TypeError(f"{op} is only implemented on CPU tensors")
    if self._requires_grad:
        raise RuntimeError(f"Can't call {op}() on Variable that requires grad. Use "
                           f"var.detach().{op}() instead.")
    check_writable(self, op)
    for t in others:
        full = broadcast_shapes(self._shape, t._shape, op)
        if full != self._shape:
            raise RuntimeError(f"The expanded size of the tensor ({list(self._shape)}) must "
                               f"match the existing size ({list(t._shape)}) of the argument "
                               f"of {op}()")
    cols = [self.tolist()] + [_v.broadcast_to(t, self._shape).tolist() for t in others]
    result = _apply_nested(fn, cols, self.ndim)
    from .creation import tensor

    self.copy_(tensor(result, dtype=_dt.float64 if self._dtype.is_floating_point else None)
               if self._dtype is not _dt.bool else tensor(result, dtype=_dt.bool))
    return self


def _apply_nested(fn: Callable, cols: list, depth: int) -> Any:
    if depth == 0:
        return fn(*cols)
    return [_apply_nested(fn, list(parts), depth - 1) for parts in zip(*cols)]


@tensor_method
def apply_(self: Tensor, callable: Callable) -> Tensor:  # noqa: A002 - torch's name
    """Replace each element ``x`` with ``callable(x)`` (a Python loop: CPU only)."""
    return _python_map(self, (), callable, "apply_")


@tensor_method
def map_(self: Tensor, tensor: Tensor, callable: Callable) -> Tensor:  # noqa: A002
    """``self[i] = callable(self[i], tensor[i])`` (``tensor`` broadcast to ``self``)."""
    return _python_map(self, (tensor,), callable, "map_")


@tensor_method
def map2_(self: Tensor, x: Tensor, y: Tensor, callable: Callable) -> Tensor:  # noqa: A002
    """``self[i] = callable(self[i], x[i], y[i])`` (``x``, ``y`` broadcast to ``self``)."""
    return _python_map(self, (x, y), callable, "map2_")


# -- devices PyTorch is usually built without -----------------------------------------------
def _to_optional_device(self: Tensor, kind: str, device: Any, missing: Exception) -> Tensor:
    target = kind if device is None else (f"{kind}:{device}" if isinstance(device, int)
                                         else device)
    try:
        resolve_device(target, kind)
    except (RuntimeError, ValueError) as exc:
        raise missing from exc
    return self.to(target)


@tensor_method
def ipu(self: Tensor, device: Any = None, non_blocking: bool = False) -> Tensor:
    """``self`` on an IPU; an error when no plugin provides one (as PyTorch)."""
    return _to_optional_device(self, "ipu", device, RuntimeError(
        "PyTorch is not linked with support for ipu devices"))


@tensor_method
def xpu(self: Tensor, device: Any = None, non_blocking: bool = False) -> Tensor:
    """``self`` on an XPU; PyTorch's AssertionError when no plugin provides one."""
    return _to_optional_device(self, "xpu", device, AssertionError(
        "Torch not compiled with XPU enabled"))


@tensor_method
def mtia(self: Tensor, device: Any = None, non_blocking: bool = False) -> Tensor:
    """``self`` on an MTIA device; PyTorch's AssertionError when no plugin provides one."""
    return _to_optional_device(self, "mtia", device, AssertionError(
        "Torch not compiled with MTIA enabled"))


# -- a dense tensor's side of the sparse API (``mbtorch.sparse`` holds the COO tensors) -------
def _not_sparse(op: str, kind: str = "sparse coordinate tensor") -> Callable:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{op} expected {kind} layout but got Strided")

    method.__name__ = op
    method.__doc__ = "An error on a dense tensor, as PyTorch's (sparse COO tensors only)."
    return method


for _op in ("coalesce", "is_coalesced", "indices"):
    TENSOR_METHODS[_op] = _not_sparse(_op)
TENSOR_METHODS["values"] = _not_sparse("values", "sparse tensor")


TENSOR_METHODS["is_sparse_csr"] = property(lambda self: False, doc="False: a dense tensor")


@tensor_method
def sparse_dim(self: Tensor) -> int:
    """0: a dense tensor has no sparse dims."""
    return 0


@tensor_method
def dense_dim(self: Tensor) -> int:
    """All of a dense tensor's dims are dense."""
    return len(self._shape)


@tensor_method
def to_dense(self: Tensor, dtype: Any = None, *, masked_grad: Any = None) -> Tensor:
    """``self`` (converted to ``dtype`` when given): it is dense already."""
    return self if dtype is None else self.to(_dt.as_dtype(dtype, "to_dense"))


@tensor_method
def to_sparse_coo(self: Tensor) -> Any:
    """``self.to_sparse()``: a COO tensor of ``self``'s non-zero elements."""
    from ...sparse import to_sparse

    return to_sparse(self)


@tensor_method
def sparse_mask(self: Tensor, mask: Any) -> Any:
    """A COO tensor with ``mask``'s indices and ``self``'s values there (gradients reach
    ``self``)."""
    from ...sparse._coo import SparseCOOTensor, masked_values

    if not isinstance(mask, SparseCOOTensor):
        kind = "dense tensor" if isinstance(mask, Tensor) else type(mask).__name__
        raise NotImplementedError(f"sparse_mask(): argument 'mask' must be a sparse COO "
                                  f"tensor, not a {kind}")
    return masked_values(self, mask)
