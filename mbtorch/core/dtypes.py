"""Dtypes and PyTorch's type promotion.

A dtype is an interned object; compare with ``is``. Backends map these to their own array
types (the NumPy backend uses ``numpy`` dtypes and ``ml_dtypes.bfloat16``).

Promotion follows PyTorch: within one category (bool < integer < floating) the wider type
wins; tensors with dimensions outrank 0-d tensors, which outrank Python scalars, unless the
lower-ranked operand belongs to a higher category (``int32 tensor + 2.5`` is float32, the
default dtype; ``int32 tensor + float64 0-d tensor`` is float64).
"""

from __future__ import annotations

import threading

__all__ = [
    "dtype", "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
    "float32", "float64", "half", "float", "double", "short", "int", "long",
    "get_default_dtype", "set_default_dtype", "promote_types", "ALL_DTYPES",
    "BOOL_CATEGORY", "INTEGRAL_CATEGORY", "FLOATING_CATEGORY",
]

BOOL_CATEGORY, INTEGRAL_CATEGORY, FLOATING_CATEGORY = 0, 1, 2
"""The values of ``dtype.category`` (ordered: promotion goes up the categories)."""


class dtype:  # noqa: N801 - torch's spelling
    """A tensor element type, e.g. ``mbtorch.float32``."""

    __slots__ = ("name", "itemsize", "category", "is_signed", "_rank", "__weakref__")

    def __init__(self, name: str, itemsize: int, category: int, is_signed: bool, rank: int):
        self.name = name
        self.itemsize = itemsize
        self.category = category
        self.is_signed = is_signed
        self._rank = rank

    @property
    def is_floating_point(self) -> bool:
        return self.category == FLOATING_CATEGORY

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"mbtorch.{self.name}"

    def __reduce__(self):
        return self.name

    @property
    def scalar_name(self) -> str:
        """PyTorch's C++ ScalarType name (``Float``, ``Long``...), used in its messages."""
        return _SCALAR_NAMES[self.name]

    def to_python_type(self) -> type:
        return (_pybool, _pyint, _pyfloat)[self.category]


_pybool, _pyint, _pyfloat = bool, int, float
_SCALAR_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short",
                 "int32": "Int", "int64": "Long", "float16": "Half", "bfloat16": "BFloat16",
                 "float32": "Float", "float64": "Double"}

bool = dtype("bool", 1, BOOL_CATEGORY, False, 0)  # noqa: A001
uint8 = dtype("uint8", 1, INTEGRAL_CATEGORY, False, 1)
int8 = dtype("int8", 1, INTEGRAL_CATEGORY, True, 1)
int16 = dtype("int16", 2, INTEGRAL_CATEGORY, True, 2)
int32 = dtype("int32", 4, INTEGRAL_CATEGORY, True, 3)
int64 = dtype("int64", 8, INTEGRAL_CATEGORY, True, 4)
float16 = dtype("float16", 2, FLOATING_CATEGORY, True, 1)
bfloat16 = dtype("bfloat16", 2, FLOATING_CATEGORY, True, 1)
float32 = dtype("float32", 4, FLOATING_CATEGORY, True, 2)
float64 = dtype("float64", 8, FLOATING_CATEGORY, True, 3)

half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001

ALL_DTYPES: tuple[dtype, ...] = (
    bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64,
)
BY_NAME: dict[str, dtype] = {d.name: d for d in ALL_DTYPES}
FLOATING = tuple(d for d in ALL_DTYPES if d.category == FLOATING_CATEGORY)
INTEGRAL = tuple(d for d in ALL_DTYPES if d.category == INTEGRAL_CATEGORY)


def _promote_uncached(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == FLOATING_CATEGORY:
        if a._rank == b._rank:  # float16 with bfloat16
            return float32
        return a if a._rank > b._rank else b
    # integers: uint8 with a signed type of the same width widens
    if a.is_signed != b.is_signed:
        u, s = (a, b) if not a.is_signed else (b, a)
        return s if s.itemsize > u.itemsize else int16
    return a if a._rank > b._rank else b


_PROMOTE: dict[tuple[dtype, dtype], dtype] = {
    (a, b): _promote_uncached(a, b) for a in ALL_DTYPES for b in ALL_DTYPES
}


def promote_types(type1: dtype, type2: dtype) -> dtype:
    """The smallest dtype both can be converted to, as ``torch.promote_types``."""
    return _PROMOTE[(type1, type2)]


class _DefaultDtype(threading.local):
    value: dtype = float32


_default = _DefaultDtype()


def get_default_dtype() -> dtype:
    """The floating dtype that Python floats and float-producing integer ops become."""
    return _default.value


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype (float16, bfloat16, float32 or float64)."""
    if not isinstance(d, dtype) or d.category != FLOATING_CATEGORY:
        raise TypeError(f"set_default_dtype(): only floating-point types are supported "
                        f"as the default type, got {d!r}")
    _default.value = d


def scalar_dtype(value: object) -> dtype:
    """The dtype PyTorch gives a Python scalar that takes part in promotion."""
    t = type(value)
    if t is _pybool:
        return bool
    if t is _pyint:
        return int64
    if t is _pyfloat:
        return _default.value
    raise TypeError(f"expected a Python number, got {t.__name__}")


def combine_categories(higher: dtype | None, lower: dtype | None) -> dtype | None:
    """PyTorch's rule for merging the dimensioned, 0-d and scalar promotion states."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.category == FLOATING_CATEGORY:
        return higher
    if higher is bool or lower.category == FLOATING_CATEGORY:
        return _PROMOTE[(higher, lower)]
    return higher


def can_cast(from_: dtype, to: dtype) -> _pybool:
    """Whether an in-place op may write a ``from_`` result into a ``to`` tensor."""
    return from_.category <= to.category


def as_dtype(value: object, op: str, arg: str = "dtype") -> dtype:
    """Validate a dtype argument, naming the op and the argument on failure."""
    if isinstance(value, dtype):
        return value
    raise TypeError(f"{op}(): argument '{arg}' must be mbtorch.dtype, not {type(value).__name__}")
