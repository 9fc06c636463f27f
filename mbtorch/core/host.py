"""Host (NumPy) interchange: how mbtorch dtypes map to NumPy dtypes, and how Python data
becomes a host array. Every backend's ``from_numpy``/``to_numpy`` speaks these arrays."""

from __future__ import annotations

from typing import Any

from . import dtypes as dt
from ._lazy import lazy_import

__all__ = [
    "NUMPY_DTYPES", "FROM_NUMPY", "dtype_from_numpy", "to_host_array", "finfo",
    "iinfo"
]

np = lazy_import("numpy", globals(), "np")


class _ToNumpy(dict):
    """mbtorch dtype -> NumPy dtype, filled at the first lookup so that ``import mbtorch``
    imports neither NumPy nor ml_dtypes; bfloat16's entry (ml_dtypes', which costs more to
    import than NumPy) is added only when bfloat16 is first looked up. Lookups of present keys
    are plain dict lookups. Iterate ``dt.ALL_DTYPES``, not this table."""

    def __missing__(self, key: dt.dtype) -> Any:
        if not self:
            self.update({
                dt.bool: np.dtype(np.bool_), dt.uint8: np.dtype(np.uint8),
                dt.int8: np.dtype(np.int8), dt.int16: np.dtype(np.int16),
                dt.int32: np.dtype(np.int32), dt.int64: np.dtype(np.int64),
                dt.float16: np.dtype(np.float16), dt.float32: np.dtype(np.float32),
                dt.float64: np.dtype(np.float64), dt.complex64: np.dtype(np.complex64),
                dt.complex128: np.dtype(np.complex128), dt.uint16: np.dtype(np.uint16),
                dt.uint32: np.dtype(np.uint32), dt.uint64: np.dtype(np.uint64),
            })
            FROM_NUMPY.update({v: k for k, v in self.items()})
            if key in self:
                return self[key]
        if key is not dt.bfloat16:
            raise KeyError(key)
        import ml_dtypes

        self[key] = value = np.dtype(ml_dtypes.bfloat16)
        FROM_NUMPY[value] = key
        return value


class _FromNumpy(dict):
    """NumPy dtype -> mbtorch dtype, filled with ``_ToNumpy``'s entries."""

    def __missing__(self, key: Any) -> dt.dtype:
        NUMPY_DTYPES[dt.float32]  # noqa: B018 - fills both tables
        if key in self:
            return self[key]
        if getattr(key, "name", None) == "bfloat16" and key == NUMPY_DTYPES[dt.bfloat16]:
            return dt.bfloat16
        raise KeyError(key)


NUMPY_DTYPES: dict[dt.dtype, Any] = _ToNumpy()
FROM_NUMPY: dict[Any, dt.dtype] = _FromNumpy()

def dtype_from_numpy(npd: Any, op: str) -> dt.dtype:
    try:
        return FROM_NUMPY[np.dtype(npd)]
    except KeyError:
        names = ", ".join(d.name for d in dt.EVERY_DTYPE if d is not dt.complex32)
        raise TypeError(f"{op}(): can't convert np.ndarray of type {np.dtype(npd)}. The only "
                        f"supported types are: {names}") from None


def _infer_python(data: Any, op: str) -> dt.dtype:
    """The dtype torch.tensor infers from nested Python data."""
    kinds = set()
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, bool) or isinstance(x, np.bool_):
            kinds.add(dt.BOOL_CATEGORY)
        elif isinstance(x, (int, np.integer)):
            kinds.add(dt.INTEGRAL_CATEGORY)
        elif isinstance(x, (float, np.floating)):
            kinds.add(dt.FLOATING_CATEGORY)
        elif isinstance(x, (complex, np.complexfloating)):
            kinds.add(dt.COMPLEX_CATEGORY)
        elif hasattr(x, "_data") and hasattr(x, "_dtype"):  # a Tensor inside a list
            kinds.add(x._dtype.category)
        else:
            raise TypeError(f"{op}(): could not infer dtype of {type(x).__name__}")
    if dt.COMPLEX_CATEGORY in kinds:
        return dt.default_complex_dtype()  # complex64 with the default float32
    if not kinds or dt.FLOATING_CATEGORY in kinds:
        return dt.get_default_dtype()
    return dt.int64 if dt.INTEGRAL_CATEGORY in kinds else dt.bool


