"""``mbtorch.save`` / ``mbtorch.load``: PyTorch's checkpoint files, both ways, and safetensors.

``save`` writes PyTorch's own zip format by default (``archive/data.pkl`` plus the raw
storages), so real ``torch.load(f, weights_only=True)`` reads a state dict saved here, and any
picklable object can be saved, as with ``torch.save``. ``format="safetensors"`` (the default
for a path ending in ``.safetensors``) writes safetensors with the structure as JSON metadata
instead: no pickle at all.

``load`` reads PyTorch's zip format, its legacy non-zip format and safetensors files, told
apart by their first bytes. As in PyTorch 2.6 and later, ``weights_only=True`` is the default:
the pickle is read by a restricted unpickler that imports nothing and allows only PyTorch's
allow-list (tensors, parameters, dtypes, ``Size``, ``device``, ``OrderedDict``, plain
containers and numbers) plus what ``add_safe_globals``/``safe_globals`` add; anything else is
refused with an ``UnpicklingError`` naming the global, before any of the file's code ran.
``weights_only=False`` loads any pickle and runs whatever it says: only for trusted files.
PyTorch's names resolve to mbtorch objects (``torch.float32`` to ``mbtorch.float32``,
``torch.nn.Parameter`` to ``mbtorch.nn.Parameter``); torch itself is never imported.

Quantized tensors (qint8, quint8, qint32; per tensor or per channel) are written and read as
PyTorch does (``torch._utils._rebuild_qtensor``), so a converted model's state dict crosses
both ways; in safetensors a quantized tensor is its integers plus ``<key>.scale``,
``<key>.zero_point`` (and ``<key>.axis``) tensors (``_checkpoint.safetensors_io``).

Saving to a path writes a temporary file in the same folder and renames it into place, so a
failed save leaves an earlier checkpoint intact.
"""

from __future__ import annotations

import io
import os
import pickle
import secrets
import struct
import zipfile
import zlib
from typing import Any, Callable, Iterable

from ._checkpoint.names import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    remove_safe_globals,
)
from ._checkpoint.safetensors_io import (
    FORMAT,
    FORMAT_VERSION,
    looks_like_safetensors,
    read_safetensors,
    write_safetensors,
)
from ._checkpoint.storage import CheckpointError, WeightsOnlyUnpicklingError, restorer

__all__ = [
    "FORMAT", "FORMAT_VERSION", "DEFAULT_PROTOCOL", "CheckpointError",
    "WeightsOnlyUnpicklingError", "save", "load", "safe_globals", "add_safe_globals",
    "get_safe_globals", "clear_safe_globals", "get_unsafe_globals_in_checkpoint",
]

DEFAULT_PROTOCOL = 2
_FORMATS = ("torch", "safetensors")
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# what a damaged file makes the readers raise: zipfile's unsupported methods and bad seeks, and
# zlib's errors in a compressed record, included
_DAMAGED = (EOFError, zipfile.BadZipFile, struct.error, UnicodeDecodeError,
            pickle.UnpicklingError, NotImplementedError, OSError, zlib.error)


class safe_globals:  # noqa: N801 - torch's spelling
    """Context manager: allow ``safe_globals`` in weights-only loads inside the block.

    >>> with mbtorch.serialization.safe_globals([MyConfig]):
    ...     state = mbtorch.load("ckpt.pt")
    """

    def __init__(self, safe_globals: Iterable[Callable | tuple[Callable, str]]) -> None:
        self.safe_globals = list(safe_globals)

    def __enter__(self) -> None:
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc: Any) -> None:
        remove_safe_globals(self.safe_globals)


def _format_of(f: Any, format: str | None) -> str:
    if format is None:
        name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else ""
        return "safetensors" if str(name).endswith(".safetensors") else "torch"
    if format not in _FORMATS:
        raise ValueError(f"save(): format must be one of {_FORMATS} (or None: by the file "
                         f"name), got {format!r}")
    return format


