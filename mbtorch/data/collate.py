"""``default_collate`` and ``default_convert``: how a list of samples becomes a batch.

Tensors are stacked along a new first dimension, NumPy arrays and numbers become tensors,
strings stay lists, and mappings, namedtuples and sequences are collated field by field (a
tuple of samples' fields comes back as a list, as in PyTorch). ``collate`` with a
``collate_fn_map`` lets a custom ``collate_fn`` reuse the recursion for its own types.
"""

from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any, Callable

import mbtorch
from mbtorch.core.tensor import Tensor

from ..core._lazy import lazy_import

np = lazy_import("numpy", globals(), "np")

# default_collate_fn_map comes from the module's __getattr__ (built at first use)
__all__ = ["collate", "default_collate", "default_collate_fn_map",  # noqa: F822
           "default_convert"]

# NumPy dtypes (strings, bytes, objects) that have no tensor counterpart.
np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
    "found {}"
)


def _rebuild_mapping(elem: Any, values: dict) -> Any:
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            # copy + update keeps the mapping type's extra state (e.g. OrderedDict, defaultdict)
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def _rebuild_sequence(elem: Any, values: list) -> Any:
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, v in enumerate(values):
                clone[i] = v
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays and scalars (also inside containers) into tensors; used when
    automatic batching is off (``batch_size=None``)."""
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if isinstance(data, np.ndarray) and np_str_obj_array_pattern.search(data.dtype.str):
            return data
        return mbtorch.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {k: default_convert(data[k]) for k in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # a list, as torch returns
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def collate_tensor_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    return mbtorch.stack(batch, 0)


def collate_numpy_array_fn(batch: list, *, collate_fn_map: dict | None = None) -> Any:
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([mbtorch.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    return mbtorch.as_tensor(np.asarray(batch))


def collate_float_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    return mbtorch.tensor(batch, dtype=mbtorch.float64)


def collate_int_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    return mbtorch.tensor(batch)


def collate_str_fn(batch: list, *, collate_fn_map: dict | None = None) -> list:
    return batch


_fn_map: dict[type | tuple[type, ...], Callable] | None = None


def _default_collate_fn_map() -> dict[type | tuple[type, ...], Callable]:
    """``default_collate_fn_map``, built at its first use: its keys are NumPy types, and
    ``import mbtorch`` does not import NumPy. One dict, so entries users add are kept."""
    global _fn_map
    if _fn_map is None:
        _fn_map = {
            Tensor: collate_tensor_fn,
            np.ndarray: collate_numpy_array_fn,
            (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
            float: collate_float_fn,
            int: collate_int_fn,
            str: collate_str_fn,
            bytes: collate_str_fn,
        }
    return _fn_map


def __getattr__(name: str) -> Any:
    if name == "default_collate_fn_map":
        return _default_collate_fn_map()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _lookup(elem: Any, collate_fn_map: dict | None) -> Callable | None:
    if collate_fn_map is None:
        return None
    fn = collate_fn_map.get(type(elem))
    if fn is not None:
        return fn
    for collate_type, fn in collate_fn_map.items():
        if isinstance(elem, collate_type):
            return fn
    return None


def collate(batch: list, *, collate_fn_map: dict | None = None) -> Any:
    """Collate ``batch`` recursively, handling leaves with ``collate_fn_map`` (type -> fn)."""
    elem = batch[0]
    fn = _lookup(elem, collate_fn_map)
    if fn is not None:
        return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(
            elem, {k: collate([d[k] for d in batch], collate_fn_map=collate_fn_map)
                   for k in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(collate(s, collate_fn_map=collate_fn_map)
                            for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        return fields if isinstance(elem, tuple) else _rebuild_sequence(elem, fields)
    raise TypeError(default_collate_err_msg_format.format(type(elem)))


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch.

    >>> default_collate([(mbtorch.zeros(2), 0), (mbtorch.ones(2), 1)])
    [tensor([[0., 0.], [1., 1.]]), tensor([0, 1])]
    """
    return collate(batch, collate_fn_map=_default_collate_fn_map())
