"""The ``Tensor`` class: a thin façade over a backend handle.

A tensor holds its backend's *handle* (``_data``: a NumPy array, a CuPy array, an OpenCL
buffer view...), its shape, dtype and device, and for views the *root* tensor whose storage it
shares (``_root``) with its offset; strides are asked of the backend lazily. The math lives in
``mbtorch.core.ops``. Each ops module declares the ``Tensor`` methods it provides in one table,
``TENSOR_METHODS`` (filled by ``@tensor_method`` next to the function a method calls, so
``Tensor.sum`` is defined where ``mbtorch.sum`` is); ``install_methods`` — called once by
``mbtorch.core.ops`` and once by ``mbtorch.autograd`` — puts the tables on the class, refusing a
name two modules claim. Methods are plain class attributes: nothing is looked up per call.
"""

from __future__ import annotations

from typing import Any, Callable

from . import dtypes as _dt
from .device import device as _device_cls
from .state import STATE

__all__ = [
    "Tensor", "Size", "is_contiguous_layout", "contiguous_strides", "collapse_dims", "wrap_dim",
    "method_table",
    "install_methods", "tensor_method",
]


class Tensor:
    """A multi-dimensional array on some device, with autograd support."""

    __slots__ = ("_data", "_shape", "_dtype", "_device", "_be", "__dict__", "__weakref__")

    # Rarely-set state: class-level defaults, written into the instance dict on demand so
    # that creating a tensor on the hot path sets only the five slots above.
    _root: "Tensor | None" = None  # storage owner, for views
    _offset: int = 0  # storage offset in elements, relative to the root
    _stride: "tuple[int, ...] | None" = None
    _vc: int = 0  # version counter; lives on the root
    _requires_grad: bool = False
    _grad: "Tensor | None" = None
    _grad_fn: Any = None
    _retains_grad: bool = False
    _hooks: "list | None" = None

    def __new__(cls, *args: Any, **kwargs: Any) -> "Tensor":
        """PyTorch's legacy constructor (``mbtorch.core.legacy``): ``Tensor(data)``,
        ``Tensor(2, 3)``, ``Tensor()``. Ops build tensors with ``object.__new__``, not this."""
        from .legacy import legacy_new

        return legacy_new(cls, args, kwargs)

    def new(self, *args: Any, **kwargs: Any) -> "Tensor":
        """``x.new(data)`` / ``x.new(2, 3)``: the legacy constructor with ``x``'s dtype and
        device (prefer ``new_tensor`` / ``new_empty``)."""
        from .legacy import legacy_new

        if len(args) != 1 or not isinstance(args[0], Tensor):
            kwargs.setdefault("device", self._device)
        return legacy_new(Tensor, args, kwargs, self._dtype, self._device.type)

    def type(self, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        """``x.type()`` is ``'torch.FloatTensor'`` (PyTorch's strings, so programs comparing
        them work); ``x.type(mbtorch.LongTensor)``, ``x.type('torch.LongTensor')`` or
        ``x.type(mbtorch.int64)`` convert (returning ``x`` when it already has that type)."""
        from .legacy import convert_type

        return convert_type(self, dtype, non_blocking, **kwargs)

    @staticmethod
    def _make_subclass(cls: type, data: "Tensor", requires_grad: bool = False) -> "Tensor":
        """A ``cls`` instance sharing ``data``'s storage, a leaf (torch's
        ``Tensor._make_subclass``, with which ``nn.Parameter`` is built)."""
        t = object.__new__(cls)
        t._data, t._shape, t._dtype = data._data, data._shape, data._dtype
        t._device, t._be = data._device, data._be
        if data._root is not None:
            t._root, t._offset, t._stride = data._root, data._offset, data._stride
        if requires_grad:
            t.requires_grad_(True)
        return t

    # -- metadata -------------------------------------------------------------------------
    @property
    def shape(self) -> "Size":
        return Size(self._shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._shape)
        return self._shape[wrap_dim(dim, len(self._shape), "size")]

    @property
    def dtype(self) -> _dt.dtype:
        return self._dtype._public  # a quantized tensor's variant reports qint8 etc.

    @property
    def device(self) -> _device_cls:
        return self._device

    @property
    def ndim(self) -> int:
        return len(self._shape)

    def dim(self) -> int:
        return len(self._shape)

    def numel(self) -> int:
        n = 1
        for s in self._shape:
            n *= s
        return n

    nelement = numel

    def element_size(self) -> int:
        return self._dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    def is_floating_point(self) -> bool:
        return self._dtype.is_floating_point

    def is_complex(self) -> bool:
        return self._dtype.category == _dt.COMPLEX_CATEGORY

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._device.type == "cpu"

    # PyTorch's other device-kind flags: true only for a tensor on a plugin of that name
    is_xpu = property(lambda self: self._device.type == "xpu")
    is_mps = property(lambda self: self._device.type == "mps")
    is_meta = property(lambda self: self._device.type == "meta")
    is_ipu = property(lambda self: self._device.type == "ipu")
    is_xla = property(lambda self: self._device.type == "xla")
    is_maia = property(lambda self: self._device.type == "maia")
    is_mtia = property(lambda self: self._device.type == "mtia")
    is_vulkan = property(lambda self: self._device.type == "vulkan")
    # layouts mbtorch has no tensors of (strided is the only one)
    is_mkldnn = property(lambda self: False)
    is_nested = property(lambda self: False)
    is_quantized = property(lambda self: self._dtype._q is not None)

    def is_signed(self) -> bool:
        return self._dtype.is_signed

    def is_same_size(self, other: "Tensor") -> bool:
        return self._shape == other._shape

    def stride(self, dim: int | None = None):
        st = self._stride
        if st is None:
            # an empty handle's strides mean nothing (NumPy gives 0s); PyTorch reports the
            # contiguous ones of a tensor it allocated
            st = self._stride = (contiguous_strides(self._shape) if 0 in self._shape
                                 else tuple(self._be.storage.strides(self._data)))
        if dim is None:
            return st
        return st[wrap_dim(dim, len(self._shape), "stride")]

    def storage_offset(self) -> int:
        return self._offset

    def is_contiguous(self, memory_format: Any = None) -> bool:
        if memory_format is None:
            return is_contiguous_layout(self._shape, self.stride())
        from .memory_format import check_format, is_contiguous_as

        return is_contiguous_as(self._shape, self.stride(),
                                check_format(memory_format, "is_contiguous"))

    @property
    def _version(self) -> int:
        return (self if self._root is None else self._root)._vc

    def _bump_version(self) -> None:
        root = self if self._root is None else self._root
        root._vc += 1

    @property
    def _base(self) -> "Tensor | None":
        return self._root

    def _is_view(self) -> bool:
        return self._root is not None

    # -- autograd state (the engine lives in mbtorch.autograd) -------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self._dtype.category < _dt.FLOATING_CATEGORY:
            raise RuntimeError("requires_grad_(): only Tensors of floating point dtype can "
                               f"require gradients (got {self._dtype.name})")
        if not requires_grad and self._grad_fn is not None:
            raise RuntimeError("requires_grad_(): you can only change requires_grad flags of "
                               "leaf variables. If you want to use a computed variable in a "
                               "subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self) -> "Tensor | None":
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got "
                                f"{type(value).__name__}")
            if value._shape != self._shape:
                raise RuntimeError(f"assigned grad has data of a different size: "
                                   f"{list(value._shape)} vs {list(self._shape)}")
            if value._device is not self._device:
                raise RuntimeError("assigned grad has data located on a different device")
        if STATE.tracer is not None:  # mbtorch.compile guards on the .grad a call found
            STATE.tracer.note_grad(self)
        self._grad = value

    @property
    def data(self) -> "Tensor":
        """A tensor sharing storage with ``self``, outside autograd (``x.data``)."""
        return self.detach()

    @data.setter
    def data(self, new: "Tensor") -> None:
        if not isinstance(new, Tensor):
            raise TypeError(f"data must be a Tensor, not {type(new).__name__}")
        self._data, self._shape, self._dtype = new._data, new._shape, new._dtype
        self._device, self._be = new._device, new._be
        d = self.__dict__
        for key in ("_root", "_offset", "_stride"):
            d.pop(key, None)
        if new._root is not None:
            self._root, self._offset, self._stride = new._root, new._offset, new._stride
        elif new._stride is not None:
            self._stride = new._stride

    @property
    def grad_fn(self) -> Any:
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        if STATE.tracer is not None:
            _host_read("bool()", self)
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.numel()} elements is "
                               "ambiguous")
        return bool(self.item())

    def __index__(self) -> int:
        if STATE.tracer is not None:
            _host_read("__index__()", self)
        if self._dtype.category != _dt.INTEGRAL_CATEGORY or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __int__(self) -> int:
        if STATE.tracer is not None:
            _host_read("int()", self)
        return int(self.item())

    def __float__(self) -> float:
        if STATE.tracer is not None:
            _host_read("float()", self)
        return float(self.item())

    def __complex__(self) -> complex:
        if STATE.tracer is not None:
            _host_read("complex()", self)
        return complex(self.item())

    def __repr__(self) -> str:
        from .formatting import tensor_repr

        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if not self._shape and spec:
            return format(self.item(), spec)
        return repr(self)

    def __array__(self, dtype: Any = None, copy: Any = None):
        arr = self.numpy(force=True)
        return arr if dtype is None else arr.astype(dtype)

    def __deepcopy__(self, memo: dict) -> "Tensor":
        if id(self) in memo:
            return memo[id(self)]
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        out = self.detach().clone()
        if self._requires_grad:
            out.requires_grad_(True)
        if self._grad is not None:
            out._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol: int):
        raise TypeError("mbtorch tensors are not picklable with pickle itself; use "
                        "mbtorch.save (PyTorch's checkpoint format, or safetensors)")


