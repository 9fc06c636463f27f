"""Sample inputs: deterministic, seeded, described by data.

An entry names a *case list* (shapes of its tensor arguments plus keyword arguments); this
module turns each case into a ``Sample`` of host values for one dtype, drawn from the entry's
value domain, and adds the special-values sample (0, -0.0, ±inf, NaN, ±1, huge, tiny and the
integer limits). Non-contiguous variants of every sample (transposed, stepped with an offset,
expanded) are derived in ``layouts``; the values stay the same so the answers must too.

Argument specs in a case: a shape tuple is a tensor of the dtype under test; ``Index(shape,
high)`` an int64 tensor with values in ``[0, high)``; ``Mask(shape)`` a bool tensor;
``Lit(value)`` a Python scalar passed as is; ``Dt(kind)`` a tensor of another dtype;
``Vals(shape, kind)`` a tensor of the dtype under test holding numerically hard values
(``HARD_KINDS``: overflowing exponents, huge, tiny and subnormal values, cancelling sums, data
with a large mean, exactly summable values for long reductions), each kind in a sample of its
own so that a NaN made in one element cannot mask a wrong answer in the others.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np

import mbtorch as mt
from mbtorch.core.host import NUMPY_DTYPES

__all__ = [
    "TIERS", "Index", "Mask", "Lit", "Sp", "Perm", "Vals", "HARD_KINDS", "Case", "case", "Sample",
    "seed_for", "draw", "hard_values", "special_values", "tensor_arg", "from_cases",
    "special_samples", "UNARY", "BINARY", "TERNARY", "BLOCK_LENGTHS", "LONG_STD", "LONG_FULL",
    "LONGEST"
]

TIERS = ("smoke", "standard", "full")


@dataclass(frozen=True)
class Index:
    shape: tuple
    high: int


@dataclass(frozen=True)
class Mask:
    shape: tuple


@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Sp:
    """The special values of the dtype under test, as a 1-d tensor."""


@dataclass(frozen=True)
class Perm:
    """An int64 tensor of ``shape`` whose slices along ``dim`` hold distinct values in
    ``[0, high)`` (scatter targets without collisions)."""

    shape: tuple
    dim: int
    high: int


@dataclass(frozen=True)
class Vals:
    """A tensor of ``shape`` and the dtype under test with values of one ``HARD_KINDS`` kind."""

    shape: tuple
    kind: str

    def __post_init__(self) -> None:
        if self.kind not in HARD_KINDS and self.kind not in _FLOAT_RANGES:  # (names disjoint)
            raise ValueError(f"Vals: unknown kind {self.kind!r}; one of "
                             f"{sorted(HARD_KINDS) + sorted(_FLOAT_RANGES)}")


@dataclass(frozen=True)
class Case:
    args: tuple
    kwargs: dict = field(default_factory=dict)
    tiers: tuple = TIERS  # the tiers that include this case


def case(*args: Any, tiers: Sequence[str] = TIERS, **kwargs: Any) -> Case:
    return Case(tuple(args), kwargs, tuple(tiers))


@dataclass
class Sample:
    """One call's inputs: host arrays (tensor args) or Python scalars, plus kwargs."""

    args: list
    kwargs: dict
    name: str
    index: int = 0
    special: bool = False
    layout: str = "contiguous"
    fixed: tuple = ()  # positions of index/mask arguments: their values must not change


    def tensors(self) -> list[np.ndarray]:
        return [a for a in self.args if isinstance(a, np.ndarray)]

    def numel(self) -> int:
        return sum(a.size for a in self.tensors())


def seed_for(*parts: Any) -> int:
    """A stable seed from names (``hash()`` is salted per process; crc32 is not)."""
    return zlib.crc32("/".join(str(p) for p in parts).encode())


# -- value domains ----------------------------------------------------------------------------
_FLOAT_RANGES = {"real": (-4.0, 4.0), "pos": (0.125, 4.0), "unit": (-0.95, 0.95),
                 "nonzero": (0.5, 4.0), "exp": (-2.0, 2.0), "prob": (0.0, 1.0),
                 "small": (-1.5, 1.5)}
_INT_RANGES = {"real": (-9, 10), "pos": (1, 10), "unit": (-1, 2), "nonzero": (1, 10),
               "exp": (0, 4), "prob": (0, 2), "small": (-2, 3)}


