"""Random sampling on the ``PHILOX`` primitive: ``rand``, ``randn``, ``randint``, ``randperm``
(+ ``_like``), ``bernoulli``, ``normal`` and the in-place ``uniform_``, ``normal_``,
``random_``, ``bernoulli_``, ``exponential_``.

Every sampler draws 32-bit words from a generator (``_generator.words``) on the target device
and turns them into values with ordinary mbtorch ops, so the values are the same on every
backend. How words become values (the contract the conformance suite checks):

- uniform [0, 1) of a float dtype with ``p`` significand bits (float16 11, bfloat16 8,
  float32 24): one word ``w`` per value, ``(w >> (32 - p)) * 2**-p``; float64: two words
  ``a, b`` per value, ``((a >> 5) * 2**26 + (b >> 6)) * 2**-53``. Each value is exact in its
  dtype, so 1.0 never appears.
- normal: Box-Muller, one value per pair of uniforms ``u1, u2`` (the first ``n`` and the next
  ``n`` uniforms): ``sqrt(-2 log(1 - u1)) * cos(2 pi u2)``, computed in float32 (float64 for
  float64 results).
- integers in ``[low, high)``: two words per value make a 63-bit ``v = (a >> 1) * 2**32 + b``;
  the value is ``low + v mod (high - low)``. The modulo bias is at most
  ``(high - low) / 2**63``, negligible for every practical range; a range wider than ``2**63``
  is refused.
- ``randperm(n)``: 63-bit keys as above, one per element, stably sorted; the permutation is
  the sort's index output.
"""

from __future__ import annotations

import math
from typing import Any

from .. import dtypes as _dt
from ..meta import check_nonnegative_shape, check_shape_arg
from ..op import Op
from ..tensor import Tensor, method_table
from . import binary as _b
from . import unary as _u
from ._common import cast, check_dtype_supported, resolve_device, run
from ._generator import (  # noqa: F401 - re-exported through mbtorch
    Generator,
    check_generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
    words,
)
from .copying import copy_
from .creation import _NO_SIZE, size_args
from .views import select, view

__all__ = [
    "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "bernoulli",
    "normal", "Generator", "default_generator", "get_rng_state", "initial_seed", "manual_seed",
    "seed", "set_rng_state",
]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_SIGNIFICAND = {_dt.float16: 11, _dt.bfloat16: 8, _dt.float32: 24, _dt.float64: 53}
_TWO_PI = 2.0 * math.pi


# -- words to values ------------------------------------------------------------------------
def _numel(shape: tuple) -> int:
    return math.prod(shape)


def uniforms(shape: tuple, k: int, dtype: _dt.dtype, d: Any, be: Any, g: Generator) -> list:
    """``k`` independent tensors of ``shape`` uniform on [0, 1) in float ``dtype``."""
    bits = _SIGNIFICAND[dtype]
    per = 2 if bits > 32 else 1
    w = view(words(k * per * _numel(shape), d, be, g), (k, per) + shape)
    out = []
    for i in range(k):
        wi = select(w, 0, i)
        if per == 1:
            v = _b.floor_divide(select(wi, 0, 0), 1 << (32 - bits))
        else:
            hi = _b.floor_divide(select(wi, 0, 0), 1 << 5)
            v = _b.add(_b.mul(hi, 1 << 26), _b.floor_divide(select(wi, 0, 1), 1 << 6))
        out.append(_b.mul(cast(v, dtype), 2.0 ** -bits))
    return out


def _compute_dtype(dtype: _dt.dtype) -> _dt.dtype:
    return _dt.float64 if dtype is _dt.float64 else _dt.float32


def std_normal(shape: tuple, dtype: _dt.dtype, d: Any, be: Any, g: Generator) -> Tensor:
    """Standard normal values of float ``dtype`` (Box-Muller, see the module docstring)."""
    cd = _compute_dtype(dtype)
    u1, u2 = uniforms(shape, 2, cd, d, be, g)
    radius = _u.sqrt(_b.mul(_u.log(_b.sub(1.0, u1)), -2.0))
    return cast(_b.mul(radius, _u.cos(_b.mul(u2, _TWO_PI))), dtype)


