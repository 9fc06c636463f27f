"""``Dim``, ``dims`` and the reading of ``export(..., dynamic_shapes=)``: which dimension of
which input tensor is dynamic, under which symbol (``s0``, ``s1``, ... in order of first
appearance; one ``Dim`` used at several places is one symbol, so those sizes must agree) and
in which range.

``dynamic_shapes`` follows ``torch.export``: a tuple/list matching ``args`` (then ``kwargs``
in their order) or a dict keyed by the forward's parameter names; for each tensor ``None``
(static), a dict ``{dim: spec}`` or a tuple/list with one spec per dim, where a spec is a
``Dim``, ``Dim.AUTO`` / ``Dim.DYNAMIC`` (a fresh symbol; ``AUTO`` turns static where the code
specializes it), ``Dim.STATIC``, ``None`` or an int (static, equal to the example's size);
nested inputs (lists, tuples, dicts of tensors) take the same nesting.
"""

from __future__ import annotations

__all__ = ["Dim", "dims", "ConstraintViolationError", "ValueRange", "Symbol", "read_dynamic_shapes"]

import inspect
import math
from dataclasses import dataclass, field
from typing import Any

from ..core.tensor import Tensor


class ConstraintViolationError(RuntimeError):
    """The traced code specializes a dimension marked dynamic (branches on it, makes a size
    that is not a polynomial of the dims, fails at another size), or an example input does
    not fit its ``Dim``; ``torch.export`` raises ``UserError`` / its own
    ``ConstraintViolationError`` (both ``RuntimeError``s). ``symbols``: those at fault."""

    def __init__(self, message: str, symbols: tuple = ()) -> None:
        super().__init__(message)
        self.symbols = tuple(symbols)


class _DimHint:
    """``Dim.AUTO`` / ``Dim.DYNAMIC`` / ``Dim.STATIC``, callable once for bounds:
    ``Dim.DYNAMIC(min=2, max=64)``."""

    def __init__(self, kind: str, min: int | None = None,  # noqa: A002
                 max: int | None = None, factory: bool = True) -> None:  # noqa: A002
        self.type, self.min, self.max, self._factory = kind, min, max, factory

    def __call__(self, min: int | None = None, max: int | None = None) -> _DimHint:  # noqa: A002
        if not self._factory:
            raise TypeError(f"'{type(self).__name__}' object is not callable")
        for what, v in (("min", min), ("max", max)):
            if v is not None and v < 0:
                raise ValueError(f"Dim.{self.type}(): {what} must be non-negative, got {v}")
        if min is not None and max is not None and min > max:
            raise ValueError(f"Dim.{self.type}(): min must be <= max, got min={min}, max={max}")
        return _DimHint(self.type, min, max, factory=False)

    def __repr__(self) -> str:
        parts = [self.type] + [f"{k}={v}" for k, v in (("min", self.min), ("max", self.max))
                               if v is not None]
        return f"DimHint({', '.join(parts)})"


class Dim:
    """``torch.export.Dim(name, min=, max=)``: a named dynamic dimension whose size may be
    anything in ``[min, max]`` (defaults 0 and unbounded, ``math.inf``, as torch's ``int_oo``).
    The example input's size must lie in the range and be at least 2 (sizes 0 and 1 specialize,
    as in torch). Derived dims (``2 * d``) are not supported."""

    AUTO = _DimHint("AUTO")
    DYNAMIC = _DimHint("DYNAMIC")
    STATIC = _DimHint("STATIC")

    def __init__(self, name: str, *, min: int | None = None,  # noqa: A002
                 max: int | None = None) -> None:  # noqa: A002
        lo = 0 if min is None else min
        hi = math.inf if max is None else max
        if not hi > lo:
            raise ValueError(f"Dim(): cannot create Dim with inconsistent min={min}, max={max}")
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"Dim(): the name must be a valid identifier, got {name!r}")
        self.__name__, self.min, self.max = name, lo, hi

    def __repr__(self) -> str:  # torch's spelling: min=2 and an unbounded max are implied
        parts = [repr(self.__name__)]
        parts += [f"min={self.min}"] if self.min != 2 else []
        parts += [f"max={self.max}"] if self.max != math.inf else []
        return f"Dim({', '.join(parts)})"


def dims(*names: str, min: int | None = None,  # noqa: A002
         max: int | None = None) -> tuple[Dim, ...]:  # noqa: A002
    """``torch.export.dims``: one ``Dim`` per name, with the same bounds."""
    return tuple(Dim(name, min=min, max=max) for name in names)


@dataclass(frozen=True)
class ValueRange:
    """A symbol's range in ``ExportedProgram.range_constraints`` (torch's ``VR[lower,
    upper]``; ``upper`` is ``math.inf`` when unbounded)."""

    lower: int
    upper: int | float

    def __repr__(self) -> str:
        return f"VR[{self.lower}, {self.upper}]"


@dataclass
class Symbol:
    """One dynamic size: ``name`` (``s0``), ``dim`` (the Dim's name, or the place of an
    unnamed ``Dim.AUTO``/``Dim.DYNAMIC``), its range, the example's size, whether it may turn
    static (``AUTO``), and the ``(path, dim)`` places it sizes."""

    name: str
    dim: str
    lower: int
    upper: int | float
    example: int
    auto: bool = False
    places: list = field(default_factory=list)


def read_dynamic_shapes(mod: Any, args: tuple, kwargs: dict,
                        dynamic_shapes: Any) -> tuple[list[Symbol], dict[int, dict]]:
    """The symbols and, by ``id`` of each input tensor, ``{dim: symbol}`` (see module doc)."""
    inputs = _named_inputs(mod, args, kwargs, dynamic_shapes)
    symbols: dict[Any, Symbol] = {}
    per_tensor: dict[int, dict] = {}
    for path, value, spec in inputs:
        _walk(path, value, spec, symbols, per_tensor)
    return list(symbols.values()), per_tensor


