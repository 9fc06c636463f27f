"""Dynamic dimensions without symbolic meta rules: trace at several sizes, generalize.

The call is traced at the example sizes and again at other sizes of each dynamic dim: at
every corner of ``{example, other}^k`` for ``k`` symbols (a multilinear polynomial in ``k``
variables is fixed by its values there), then once more with every symbol at a third, farther
size (the check). The graphs must be the same program: the same nodes, ops, value names,
dtypes and non-numeric attrs; a difference means the traced code specialized on a size
(Python branching on ``x.shape[0]``...). Every number that differs between the traces (a
shape entry, a shape-like attr, a scalar operand made from a size) becomes the multilinear
polynomial with integer coefficients through its corner values, and must predict the check
trace; anything else (a floor division such as ``(h - 1) // 2``, ``1 / n`` as a float) is a
specialization too. Each failure raises ``ConstraintViolationError`` naming the Dim(s).

Sampling cannot see a branch no sampled size takes (``if x.shape[0] > 100`` with all traces
below 100): such code gives a program that is right for the sampled side only.
"""

from __future__ import annotations

__all__ = ["generalize", "sample_sizes", "resize_inputs"]

from fractions import Fraction
from typing import Any, Callable

from ..core.tensor import Tensor
from ..graph.ir import Graph, SymExpr, Value
from ._dims import ConstraintViolationError, Symbol

_NUM = object()  # stands for a number in a node's structural key


def sample_sizes(symbols: list[Symbol]) -> tuple[dict, dict]:
    """Per symbol, the other corner size and the check size (``None``: the range has no
    room for it). Sizes are kept apart from every other symbol's, so code comparing two
    sizes takes the same path as with the example."""
    taken = {s.example for s in symbols}
    other, check = {}, {}
    for s in symbols:
        lo, hi, e = max(s.lower, 2), s.upper, s.example
        near = [v for v in (e + 1, e + 2, e - 1, e + 3, e - 2, e + 4, e - 3, e + 5)
                if lo <= v <= hi and v not in taken]
        if not near:
            raise ConstraintViolationError(
                f"Constraints violated ({s.dim})! its range [{s.lower}, {s.upper}] leaves no "
                f"size >= 2 besides the example's {e} to trace at: mark it static", (s.name,))
        other[s.name] = near[0]
        taken.add(near[0])
        far = [v for v in (2 * e + 3, 2 * e + 1, e + 7, e - 5, *near[1:])
               if lo <= v <= hi and v not in taken]
        check[s.name] = far[0] if far else None
        taken.update(far[:1])
    return other, check


def generalize(symbols: list[Symbol], trace_at: Callable[[dict], tuple]) -> tuple:
    """``(graph, constants)`` of ``trace_at(example sizes)`` with every size-dependent number
    replaced by its ``SymExpr``; ``trace_at(sizes)`` returns ``(graph, constants)``."""
    example = {s.name: s.example for s in symbols}
    other, check = sample_sizes(symbols)
    masks = sorted(range(1 << len(symbols)), key=lambda m: (bin(m).count("1"), m))
    runs = [(dict(example), trace_at(dict(example)))]
    points = [{s.name: other[s.name] if m >> j & 1 else s.example
               for j, s in enumerate(symbols)} for m in masks[1:]]
    checked = {n: v for n, v in check.items() if v is not None}
    points += [{**example, **checked}] if checked else []
    for sizes in points:
        runs.append((sizes, _traced(symbols, example, sizes, trace_at)))
    base_keys = _keys(runs[0][1][0])
    for sizes, (graph, constants) in runs[1:]:
        _same_program(symbols, example, sizes, runs[0][1], base_keys, graph, constants)
    corners = {m: runs[i][1][0] for i, m in enumerate(masks)}
    fitter = _Fitter(symbols, example, other, runs[-1][0] if checked else None)
    graph = _rebuild(runs[0][1][0], corners, runs[-1][1][0] if checked else None, fitter)
    for n in graph.placeholders("constant"):
        if any(isinstance(d, SymExpr) for d in n.outputs[0].shape):
            raise _violation(symbols, n.outputs[0].shape, "the code made a constant tensor "
                             f"{n.target!r} whose shape depends on the dims")
    return graph, runs[0][1][1]


