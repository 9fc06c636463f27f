"""The unpicklers of ``mbtorch.load``.

``WeightsOnlyUnpickler`` is PyTorch's weights-only unpickler rebuilt for mbtorch: it reads the
pickle opcode by opcode and never imports anything. A global is looked up in the allow-list
(PyTorch's names mapped to mbtorch objects, plus the user's ``add_safe_globals``) and anything
else stops the load with an ``UnpicklingError`` naming it, before any of the file's calls ran;
calls (REDUCE) and object creation (NEWOBJ) are allowed only on allow-listed callables and
types, state setting (BUILD) only on tensors (attributes their class does not define),
``OrderedDict`` and the user's allow-listed types, appends only on lists and item assignment
only on dicts.
Protocol 2 (what ``torch.save`` writes) is covered fully, and the opcodes of protocols 3 and 4
that carry plain data (bytes, short strings, frames, memoize, stack-global, set items).

``FullUnpickler`` (``weights_only=False``) is Python's unpickler with PyTorch's names mapped to
mbtorch's: it runs whatever the file says, as ``torch.load(weights_only=False)`` does.
"""

from __future__ import annotations

import _compat_pickle
import pickle
from collections import Counter, OrderedDict
from struct import unpack
from typing import Any, Callable

from ..core.tensor import Tensor
from .names import BLOCKED_MODULES, UNSUPPORTED, allowed_globals, user_globals
from .storage import CheckpointError, WeightsOnlyUnpicklingError, check_arguments

__all__ = ["WeightsOnlyUnpickler", "FullUnpickler", "resolve_torch_global"]

_REBUILDERS = "mbtorch._checkpoint.storage"
_HINT = ("Please use `mbtorch.serialization.add_safe_globals([{0}])` or the "
         "`mbtorch.serialization.safe_globals([{0}])` context manager to allowlist this global "
         "if you trust this class/function.")


