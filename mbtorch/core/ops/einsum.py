"""``einsum``: parsed here, then decomposed into views (``diagonal`` for a repeated subscript,
``permute``/``reshape``/``expand``), ``sum`` for subscripts nobody needs any more, and one
batched ``MATMUL`` per pair of operands, contracted left to right.

Subscripts are letters; ``...`` stands for broadcast dims, which are right-aligned across
operands and get the labels ``".0"``, ``".1"``... internally.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..autocast import AUTOCAST, lower
from ..meta import check_same_device
from ..tensor import Tensor
from ._reduce import check_input
from .linalg import _check_dtypes, _matmul

__all__ = ["einsum"]

_ELLIPSIS = "..."


def _parse_term(term: str, start: int, operand: int) -> list[str]:
    """One operand's subscripts, with ``...`` as a single ``_ELLIPSIS`` entry."""
    labels: list[str] = []
    i = 0
    while i < len(term):
        c = term[i]
        if c == ".":
            if _ELLIPSIS in labels:
                raise RuntimeError(f"einsum(): found '.' for operand {operand} for which an "
                                   "ellipsis was already found")
            if term[i:i + 3] != _ELLIPSIS:
                raise RuntimeError(f"einsum(): found '.' for operand {operand} that is not "
                                   "part of any ellipsis")
            labels.append(_ELLIPSIS)
            i += 3
            continue
        if not c.isascii() or not c.isalpha():
            raise RuntimeError(f"einsum(): invalid subscript given at index {start + i} in the "
                               "equation string, subscripts must be in [a-zA-Z]")
        labels.append(c)
        i += 1
    return labels


def _expand_ellipsis(labels: list[str], ndim: int, operand: int) -> list[str]:
    n = len(labels) - (_ELLIPSIS in labels)
    if _ELLIPSIS not in labels:
        if n != ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) does "
                               f"not match the number of dimensions ({ndim}) for operand "
                               f"{operand} and no ellipsis was given")
        return labels
    if n > ndim:
        raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) is more "
                           f"than the number of dimensions ({ndim}) for operand {operand}")
    k = labels.index(_ELLIPSIS)
    return labels[:k] + [_ELLIPSIS] * (ndim - n) + labels[k + 1:]


def _number_ellipsis(labels: list[str], width: int) -> list[str]:
    """Right-align the ellipsis dims: the last one is ``.{width-1}``."""
    count = labels.count(_ELLIPSIS)
    out, seen = [], 0
    for lab in labels:
        if lab == _ELLIPSIS:
            out.append(f".{width - count + seen}")
            seen += 1
        else:
            out.append(lab)
    return out


def _output_labels(rhs: str | None, terms: list[list[str]], width: int, start: int) -> list:
    ell = [f".{i}" for i in range(width)]
    if rhs is None:  # implicit: ellipsis dims, then subscripts seen once, alphabetically
        letters = [lab for t in terms for lab in t if lab != _ELLIPSIS]
        return ell + sorted(c for c in set(letters) if letters.count(c) == 1)
    out: list[str] = []
    for lab in _parse_term(rhs, start, len(terms)):
        if lab == _ELLIPSIS:
            out.extend(ell)
            continue
        if lab in out:
            raise RuntimeError(f"einsum(): output subscript {lab} appears more than once in "
                               "the output")
        if not any(lab in t for t in terms):
            raise RuntimeError(f"einsum(): output subscript {lab} does not appear in the "
                               "equation for any input operand")
        out.append(lab)
    return out


def _take_diagonals(x: Tensor, labels: list[str], operand: int) -> tuple[Tensor, list[str]]:
    """A subscript repeated within one operand selects its diagonal (a view)."""
    while len(set(labels)) != len(labels):
        lab = next(c for c in labels if labels.count(c) > 1)
        p = labels.index(lab)
        q = labels.index(lab, p + 1)
        if x._shape[p] != x._shape[q]:
            raise RuntimeError(f"einsum(): subscript {lab} is repeated for operand {operand} "
                               f"but the sizes don't match, {x._shape[q]} != {x._shape[p]}")
        x = x.diagonal(0, p, q)
        labels = [c for i, c in enumerate(labels) if i not in (p, q)] + [lab]
    return x, labels


def _sum_out(x: Tensor, labels: list[str], keep: set) -> tuple[Tensor, list[str]]:
    drop = [i for i, c in enumerate(labels) if c not in keep]
    if not drop:
        return x, labels
    from .reductions import sum as sum_

    return (sum_(x, tuple(drop), dtype=x._dtype),
            [c for i, c in enumerate(labels) if i not in drop])


