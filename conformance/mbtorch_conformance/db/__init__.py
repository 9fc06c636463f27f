"""The op database: one ``Entry`` per public spelling of an op, at least one per ``Op``.

An entry is data: how to call the op through the public API (``api``), the NumPy reference
(``ref``), the sample case list, the dtypes PyTorch allows, the value domain of each argument,
the output dtype rule, tolerance overrides and which semantic checks apply. The family modules
(``elementwise``, ``shape``, ``reductions``, ``misc``) only list entries.

``api`` forms: ``"mbtorch.add"`` (a function), ``"Tensor.sum"`` (a method of the first
argument), or ``"expr:x0[::2]"`` (a Python expression over ``x0, x1, ...``, ``kw`` and
``mbtorch``). The reference receives float64 arrays for floating inputs (and for integer
inputs of float-producing ops), the native integer arrays otherwise, plus the sample kwargs.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import mbtorch as mt
from mbtorch.core.op import Op

from ..samples import Case, Lit

__all__ = [
    "BOOL", "INTS", "FLOATS", "INTEGRAL", "NUMERIC", "ALL", "Bad", "Entry", "MissingAPI",
    "resolve", "call_code", "all_entries", "missing_ops"
]

BOOL = (mt.bool,)
INTS = (mt.uint8, mt.int8, mt.int16, mt.int32, mt.int64)
FLOATS = (mt.float16, mt.bfloat16, mt.float32, mt.float64)
INTEGRAL = BOOL + INTS
NUMERIC = INTS + FLOATS
ALL = BOOL + INTS + FLOATS


@dataclass(frozen=True)
class Bad:
    """A bad input and the exception type PyTorch raises for it."""

    args: tuple
    kwargs: Mapping
    exc: type
    why: str
    dtype: Any = mt.float32  # the dtype of the shape-given tensor arguments


@dataclass(frozen=True)
class Entry:
    name: str
    op: Op
    api: str
    ref: Callable
    cases: Sequence[Case]
    dtypes: tuple = ALL
    domains: tuple = ("real",)
    out: Any = "same"  # "same" | "bool" | "float" | "int64" | "sum" | dtype | tuple of those
    specials: Any = False  # add the special-values samples: True, or "float" (floats only)
    scalars: tuple = ()  # Python scalars met by the special values (binary ops)
    tol: Mapping | None = None
    grad: bool = True
    grad_domain: str | None = None  # domain for gradient samples (away from kinks)
    view: bool = False
    inplace: str | None = None
    errors: tuple = ()
    noncontig: bool = True
    float_ref: bool = False  # give the reference float64 even for integer inputs
    ref_dtype: bool = False  # the reference also gets ``_dtype=`` (the output dtype)
    ref_kw: Mapping | None = None  # kwarg renames for the reference: {"dim": "axis"}
    writes: bool = True  # a view entry whose result can be written through
    scalar_promotion: bool = False  # Python scalar operands take part in type promotion
    mutates: bool = False  # writes into its first argument (never given an expanded one)
    note: str = ""

    @property
    def has_tensor_args(self) -> bool:
        return any(not isinstance(a, Lit) for c in self.cases for a in c.args)

    @property
    def n_outputs(self) -> int:
        return len(self.out) if isinstance(self.out, tuple) else 1


class MissingAPI(LookupError):
    """The public function an entry calls does not exist (yet) in this mbtorch."""


def resolve(api: str) -> Callable[..., Any]:
    """A callable ``f(args, kwargs, device, dtype)`` for an entry's ``api`` string."""
    if api.startswith("expr:"):
        _check_expr(api[5:])
        code = compile(api[5:], api, "eval")

        def run_expr(args: list, kwargs: dict, device: str, dtype: mt.dtype) -> Any:
            names = {f"x{i}": a for i, a in enumerate(args)}
            scope = {"mbtorch": mt, "kw": kwargs, "device": device, "dtype": dtype, **names}
            return eval(code, scope)  # noqa: S307 - expressions are the database's own data

        return run_expr
    owner, _, attr = api.partition(".")
    fn: Any = mt.Tensor if owner == "Tensor" else mt
    for name in attr.split("."):
        fn = getattr(fn, name, None)
        if fn is None:
            raise MissingAPI(f"{api} does not exist in this mbtorch")
    return lambda args, kwargs, device, dtype: fn(*args, **kwargs)


def _check_expr(expr: str) -> None:
    """Raise ``MissingAPI`` when the expression names an mbtorch attribute that is absent."""
    for chain in re.findall(r"mbtorch((?:\.\w+)+)", expr):
        obj, path = mt, "mbtorch"
        for name in chain.strip(".").split("."):
            path += f".{name}"
            if not hasattr(obj, name):
                try:
                    importlib.import_module(path)
                except ImportError:
                    raise MissingAPI(f"{path} does not exist in this mbtorch") from None
            obj = getattr(obj, name, None)
            if obj is None:
                raise MissingAPI(f"{path} does not exist in this mbtorch")
    for method in re.findall(r"x\d+\.(\w+)", expr):
        if not hasattr(mt.Tensor, method):
            raise MissingAPI(f"Tensor.{method} does not exist in this mbtorch")
    if re.search(r"x\d+\[", expr) and not hasattr(mt.Tensor, "__getitem__"):
        raise MissingAPI("Tensor.__getitem__ (indexing) does not exist in this mbtorch")


def call_code(api: str, args_names: Sequence[str], kwargs: Mapping) -> str:
    """The reproduction line that calls the op."""
    if api.startswith("expr:"):
        pre = f"kw = {_kwargs_literal(kwargs)}\n" if kwargs else ""
        return f"{pre}out = {api[5:]}"
    owner, _, attr = api.partition(".")
    kw = [f"{k}={_literal(v)}" for k, v in kwargs.items()]
    if owner == "Tensor":
        return f"out = {args_names[0]}.{attr}({', '.join(list(args_names[1:]) + kw)})"
    return f"out = mbtorch.{attr}({', '.join(list(args_names) + kw)})"


def _literal(v: Any) -> str:
    return f"mbtorch.{v.name}" if isinstance(v, mt.dtype) else repr(v)


def _kwargs_literal(kwargs: Mapping) -> str:
    return "{" + ", ".join(f"{k!r}: {_literal(v)}" for k, v in kwargs.items()) + "}"


def all_entries() -> list[Entry]:
    """Every entry, in the order of the ``Op`` enum."""
    from . import complex as complex_numbers
    from . import elementwise, linalg, misc, quantize, reductions, shape, spectral, windows

    entries = [*elementwise.ENTRIES, *shape.ENTRIES, *reductions.ENTRIES, *misc.ENTRIES,
               *windows.ENTRIES, *spectral.ENTRIES, *quantize.ENTRIES,
               *linalg.ENTRIES, *complex_numbers.ENTRIES]
    order = {op: i for i, op in enumerate(Op)}
    return sorted(entries, key=lambda e: order[e.op])


def missing_ops() -> list[Op]:
    """Ops with no entry (the test suite asserts this is empty)."""
    have = {e.op for e in all_entries()}
    return [op for op in Op if op not in have]