def _mapped(module: str, name: str) -> tuple[str, str]:
    """Python 2 names as Python 3 spells them (pickle's ``fix_imports``)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _unsupported(full: str) -> CheckpointError:
    return CheckpointError(f"load(): the checkpoint uses {full}, which mbtorch cannot load "
                           f"({UNSUPPORTED[full]})")


def resolve_torch_global(module: str, name: str) -> Any:
    """The mbtorch object for a global of the weights-only allow-list, else None."""
    full = f"{module}.{name}"
    if full in UNSUPPORTED:
        raise _unsupported(full)
    return allowed_globals().get(full)


class WeightsOnlyUnpickler:
    """Loads one pickle from ``file`` with the weights-only rules (see the module docstring)."""

    def __init__(self, file: Any, persistent_load: Callable[[Any], Any],
                 encoding: str = "utf-8") -> None:
        self.read, self.readline = file.read, file.readline
        self.persistent_load, self.encoding = persistent_load, encoding
        self._user = user_globals()
        self._allowed_ids = {id(v) for v in allowed_globals().values()}
        self._allowed_ids.update(id(v) for v in self._user.values())

    def load(self) -> Any:
        self.stack: list = []
        self.metastack: list = []
        self.memo: dict[int, Any] = {}
        ops = _OPS
        try:
            while True:
                key = self.read(1)
                if not key:
                    raise EOFError("pickle data was truncated")
                op = ops.get(key[0])
                if op is None:
                    raise WeightsOnlyUnpicklingError(f"Unsupported operand {key[0]}")
                if op(self):
                    return self.stack.pop()
        except IndexError:  # a pop from an empty stack or mark stack
            raise pickle.UnpicklingError("the pickle's stack ran empty (damaged data)") from None

    # -- helpers -------------------------------------------------------------------------------
    def _take(self, n: int) -> bytes:
        data = self.read(n)
        if len(data) != n:
            raise EOFError("pickle data was truncated")
        return data

    def _pop_mark(self) -> list:
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def _allowed(self, obj: Any) -> bool:
        return id(obj) in self._allowed_ids

    def _global(self, module: str, name: str) -> None:
        module, name = _mapped(module, name)
        full = f"{module}.{name}"
        if module in BLOCKED_MODULES:
            raise WeightsOnlyUnpicklingError(f"Trying to load unsupported GLOBAL {full} whose "
                                             f"module {module} is blocked.")
        obj = resolve_torch_global(module, name)
        if obj is None:
            obj = self._user.get(full)
        if obj is None:
            shown = full[len("builtins."):] if full.startswith("builtins.") else full
            raise WeightsOnlyUnpicklingError(
                f"Unsupported global: GLOBAL {shown} was not an allowed global by default. "
                + _HINT.format(shown))
        self.stack.append(obj)

    # -- opcodes that build objects: the risky ones -------------------------------------------
    def _op_global(self) -> None:
        module = self.readline()[:-1].decode("utf-8")
        name = self.readline()[:-1].decode("utf-8")
        self._global(module, name)

    def _op_stack_global(self) -> None:
        name, module = self.stack.pop(), self.stack.pop()
        if type(name) is not str or type(module) is not str:
            raise WeightsOnlyUnpicklingError("STACK_GLOBAL requires str")
        self._global(module, name)

    def _op_newobj(self) -> None:
        from ..nn.parameter import Parameter

        args, cls = self.stack.pop(), self.stack.pop()
        if type(args) is not tuple:
            raise WeightsOnlyUnpicklingError("NEWOBJ expected an argument tuple")
        if not (cls is Parameter or (self._allowed(cls) and isinstance(cls, type)
                                     and not issubclass(cls, Tensor))):
            raise WeightsOnlyUnpicklingError(
                f"Can only create new object for nn.Parameter or classes allowlisted via "
                f"`add_safe_globals` but got {cls!r:.100}")
        try:
            self.stack.append(Parameter(*args) if cls is Parameter else cls.__new__(cls, *args))
        except (TypeError, ValueError) as exc:  # the file's arguments do not fit the class
            raise pickle.UnpicklingError(f"creating {cls!r:.80} failed: {exc}") from None

    def _op_reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        if not self._allowed(func) or type(args) is not tuple:
            msg = f"Trying to call reduce for unrecognized function {func!r:.100}"
            if hasattr(func, "__self__"):
                msg += f" which belongs to {func.__self__!r:.100}"
            raise WeightsOnlyUnpicklingError(msg)
        if getattr(func, "__module__", None) == _REBUILDERS:  # they check their arguments
            check_arguments(func, args)
            self.stack[-1] = func(*args)
            return
        try:
            self.stack[-1] = func(*args)
        except (TypeError, ValueError) as exc:  # the file's arguments do not fit the callable
            raise pickle.UnpicklingError(f"calling {func!r:.80} failed: {exc}") from None

    def _op_build(self) -> None:
        from .storage import _set_state

        state = self.stack.pop()
        inst = self.stack[-1]
        if isinstance(inst, Tensor):
            _set_state(inst, state)
        elif type(inst) is OrderedDict:
            if not isinstance(state, dict):
                raise WeightsOnlyUnpicklingError("BUILD of an OrderedDict needs a dict state")
            inst.__dict__.update(state)
        elif any(type(inst) is v for v in self._user.values()):
            # only the user's types: mbtorch's own (device, Size...) are shared, immutable
            # values that a file must not be able to change
            _build_allowed(inst, state)
        else:
            raise WeightsOnlyUnpicklingError(
                f"Can only build Tensor, Parameter, OrderedDict or types allowlisted via "
                f"`add_safe_globals`, but got {type(inst)}")

    def _op_binpersid(self) -> None:
        pid = self.stack.pop()
        if type(pid) is not tuple and type(pid) is not int:
            raise WeightsOnlyUnpicklingError(f"persistent_load id must be tuple or int, but got "
                                             f"{type(pid)}")
        self.stack.append(self.persistent_load(pid))

    # -- containers ----------------------------------------------------------------------------
    def _op_append(self) -> None:
        item = self.stack.pop()
        if type(self.stack[-1]) is not list:
            raise WeightsOnlyUnpicklingError(f"Can only append to lists, but got "
                                             f"{type(self.stack[-1])}")
        self.stack[-1].append(item)

    def _op_appends(self) -> None:
        items = self._pop_mark()
        if type(self.stack[-1]) is not list:
            raise WeightsOnlyUnpicklingError(f"Can only extend lists, but got "
                                             f"{type(self.stack[-1])}")
        self.stack[-1].extend(items)

    def _check_dict(self, op: str) -> None:
        if type(self.stack[-1]) not in (dict, OrderedDict, Counter):
            raise WeightsOnlyUnpicklingError(
                f"Can only {op} for dict, collections.OrderedDict, collections.Counter, but "
                f"got {type(self.stack[-1])}")

    def _op_setitem(self) -> None:
        value, key = self.stack.pop(), self.stack.pop()
        self._check_dict("SETITEM")
        _store(self.stack[-1], key, value)

    def _op_setitems(self) -> None:
        items = self._pop_mark()
        self._check_dict("SETITEMS")
        for i in range(0, len(items) - 1, 2):
            _store(self.stack[-1], items[i], items[i + 1])

    def _op_additems(self) -> None:
        items = self._pop_mark()
        if type(self.stack[-1]) is not set:
            raise WeightsOnlyUnpicklingError(f"Can only add items to sets, but got "
                                             f"{type(self.stack[-1])}")
        self.stack[-1].update(items)

    def _op_mark(self) -> None:
        self.metastack.append(self.stack)
        self.stack = []

    def _op_tuple(self) -> None:
        items = self._pop_mark()
        self.stack.append(tuple(items))

    def _op_tuple_n(self, n: int) -> None:
        items = tuple(self.stack[-n:]) if n else ()
        if len(items) != n:
            raise IndexError("stack underflow")
        del self.stack[len(self.stack) - n:]
        self.stack.append(items)

    # -- memo, protocol, end ---------------------------------------------------------------------
    def _op_get(self, width: int) -> None:
        idx = self._take(1)[0] if width == 1 else unpack("<I", self._take(4))[0]
        if idx not in self.memo:
            raise pickle.UnpicklingError(f"Memo value not found at index {idx}")
        self.stack.append(self.memo[idx])

    def _op_put(self, width: int) -> None:
        idx = self._take(1)[0] if width == 1 else unpack("<I", self._take(4))[0]
        self.memo[idx] = self.stack[-1]

    def _op_memoize(self) -> None:
        self.memo[len(self.memo)] = self.stack[-1]

    def _op_proto(self) -> None:
        proto = self._take(1)[0]
        if proto > 4:
            raise WeightsOnlyUnpicklingError(f"Unsupported pickle protocol {proto}")

    def _op_stop(self) -> bool:
        return True

    def _op_short_binstring(self) -> None:
        data = self._take(self._take(1)[0])
        self.stack.append(data.decode(self.encoding) if self.encoding != "bytes" else data)


def _store(target: dict, key: Any, value: Any) -> None:
    try:
        target[key] = value
    except TypeError as exc:  # an unhashable key
        raise pickle.UnpicklingError(f"a dict key of the pickle is unusable: {exc}") from None


def _build_allowed(inst: Any, state: Any) -> None:
    """BUILD of an allow-listed type: pickle's own rules (``__setstate__``, else the instance
    dict and slots)."""
    setstate = getattr(inst, "__setstate__", None)
    if setstate is not None:
        setstate(state)
        return
    slotstate = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slotstate = state
    if state:
        inst.__dict__.update(state)
    if slotstate:
        for k, v in slotstate.items():
            setattr(inst, k, v)


def _discard(value: Any) -> None:
    return None


def _push(value: Any) -> Callable:
    return lambda u: u.stack.append(value() if callable(value) else value)


def _data(fmt: str, size: int) -> Callable:
    return lambda u: u.stack.append(unpack(fmt, u._take(size))[0])


def _text(width: int) -> Callable:
    def op(u: WeightsOnlyUnpickler) -> None:
        n = u._take(1)[0] if width == 1 else unpack("<I", u._take(4))[0]
        u.stack.append(str(u._take(n), "utf-8", "surrogatepass"))
    return op


def _bytes(width: int) -> Callable:
    def op(u: WeightsOnlyUnpickler) -> None:
        n = u._take(1)[0] if width == 1 else unpack("<I", u._take(4))[0]
        u.stack.append(u._take(n))
    return op


def _long(width: int) -> Callable:
    def op(u: WeightsOnlyUnpickler) -> None:
        n = u._take(1)[0] if width == 1 else unpack("<i", u._take(4))[0]
        if n < 0 or n > 1 << 16:
            raise WeightsOnlyUnpicklingError("LONG pickle has an unsupported byte count")
        u.stack.append(pickle.decode_long(u._take(n)))
    return op


P = pickle
W = WeightsOnlyUnpickler
_OPS: dict[int, Callable[[W], Any]] = {
    P.GLOBAL[0]: W._op_global, P.STACK_GLOBAL[0]: W._op_stack_global,
    P.NEWOBJ[0]: W._op_newobj, P.REDUCE[0]: W._op_reduce, P.BUILD[0]: W._op_build,
    P.BINPERSID[0]: W._op_binpersid, P.APPEND[0]: W._op_append, P.APPENDS[0]: W._op_appends,
    P.SETITEM[0]: W._op_setitem, P.SETITEMS[0]: W._op_setitems, P.ADDITEMS[0]: W._op_additems,
    P.MARK[0]: W._op_mark, P.TUPLE[0]: W._op_tuple, P.EMPTY_TUPLE[0]: _push(()),
    P.TUPLE1[0]: lambda u: u._op_tuple_n(1), P.TUPLE2[0]: lambda u: u._op_tuple_n(2),
    P.TUPLE3[0]: lambda u: u._op_tuple_n(3), P.NONE[0]: _push(None),
    P.NEWFALSE[0]: _push(False), P.NEWTRUE[0]: _push(True), P.EMPTY_LIST[0]: _push(list),
    P.EMPTY_DICT[0]: _push(dict), P.EMPTY_SET[0]: _push(set),
    P.BININT[0]: _data("<i", 4), P.BININT1[0]: _data("<B", 1), P.BININT2[0]: _data("<H", 2),
    P.BINFLOAT[0]: _data(">d", 8), P.LONG1[0]: _long(1), P.LONG4[0]: _long(4),
    P.BINUNICODE[0]: _text(4), P.SHORT_BINUNICODE[0]: _text(1),
    P.BINBYTES[0]: _bytes(4), P.SHORT_BINBYTES[0]: _bytes(1),
    P.SHORT_BINSTRING[0]: W._op_short_binstring,
    P.BINGET[0]: lambda u: u._op_get(1), P.LONG_BINGET[0]: lambda u: u._op_get(4),
    P.BINPUT[0]: lambda u: u._op_put(1), P.LONG_BINPUT[0]: lambda u: u._op_put(4),
    P.MEMOIZE[0]: W._op_memoize, P.PROTO[0]: W._op_proto, P.STOP[0]: W._op_stop,
    P.FRAME[0]: lambda u: u._take(8) and None, P.POP[0]: lambda u: _discard(u.stack.pop()),
    P.POP_MARK[0]: lambda u: _discard(u._pop_mark()),
}


class FullUnpickler(pickle.Unpickler):
    """Python's unpickler (``weights_only=False``): runs what the file says, with PyTorch's
    names resolved to mbtorch objects; a PyTorch name mbtorch lacks is a clear error."""

    def __init__(self, file: Any, persistent_load: Callable[[Any], Any],
                 encoding: str = "utf-8") -> None:
        super().__init__(file, encoding=encoding)
        self._pload = persistent_load

    def persistent_load(self, pid: Any) -> Any:
        return self._pload(pid)

    def find_class(self, module: str, name: str) -> Any:
        obj = resolve_torch_global(module, name)
        if obj is not None:
            return obj
        if module == "torch" or module.startswith("torch."):
            raise CheckpointError(f"load(): the checkpoint uses {module}.{name}, which mbtorch "
                                  "does not provide")
        return super().find_class(module, name)