def _atomic_write(path: str, write: Callable[[Any], None], by_path: bool) -> None:
    """``write`` into a temporary file next to ``path`` (given its name or an open binary
    file), flushed to disk, then renamed over ``path``: never half a file at ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".mbtorch-{secrets.token_hex(8)}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as for any new file
    # (tempfile.mkstemp would make every checkpoint private to its owner)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            if not by_path:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
        if by_path:  # the writer replaces the file: give it the permissions fd was made with
            mode = os.stat(tmp).st_mode & 0o777
            write(tmp)
            os.chmod(tmp, mode)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _check_save_args(pickle_module: Any, pickle_protocol: Any) -> None:
    if pickle_module is not None and pickle_module is not pickle:
        raise ValueError("save(): pickle_module must be the pickle module (mbtorch writes "
                         "PyTorch's names with its own pickler)")
    if type(pickle_protocol) is not int or not 2 <= pickle_protocol <= 4:
        raise ValueError(f"save(): pickle_protocol must be 2, 3 or 4, got {pickle_protocol!r}")


def save(obj: Any, f: str | os.PathLike | Any, pickle_module: Any = None,
         pickle_protocol: int = DEFAULT_PROTOCOL, _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False, *, format: str | None = None) -> None:
    """Save ``obj`` to ``f`` (a path, written atomically, or a binary file object).

    ``format``: ``"torch"`` (PyTorch's zip format, any picklable object; the legacy format
    with ``_use_new_zipfile_serialization=False``) or ``"safetensors"`` (tensors in nested
    dicts/lists/tuples of plain values); None picks safetensors for a ``.safetensors`` path.

    >>> mbtorch.save(model.state_dict(), "model.pt")       # torch.load reads it
    >>> mbtorch.save(model.state_dict(), "model.safetensors")
    """
    from ._checkpoint.torch_write import write_legacy, write_zip

    fmt = _format_of(f, format)
    _check_save_args(pickle_module, pickle_protocol)
    if fmt == "safetensors":
        def write(target: Any) -> None:
            write_safetensors(obj, target)
    elif _use_new_zipfile_serialization:
        def write(target: Any) -> None:
            write_zip(obj, target, pickle_protocol, not _disable_byteorder_record)
    else:
        def write(target: Any) -> None:
            write_legacy(obj, target, pickle_protocol)
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), write, by_path=fmt == "safetensors")
    elif callable(getattr(f, "write", None)):
        if getattr(f, "seekable", lambda: False)():
            write(f)
        else:  # the zip writer seeks back to finish each record
            buf = io.BytesIO()
            write(buf)
            f.write(buf.getvalue())
    else:
        raise TypeError(f"save(): f must be a path or a binary file object, got "
                        f"{type(f).__name__}")


def _load_from(fh: Any, path: str, restore: Callable, weights_only: bool, mmap: bool) -> Any:
    from ._checkpoint.torch_read import read_legacy, read_zip

    start = fh.tell()
    head = fh.read(9)
    fh.seek(start)
    if mmap and head[:4] not in _ZIP_MAGICS:  # (a RuntimeError, as PyTorch's)
        raise CheckpointError(f"load(): mmap=True needs a file in torch.save's zip format, and "
                           f"'{path}' is not one")
    if head[:4] in _ZIP_MAGICS:
        def reader(*args: Any) -> Any:
            return read_zip(*args, mmap_path=path if mmap else None)
        kind = "PyTorch"
    elif looks_like_safetensors(head):  # before pickle's 0x80: a 128-byte header starts so
        return read_safetensors(fh.read(), path, restore)
    elif head[:1] == pickle.PROTO:
        reader, kind = read_legacy, "PyTorch (legacy format)"
    elif len(head) < 8:
        raise CheckpointError(f"load(): '{path}' is not a checkpoint (only {len(head)} bytes)")
    else:
        raise CheckpointError(f"load(): '{path}' is neither a PyTorch checkpoint nor a "
                              "safetensors file")
    try:
        return reader(fh, path, weights_only, restore)
    except WeightsOnlyUnpicklingError as exc:
        raise WeightsOnlyUnpicklingError(
            f"load(): weights-only load of '{path}' failed: {exc} Loading it with "
            "weights_only=False would run any code the file holds; do it only if you trust "
            "its source.") from None
    except _DAMAGED as exc:
        raise CheckpointError(f"load(): '{path}' is not a valid {kind} checkpoint (truncated, "
                              f"corrupted or another format): {type(exc).__name__}: "
                              f"{exc}") from None
    except CheckpointError as exc:  # a rebuild function's check: say which file
        if f"'{path}'" in str(exc):
            raise
        raise CheckpointError(f"load(): '{path}': {exc}") from None


def load(f: str | os.PathLike | Any, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = True, mmap: bool | None = None,
         **pickle_load_args: Any) -> Any:
    """Load a checkpoint written by ``torch.save``, ``mbtorch.save`` or a safetensors tool.

    ``map_location`` as in ``torch.load``: None (each tensor to the device it was saved
    from), a device or device string, a dict from saved locations to devices (``{"cuda:1":
    "cpu"}``), or a callable ``(storage, location)`` returning the moved storage or None.
    ``weights_only`` (default True) refuses anything outside the allow-list; False runs any
    pickle and is only for files you trust. ``mmap=True`` (a path to a zip checkpoint) maps
    the storages copy-on-write instead of reading them, as ``torch.load(mmap=True)``.
    """
    if weights_only is None:
        weights_only = True
    if pickle_module is not None and pickle_module is not pickle:
        raise ValueError("load(): pickle_module must be the pickle module")
    if mmap and not isinstance(f, (str, os.PathLike)):
        raise ValueError("load(): mmap=True needs f to be a file path")
    extra = set(pickle_load_args) - {"encoding"}
    if extra or pickle_load_args.get("encoding", "utf-8") != "utf-8":
        raise TypeError(f"load(): unsupported pickle_load_args {sorted(pickle_load_args)}")
    restore = restorer(map_location)
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load(): no such file: '{path}'")
        with open(path, "rb") as fh:
            return _load_from(fh, path, restore, bool(weights_only), bool(mmap))
    if not callable(getattr(f, "read", None)):
        raise TypeError(f"load(): f must be a path or a binary file object, got "
                        f"{type(f).__name__}")
    name = str(getattr(f, "name", "<file object>"))
    if not getattr(f, "seekable", lambda: False)():
        f = io.BytesIO(f.read())
    return _load_from(f, name, restore, bool(weights_only), False)


def get_unsafe_globals_in_checkpoint(f: str | os.PathLike | Any) -> list[str]:
    """The globals of a zip checkpoint that a weights-only load would refuse (not in the
    allow-list nor added with ``add_safe_globals``); nothing in the file is run."""
    from ._checkpoint.names import allowed_globals, user_globals
    from ._checkpoint.torch_read import globals_in_zip
    from ._checkpoint.unpickler import _mapped

    allowed = set(allowed_globals()) | set(user_globals())
    if isinstance(f, (str, os.PathLike)):
        with open(os.fspath(f), "rb") as fh:
            names = globals_in_zip(fh, os.fspath(f))
    else:
        names = globals_in_zip(f, str(getattr(f, "name", "<file object>")))
    return [n for n in names if ".".join(_mapped(*n.rsplit(".", 1))) not in allowed]
