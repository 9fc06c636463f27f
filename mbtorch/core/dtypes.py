"""Dtypes and PyTorch's type promotion.

A dtype is an interned object; compare with ``is``. Backends map these to their own array
types (the NumPy backend uses ``numpy`` dtypes and ``ml_dtypes.bfloat16``).

Promotion follows PyTorch: within one category (bool < integer < floating < complex) the
wider type wins (a complex with a floating type takes the wider of their value types:
``float64 + complex64`` is complex128); tensors with dimensions outrank 0-d tensors, which
outrank Python scalars, unless the lower-ranked operand belongs to a higher category
(``int32 tensor + 2.5`` is float32, the default dtype; ``int32 tensor + float64 0-d tensor``
is float64; ``float64 tensor + 1j`` is complex128: a complex scalar keeps a floating tensor's
precision).

The complex dtypes (``complex32``/``chalf``, ``complex64``/``cfloat``, ``complex128``/
``cdouble``) are not in ``ALL_DTYPES`` (the real dtypes every backend is checked on) but in
``COMPLEX_DTYPES``; a backend declares them like any dtype (the cpu backend: complex64 and
complex128; NumPy has no complex32, so ``chalf`` is a dtype object no backend stores).
"""

from __future__ import annotations

__all__ = [
    "dtype", "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
    "float32", "float64", "half", "float", "double", "short", "int", "long",
    "get_default_dtype", "set_default_dtype", "promote_types", "ALL_DTYPES",
    "BOOL_CATEGORY", "INTEGRAL_CATEGORY", "FLOATING_CATEGORY", "COMPLEX_CATEGORY",
    "complex32", "complex64", "complex128", "chalf", "cfloat", "cdouble", "COMPLEX_DTYPES",
    "EVERY_DTYPE", "default_complex_dtype", "uint16", "uint32", "uint64", "LIMITED_UINTS",
    "qint8", "quint8", "qint32", "QUANTIZED_DTYPES",
]

BOOL_CATEGORY, INTEGRAL_CATEGORY, FLOATING_CATEGORY, COMPLEX_CATEGORY = 0, 1, 2, 3
"""The values of ``dtype.category`` (ordered: promotion goes up the categories)."""


class dtype:  # noqa: N801 - torch's spelling
    """A tensor element type, e.g. ``mbtorch.float32``."""

    __slots__ = ("name", "itemsize", "category", "is_signed", "_rank", "_plain", "_public",
                 "_storage", "_q", "__weakref__")

    def __init__(self, name: str, itemsize: int, category: int, is_signed: bool, rank: int,
                 plain: bool = True, storage: "dtype | None" = None):
        self.name = name
        self.itemsize = itemsize
        self.category = category
        self.is_signed = is_signed
        self._rank = rank
        # the elementwise meta rules' fast path is for "plain" dtypes: complex ones, the
        # limited unsigned ones (uint16/32/64) and the quantized ones take the checked path
        self._plain = plain and category != COMPLEX_CATEGORY and storage is None
        # quantized dtypes (mbtorch.core.quantized): ``_storage`` is the integer type of the
        # values; a quantized tensor's ``_dtype`` is a variant carrying its quantization
        # (``_q``: scale and zero point) whose ``_public`` is qint8/quint8/qint32 itself
        self._public = self
        self._storage = storage
        self._q = None

    @property
    def is_floating_point(self) -> bool:
        return self.category == FLOATING_CATEGORY

    @property
    def is_complex(self) -> bool:
        return self.category == COMPLEX_CATEGORY

    def to_real(self) -> "dtype":
        """The value type of a complex dtype (``complex64`` -> ``float32``); others unchanged."""
        return _TO_REAL.get(self, self)

    def to_complex(self) -> "dtype":
        """The complex dtype of a floating one (``float32`` -> ``complex64``; bfloat16 ->
        complex64, as PyTorch's); a complex dtype unchanged."""
        if self.category == COMPLEX_CATEGORY:
            return self
        out = _TO_COMPLEX.get(self)
        if out is None:
            raise RuntimeError(f"Unknown Complex ScalarType for {self.scalar_name}")
        return out

    def __repr__(self) -> str:
        return f"mbtorch.{self.name}"

    def __reduce__(self):
        return self.name

    @property
    def scalar_name(self) -> str:
        """PyTorch's C++ ScalarType name (``Float``, ``Long``...), used in its messages."""
        return _SCALAR_NAMES[self.name]

    def to_python_type(self) -> type:
        return (_pybool, _pyint, _pyfloat, _pycomplex)[self.category]


_pybool, _pyint, _pyfloat, _pycomplex = bool, int, float, complex
_SCALAR_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short",
                 "int32": "Int", "int64": "Long", "float16": "Half", "bfloat16": "BFloat16",
                 "float32": "Float", "float64": "Double", "complex32": "ComplexHalf",
                 "complex64": "ComplexFloat", "complex128": "ComplexDouble",
                 "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64",
                 "qint8": "QInt8", "quint8": "QUInt8", "qint32": "QInt32"}

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
uint16 = dtype("uint16", 2, INTEGRAL_CATEGORY, False, 2, plain=False)
uint32 = dtype("uint32", 4, INTEGRAL_CATEGORY, False, 3, plain=False)
uint64 = dtype("uint64", 8, INTEGRAL_CATEGORY, False, 4, plain=False)
complex32 = dtype("complex32", 4, COMPLEX_CATEGORY, True, 1)
complex64 = dtype("complex64", 8, COMPLEX_CATEGORY, True, 2)
complex128 = dtype("complex128", 16, COMPLEX_CATEGORY, True, 3)
qint8 = dtype("qint8", 1, INTEGRAL_CATEGORY, True, 1, storage=int8)
quint8 = dtype("quint8", 1, INTEGRAL_CATEGORY, False, 1, storage=uint8)
qint32 = dtype("qint32", 4, INTEGRAL_CATEGORY, True, 3, storage=int32)