def _traced(symbols: list, example: dict, sizes: dict, trace_at: Callable) -> tuple:
    try:
        return trace_at(sizes)
    except ConstraintViolationError:
        raise
    except Exception as err:  # the code fails at another size: it depends on the example's
        varied = [s for s in symbols if sizes[s.name] != example[s.name]]
        raise ConstraintViolationError(
            f"Constraints violated ({_names(varied)})! the code specializes "
            f"{_names(varied)}: at {_sizes(varied, sizes)} instead of the example's "
            f"{_sizes(varied, example)} it raised {type(err).__name__}: {err}",
            tuple(s.name for s in varied)) from err


def _names(symbols: list) -> str:
    return ", ".join(s.dim for s in symbols)


def _sizes(symbols: list, sizes: dict) -> str:
    return ", ".join(f"{s.dim}={sizes[s.name]}" for s in symbols)


def _violation(symbols: list, culprits: Any, why: str) -> ConstraintViolationError:
    names = set().union(*(c.free_symbols for c in culprits if isinstance(c, SymExpr))) \
        if not isinstance(culprits, set) else culprits
    at_fault = [s for s in symbols if s.name in names] or symbols
    return ConstraintViolationError(
        f"Constraints violated ({_names(at_fault)})! {why}. Mark the dim static (None or "
        "Dim.STATIC) or let export decide (Dim.AUTO)", tuple(s.name for s in at_fault))


# -- structure -------------------------------------------------------------------------------
def _key(x: Any, nums: list) -> Any:
    """``x`` with numbers replaced by ``_NUM`` (appended to ``nums``), values by name."""
    t = type(x)
    if t is int or t is float:
        nums.append(x)
        return _NUM
    if t is tuple or t is list:
        return (t.__name__, tuple(_key(a, nums) for a in x))
    if isinstance(x, Value):
        return ("value", x.name)
    if hasattr(x, "__array__") and not isinstance(x, Tensor):
        import numpy as np

        a = np.asarray(x)
        return ("host", a.shape, a.dtype.str, a.tobytes())
    return x


def _node_key(node: Any) -> tuple:
    nums: list = []
    key = (node.kind, node.op, node.role, node.target, node.multi,
           _key(node.inputs, nums), _key(node.attrs, nums),
           tuple((v.name, v.dtype, v.device, _key(v.shape, nums)) for v in node.outputs))
    return key, nums


def _keys(graph: Graph) -> list:
    return [_node_key(n) for n in graph.nodes]


def _same_program(symbols: list, example: dict, sizes: dict, base: tuple, base_keys: list,
                  graph: Graph, constants: dict) -> None:
    varied = {s.name for s in symbols if sizes[s.name] != example[s.name]}
    where = f"at {_sizes([s for s in symbols if s.name in varied], sizes)}"
    keys = _keys(graph)
    for i, (a, b) in enumerate(zip(base_keys, keys)):
        if a[0] != b[0]:
            raise _violation(symbols, varied, f"the code specializes on the size: {where} it "
                             f"records another program (node {i}: "
                             f"`{base[0].nodes[i].format()}` became "
                             f"`{graph.nodes[i].format()}`)")
    if len(keys) != len(base_keys):
        raise _violation(symbols, varied, f"the code specializes on the size: {where} it "
                         f"records {len(keys)} nodes instead of {len(base_keys)}")
    outs = [_key(list(g.outputs), []) for g in (base[0], graph)]
    if outs[0] != outs[1] or base[0].output_spec != graph.output_spec:
        raise _violation(symbols, varied, f"{where} the code returns other values")
    for name, t in base[1].items():
        other = constants.get(name)
        if other is None or other.shape != t.shape or not bool((other == t).all()):
            raise _violation(symbols, varied, f"{where} the code makes another constant "
                             f"tensor {name!r}: it depends on the size")


# -- fitting ---------------------------------------------------------------------------------
class _NoFit(Exception):
    pass