def integers(shape: tuple, low: int, high: int, d: Any, be: Any, g: Generator,
             op: str) -> Tensor:
    """int64 values uniform on ``[low, high)`` (see the module docstring for the bias)."""
    span = high - low
    if span > 1 << 63:
        raise RuntimeError(f"{op}(): ranges wider than 2**63 are not supported (got "
                           f"[{low}, {high}))")
    w = view(words(2 * _numel(shape), d, be, g), (2,) + shape)
    v = _b.add(_b.mul(_b.floor_divide(select(w, 0, 0), 2), 1 << 32), select(w, 0, 1))
    if span < 1 << 63:
        v = _b.remainder(v, span)
    return _b.add(v, low) if low else v


# -- argument checks ------------------------------------------------------------------------
def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype: Any, op: str) -> _dt.dtype:
    dt_ = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype, op)
    if dt_.category != _dt.FLOATING_CATEGORY:
        raise NotImplementedError(f"{op}(): not implemented for '{dt_.name}'; expected a "
                                  "floating point dtype")
    return dt_


def _setup(size: tuple, dtype: _dt.dtype, device: Any, op: str) -> tuple:
    shape = check_shape_arg(size, op)
    check_nonnegative_shape(shape, op)
    d, be = resolve_device(device, op)
    check_dtype_supported(be, dtype, op)
    return shape, d, be


def _dtype_bounds(dtype: _dt.dtype) -> tuple[int, int]:
    """The integer range a dtype holds exactly (floats: their contiguous integers)."""
    if dtype.category == _dt.FLOATING_CATEGORY:
        edge = 1 << _SIGNIFICAND[dtype]
        return -edge, edge
    if dtype is _dt.bool:
        return 0, 1
    bits = dtype.itemsize * 8
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if dtype.is_signed else (0, (1 << bits) - 1)


def _check_range(low: int, high: int, dtype: _dt.dtype, op: str, names=("low", "high")) -> None:
    if low >= high:
        raise RuntimeError(f"{op}(): expected '{names[0]}' to be less than '{names[1]}', but "
                           f"got {names[0]}={low} >= {names[1]}={high}")
    lo, hi = _dtype_bounds(dtype)
    if not lo <= low <= hi:
        raise RuntimeError(f"{op}(): {names[0]}={low} is out of bounds for {dtype.name}")
    if not lo <= high - 1 <= hi:
        raise RuntimeError(f"{op}(): {names[1]} - 1 = {high - 1} is out of bounds for "
                           f"{dtype.name}")


def _int_arg(value: Any, op: str, arg: str) -> int:
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}(): argument '{arg}' must be int, not {type(value).__name__}")
    return int(value)


# -- creation -------------------------------------------------------------------------------
def rand(*args: Any, size: Any = _NO_SIZE, generator: Generator | None = None,
         dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1): ``mbtorch.rand(2, 3)``, ``mbtorch.rand(size=(2, 3))``."""
    dt_ = _float_dtype(dtype, "rand")
    shape, d, be = _setup(size_args(args, size, "rand"), dt_, device, "rand")
    g = check_generator(generator, "rand")
    return _finish(uniforms(shape, 1, dt_, d, be, g)[0], requires_grad)


def randn(*args: Any, size: Any = _NO_SIZE, generator: Generator | None = None,
          dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal: ``mbtorch.randn(2, 3)``, ``mbtorch.randn(size=(2, 3))``; a complex
    dtype draws the real and imaginary parts each with variance 1/2, as PyTorch's."""
    if isinstance(dtype, _dt.dtype) and dtype.is_complex:
        from .complex import view_as_complex

        shape = check_shape_arg(size_args(args, size, "randn"), "randn")
        pairs = randn(*shape, 2, generator=generator, dtype=dtype.to_real(), device=device)
        return _finish(view_as_complex(_b.mul(pairs, math.sqrt(0.5))), requires_grad)
    dt_ = _float_dtype(dtype, "randn")
    shape, d, be = _setup(size_args(args, size, "randn"), dt_, device, "randn")
    g = check_generator(generator, "randn")
    return _finish(std_normal(shape, dt_, d, be, g), requires_grad)