def draw(rng: np.random.Generator, shape: tuple, dtype: mt.dtype, domain: str) -> np.ndarray:
    """Random values of ``dtype`` (NumPy native type) from the named domain."""
    npd = NUMPY_DTYPES[dtype]
    if dtype is mt.bool:
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.is_floating_point:
        lo, hi = _FLOAT_RANGES[domain]
        v = rng.uniform(lo, hi, shape)
        if domain == "nonzero":
            v = np.where(rng.random(shape) < 0.5, -v, v)
        return np.asarray(v).astype(npd)
    lo, hi = _INT_RANGES[domain]
    if not dtype.is_signed:
        lo, hi = max(lo, 0), max(hi, 2)
    v = rng.integers(lo, hi, shape)
    if domain == "nonzero" and dtype.is_signed:
        v = np.where(rng.random(shape) < 0.5, -v, v)
    return np.asarray(v).astype(npd)


HARD_KINDS = {
    "large": "±(0.5..1.2)·ln(max): exp overflows beyond ln(max) (softmax without the max shift)",
    "large_pos": "(0.9..1.2)·ln(max), all positive: every exp overflows",
    "large_neg": "-(0.9..1.2)·ln(max), all negative: every exp is near or below the smallest "
                 "normal (a sum of them may round to 0)",
    "huge": "±(0.25..1)·max**(1/4): squares stay finite, exp does not",
    "tiny": "±(1/64..4)·tiny: subnormals and the smallest normals",
    "near_zero": "±(0.5..1)·2**(-p/2) for p mantissa bits: exp(x) - 1 cancels (expm1, log1p)",
    "offset": "2**(p//2 - 2) + U(-1, 1): a large mean (the one-pass variance cancels)",
    "cancel": "pairs ±k of large integers that cancel exactly, plus small integers",
    "grid": "k/4 for integers |k| <= 8: every sum of up to 2**18 of them, and every dot "
            "product, is exact in float32, so long reductions have one right answer",
    "grid_pos": "k/4 for integers 1 <= k <= 16 (positive, exact as 'grid')",
    "pow2": "±1, with up to 12 of ±2 and of ±0.5: every partial product is exact",
    "rising": "real values in increasing order (flattened): the maximum is the last element",
}
"""``Vals`` kinds (a value domain's name, ``real``, ``pos``..., is one too: a long sample whose
values the entry's own domain would not give); integer and bool dtypes get the ``real`` draw
instead (``pow2``: ±1, so that long products stay exact; ``grid_pos``, ``offset``: ``pos``)."""