def _sizes(operands: Sequence[Tensor], terms: list[list[str]]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for i, (x, labels) in enumerate(zip(operands, terms)):
        for lab, s in zip(labels, x._shape):
            seen = sizes.get(lab)
            if seen is None or seen == 1:
                sizes[lab] = s
            elif s != seen and s != 1:
                name = "..." if lab.startswith(".") else lab
                raise RuntimeError(f"einsum(): subscript {name} has size {s} for operand {i} "
                                   f"which does not broadcast with previously seen size {seen}")
    return sizes


def _pair(a: Tensor, la: list[str], b: Tensor, lb: list[str], later: set,
          sizes: dict[str, int]) -> tuple[Tensor, list[str]]:
    """Contract two operands with one batched MATMUL; returns the result and its labels."""
    batch = [c for c in la if c in lb and c in later]
    contracted = [c for c in la if c in lb and c not in later]
    a_only = [c for c in la if c not in lb]
    b_only = [c for c in lb if c not in la]

    def arrange(x: Tensor, labels: list[str], order: list[str], groups: list[list[str]]):
        x = x.permute(*[labels.index(c) for c in order])
        x = x.expand(tuple(sizes[c] for c in order))  # size-1 subscripts broadcast
        shape = []
        for g in groups:
            n = 1
            for c in g:
                n *= sizes[c]
            shape.append(n)
        return x.reshape(tuple(shape))

    left = arrange(a, la, batch + a_only + contracted, [batch, a_only, contracted])
    right = arrange(b, lb, batch + contracted + b_only, [batch, contracted, b_only])
    if AUTOCAST.on and contracted:  # PyTorch's einsum autocasts where it runs bmm
        left, right = lower(left, right)
    out = _matmul(left, right)
    labels = batch + a_only + b_only
    return out.reshape(tuple(sizes[c] for c in labels)), labels


def _split(equation: str, n_operands: int) -> tuple[list[str], str | None, list[int]]:
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    starts, pos = [], 0
    for t in terms:
        starts.append(pos)
        pos += len(t) + 1
    if len(terms) < n_operands:
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    if len(terms) > n_operands:
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    return terms, (rhs if arrow else None), starts + [len(lhs) + 2]


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``; supports ``...``,
    repeated subscripts (diagonals) and the implicit output form.

    >>> mbtorch.einsum('ii', mbtorch.eye(3))
    tensor(3.)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): argument 'equation' must be str, not "
                        f"{type(equation).__name__}")
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    for i, x in enumerate(operands):
        check_input(x, "einsum", f"operands[{i}]")
        if x._dtype is not operands[0]._dtype:
            raise RuntimeError(f"expected scalar type {operands[0]._dtype.scalar_name} but "
                               f"found {x._dtype.scalar_name}")
    check_same_device(operands, "einsum", [f"operands[{i}]" for i in range(len(operands))])
    raw, rhs, starts = _split(equation, len(operands))
    parsed = [_parse_term(t, s, i) for i, (t, s) in enumerate(zip(raw, starts))]
    expanded = [_expand_ellipsis(p, x.ndim, i) for i, (p, x) in enumerate(zip(parsed, operands))]
    width = max(lab.count(_ELLIPSIS) for lab in expanded)
    terms = [_number_ellipsis(t, width) for t in expanded]
    out_labels = _output_labels(rhs, parsed, width, starts[-1])
    if rhs is not None and _ELLIPSIS not in rhs:
        out_labels = [c for c in out_labels if not c.startswith(".")]
    return _evaluate(list(operands), terms, out_labels)


def _evaluate(operands: list[Tensor], terms: list[list[str]], out_labels: list[str]) -> Tensor:
    pairs = [_take_diagonals(x, t, i) for i, (x, t) in enumerate(zip(operands, terms))]
    sizes = _sizes([p[0] for p in pairs], [p[1] for p in pairs])
    if len(pairs) > 1:
        _check_dtypes(operands[0], operands[0], "einsum", batched=True)  # rejects bool
    x, labels = pairs[0]
    rest = pairs[1:]
    for k in range(len(rest) + 1):
        later = set(out_labels).union(*[set(t) for _, t in rest[k:]])
        x, labels = _sum_out(x, labels, later)
        if k == len(rest):
            break
        # labels needed after this pair: a label only x and y share is contracted by it, one
        # only y has is summed out of y first
        after = set(out_labels).union(*[set(t) for _, t in rest[k + 1:]])
        y, ly = rest[k]
        y, ly = _sum_out(y, ly, after | set(labels))
        x, labels = _pair(x, labels, y, ly, after, sizes)
    x = x.permute(*[labels.index(c) for c in out_labels])
    return x.expand(tuple(sizes[c] for c in out_labels))
