"""What a plugin hands the core (``BackendSpec``), and the validated runtime ``Backend``.

The spec is plain data: device type, API version, availability, device count, dtypes, the
storage object and the kernel table. Validation happens once, at registration; errors name the
plugin, the op and what to do.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

from . import dtypes as _dt
from .hookspecs import PLUGIN_API_VERSION
from .op import INPLACE, OPS, PRIMITIVES, Op

__all__ = ["Storage", "BackendSpec", "PluginError", "validate", "Backend"]


class Storage(Protocol):
    """Memory management a backend provides (handles are the backend's own array objects)."""

    def empty(self, shape: tuple[int, ...], dtype: _dt.dtype, device_index: int) -> Any:
        """A new contiguous handle; contents undefined."""

    def from_numpy(self, array: Any, device_index: int) -> Any:
        """A handle holding ``array``'s values (a host NumPy array of a supported dtype,
        already in the target dtype). A host backend may share the array's memory."""

    def to_numpy(self, handle: Any) -> Any:
        """The handle's values as a host NumPy array (may share memory on host backends)."""

    def strides(self, handle: Any) -> tuple[int, ...]:
        """The handle's strides in elements (non-negative)."""

    def shape(self, handle: Any) -> tuple[int, ...]:
        """The handle's shape (used only for data-dependent outputs such as NONZERO)."""

    def to_device(self, handle: Any, device_index: int) -> Any:
        """A copy of ``handle`` on another device of this backend."""

    # Optional (not checked at registration): ``reinterpret(handle, dtype)``, the handle's
    # memory as a flat handle of ``dtype`` (a complex root as its real value type, twice as
    # many elements, or back), starting at the handle's first element. It is what
    # ``view_as_real``/``view_as_complex``/``Tensor.real``/``Tensor.imag`` build their views
    # on; a backend that declares complex dtypes provides it (see mbtorch_numpy.storage).


@dataclass
class BackendSpec:
    """A backend's description, returned by the ``mbtorch_backend`` hook."""

    device_type: str
    api_version: int
    distribution: str
    version: str = "0"
    available: bool = True
    reason: str = ""
    device_count: int = 1
    dtypes: frozenset = frozenset()
    storage: Any = None
    kernels: Mapping[Op, Callable] = field(default_factory=dict)
    inplace_kernels: Mapping[Op, Callable] = field(default_factory=dict)
    """Optional in-place variants of ops listed in ``op.INPLACE`` (``kernel(out, a, b)``)."""
    out_kernels: Mapping[Op, Callable] = field(default_factory=dict)
    """Optional destination-passing variants, for compiled replays' planned buffers:
    ``kernel(out, *args)`` takes the op's kernel arguments (handles, then attrs) after a new
    contiguous handle ``out`` of the result's shape and dtype (``storage.empty``), writes the
    result there (nothing else; ``out`` overlaps no argument) and returns nothing. Only for
    ops whose kernel returns one new handle (never a view of an argument), and the values
    written must equal that kernel's. A replay uses them where the plain kernel's result came
    out contiguous (its first run notes it), reusing ``out`` from one replay to the next."""
    fuse: Callable[[Any], Callable | None] | None = None
    """Optional: ``fuse(group)`` gets a ``mbtorch.core.fusion.PointwiseGroup`` (a chain of
    pointwise kernels from a compiled replay) and returns one kernel computing it, or ``None``
    to decline; see ``mbtorch.core.fusion``. Without it, compiled code replays unfused."""
    expectations: Mapping[str, Any] = field(default_factory=dict)
    info: Mapping[str, str] = field(default_factory=dict)
    dlpack_device_type: int | None = None
    from_dlpack: Callable[[Any], Any] | None = None
    synchronize: Callable[[int], None] | None = None
    runtime: Any = None
    """Optional device runtime for the device's namespace module (``mbtorch.cuda``): an object
    with ``set_device(i)``, ``device_name(i)``, ``memory_allocated(i)``,
    ``max_memory_allocated(i)``, ``reset_peak_memory_stats(i)`` and ``empty_cache()``."""


class PluginError(RuntimeError):
    """A plugin's spec or kernel table is invalid."""


_STORAGE_METHODS = ("empty", "from_numpy", "to_numpy", "strides", "shape", "to_device")


def _arity_ok(kernel: Callable, n: int) -> bool:
    nin = getattr(kernel, "nin", None)  # NumPy/CuPy ufuncs
    if nin is not None:
        return nin == n
    try:
        sig = inspect.signature(kernel)
    except (TypeError, ValueError):
        return True  # not introspectable (builtins); checked by the conformance suite
    try:
        sig.bind(*range(n))
    except TypeError:
        return False
    return True


def validate(spec: Any, plugin: str) -> None:
    """Raise ``PluginError`` naming the plugin, op and fix if ``spec`` is unusable."""
    if not isinstance(spec, BackendSpec):
        raise PluginError(f"plugin {plugin!r}: hook mbtorch_backend returned "
                          f"{type(spec).__name__}, expected mbtorch.core.backend.BackendSpec")
    if spec.api_version != PLUGIN_API_VERSION:
        raise PluginError(f"plugin {plugin!r} was written for plugin API version "
                          f"{spec.api_version}, but this mbtorch speaks version "
                          f"{PLUGIN_API_VERSION}; upgrade the plugin or mbtorch")
    if not spec.available:
        return
    for name in _STORAGE_METHODS:
        if not callable(getattr(spec.storage, name, None)):
            raise PluginError(f"plugin {plugin!r}: storage has no callable '{name}'")
    for d in spec.dtypes:
        if not isinstance(d, _dt.dtype):
            raise PluginError(f"plugin {plugin!r}: dtypes must be mbtorch dtypes, got {d!r}")
    for key, kernel in spec.kernels.items():
        if not isinstance(key, Op):
            raise PluginError(f"plugin {plugin!r}: kernel table key {key!r} is not an "
                              "mbtorch Op member; use mbtorch.core.op.Op names")
        if not callable(kernel):
            raise PluginError(f"plugin {plugin!r}: kernel for {key.name} is not callable")
        sig = PRIMITIVES.get(key)
        if sig is not None and not _arity_ok(kernel, len(sig.params.split(","))):
            raise PluginError(f"plugin {plugin!r}: kernel for {key.name} must accept "
                              f"({sig.params})")
    for key, kernel in spec.inplace_kernels.items():
        if key not in INPLACE or not callable(kernel):
            raise PluginError(f"plugin {plugin!r}: in-place kernel for {key!r}: only callables "
                              f"for {sorted(op.name for op in INPLACE)} may be registered")
    for key, kernel in spec.out_kernels.items():
        if not isinstance(key, Op) or not callable(kernel):
            raise PluginError(f"plugin {plugin!r}: out kernel for {key!r}: out_kernels maps "
                              "mbtorch Op members to callables kernel(out, *args)")
        if key not in spec.kernels:
            raise PluginError(f"plugin {plugin!r}: out kernel for {key.name} without a kernel "
                              f"for {key.name}: register the op's kernel too")
    missing = [op.name for op in PRIMITIVES if op not in spec.kernels]
    if spec.fuse is not None and not callable(spec.fuse):
        raise PluginError(f"plugin {plugin!r}: fuse must be a callable (or None), got "
                          f"{type(spec.fuse).__name__}")
    if missing:
        raise PluginError(f"plugin {plugin!r} lacks kernels for primitives {missing}; every "
                          "primitive in mbtorch.core.op.PRIMITIVES needs one")


class Backend:
    """A validated, registered backend: kernels in a flat list indexed by ``Op``."""

    __slots__ = ("spec", "device_type", "storage", "kernels", "inplace", "native", "dtypes",
                 "plugin", "fuse", "out")

    def __init__(self, spec: BackendSpec, plugin: str):
        self.spec = spec
        self.plugin = plugin
        self.device_type = spec.device_type
        self.storage = spec.storage
        self.dtypes = frozenset(spec.dtypes)
        self.kernels: list[Callable | None] = [None] * len(Op)
        for op, kernel in spec.kernels.items():
            self.kernels[op] = kernel
        self.inplace: list[Callable | None] = [None] * len(Op)
        for op, kernel in spec.inplace_kernels.items():
            self.inplace[op] = kernel
        self.native = frozenset(op for op in spec.kernels if op in OPS or op in PRIMITIVES)
        self.fuse = spec.fuse
        # destination-passing kernels (``BackendSpec.out_kernels``), None where there is none
        self.out: list[Callable | None] = [None] * len(Op)
        for op, kernel in spec.out_kernels.items():
            self.out[op] = kernel

    def runs_natively(self, op: Op) -> bool:
        return self.kernels[op] is not None

    def __repr__(self) -> str:
        return f"<Backend {self.device_type} from {self.plugin}>"