def to_host_array(data: Any, dtype: dt.dtype | None, op: str) -> tuple[np.ndarray, dt.dtype]:
    """Python data or a NumPy array as a host array of the right dtype (torch's inference)."""
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        arr = np.asarray(data)
        src = dtype_from_numpy(arr.dtype, op)
        dtype = dtype or src
    else:
        dtype = dtype or _infer_python(data, op)
        try:
            wide = np.float64 if dtype.is_floating_point else \
                np.complex128 if dtype.is_complex else None
            arr = np.array(_unwrap(data), dtype=wide)
        except ValueError as exc:
            raise ValueError(f"{op}(): expected a sequence of equal-length sequences "
                             f"({exc})") from None
        if arr.dtype == object:
            raise TypeError(f"{op}(): could not convert data of type {type(data).__name__}")
    target = _host_dtype(dtype, op)
    if arr.dtype != target:
        if arr.dtype.kind == "c" and target.kind != "c":
            _warn_discarded_imaginary()
            arr = arr.real
        arr = arr.astype(target)
    return arr, dtype


def _host_dtype(dtype: dt.dtype, op: str) -> Any:
    try:
        return NUMPY_DTYPES[dtype]
    except KeyError:
        # complex32: NumPy has no complex half, so no NumPy-backed device stores it
        raise TypeError(f"{op}(): dtype {dtype} is not supported on the host (NumPy has no "
                        f"{dtype.name}; use mbtorch.complex64)") from None


def _warn_discarded_imaginary() -> None:
    import warnings

    warnings.warn("Casting complex values to real discards the imaginary part", UserWarning,
                  stacklevel=4)


def _unwrap(data: Any) -> Any:
    if isinstance(data, (list, tuple)):
        return [_unwrap(x) for x in data]
    if hasattr(data, "_data") and hasattr(data, "_be"):  # a Tensor element
        return data.numpy(force=True)
    return data


class finfo:  # noqa: N801 - torch's spelling
    """Machine limits of a floating dtype, as ``torch.finfo``."""

    def __init__(self, type: dt.dtype | None = None):  # noqa: A002
        type = type or dt.get_default_dtype()
        if type.category < dt.FLOATING_CATEGORY:
            raise TypeError(f"finfo(): {type} is not a floating point dtype")
        type = type.to_real()  # a complex dtype's limits are its value type's, as torch's
        if type is dt.bfloat16:
            import ml_dtypes  # its finfo knows bfloat16, NumPy's does not

            info = ml_dtypes.finfo(NUMPY_DTYPES[type])
        else:  # NumPy's: ml_dtypes costs more to import than NumPy, for nothing here
            info = np.finfo(NUMPY_DTYPES[type])
        self.dtype = type.name
        self.bits = type.itemsize * 8
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = 10.0 ** -int(info.precision)  # as torch's: a power of ten

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:  # noqa: N801
    """Limits of an integer dtype, as ``torch.iinfo``."""

    def __init__(self, type: dt.dtype):  # noqa: A002
        if type.category >= dt.FLOATING_CATEGORY:
            raise TypeError(f"iinfo(): {type} is not an integer dtype")
        if type._storage is not None:  # as PyTorch's: no limits of a quantized dtype
            raise NotImplementedError(f'"dtype" not implemented for \'{type.scalar_name}\'')
        info = np.iinfo(NUMPY_DTYPES[type]) if type is not dt.bool else None
        self.dtype = type.name
        self.bits = type.itemsize * 8
        self.max = int(info.max) if info else 1
        self.min = int(info.min) if info else 0

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
