"""The safetensors format of ``mbtorch.save(..., format="safetensors")``: never pickle.

Tensors are stored as safetensors tensors (readable by any safetensors tool); the structure
around them — nested dicts, lists, tuples and plain values (None, bool, int, float, str) — is
JSON in the header's metadata under ``mbtorch.structure``. Loading parses JSON and raw tensor
bytes only, so it can never execute code. A safetensors file without that metadata loads as a
flat dict of tensors.

A quantized tensor ``K`` (qint8, quint8, qint32) is stored as safetensors tensors any tool can
read: ``K`` its integers (I8, U8, I32; the dtype follows from them), ``K.scale`` (F64) and
``K.zero_point`` (I64) — 0-d for a per-tensor affine tensor, 1-d along the axis for a
per-channel one, which also has ``K.axis`` (I64, 0-d). Its structure entry names those keys
(``"quantized": {"scale": ..., "zero_point": ..., "axis": ...}``), so the tensor comes back
quantized; a file without mbtorch's structure loads them as the plain tensors they are.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable

from ..core import dtypes as _dt
from ..core._lazy import lazy_import
from ..core.host import NUMPY_DTYPES
from ..core.tensor import Tensor
from .limits import check_nesting
from .storage import CheckpointError

__all__ = ["FORMAT", "FORMAT_VERSION", "write_safetensors", "read_safetensors",
           "looks_like_safetensors"]

np = lazy_import("numpy", globals(), "np")

FORMAT = "mbtorch.structure"
FORMAT_VERSION = "1"
# safetensors' dtype codes <-> mbtorch dtypes
_CODES = {_dt.bool: "BOOL", _dt.uint8: "U8", _dt.int8: "I8", _dt.int16: "I16",
          _dt.int32: "I32", _dt.int64: "I64", _dt.float16: "F16", _dt.bfloat16: "BF16",
          _dt.float32: "F32", _dt.float64: "F64"}
_FROM_CODE = {v: k for k, v in _CODES.items()}


def looks_like_safetensors(head: bytes) -> bool:
    """A safetensors file starts with its JSON header's length (8 bytes, little-endian) and
    the header's opening brace."""
    return len(head) >= 9 and head[8:9] == b"{"


def _claim(key: str, t: Tensor, tensors: dict[str, Tensor]) -> str:
    base, n = key, 1
    while key in tensors:
        key, n = f"{base}#{n}", n + 1
    tensors[key] = t
    return key


def _encode_quantized(t: Tensor, key: str, tensors: dict[str, Tensor]) -> dict:
    """The integers under ``key``, the quantization beside them (see the module docstring)."""
    from .. import tensor as new_tensor
    from ..core import quantized as _q

    scheme = t.qscheme()
    entry: dict[str, Any] = {}
    if scheme is _q.per_tensor_affine:
        params = {"scale": new_tensor(t.q_scale(), dtype=_dt.float64),
                  "zero_point": new_tensor(t.q_zero_point(), dtype=_dt.int64)}
    elif scheme is _q.per_channel_affine:
        params = {"scale": t.q_per_channel_scales(),
                  "zero_point": t.q_per_channel_zero_points(),
                  "axis": new_tensor(t.q_per_channel_axis(), dtype=_dt.int64)}
    else:
        raise TypeError(f"save(): a {scheme} quantized tensor cannot be saved as safetensors "
                        "(per_tensor_affine and per_channel_affine can)")
    for name, value in params.items():
        entry[name] = _claim(f"{key}.{name}", value.cpu(), tensors)
    return entry


def _encode(obj: Any, path: str, tensors: dict[str, Tensor]) -> Any:
    if isinstance(obj, Tensor):
        node = {"device": str(obj.device), "requires_grad": bool(obj.requires_grad)}
        if obj.is_quantized:
            key = _claim(path or "tensor", obj.int_repr(), tensors)
            return {"__tensor__": key, **node,
                    "quantized": _encode_quantized(obj, key, tensors)}
        return {"__tensor__": _claim(path or "tensor", obj, tensors), **node}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, (str, int)):
                raise TypeError(f"save(): dict keys must be str or int, got {type(k).__name__}")
        return {"__dict__": [[k, _encode(v, f"{path}.{k}" if path else str(k), tensors)]
                             for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, f"{path}.{i}" if path else str(i), tensors)
                 for i, v in enumerate(obj)]
        return {"__tuple__" if isinstance(obj, tuple) else "__list__": items}
    raise TypeError(f"save(): cannot save an object of type {type(obj).__name__} as "
                    "safetensors; only tensors, dicts, lists, tuples, None, bool, int, float "
                    "and str are saved (format='torch' saves any picklable object)")


