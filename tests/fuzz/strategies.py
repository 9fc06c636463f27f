"""Hypothesis strategies and the oracle comparison shared by the fuzz tests.

A drawn case is a NumPy array (the logical values) plus a layout (how the tensor is laid out:
contiguous, permuted, sliced with a step, or expanded from size-1 dims). :func:`build` makes
the same non-contiguous view on mbtorch and on PyTorch from it, so both libraries see the same
values through the same kind of strides. :func:`compare` runs one callable on both and checks
error parity, dtype, shape and values.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
torch = pytest.importorskip("torch")

from hypothesis import strategies as st  # noqa: E402

import mbtorch as mt  # noqa: E402

__all__ = ["DTYPES", "FLOATS", "INTS", "arrays", "build", "compare", "compare_values",
           "layouts", "mutual_shapes", "np_dtype", "scalars", "shapes", "tensor_case",
           "torch_exc_type"]

DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64",
          "float16", "bfloat16", "float32", "float64")
FLOATS = ("float16", "bfloat16", "float32", "float64")
INTS = ("uint8", "int8", "int16", "int32", "int64")

# Value ranges per dtype: wide enough for 8/16-bit wrap-around (which PyTorch defines by
# computing in int and truncating) but small for int32/int64, where overflow is undefined
# behaviour in PyTorch's C++ kernels and INT_MIN // -1 traps.
_INT_RANGE = {"uint8": (0, 255), "int8": (-128, 127), "int16": (-300, 300),
              "int32": (-1000, 1000), "int64": (-1000, 1000)}
_SPECIAL = (0.0, -0.0, 0.5, 1.0, -1.0, 2.0, -2.5, 3.0, math.inf, -math.inf, math.nan)


def np_dtype(name: str) -> np.dtype:
    """The NumPy dtype holding the values of dtype ``name`` (bfloat16 through ml_dtypes)."""
    if name not in _NP_DTYPES:
        _NP_DTYPES[name] = np.dtype(mt.tensor([], dtype=getattr(mt, name)).numpy().dtype)
    return _NP_DTYPES[name]


_NP_DTYPES: dict[str, np.dtype] = {}


# A side of 0 one time in ten (hypothesis shrinks towards it); the strategies below are built
# from a few integer draws each, since hypothesis.extra.numpy's array and broadcast-shape
# strategies cost tens of milliseconds per example.
_SIDE = st.sampled_from((0, 1, 1, 2, 2, 3, 3, 4, 4, 5))


def shapes(min_dims: int = 0, max_dims: int = 3):
    """Shapes including 0-d and zero-size ones."""
    return _shape_lists(min_dims, max_dims).map(tuple)


@functools.lru_cache(maxsize=None)
def _shape_lists(min_dims: int, max_dims: int):
    return st.lists(_SIDE, min_size=min_dims, max_size=max_dims)


@st.composite
def mutual_shapes(draw, num: int = 2, max_dims: int = 3):
    """``num`` broadcast-compatible shapes: one full shape with, per operand, some leading
    dims dropped and some dims set to 1."""
    full = tuple(draw(_shape_lists(0, max_dims)))
    out = []
    for _ in range(num):
        kept = full[draw(_ints(0, len(full))):]
        ones = draw(_ints(0, 2 ** len(kept) - 1))
        out.append(tuple(1 if ones >> i & 1 else n for i, n in enumerate(kept)))
    return tuple(out)


@functools.lru_cache(maxsize=None)  # building and validating a strategy costs more than a draw
def _ints(lo: int, hi: int):
    return st.integers(lo, hi)


@functools.lru_cache(maxsize=None)
def _choice(options: tuple):
    return st.sampled_from(options)


@functools.lru_cache(maxsize=None)
def _pool(dtype: str, special: bool, lo=None, hi=None):
    return st.lists(_elements(dtype, special, lo, hi), min_size=1, max_size=5)


def _elements(dtype: str, special: bool, lo=None, hi=None):
    if dtype == "bool":
        return st.booleans()
    if dtype in INTS:
        dlo, dhi = _INT_RANGE[dtype]
        return st.integers(dlo if lo is None else max(lo, dlo), dhi if hi is None else min(hi, dhi))
    lo, hi = (-100.0 if lo is None else lo), (100.0 if hi is None else hi)
    pool = [v for v in _SPECIAL if special or math.isfinite(v)]
    pool = [v for v in pool if not math.isfinite(v) or lo <= v <= hi]
    width = 16 if dtype == "float16" else 32
    return st.one_of(st.sampled_from(pool), st.floats(lo, hi, width=width))


@st.composite
def arrays(draw, dtype: str, shape, special: bool = True, lo=None, hi=None):
    """Values of ``dtype`` and ``shape`` (float NaN/inf/-0.0 when ``special``), as the NumPy
    dtype of :func:`np_dtype` (bfloat16 values are rounded from float32): a pool of up to
    five drawn values spread over the shape by a drawn seed."""
    pool = draw(_pool(dtype, special, lo, hi))
    seed = draw(_ints(0, 2 ** 16))
    picks = np.random.default_rng(seed).integers(len(pool), size=shape) if seed else \
        np.zeros(shape, dtype=np.int64)
    wide = "bool" if dtype == "bool" else ("int64" if dtype in INTS else "float32")
    return np.asarray(np.array(pool, dtype=wide)[picks]).astype(np_dtype(dtype))


def scalars(special: bool = True):
    """Python numbers: bool, int or float."""
    floats = st.floats(-5, 5, width=32) if not special else st.one_of(
        st.floats(-5, 5, width=32), st.sampled_from([math.inf, -math.inf, math.nan]))
    return st.one_of(st.booleans(), st.integers(-5, 5), floats)


@st.composite
def layouts(draw, ndim: int):
    """How the tensor is laid out: ("plain",), ("perm", perm), ("step", dim) or ("expand",
    dims) — the last three only where the shape has enough dims."""
    kinds = ("plain",) + (("step", "expand") if ndim >= 1 else ()) + (
        ("perm",) if ndim >= 2 else ())
    kind = draw(_choice(kinds))
    if kind == "perm":
        return kind, tuple(draw(st.permutations(range(ndim))))
    if kind == "step":
        return kind, draw(_ints(0, ndim - 1))
    if kind == "expand":
        return kind, tuple(sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=1))))
    return (kind,)


@st.composite
def tensor_case(draw, dtype: str, shape=None, special: bool = True, lo=None, hi=None):
    """(values, layout) for one tensor argument."""
    shape = draw(shapes()) if shape is None else tuple(shape)
    layout = draw(layouts(len(shape)))
    if layout[0] == "expand":  # the expanded dims hold one value repeated
        small = tuple(1 if d in layout[1] else n for d, n in enumerate(shape))
        values = np.broadcast_to(draw(arrays(dtype, small, special, lo, hi)), shape).copy()
    else:
        values = draw(arrays(dtype, shape, special, lo, hi))
    return values, layout


def _to_torch_host(values: np.ndarray):
    if values.dtype.name == "bfloat16":
        return torch.from_numpy(values.astype(np.float32)).to(torch.bfloat16)
    return torch.from_numpy(values.copy(order="C"))  # ascontiguousarray makes 0-d 1-d


def build(values: np.ndarray, layout, device: str):
    """The mbtorch and torch tensors with ``values`` laid out as ``layout`` describes."""
    kind = layout[0]
    if kind == "perm":  # store the permuted values contiguously, permute back to a view
        perm = layout[1]
        base = values.transpose(perm).copy(order="C")
        back = tuple(int(d) for d in np.argsort(perm))
        return (mt.tensor(base, device=device).permute(*back),
                _to_torch_host(base).permute(*back))
    if kind == "step":  # every other element of a base twice as long along ``dim``
        dim = layout[1]
        base = np.repeat(values, 2, axis=dim)
        index = (slice(None),) * dim + (slice(None, None, 2),)
        return mt.tensor(base, device=device)[index], _to_torch_host(base)[index]
    if kind == "expand":
        small = (values[tuple(slice(0, 1) if d in layout[1] and n
                                                  else slice(None)
                                                  for d, n in enumerate(values.shape))]).copy()
        if 0 in values.shape:
            return mt.tensor(values, device=device), _to_torch_host(values)
        return (mt.tensor(small, device=device).expand(*values.shape),
                _to_torch_host(small).expand(*values.shape))
    return mt.tensor(values, device=device), _to_torch_host(values)


_BUILTIN_EXC = (IndexError, ValueError, TypeError, ZeroDivisionError, NotImplementedError,
                RuntimeError)


def torch_exc_type(exc: BaseException) -> type:
    """The built-in exception class a torch exception is (torch's own classes subclass one)."""
    for cls in type(exc).__mro__:
        if cls in _BUILTIN_EXC:
            return cls
    return Exception


def _tolerance(dtype: str, scale: float) -> tuple[float, float]:
    rtol = {"float16": 2e-3, "bfloat16": 1.6e-2, "float32": 2e-5, "float64": 1e-10}.get(
        dtype, 0.0)
    return rtol, rtol * scale


def _host(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        t = t.detach()
        return (t.float() if t.dtype is torch.bfloat16 else t).numpy()
    out = t.numpy(force=True)
    return out.astype(np.float32) if out.dtype.name == "bfloat16" else out


def compare_values(got, want, scale: float = 1.0, what: str = "result") -> None:
    """One mbtorch tensor against one torch tensor: dtype and shape exactly, then values
    (integers and bools exactly, floats within the dtype's tolerance; NaN where NaN)."""
    if isinstance(want, (bool, int, float)):
        assert type(got) is type(want) and (got == want or (got != got and want != want)), \
            f"{what}: {got!r} != {want!r}"
        return
    assert isinstance(got, mt.Tensor), f"{what}: {type(got).__name__} is not a Tensor"
    dname = str(want.dtype).split(".")[-1]
    assert str(got.dtype).split(".")[-1] == dname, f"{what}: dtype {got.dtype} != {want.dtype}"
    assert tuple(got.shape) == tuple(want.shape), f"{what}: shape {tuple(got.shape)} != " \
                                                  f"{tuple(want.shape)}"
    g, w = _host(got), _host(want)
    if w.dtype.kind in "biu":
        np.testing.assert_array_equal(g, w, err_msg=what)
        return
    rtol, atol = _tolerance(dname, scale)
    np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol,
                               atol=atol, equal_nan=True, err_msg=what)


def compare(fn, mt_args, torch_args, scale: float = 1.0) -> None:
    """Run ``fn(module, *args)`` with mbtorch and with torch: where torch raises, mbtorch
    must raise the same built-in exception type; where torch does not, mbtorch must not,
    and every output must match (tuples element by element)."""
    try:
        want = fn(torch, *torch_args)
    except Exception as exc:  # noqa: BLE001 - any torch error is the oracle's verdict
        _expect_raise(fn, mt_args, exc)
        return
    got = fn(mt, *mt_args)
    wants = tuple(want) if isinstance(want, tuple) else (want,)
    gots = tuple(got) if isinstance(got, tuple) else (got,)
    assert len(gots) == len(wants), f"{len(gots)} outputs != {len(wants)}"
    for i, (g, w) in enumerate(zip(gots, wants)):
        compare_values(g, w, scale, what=f"output {i}")


def _expect_raise(fn, mt_args, torch_exc: BaseException) -> None:
    expected = torch_exc_type(torch_exc)
    said = f"torch raised {type(torch_exc).__name__}: {torch_exc}"
    try:
        fn(mt, *mt_args)
    except expected:
        return
    except Exception as exc:  # noqa: BLE001 - reported with both messages
        raise AssertionError(f"{said}; mbtorch raised {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"{said}; mbtorch did not raise")
