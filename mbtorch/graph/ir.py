"""The graph IR: what capture records and what export, compile and later ONNX export read.

A ``Graph`` is a list of ``Node``s in execution order. A node is a placeholder (a value that
comes from outside: a user input, a parameter, a buffer, optimizer state, or a constant lifted
from the trace), an op (a registry ``Op`` with its inputs, attrs and the meta rule's output
shape and dtype), or an in-place write (``COPY_`` or an in-place kernel into an existing
value: views share storage, so replaying the writes in order replays their effect). Op nodes
are in the registry's own vocabulary, before decomposition: ``run_decompositions`` lowers
them to primitives. Values carry ``(shape, dtype, device)``.

A graph exported with dynamic dimensions holds ``SymExpr``s where a size depends on them: in
its values' shapes, in its nodes' shape-like attrs and scalar operands. Graphs without
symbols (every compiled graph) hold plain ints there.
"""

from __future__ import annotations

__all__ = ["Graph", "Node", "Value", "PLACEHOLDER", "OP", "WRITE", "TRANSFER", "ALLOC", "CONST",
           "ROLES", "SymExpr", "substitute", "symbols_in"]

import re
from dataclasses import dataclass, field
from typing import Any

from ..core.op import Op

PLACEHOLDER, OP, WRITE, TRANSFER = "placeholder", "op", "write", "to"
ALLOC, CONST = "alloc", "const"  # kernel-level graphs only: a new buffer, host data uploaded
ROLES = ("input", "parameter", "buffer", "state", "constant", "captured")
"""What a placeholder stands for: a user input, a module's parameter or buffer, optimizer
state, a tensor the traced code made from Python data (lifted as a constant), or (in a
kernel-level graph) a tensor the code reached outside its arguments, read at each replay."""


@dataclass(eq=False)
class Value:
    """One tensor in the graph: its name (``%x``) and the meta rule's shape/dtype/device."""

    name: str
    shape: tuple
    dtype: Any
    device: Any
    producer: Node | None = None

    def __repr__(self) -> str:
        return f"%{self.name}"

    def type_str(self) -> str:
        return f"{self.dtype.name}{list(self.shape)}"


@dataclass(eq=False)
class Node:
    """A placeholder (``role``, ``target`` = the name it has outside), an op or a write."""

    kind: str
    op: Op | None = None
    inputs: tuple = ()
    attrs: tuple = ()
    outputs: list = field(default_factory=list)
    role: str = ""
    target: str = ""
    multi: bool = False  # the op's meta rule gave a list (its result is a tuple)
    kernel: Any = None  # kernel-level graphs: the backend callable that ran
    source: str = ""  # ``file:line`` of the user's code that made it (op and write nodes)

    def format(self) -> str:
        outs = ", ".join(f"{v!r}: {v.type_str()}" for v in self.outputs)
        if self.kind == PLACEHOLDER:
            return f"{outs} = {self.role}[{self.target!r}]"
        args = ", ".join(_format_arg(a) for a in (*self.inputs, *self.attrs))
        name = self.op.name.lower() if self.op is not None else self.kind
        if self.kind == WRITE:
            return f"{name}_({args})"
        return f"{outs} = {name}({args})"


def _format_arg(a: Any) -> str:
    if isinstance(a, Value):
        return repr(a)
    if isinstance(a, tuple):
        return "(" + ", ".join(_format_arg(x) for x in a) + ("," if len(a) == 1 else "") + ")"
    if hasattr(a, "is_floating_point") and hasattr(a, "itemsize"):
        return a.name  # a dtype
    if hasattr(a, "__array__"):
        return f"<host data {list(getattr(a, 'shape', ()))}>"
    return repr(a)