def write_safetensors(obj: Any, target: Any) -> None:
    """Write ``obj`` to ``target``: a path (written directly) or a binary file object."""
    import safetensors

    tensors: dict[str, Tensor] = {}
    structure = _encode(obj, "", tensors)
    keep_alive = []
    specs = {}
    for key, t in tensors.items():
        arr = t.detach().numpy(force=True)
        if not arr.flags.c_contiguous:
            arr = arr.copy()  # (np.ascontiguousarray would turn a 0-d array into 1-d)
        keep_alive.append(arr)
        specs[key] = safetensors.TensorSpec(dtype=t.dtype.name, shape=list(arr.shape),
                                            data_ptr=arr.ctypes.data if arr.size else 0,
                                            data_len=arr.nbytes)
    metadata = {FORMAT: json.dumps(structure), "format": "mbtorch",
                "mbtorch.version": FORMAT_VERSION}
    if isinstance(target, (str, os.PathLike)):
        safetensors.serialize_file(specs, os.fspath(target), metadata=metadata)
    else:
        target.write(safetensors.serialize(specs, metadata=metadata))
    del keep_alive


def _parse(data: bytes, path: str) -> tuple[dict[str, Any], dict[str, str]]:
    import safetensors

    try:
        entries = safetensors.deserialize(data)
    except Exception as exc:  # noqa: BLE001 - any parse failure means a damaged file
        raise CheckpointError(f"load(): '{path}' is not a valid safetensors checkpoint "
                              f"(truncated, corrupted or another format): {exc}") from None
    header_len = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8:8 + header_len])
    except ValueError as exc:
        raise CheckpointError(f"load(): '{path}' has an unreadable header: {exc}") from None
    metadata = header.get("__metadata__") or {}
    arrays = {}
    for name, info in entries:
        code = info["dtype"]
        if code not in _FROM_CODE:
            raise CheckpointError(f"load(): tensor '{name}' in '{path}' has dtype {code}, "
                                  "which mbtorch does not support")
        np_dtype = NUMPY_DTYPES[_FROM_CODE[code]]
        arrays[name] = np.frombuffer(bytes(info["data"]), dtype=np_dtype).reshape(
            info["shape"]).copy()
    return arrays, metadata


Restore = Callable[[Tensor, str], Tensor]


def _decode(node: Any, arrays: dict[str, Any], restore: Restore, path: str) -> Any:
    from .. import from_numpy

    if isinstance(node, dict):
        if "__tensor__" in node:
            key = node["__tensor__"]
            if key not in arrays:
                raise CheckpointError(f"load(): '{path}' refers to tensor '{key}' that the file "
                                      "does not hold")
            t = restore(from_numpy(arrays.pop(key)), node.get("device", "cpu"))
            if "quantized" in node:
                return _decode_quantized(t, node["quantized"], arrays, path)
            if node.get("requires_grad"):
                t.requires_grad_(True)
            return t
        if "__dict__" in node:
            return {k: _decode(v, arrays, restore, path) for k, v in node["__dict__"]}
        if "__list__" in node:
            return [_decode(v, arrays, restore, path) for v in node["__list__"]]
        if "__tuple__" in node:
            return tuple(_decode(v, arrays, restore, path) for v in node["__tuple__"])
        if "__float__" in node:
            return float(node["__float__"])
        raise CheckpointError(f"load(): '{path}' has an unknown structure entry {node!r}")
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    raise CheckpointError(f"load(): '{path}' has an unknown structure entry {node!r}")


def _decode_quantized(values: Tensor, entry: Any, arrays: dict[str, Any], path: str) -> Tensor:
    from .. import from_numpy
    from ..core import quantized as _q
    from .storage import quantized_from

    if not isinstance(entry, dict) or not {"scale", "zero_point"} <= set(entry):
        raise CheckpointError(f"load(): '{path}' has a malformed quantized entry {entry!r:.80}")
    params = {}
    for name, key in entry.items():
        if key not in arrays:
            raise CheckpointError(f"load(): '{path}' refers to tensor '{key}' that the file "
                                  "does not hold")
        params[name] = from_numpy(arrays.pop(key)).to(values.device)
    if "axis" not in params:
        qparams = (_q.per_tensor_affine, params["scale"].item(), params["zero_point"].item())
    else:
        qparams = (_q.per_channel_affine, params["scale"], params["zero_point"],
                   params["axis"].item())
    return quantized_from(values, qparams, "load")


def read_safetensors(data: bytes, path: str, restore: Restore) -> Any:
    """What ``write_safetensors`` wrote (or any safetensors file, as a flat dict of
    tensors), each tensor placed by ``restore(host_tensor, saved_device)``."""
    from .. import from_numpy

    arrays, metadata = _parse(data, path)
    if FORMAT not in metadata:
        return {k: restore(from_numpy(v), "cpu") for k, v in sorted(arrays.items())}
    try:
        structure = json.loads(metadata[FORMAT])
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: nested too deep
        raise CheckpointError(f"load(): '{path}' has corrupted structure metadata: "
                              f"{type(exc).__name__}: {exc}") from None
    check_nesting(structure, f"the structure metadata of '{path}'")
    try:
        out = _decode(structure, arrays, restore, path)
    except (ValueError, TypeError, KeyError) as exc:  # entries of the wrong shape or type
        raise CheckpointError(f"load(): '{path}' has malformed structure metadata: "
                              f"{type(exc).__name__}: {exc}") from None
    if arrays:
        raise CheckpointError(f"load(): '{path}' holds tensors not referenced by its "
                              f"structure: {sorted(arrays)}")
    return out
