"""Lazy layers against PyTorch: after the first call they become the ordinary class with the
inferred sizes, the same state-dict keys and repr, and compute the same values and gradients
(torch's initialised weights copied in)."""

from __future__ import annotations

import pytest

import mbtorch as mt
from tests.nn._compare import check_module, randn, to_mt

torch = pytest.importorskip("torch")

CASES = [
    ("LazyLinear", (3,), {}, (4, 5)), ("LazyLinear", (2,), {"bias": False}, (5,)),
    ("LazyConv1d", (4, 3, 2), {}, (3, 9)), ("LazyConv2d", (4, 3), {"padding": 1}, (2, 3, 6, 6)),
    ("LazyConv3d", (2, 2), {"groups": 1}, (1, 3, 3, 4, 3)),
    ("LazyConvTranspose1d", (4, 3), {"stride": 2, "output_padding": 1}, (2, 3, 5)),
    ("LazyConvTranspose2d", (4, 3), {"stride": 2}, (2, 3, 4, 4)),
    ("LazyConvTranspose3d", (2, 2), {}, (1, 3, 3, 3, 3)),
    ("LazyBatchNorm1d", (), {}, (4, 3)), ("LazyBatchNorm2d", (), {"momentum": None},
                                          (2, 3, 4, 4)),
    ("LazyBatchNorm3d", (), {"affine": False}, (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 5)),
    ("LazyInstanceNorm2d", (), {"affine": False, "track_running_stats": False}, (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), {"track_running_stats": False}, (1, 2, 3, 3, 3)),
]


@pytest.mark.parametrize("name,args,kw,shape", CASES, ids=lambda v: str(v))
def test_lazy_layers(name, args, kw, shape):
    t, m = getattr(torch.nn, name)(*args, **kw), getattr(mt.nn, name)(*args, **kw)
    assert m.has_uninitialized_params() == t.has_uninitialized_params()
    x = randn(torch, *shape)
    t(x)
    m(to_mt(x))
    assert type(m).__name__ == type(t).__name__ and not name.startswith(type(m).__name__)
    assert isinstance(m, getattr(mt.nn, type(t).__name__))
    assert list(m.state_dict()) == list(t.state_dict())
    assert repr(m) == repr(t)
    for key, value in m.state_dict().items():
        assert tuple(value.shape) == tuple(t.state_dict()[key].shape), key
    check_module(t, m, x, rtol=1e-4, atol=1e-5)


def test_lazy_load_state_dict_and_errors():
    src = mt.nn.Linear(5, 3)
    lazy = mt.nn.LazyLinear(3)
    lazy.load_state_dict(src.state_dict())
    assert type(lazy) is mt.nn.Linear and lazy.weight.shape == (3, 5)
    out = lazy(mt.randn(2, 5))
    assert out.shape == (2, 3)
    unready = mt.nn.LazyLinear(3)
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
        _ = unready.weight.shape
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        mt.nn.LazyConv2d(4, 3, groups=2)(mt.randn(1, 3, 5, 5))
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D"):
        mt.nn.LazyConv2d(4, 3)(mt.randn(5, 5))
    p = mt.nn.UninitializedParameter()
    p.materialize((2, 3))
    assert type(p) is mt.nn.Parameter and p.shape == (2, 3) and p.requires_grad
