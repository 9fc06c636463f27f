"""In-place semantics: version counters, leaf errors, rebasing history, writes through views."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt


def leaf(values):
    return mt.tensor(values, dtype=mt.float64, requires_grad=True)


def np_(t):
    return t.detach().numpy()


def test_modified_saved_output_raises_at_backward():
    x = leaf([1.0, 2.0])
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: "
                       r"\[mbtorch.DoubleTensor \[2\]\], which is output 0 of CopyBackwards, "
                       r"is at version 1; expected version 0 instead"):
        y.sum().backward()


def test_modified_saved_input_raises_at_backward():
    x = leaf([1.0, 2.0])
    h = x * 1
    z = h.sin()
    h.mul_(2)
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0"):
        z.sum().backward()


def test_inplace_on_input_not_saved_is_fine():
    x = leaf([1.0, 2.0])
    h = x * 1
    y = h + 1  # add saves nothing
    h.add_(5)
    y.sum().backward()
    np.testing.assert_allclose(np_(x.grad), [1.0, 1.0])


def test_version_counter_is_shared_by_views_and_detach():
    x = mt.ones(3)
    v, d = x[1:], x.detach()
    assert x._version == 0
    v.add_(1)
    assert x._version == v._version == d._version == 1


def test_inplace_on_leaf_requiring_grad_raises():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                       "an in-place operation"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[0:1].mul_(2)
    with mt.no_grad():
        x.add_(1)  # allowed without grad mode (an optimizer step)
    assert np_(x).tolist() == [2.0]


def test_inplace_on_nonleaf_rebases_history():
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    a = x * 1
    a.mul_(w)  # keeps the original a for w's gradient, as PyTorch does
    a.sum().backward()
    np.testing.assert_allclose(np_(x.grad), [3.0, 4.0])
    np.testing.assert_allclose(np_(w.grad), [1.0, 2.0])


def test_zero_and_fill_cut_the_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.zero_()
    (y + x).sum().backward()
    np.testing.assert_allclose(np_(x.grad), [1.0, 1.0])


def test_write_through_view_of_nonleaf():
    x = leaf([1.0, 2.0, 3.0])
    base = x * 1
    v = base[0:2]
    v.mul_(2)
    assert base.grad_fn.name() == "CopySlices"
    (base * mt.tensor([1.0, 10.0, 100.0], dtype=mt.float64)).sum().backward()
    np.testing.assert_allclose(np_(x.grad), [2.0, 20.0, 100.0])


def test_other_views_see_the_new_history():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    base = x * 1
    row, col = base[0], base[:, 0]  # overlap in base[0, 0]
    row.mul_(10)
    col.sum().backward()  # col[0] now depends on x[0, 0] through the write
    np.testing.assert_allclose(np_(x.grad), [[10.0, 0.0], [1.0, 0.0]])


def test_setitem_into_fresh_buffer():
    x = leaf([1.0, 2.0])
    buf = mt.zeros(2, 3, dtype=mt.float64)
    buf[0, 1:] = x * 3
    buf[1] = x.sum()
    assert buf.requires_grad and not buf.is_leaf
    (buf * mt.arange(6, dtype=mt.float64).reshape(2, 3)).sum().backward()
    np.testing.assert_allclose(np_(x.grad), [3 * 1 + 12, 3 * 2 + 12])


def test_copy_into_plain_tensor():
    x = leaf([1.0, 2.0])
    buf = mt.empty(2, dtype=mt.float64)
    buf.copy_(x * 2)
    assert buf.grad_fn.name() == "CopyBackwards"
    buf.sum().backward()
    np.testing.assert_allclose(np_(x.grad), [2.0, 2.0])


def test_inplace_matches_torch():
    torch = pytest.importorskip("torch")

    def program(lib, x):
        base = x * 1
        base[1:].mul_(base[:-1].detach() + 1)
        base[0] = base[2] * 3
        base.exp_()
        return base.sum()

    mx = leaf([0.1, 0.2, 0.3, 0.4])
    tx = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64, requires_grad=True)
    program(mt, mx).backward()
    program(torch, tx).backward()
    np.testing.assert_allclose(np_(mx.grad), tx.grad.numpy(), rtol=1e-12)