class Graph:
    """Nodes in execution order and the values the traced call returned (``outputs``, in
    the structure it returned them: ``output_spec`` rebuilds it)."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.outputs: list = []
        self.output_spec: Any = None
        self._names: dict[str, int] = {}

    def new_value(self, hint: str, shape: tuple, dtype: Any, device: Any) -> Value:
        n = self._names.get(hint, 0)
        self._names[hint] = n + 1
        return Value(hint if n == 0 else f"{hint}_{n}", tuple(shape), dtype, device)

    def placeholders(self, role: str | None = None) -> list[Node]:
        return [n for n in self.nodes
                if n.kind == PLACEHOLDER and (role is None or n.role == role)]

    def op_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.kind != PLACEHOLDER]

    def __str__(self) -> str:
        lines = ["graph():"]
        lines += [f"    {n.format()}" for n in self.nodes]
        lines.append(f"    return {_format_arg(tuple(self.outputs))}")
        return "\n".join(lines)

    def print_readable(self) -> str:
        """The graph as text, one line per node (``torch.fx``'s spelling); also printed."""
        text = str(self)
        print(text)
        return text


_TERM = re.compile(r"([+-])([^+-]+)")


class SymExpr:
    """A size that depends on a program's dynamic dimensions: a polynomial with integer
    coefficients in symbols ``s0, s1, ...`` (``terms``: ``(monomial, coefficient)`` pairs, a
    monomial a sorted tuple of symbol names, ``()`` for the constant). ``is_float``: it stands
    for a Python float operand (``x + x.shape[0]`` promoted the size). Printed and parsed
    as ``"4*s0*s1 + s0 - 3"``."""

    __slots__ = ("terms", "is_float")

    def __init__(self, terms: Any, is_float: bool = False) -> None:
        acc: dict[tuple, int] = {}
        for mono, c in (terms.items() if isinstance(terms, dict) else terms):
            mono = tuple(sorted(mono))
            acc[mono] = acc.get(mono, 0) + int(c)
        self.terms = tuple(sorted(((m, c) for m, c in acc.items() if c),
                                  key=lambda mc: (-len(mc[0]), mc[0])))
        self.is_float = is_float

    @classmethod
    def symbol(cls, name: str) -> SymExpr:
        return cls({(name,): 1})

    @classmethod
    def parse(cls, text: str, is_float: bool = False) -> SymExpr:
        """The expression ``str(e)`` printed; ``ValueError`` on anything else."""
        body = text.replace(" ", "")
        body = body if body[:1] in "+-" else "+" + body
        terms, pos = [], 0
        for m in _TERM.finditer(body):
            if m.start() != pos:
                break
            pos, coef, mono = m.end(), -1 if m.group(1) == "-" else 1, []
            for factor in m.group(2).split("*"):
                if factor.isdigit():
                    coef *= int(factor)
                elif factor.isidentifier():
                    mono.append(factor)
                else:
                    raise ValueError(f"SymExpr.parse(): bad factor {factor!r} in {text!r}")
            terms.append((tuple(mono), coef))
        if pos != len(body) or not terms:
            raise ValueError(f"SymExpr.parse(): not a size expression: {text!r}")
        return cls(terms, is_float)

    @property
    def free_symbols(self) -> set[str]:
        return {s for mono, _ in self.terms for s in mono}

    def is_symbol(self) -> bool:
        return len(self.terms) == 1 and len(self.terms[0][0]) == 1 and self.terms[0][1] == 1

    def evaluate(self, sizes: dict[str, int]) -> int | float:
        total = 0
        for mono, c in self.terms:
            for s in mono:
                c *= sizes[s]
            total += c
        return float(total) if self.is_float else total

    def __str__(self) -> str:
        out = ""
        for mono, c in self.terms:
            mag = abs(c)
            body = "*".join(([str(mag)] if mag != 1 or not mono else []) + list(mono))
            out += (" - " if c < 0 else " + ") + body if out else ("-" if c < 0 else "") + body
        return out or "0"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SymExpr) and self.terms == other.terms
                and self.is_float == other.is_float)

    def __hash__(self) -> int:
        return hash((self.terms, self.is_float))


def substitute(x: Any, sizes: dict[str, int]) -> Any:
    """``x`` (an attr, operand or shape, nested in tuples/lists) with every ``SymExpr``
    evaluated at ``sizes``."""
    if type(x) is SymExpr:
        return x.evaluate(sizes)
    if type(x) is tuple:
        return tuple(substitute(a, sizes) for a in x)
    if type(x) is list:
        return [substitute(a, sizes) for a in x]
    return x


def symbols_in(x: Any) -> set[str]:
    """The symbols ``x`` (nested as for ``substitute``) depends on."""
    if type(x) is SymExpr:
        return x.free_symbols
    if type(x) in (tuple, list):
        return set().union(*(symbols_in(a) for a in x)) if x else set()
    return set()