class Size(tuple):
    """``tensor.shape``: a tuple of ints, as ``torch.Size``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"mbtorch.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


def is_contiguous_layout(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """Row-major contiguity as PyTorch defines it (size-1 dims' strides don't matter; an
    empty tensor is contiguous whatever its strides)."""
    if 0 in shape:
        return True
    expected = 1
    for size, st in zip(reversed(shape), reversed(strides)):
        if size != 1 and st != expected:
            return False
        expected *= size
    return True


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Row-major strides in elements (a size-0 dim counts as 1), the one helper every backend
    and the conformance suite use."""
    strides = []
    acc = 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(strides))


def collapse_dims(shape: tuple, strides: list[tuple]) -> tuple[tuple, list[tuple]]:
    """``shape`` without its size-1 dims and with adjacent dims merged wherever every
    operand's ``strides`` (one sequence per operand, in elements) are contiguous across them:
    the fewest loops an elementwise kernel over these operands needs. ``()`` when every dim
    is 1."""
    dims = [i for i, s in enumerate(shape) if s != 1]
    if not dims:
        return (), [() for _ in strides]
    out_shape = [shape[dims[0]]]
    out_st = [[st[dims[0]]] for st in strides]
    for i in dims[1:]:
        s = shape[i]
        if all(o[-1] == st[i] * s for o, st in zip(out_st, strides)):
            out_shape[-1] *= s
            for o, st in zip(out_st, strides):
                o[-1] = st[i]
        else:
            out_shape.append(s)
            for o, st in zip(out_st, strides):
                o.append(st[i])
    return tuple(out_shape), [tuple(o) for o in out_st]