def hard_values(rng: np.random.Generator, shape: tuple, dtype: mt.dtype,
                kind: str) -> np.ndarray:
    """Values of ``kind`` (``HARD_KINDS``) for ``dtype``, scaled to its range and precision."""
    npd = NUMPY_DTYPES[dtype]
    if kind in _FLOAT_RANGES:
        return draw(rng, shape, dtype, kind)
    if kind == "rising":
        return np.sort(draw(rng, shape, dtype, "real"), axis=None).reshape(shape)
    if not dtype.is_floating_point:
        if kind == "pow2" and dtype is not mt.bool:
            v = np.where(rng.random(shape) < 0.5, -1, 1) if dtype.is_signed else np.ones(shape)
            return np.asarray(v).astype(npd)
        return draw(rng, shape, dtype, "pos" if kind in ("grid_pos", "offset") else "real")
    fi = mt.finfo(dtype)
    bits = int(round(-np.log2(fi.eps))) + 1  # mantissa bits with the implicit one
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    n = int(np.prod(shape, dtype=np.int64))
    log_max = float(np.log(fi.max))
    if kind in ("large", "large_pos", "large_neg"):
        lo = 0.5 if kind == "large" else 0.9
        mag = rng.uniform(lo, 1.2, shape) * log_max
        v = _exact_differences(
            mag * (sign if kind == "large" else (1.0 if kind == "large_pos" else -1.0)), bits)
    elif kind == "huge":
        v = _exact_differences(sign * rng.uniform(0.25, 1.0, shape) * float(fi.max) ** 0.25,
                               bits)
    elif kind == "tiny":
        v = sign * rng.uniform(1 / 64, 4.0, shape) * float(fi.tiny)
    elif kind == "near_zero":
        v = sign * rng.uniform(0.5, 1.0, shape) * 2.0 ** (-(bits // 2))
    elif kind == "offset":
        v = 2.0 ** (bits // 2 - 2) + rng.uniform(-1.0, 1.0, shape)
    elif kind == "cancel":
        v = _cancelling(rng, n, bits).reshape(shape)
    elif kind == "pow2":
        v = (sign.reshape(-1) * _powers_of_two(rng, n)).reshape(shape)
    else:  # grid, grid_pos
        k = rng.integers(-8, 9, shape) if kind == "grid" else rng.integers(1, 17, shape)
        v = k / 4.0
    return np.asarray(v, dtype=np.float64).astype(npd)


def _exact_differences(v: np.ndarray, bits: int) -> np.ndarray:
    """``v`` rounded to a grid coarse enough that every difference of two values is exact in
    the dtype: ``x - max(x)`` then carries no rounding error, whose effect on ``exp`` grows
    with the magnitude (|x| ULPs) and would measure the reference's luck, not the kernel."""
    top = float(np.abs(v).max()) if v.size else 0.0
    if top == 0.0:
        return v
    step = 2.0 ** (math.ceil(math.log2(top)) + 1 - bits)
    return np.round(v / step) * step


def _powers_of_two(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ones, with at most 12 twos and 12 halves in random places: a product of any subset, in
    any order, stays within 2**±12 (float16's range), so every blocking gets the exact one."""
    v = np.ones(n)
    k = min(12, n // 4)
    where = rng.permutation(n)[:2 * k]
    v[where[:k]], v[where[k:]] = 2.0, 0.5
    return v


def _cancelling(rng: np.random.Generator, n: int, bits: int) -> np.ndarray:
    """A third of the values in pairs ±k (k up to 2**q, exact in the dtype), the rest small
    integers: the sum is the small ones' sum, and each partial sum of up to 512 such values is
    exact where the op accumulates (float32 or wider), so every correct order gets it."""
    q = min(bits, 15)
    pairs = n // 3
    big = rng.integers(2 ** (q - 1), 2**q, pairs) * np.where(rng.random(pairs) < 0.5, -1, 1)
    v = np.concatenate([big, -big, rng.integers(-3, 4, n - 2 * pairs)]).astype(np.float64)
    return v[rng.permutation(n)]


def special_values(dtype: mt.dtype, tier: str) -> np.ndarray:
    """The values every elementwise op meets: signed zeros, infinities, NaN, limits."""
    npd = NUMPY_DTYPES[dtype]
    if dtype is mt.bool:
        return np.array([False, True])
    if not dtype.is_floating_point:
        info = np.iinfo(npd)
        vals = [0, 1, 2, 7, int(info.max), int(info.min), int(info.max) - 1]
        vals += [-1, -2, -7] if dtype.is_signed else []
        return np.array(vals).astype(npd)
    fi = mt.finfo(dtype)
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, float("inf"), float("-inf"), float("nan"),
            fi.max / 4, -fi.max / 4, fi.tiny, -fi.tiny, 100.0, -100.0, fi.eps]
    if tier == "full":
        vals += [fi.tiny / 4, fi.max, fi.min]  # subnormal and the limits themselves
    return np.array(vals, dtype=np.float64).astype(npd)


def tensor_arg(spec: Any, rng: np.random.Generator, dtype: mt.dtype, domain: str) -> Any:
    if isinstance(spec, tuple):
        return draw(rng, spec, dtype, domain)
    if isinstance(spec, Index):
        return np.asarray(rng.integers(0, max(spec.high, 1), spec.shape), dtype=np.int64)
    if isinstance(spec, Mask):
        return np.asarray(rng.random(spec.shape) < 0.5)
    if isinstance(spec, Lit):
        return spec.value
    if isinstance(spec, Sp):
        return special_values(dtype, "standard")
    if isinstance(spec, Vals):
        return hard_values(rng, spec.shape, dtype, spec.kind)
    if isinstance(spec, Perm):
        keys = rng.random(spec.shape[:spec.dim] + (spec.high,) + spec.shape[spec.dim + 1:])
        order = np.argsort(keys, axis=spec.dim)
        return np.take(order, np.arange(spec.shape[spec.dim]), spec.dim).astype(np.int64)
    raise TypeError(f"unknown argument spec {spec!r}")


def from_cases(cases: Sequence[Case], dtype: mt.dtype, tier: str, seed: int,
               domains: Sequence[str]) -> Iterator[Sample]:
    """One sample per case of the tier, argument ``i`` drawn from ``domains[i]``."""
    rng = np.random.default_rng(seed)
    for i, c in enumerate(c for c in cases if tier in c.tiers):
        args = [tensor_arg(spec, rng, dtype, domains[min(j, len(domains) - 1)])
                for j, spec in enumerate(c.args)]
        fixed = tuple(j for j, spec in enumerate(c.args) if isinstance(spec, (Index, Mask, Perm)))
        yield Sample(args, dict(c.kwargs), _describe(c), i, fixed=fixed)


def _describe(c: Case) -> str:
    parts = []
    for a in c.args:
        if isinstance(a, tuple):
            parts.append(str(a).replace(",)", ")"))
        elif isinstance(a, Lit):
            parts.append(repr(a.value))
        elif isinstance(a, Sp):
            parts.append("special values")
        elif isinstance(a, Vals):
            parts.append(f"{a.kind} values {str(a.shape).replace(',)', ')')}")
        else:
            parts.append(f"{type(a).__name__.lower()}{a.shape}")
    kw = ", ".join(f"{k}={_kw(v)}" for k, v in c.kwargs.items())
    return " x ".join(parts) + (f" ({kw})" if kw else "")


def _kw(v: Any) -> str:
    return f"mbtorch.{v.name}" if isinstance(v, mt.dtype) else repr(v)


def special_samples(n_tensors: int, dtype: mt.dtype, tier: str, start: int,
                    scalar_rhs: Sequence[Any] = ()) -> Iterator[Sample]:
    """Special values alone (unary), as all pairs (binary), and against scalars."""
    v = special_values(dtype, tier)
    if n_tensors == 1:
        yield Sample([v], {}, f"special values {v.size}", start, special=True)
    elif n_tensors == 2:
        a, b = np.meshgrid(v, v, indexing="ij")
        yield Sample([a.copy(), b.copy()], {}, f"special value pairs {a.shape}", start,
                     special=True)
        for k, s in enumerate(scalar_rhs):
            yield Sample([v, s], {}, f"special values x scalar {s!r}", start + 1 + k,
                         special=True)


# -- case lists shared by many entries --------------------------------------------------------
_STD, _FULL = ("standard", "full"), ("full",)
UNARY = [
    case(()), case((0,)), case((1,), tiers=_STD), case((7,)), case((3, 5)),
    case((2, 3, 4)), case((4, 1, 3), tiers=_STD), case((0, 3), tiers=_STD),
    case((33, 17), tiers=_STD), case((2, 3, 4, 5), tiers=_FULL), case((257,), tiers=_FULL),
]
BINARY = [
    case((), ()), case((5,), ()), case((), (5,), tiers=_STD), case((3, 4), (3, 4)),
    case((3, 1), (1, 4)), case((2, 3, 4), (4,), tiers=_STD), case((0, 3), (3,), tiers=_STD),
    case((2, 0), (2, 1), tiers=_STD), case((1,), (6,), tiers=_STD),
    case((17, 9), (17, 9), tiers=_STD), case((2, 1, 4, 5), (3, 1, 5), tiers=_FULL),
    case((64, 33), (64, 33), tiers=_FULL),
]
TERNARY = [
    case((), (), ()), case((5,), (5,), (5,)), case((3, 4), (3, 1), (4,)),
    case((2, 3, 4), (2, 3, 4), (2, 3, 4), tiers=_STD), case((0, 2), (2,), (1, 2), tiers=_STD),
    case((4, 1), (1, 5), (4, 5), tiers=_STD), case((1,), (6,), (), tiers=_STD),
    case((9, 7), (9, 7), (9, 7), tiers=_STD), case((5, 6, 7), (6, 7), (7,), tiers=_FULL),
]

# -- lengths that cross the blocking boundaries of reductions, scans, sorts and tiles ----------
BLOCK_LENGTHS = (63, 65, 127, 129, 255, 257, 1023, 1025, 4095, 4097)
"""Just below and above 64, 128, 256, 1024 and 4096 (blocks, warps, work groups, tiles);
257 is prime, so are 127 and 8191."""
LONGEST = 65537  # 2**16 + 1, prime: one element past the last full block of any power of two
LONG_STD = (65, 257, 1025, 4097, LONGEST)  # the standard tier's: one past each block size
LONG_FULL = tuple(sorted(set(BLOCK_LENGTHS) - set(LONG_STD))) + (8191,)  # the rest, full tier
