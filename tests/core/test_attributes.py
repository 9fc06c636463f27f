"""``is_tensor``, ``is_floating_point``, ``is_nonzero``, ``numel`` and ``Tensor.type_as``
(``attributes.py``) against PyTorch."""

import pytest

import mbtorch as mt

torch = pytest.importorskip("torch")


def test_predicates_match_torch():
    for obj in (mt.tensor([1.0]), mt.nn.Parameter(mt.ones(2))):
        assert mt.is_tensor(obj)
    for obj in (3, [1.0], None, torch.tensor([1.0])):
        assert not mt.is_tensor(obj)
    for dtype in ("float16", "bfloat16", "float32", "float64", "int64", "uint8", "bool"):
        m, t = mt.zeros(2, dtype=getattr(mt, dtype)), torch.zeros(2, dtype=getattr(torch, dtype))
        assert mt.is_floating_point(m) == torch.is_floating_point(t)
    assert mt.numel(mt.ones(2, 3)) == 6 and mt.numel(mt.zeros(0, 4)) == 0
    assert mt.numel(mt.tensor(1.0)) == 1
    with pytest.raises(TypeError):
        mt.is_floating_point(1.0)
    with pytest.raises(TypeError):
        mt.numel([1, 2])


def test_is_nonzero_matches_torch():
    for value in ([0.5], [0], 0.0, [[True]], [False]):
        assert mt.is_nonzero(mt.tensor(value)) == torch.is_nonzero(torch.tensor(value))
    assert mt.tensor([3]).is_nonzero() is True
    with pytest.raises(RuntimeError, match="no values"):
        mt.is_nonzero(mt.zeros(0))
    with pytest.raises(RuntimeError, match="more than one value"):
        mt.is_nonzero(mt.tensor([1, 0]))


def test_type_as_converts_dtype_and_keeps_identity():
    x = mt.tensor([1.7, -2.2])
    out = x.type_as(mt.tensor([1]))
    assert out.dtype is mt.int64
    assert out.tolist() == torch.tensor([1.7, -2.2]).type_as(torch.tensor([1])).tolist()
    assert x.type_as(mt.ones(3)) is x
    assert x.t().type_as(mt.ones(1, dtype=mt.float64)).dtype is mt.float64
    with pytest.raises(TypeError):
        x.type_as(1.0)