def wrap_dim(dim: Any, ndim: int, op: str, arg: str = "dim") -> int:
    """Normalise a possibly negative dim, with PyTorch's IndexError message."""
    if not isinstance(dim, int) or isinstance(dim, bool):
        if hasattr(dim, "__index__") and not isinstance(dim, bool):
            dim = dim.__index__()
        else:
            raise TypeError(f"{op}(): argument '{arg}' must be int, not {type(dim).__name__}")
    n = ndim if ndim > 0 else 1
    if dim < -n or dim >= n:
        raise IndexError(f"{op}(): Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def method_table(table: dict[str, Any]) -> Callable:
    """A decorator that enters a function into ``table`` (a module's ``TENSOR_METHODS``) as a
    ``Tensor`` method, under its own name or ``name``; the function itself is unchanged.

    >>> TENSOR_METHODS: dict[str, Any] = {}
    >>> tensor_method = method_table(TENSOR_METHODS)
    >>> @tensor_method
    ... def sum(input, dim=None): ...
    """

    def tensor_method(fn: Callable | None = None, *, name: str | None = None):
        def enter(f: Callable) -> Callable:
            table[name or f.__name__] = f
            return f

        return enter(fn) if fn is not None else enter

    return tensor_method


_INSTALLED: dict[str, str] = {}  # method name -> the module whose table provided it


def install_methods(*modules: Any) -> None:
    """Put each module's ``TENSOR_METHODS`` on ``Tensor``; a name two modules claim is an
    error naming both (a method is defined once)."""
    for module in modules:
        for name, fn in module.TENSOR_METHODS.items():
            owner = _INSTALLED.get(name)
            if owner is not None and owner != module.__name__:
                raise RuntimeError(f"Tensor.{name} is provided by both {owner} and "
                                   f"{module.__name__}")
            _INSTALLED[name] = module.__name__
            setattr(Tensor, name, fn)


def tensor_method(fn: Callable | None = None, *, name: str | None = None):
    """Attach ``fn`` to ``Tensor`` at once. Kept only for ``core/ops/binary.py`` until it
    declares a ``TENSOR_METHODS`` table like the other ops modules (``method_table``)."""

    def attach(f: Callable) -> Callable:
        setattr(Tensor, name or f.__name__, f)
        return f

    return attach(fn) if fn is not None else attach


def _host_read(what: str, t: Tensor) -> None:
    """A host read while some graph is being traced on this thread (``mbtorch.graph``)."""
    from ..graph.capture import host_read

    host_read(what, t)