class _Fitter:
    """The multilinear polynomial through a number's corner values, checked."""

    def __init__(self, symbols: list, example: dict, other: dict, check: dict | None) -> None:
        self.symbols, self.example, self.check = symbols, example, check
        # the corner basis: t_j = (s_j - e_j) / h_j is 0 at the example, 1 at the other size
        self.basis = [{(s.name,): Fraction(1, other[s.name] - s.example),
                       (): Fraction(-s.example, other[s.name] - s.example)} for s in symbols]

    def fit(self, values: dict, check: Any) -> Any:
        """``values``: by corner mask; ``check``: at the check sizes (or ``None``)."""
        base = values[0]
        if all(_same(v, base) for v in values.values()) and (check is None
                                                             or _same(check, base)):
            return base
        nums = [*values.values()] + ([check] if check is not None else [])
        if any(type(v) is float and not float(v).is_integer() for v in nums):
            raise _NoFit
        poly: dict[tuple, Fraction] = {}
        for m in values:
            d = sum((-1) ** bin(m & ~t).count("1") * int(values[t]) for t in values
                    if t & m == t)
            if d:
                term: dict[tuple, Fraction] = {(): Fraction(d)}
                for j in range(len(self.symbols)):
                    if m >> j & 1:
                        term = _mul(term, self.basis[j])
                for mono, c in term.items():
                    poly[mono] = poly.get(mono, 0) + c
        if any(c.denominator != 1 for c in poly.values()):
            raise _NoFit
        expr = SymExpr({m: int(c) for m, c in poly.items()}, type(base) is float)
        if check is not None and expr.evaluate(self.check) != check:
            raise _NoFit
        return expr.evaluate({}) if not expr.free_symbols else expr


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and (a == b or (a != a and b != b))


def _mul(a: dict, b: dict) -> dict:
    out: dict[tuple, Fraction] = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            mono = tuple(sorted(ma + mb))
            out[mono] = out.get(mono, 0) + ca * cb
    return out


def _rebuild(graph: Graph, corners: dict, check: Graph | None, fitter: _Fitter) -> Graph:
    """``graph`` (the example trace) with its numbers fitted across ``corners``."""
    nums = {m: [_node_key(n)[1] for n in g.nodes] for m, g in corners.items()}
    check_nums = [_node_key(n)[1] for n in check.nodes] if check is not None else None
    for i, node in enumerate(graph.nodes):
        fitted = []
        for j in range(len(nums[0][i])):
            values = {m: nums[m][i][j] for m in nums}
            try:
                fitted.append(fitter.fit(values, check_nums[i][j] if check_nums else None))
            except _NoFit:
                raise _violation(fitter.symbols, _varying(fitter, values),
                                 f"node {i} (`{node.format()}`) has a size or scalar that is "
                                 f"not a polynomial of the dims ({_seen(values)}): the code "
                                 "specializes on the size (a floor division, a ratio...)") \
                    from None
        it = iter(fitted)
        node.inputs = _put(node.inputs, it)
        node.attrs = _put(node.attrs, it)
        for v in node.outputs:
            v.shape = _put(v.shape, it)
    return graph


def _varying(fitter: _Fitter, values: dict) -> set:
    return {s.name for j, s in enumerate(fitter.symbols)
            if not _same(values.get(1 << j, values[0]), values[0])} or \
        {s.name for s in fitter.symbols}


def _seen(values: dict) -> str:
    return ", ".join(repr(values[m]) for m in sorted(values)) + " across the traces"


def _put(x: Any, it: Any) -> Any:
    t = type(x)
    if t is int or t is float:
        return next(it)
    if t is tuple or t is list:
        return t(_put(a, it) for a in x)
    return x


def resize_inputs(args: tuple, kwargs: dict, per_tensor: dict, sizes: dict) -> tuple:
    """``(args, kwargs)`` with each dynamic dim at ``sizes``: the example's entries repeated
    or cut along it (so index inputs stay valid indices); one tensor stays one tensor."""
    from ..autograd.grad_mode import no_grad
    from ..compiler._guards import flatten, unflatten
    from ..core.ops.creation import arange

    leaves: list = []
    spec = flatten((args, kwargs), leaves)
    memo: dict[int, Any] = {}
    with no_grad():
        for i, x in enumerate(leaves):
            if not isinstance(x, Tensor) or id(x) not in per_tensor:
                continue
            if id(x) not in memo:
                out = x
                for d, sym in per_tensor[id(x)].items():
                    if sym.name in sizes:  # (a Dim.AUTO turned static is not)
                        idx = arange(sizes[sym.name], device=x.device) % x.shape[d]
                        out = out.index_select(d, idx)
                memo[id(x)] = out
            leaves[i] = memo[id(x)]
    return unflatten(spec, iter(leaves))