def randint(*args: Any, size: Any = None, low: Any = None, high: Any = None,
            generator: Generator | None = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """Integers on ``[low, high)``: ``randint(10, (3,))``, ``randint(-5, 5, size=(2, 2))``."""
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        high = args[0]
    elif args:
        raise TypeError(f"randint(): expected (high, size) or (low, high, size), got "
                        f"{len(args)} numbers")
    if high is None or size is None:
        raise TypeError("randint(): missing required arguments 'high' and 'size'")
    low = 0 if low is None else _int_arg(low, "randint", "low")
    high = _int_arg(high, "randint", "high")
    dt_ = _dt.int64 if dtype is None else _dt.as_dtype(dtype, "randint")
    _check_range(low, high, dt_, "randint")
    shape, d, be = _setup((size,), dt_, device, "randint")
    g = check_generator(generator, "randint")
    return _finish(cast(integers(shape, low, high, d, be, g, "randint"), dt_), requires_grad)


def randperm(n: int, *, generator: Generator | None = None, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1``."""
    n = _int_arg(n, "randperm", "n")
    dt_ = _dt.int64 if dtype is None else _dt.as_dtype(dtype, "randperm")
    shape, d, be = _setup((n,), dt_, device, "randperm")
    if n > 0 and n - 1 > _dtype_bounds(dt_)[1]:
        raise RuntimeError(f"randperm(): n={n} is too large for dtype {dt_.name}")
    g = check_generator(generator, "randperm")
    keys = integers(shape, 0, 1 << 63, d, be, g, "randperm")
    meta = [(shape, _dt.int64), (shape, _dt.int64)]
    _, perm = run(Op.SORT, (keys,), (0, False), meta, d, be)
    return _finish(cast(perm, dt_), requires_grad)


def _like_target(input: Any, dtype: Any, device: Any, op: str) -> tuple:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    dt_ = input._dtype if dtype is None else _dt.as_dtype(dtype, op)
    return dt_, (input._device if device is None else device)


def rand_like(input: Tensor, *, generator: Generator | None = None, dtype: Any = None,
              device: Any = None, requires_grad: bool = False) -> Tensor:
    dt_, dev = _like_target(input, dtype, device, "rand_like")
    return rand(input._shape, generator=generator, dtype=dt_, device=dev,
                requires_grad=requires_grad)


def randn_like(input: Tensor, *, generator: Generator | None = None, dtype: Any = None,
               device: Any = None, requires_grad: bool = False) -> Tensor:
    dt_, dev = _like_target(input, dtype, device, "randn_like")
    return randn(input._shape, generator=generator, dtype=dt_, device=dev,
                 requires_grad=requires_grad)


def randint_like(input: Tensor, low: Any = 0, high: Any = None, *,
                 generator: Generator | None = None, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
    """``randint_like(x, high)`` or ``randint_like(x, low, high)``; dtype defaults to x's."""
    if high is None:
        low, high = 0, low
    dt_, dev = _like_target(input, dtype, device, "randint_like")
    return randint(low, high, input._shape, generator=generator, dtype=dt_, device=dev,
                   requires_grad=requires_grad)


# -- distributions over given parameters ------------------------------------------------------
def _check_probabilities(p: Tensor, op: str) -> None:
    bad = _b.logical_or(_b.lt(p, 0), _b.gt(p, 1))
    if bad.numpy(force=True).any():
        raise RuntimeError(f"{op}(): expected all probabilities to be in [0, 1]")


def _check_std(std: Any, op: str) -> None:
    if isinstance(std, Tensor):
        if _b.lt(std, 0).numpy(force=True).any():
            raise RuntimeError(f"{op}(): normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"{op}(): normal expects std >= 0.0, but found std {std}")


def _bernoulli_values(p: Any, like: Tensor, g: Generator) -> Tensor:
    cd = _compute_dtype(like._dtype)
    u = uniforms(like._shape, 1, cd, like._device, like._be, g)[0]
    return _b.lt(u, cast(p, cd) if isinstance(p, Tensor) else float(p))


@tensor_method
def bernoulli(input: Tensor, p: Any = None, *, generator: Generator | None = None) -> Tensor:
    """0/1 draws with probabilities ``input`` (or the number ``p``), in ``input``'s dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input._dtype.category != _dt.FLOATING_CATEGORY:
        raise NotImplementedError(f"bernoulli(): not implemented for '{input._dtype.name}'; "
                                  "expected a floating point dtype")
    g = check_generator(generator, "bernoulli")
    if p is None:
        _check_probabilities(input, "bernoulli")
        p = input
    elif not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli(): expects p to be in [0, 1], but got p={p}")
    return cast(_bernoulli_values(p, input, g), input._dtype)


def normal(mean: Any, std: Any = 1.0, size: Any = None, *, generator: Generator | None = None,
           dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``mean + std * N(0, 1)``: tensors broadcast together, or two numbers and a ``size``."""
    g = check_generator(generator, "normal")
    _check_std(std, "normal")
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal(): with a number mean and std, 'size' is required")
        dt_ = _float_dtype(dtype, "normal")
        shape, d, be = _setup((size,), dt_, device, "normal")
        z = std_normal(shape, dt_, d, be, g)
        return _finish(_b.add(_b.mul(z, float(std)), float(mean)), requires_grad)
    # the broadcast shape, promoted dtype and device of mean and std, from one cheap op
    base = _b.add(mean, std) if len(tensors) == 2 else _b.mul(tensors[0], 0.0)
    if base._dtype.category != _dt.FLOATING_CATEGORY:
        raise NotImplementedError(f"normal(): not implemented for '{base._dtype.name}'; "
                                  "expected floating point mean or std")
    z = std_normal(base._shape, base._dtype, base._device, base._be, g)
    return _b.add(_b.mul(z, std), mean)


# -- in-place samplers ------------------------------------------------------------------------
def _float_self(self: Tensor, op: str) -> None:
    if self._dtype.category != _dt.FLOATING_CATEGORY:
        raise NotImplementedError(f"{op}(): not implemented for '{self._dtype.name}'; "
                                  "expected a floating point tensor")


@tensor_method
def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *,
             generator: Generator | None = None) -> Tensor:
    """Fill with values uniform on ``[a, b)`` (PyTorch's ``from``, ``to``)."""
    _float_self(self, "uniform_")
    if a > b:
        raise RuntimeError(f"uniform_(): expects to return a [from, to) range, but found "
                           f"from={a} > to={b}")
    g = check_generator(generator, "uniform_")
    u = uniforms(self._shape, 1, _compute_dtype(self._dtype), self._device, self._be, g)[0]
    return copy_(self, _b.add(_b.mul(u, float(b) - float(a)), float(a)))


@tensor_method
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *,
            generator: Generator | None = None) -> Tensor:
    _float_self(self, "normal_")
    _check_std(std, "normal_")
    g = check_generator(generator, "normal_")
    z = std_normal(self._shape, _compute_dtype(self._dtype), self._device, self._be, g)
    return copy_(self, _b.add(_b.mul(z, float(std)), float(mean)))


@tensor_method
def exponential_(self: Tensor, lambd: float = 1.0, *,
                 generator: Generator | None = None) -> Tensor:
    """Fill with Exp(``lambd``) draws: ``-log(1 - u) / lambd``."""
    _float_self(self, "exponential_")
    if not lambd > 0:
        raise RuntimeError(f"exponential_(): expects lambda > 0.0, but found lambda={lambd}")
    g = check_generator(generator, "exponential_")
    u = uniforms(self._shape, 1, _compute_dtype(self._dtype), self._device, self._be, g)[0]
    return copy_(self, _b.div(_u.neg(_u.log(_b.sub(1.0, u))), float(lambd)))


@tensor_method
def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *,
            generator: Generator | None = None) -> Tensor:
    """Fill with Cauchy(``median``, ``sigma``) draws: ``median + sigma tan(pi (u - 1/2))``."""
    if self._dtype.category != _dt.FLOATING_CATEGORY:
        raise RuntimeError("Cauchy distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified {self._dtype}")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    g = check_generator(generator, "cauchy_")
    u = uniforms(self._shape, 1, _compute_dtype(self._dtype), self._device, self._be, g)[0]
    t = _u.tan(_b.mul(_b.sub(u, 0.5), math.pi))
    return copy_(self, _b.add(_b.mul(t, float(sigma)), float(median)))