half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001
chalf, cfloat, cdouble = complex32, complex64, complex128

ALL_DTYPES: tuple[dtype, ...] = (
    bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64,
)
COMPLEX_DTYPES: tuple[dtype, ...] = (complex32, complex64, complex128)
LIMITED_UINTS: tuple[dtype, ...] = (uint16, uint32, uint64)
"""PyTorch's "limited support" unsigned types: storage, casts, copies, views and a few ops;
no promotion with other integer types, no arithmetic beyond what ``LIMITED_OPS`` lists."""
QUANTIZED_DTYPES: tuple[dtype, ...] = (qint8, quint8, qint32)
"""No tensor has these as ``_dtype``: a quantized tensor's dtype is a variant of one of them
carrying its scale and zero point (``mbtorch.core.quantized``)."""
EVERY_DTYPE: tuple[dtype, ...] = ALL_DTYPES + COMPLEX_DTYPES + LIMITED_UINTS
BY_NAME: dict[str, dtype] = {d.name: d for d in EVERY_DTYPE + QUANTIZED_DTYPES}
FLOATING = tuple(d for d in ALL_DTYPES if d.category == FLOATING_CATEGORY)
INTEGRAL = tuple(d for d in ALL_DTYPES if d.category == INTEGRAL_CATEGORY)
_TO_REAL = {complex32: float16, complex64: float32, complex128: float64}
_TO_COMPLEX = {float16: complex32, bfloat16: complex64, float32: complex64,
               float64: complex128}


def _promote_uncached(a: dtype, b: dtype) -> dtype | None:
    if a is b:
        return a
    if (a in LIMITED_UINTS or b in LIMITED_UINTS) and \
            a.category < FLOATING_CATEGORY and b.category < FLOATING_CATEGORY:
        return None  # refused by promote_types, as PyTorch's
    if a.category >= FLOATING_CATEGORY and b.category >= FLOATING_CATEGORY and \
            COMPLEX_CATEGORY in (a.category, b.category):
        # complex with complex or floating: the wider value type, as a complex type
        return _TO_COMPLEX[_promote_uncached(_TO_REAL.get(a, a), _TO_REAL.get(b, b))]
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
    (a, b): _promote_uncached(a, b) for a in EVERY_DTYPE for b in EVERY_DTYPE
}


def promote_types(type1: dtype, type2: dtype) -> dtype:
    """The smallest dtype both can be converted to, as ``torch.promote_types``."""
    out = _PROMOTE.get((type1, type2), False)
    if out is False:  # a quantized dtype (or not a dtype at all)
        if type1 is type2 and type1._q is not None:
            return type1
        if isinstance(type1, dtype) and isinstance(type2, dtype):
            raise RuntimeError("promoteTypes with quantized numbers is not handled yet; figure "
                               "out what the correct rules should be, offending types: "
                               f"{type1.scalar_name} {type2.scalar_name}")
        raise TypeError(f"promote_types(): expected two dtypes, got {type(type1).__name__} "
                        f"and {type(type2).__name__}")
    if out is None:
        raise RuntimeError(f"Promotion for uint16, uint32, uint64 types is not supported, "
                           f"attempted to promote {type1.scalar_name} and {type2.scalar_name}")
    return out


class _DefaultDtype:
    """Process-wide, as PyTorch's (``set_default_dtype`` in one thread is seen by all; grad
    mode and the default device are the thread-local ones)."""

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
    if t is _pycomplex:
        return _TO_COMPLEX[_default.value]
    raise TypeError(f"expected a Python number, got {t.__name__}")


def combine_categories(higher: dtype | None, lower: dtype | None) -> dtype | None:
    """PyTorch's rule for merging the dimensioned, 0-d and scalar promotion states."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.category == COMPLEX_CATEGORY:
        return higher
    if lower.category == COMPLEX_CATEGORY:
        # a floating operand keeps its precision: float64 tensor + 1j is complex128
        return _TO_COMPLEX[higher] if higher.category == FLOATING_CATEGORY else lower
    if higher.category == FLOATING_CATEGORY:
        return higher
    if higher is bool or lower.category == FLOATING_CATEGORY:
        return promote_types(higher, lower)
    return higher


def default_complex_dtype() -> dtype:
    """The complex dtype paired with the default float dtype (Python ``complex`` scalars)."""
    return _TO_COMPLEX[_default.value]


def can_cast(from_: dtype, to: dtype) -> _pybool:
    """Whether an in-place op may write a ``from_`` result into a ``to`` tensor."""
    return from_.category <= to.category


def as_dtype(value: object, op: str, arg: str = "dtype") -> dtype:
    """Validate a dtype argument, naming the op and the argument on failure."""
    if isinstance(value, dtype):
        return value
    raise TypeError(f"{op}(): argument '{arg}' must be mbtorch.dtype, not {type(value).__name__}")