def _named_inputs(mod: Any, args: tuple, kwargs: dict, spec: Any) -> list:
    places = [(f"*args[{i}]", a) for i, a in enumerate(args)]
    places += [(f"**kwargs[{k!r}]", v) for k, v in kwargs.items()]
    if isinstance(spec, (tuple, list)):
        if len(spec) != len(places):
            raise ValueError(f"export(): dynamic_shapes has {len(spec)} element(s) but the "
                             f"inputs (args, then kwargs) are {len(places)}")
        return [(p, v, s) for (p, v), s in zip(places, spec)]
    if not isinstance(spec, dict):
        raise TypeError(f"export(): dynamic_shapes must be a tuple, list or dict, got "
                        f"{type(spec).__name__}")
    bound = inspect.signature(mod.forward).bind(*args, **kwargs).arguments
    unknown = sorted(set(spec) - set(bound))
    if unknown:
        raise ValueError(f"export(): dynamic_shapes names {unknown}, which are not arguments "
                         f"of {type(mod).__name__}.forward (it takes {list(bound)})")
    names = list(bound)[:len(args)] + list(kwargs)
    return [(p, v, spec.get(name)) for (p, v), name in zip(places, names)]


def _walk(path: str, value: Any, spec: Any, symbols: dict, per_tensor: dict) -> None:
    if spec is None:
        return
    if isinstance(value, Tensor):
        per_tensor.setdefault(id(value), {}).update(_tensor_dims(path, value, spec, symbols))
    elif isinstance(value, (tuple, list)) and isinstance(spec, (tuple, list)) \
            and len(spec) == len(value):
        for i, (v, s) in enumerate(zip(value, spec)):
            _walk(f"{path}[{i}]", v, s, symbols, per_tensor)
    elif isinstance(value, dict) and isinstance(spec, dict) and set(spec) <= set(value):
        for k, s in spec.items():
            _walk(f"{path}[{k!r}]", value[k], s, symbols, per_tensor)
    else:
        raise ValueError(f"export(): dynamic_shapes for {path} ({type(spec).__name__}) does "
                         f"not match the input ({type(value).__name__})")


def _tensor_dims(path: str, t: Tensor, spec: Any, symbols: dict) -> dict[int, Symbol]:
    if isinstance(spec, (tuple, list)):
        if len(spec) != t.dim():
            raise ValueError(f"export(): dynamic_shapes for {path} has {len(spec)} entries, "
                             f"but the input has {t.dim()} dimensions")
        spec = dict(enumerate(spec))
    if not isinstance(spec, dict):
        raise TypeError(f"export(): dynamic_shapes for {path} must be a dict, tuple or list "
                        f"of dims, got {type(spec).__name__}")
    out = {}
    for d, s in spec.items():
        if not isinstance(d, int) or not -t.dim() <= d < t.dim():
            raise IndexError(f"export(): dynamic_shapes for {path}: dimension {d!r} is out of "
                             f"range for a {t.dim()}-d input")
        d %= t.dim()
        sym = _symbol(f"{path}.shape[{d}]", t.shape[d], s, symbols)
        if sym is not None:
            sym.places.append((path, d))
            out[d] = sym
    return out


def _symbol(place: str, size: int, s: Any, symbols: dict) -> Symbol | None:
    if s is None or (isinstance(s, _DimHint) and s.type == "STATIC"):
        return None
    if type(s) is int:
        if s != size:
            raise ValueError(f"export(): dynamic_shapes says {place} is {s}, but the example "
                             f"input has {size}")
        return None
    if isinstance(s, _DimHint):
        if s.type == "AUTO" and size < 2:
            return None  # sizes 0 and 1 specialize: AUTO leaves such a dim static
        lo, hi = s.min if s.min is not None else 2, s.max if s.max is not None else math.inf
        sym = Symbol(f"s{len(symbols)}", place, lo, hi, size, auto=s.type == "AUTO")
        symbols[place] = sym
    elif isinstance(s, Dim):
        sym = symbols.get(("dim", s.__name__))
        if sym is None:
            sym = Symbol(f"s{len(symbols)}", s.__name__, s.min, s.max, size)
            symbols[("dim", s.__name__)] = sym
        elif (sym.lower, sym.upper) != (s.min, s.max):
            raise ValueError(f"export(): two Dims named {s.__name__!r} have different ranges")
    else:
        raise TypeError(f"export(): dynamic_shapes for {place} must be a Dim, Dim.AUTO/"
                        f"DYNAMIC/STATIC, an int or None, got {type(s).__name__}")
    _check_example(place, size, sym)
    return sym


def _check_example(place: str, size: int, sym: Symbol) -> None:
    if size != sym.example:
        raise ConstraintViolationError(
            f"Constraints violated ({sym.dim})! {place} has size {size}, but "
            f"{sym.places[0][0]}.shape[{sym.places[0][1]}] has {sym.example}: one Dim "
            "names equal sizes", (sym.name,))
    if not sym.lower <= size <= sym.upper:
        raise ConstraintViolationError(
            f"Constraints violated ({sym.dim})! the example input's {place} is {size}, not "
            f"in the Dim's range [{sym.lower}, {sym.upper}]", (sym.name,))
    if size < 2:
        raise ConstraintViolationError(
            f"Constraints violated ({sym.dim})! {place} is marked dynamic, but the example "
            f"input has size {size}, which export specializes to a constant (as torch does "
            "for sizes 0 and 1): give an example of size >= 2", (sym.name,))