@tensor_method
def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *,
                generator: Generator | None = None) -> Tensor:
    """Fill with ``exp(N(mean, std^2))`` draws."""
    _float_self(self, "log_normal_")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    g = check_generator(generator, "log_normal_")
    z = std_normal(self._shape, _compute_dtype(self._dtype), self._device, self._be, g)
    return copy_(self, _u.exp(_b.add(_b.mul(z, float(std)), float(mean))))


@tensor_method
def geometric_(self: Tensor, p: float, *, generator: Generator | None = None) -> Tensor:
    """Fill with the number of Bernoulli(``p``) trials to the first success (1, 2, ...):
    ``ceil(log(1 - u) / log(1 - p))``; integer tensors too."""
    if self._dtype is _dt.bool:
        raise NotImplementedError("geometric_(): not implemented for 'Bool'")
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    g = check_generator(generator, "geometric_")
    cd = _compute_dtype(self._dtype)
    u = uniforms(self._shape, 1, cd, self._device, self._be, g)[0]
    k = _u.ceil(_b.div(_u.log1p(_u.neg(u)), math.log1p(-p)))
    return copy_(self, _u.where(_b.lt(k, 1.0), 1.0, k))  # u = 0 would give 0 trials


@tensor_method
def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Generator | None = None) -> Tensor:
    """Fill with 0/1 draws of probability ``p`` (a number or a broadcastable tensor)."""
    if isinstance(p, Tensor):
        _check_probabilities(p, "bernoulli_")
    elif not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_(): expects p to be in [0, 1], but got p={p}")
    g = check_generator(generator, "bernoulli_")
    return copy_(self, _bernoulli_values(p, self, g))


@tensor_method
def random_(self: Tensor, *args: Any, generator: Generator | None = None,
            **kwargs: Any) -> Tensor:
    """``random_()``: the dtype's whole range (floats: [0, 2**p]); ``random_(to)``: [0, to);
    ``random_(from, to)``: [from, to), ``to=None`` meaning the dtype's maximum."""
    names = ("from", "to")
    if len(args) > 2 or set(kwargs) - set(names):
        raise TypeError(f"random_(): expected (to) or (from, to), got {args} {kwargs}")
    bound = {"to": args[0]} if len(args) == 1 else dict(zip(names, args))
    if set(kwargs) & set(bound):
        raise TypeError(f"random_(): got multiple values for {sorted(set(kwargs) & set(bound))}")
    bound.update(kwargs)
    lo, hi = _dtype_bounds(self._dtype)
    low = _int_arg(bound.get("from", 0), "random_", "from")
    to = bound.get("to")
    high = hi + 1 if to is None else _int_arg(to, "random_", "to")
    _check_range(low, high, self._dtype, "random_", names)
    g = check_generator(generator, "random_")
    return copy_(self, integers(self._shape, low, high, self._device, self._be, g, "random_"))
