"""View ops against PyTorch: values, shapes, strides and storage offsets, shared storage (a
write through a view reaches its base, and the base's writes show in the view), and errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

ARR = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

VIEWS = [
    ("view", lambda x: x.view(6, 4)), ("view-1", lambda x: x.view(-1)),
    ("view_tuple", lambda x: x.view((4, -1))), ("reshape", lambda x: x.reshape(3, 8)),
    ("permute", lambda x: x.permute(2, 0, 1)), ("permute_neg", lambda x: x.permute(-1, 1, 0)),
    ("transpose", lambda x: x.transpose(0, 2)), ("swapaxes", lambda x: x.swapaxes(1, -1)),
    ("mT", lambda x: x.mT), ("t", lambda x: x[0].t()), ("T2d", lambda x: x[1].T),
    ("expand", lambda x: x[:, :1].expand(2, 5, 4)), ("expand-1", lambda x: x.expand(3, -1, -1,
                                                                                    -1)),
    ("squeeze", lambda x: x[:, :1].squeeze()), ("squeeze_dim", lambda x: x[:, :1].squeeze(1)),
    ("squeeze_noop", lambda x: x.squeeze(0)), ("squeeze_tuple", lambda x: x[:1, :1].squeeze((0,
                                                                                            1))),
    ("unsqueeze", lambda x: x.unsqueeze(1)), ("unsqueeze_neg", lambda x: x.unsqueeze(-1)),
    ("select", lambda x: x.select(1, -1)), ("narrow", lambda x: x.narrow(2, 1, 2)),
    ("narrow_neg", lambda x: x.narrow(-1, -3, 2)), ("diagonal", lambda x: x.diagonal()),
    ("diagonal_off", lambda x: x.diagonal(1, 1, 2)), ("diagonal_neg", lambda x: x.diagonal(-1,
                                                                                          2, 1)),
    ("unfold", lambda x: x.unfold(2, 2, 1)), ("unfold_step", lambda x: x.unfold(1, 2, 2)),
    ("flatten", lambda x: x.flatten()), ("flatten_part", lambda x: x.flatten(1)),
    ("unflatten", lambda x: x.unflatten(2, (2, 2))), ("unflatten-1", lambda x: x.unflatten(
        -1, (-1, 2))),
    ("movedim", lambda x: x.movedim(0, -1)), ("movedim_seq", lambda x: x.movedim((0, 1), (2, 0))),
    ("chain", lambda x: x.transpose(0, 1)[1:, ::2].unsqueeze(0).select(3, 1)),
    ("expand_as", lambda x: x[:1].expand_as(x)), ("view_as", lambda x: x.view(24).view_as(x)),
]


@pytest.mark.parametrize("name, fn", VIEWS, ids=[v[0] for v in VIEWS])
def test_view_values_strides_offset_match_torch(name, fn):
    x, tx = mt.tensor(ARR), torch.tensor(ARR)
    y, ty = fn(x), fn(tx)
    assert_close(y, ty)
    assert y.stride() == ty.stride(), name
    assert y.storage_offset() == ty.storage_offset(), name
    assert y.is_contiguous() == ty.is_contiguous(), name


# expand and overlapping unfold windows alias elements: writes through them are not defined
WRITABLE = [v for v in VIEWS if not v[0].startswith("expand") and v[0] != "unfold"]


@pytest.mark.parametrize("name, fn", WRITABLE, ids=[v[0] for v in WRITABLE])
def test_write_through_view_reaches_base(name, fn):
    x, tx = mt.tensor(ARR.copy()), torch.tensor(ARR.copy())
    y, ty = fn(x), fn(tx)
    if y.numel() == 0:
        return
    y.mul_(-1.0)
    ty.mul_(-1.0)
    assert_close(x, tx)
    x.add_(1.0)  # base writes show in the view
    assert_close(y, ty + 1.0)


def test_views_of_non_contiguous_and_empty():
    x = mt.tensor(ARR).transpose(0, 2)  # (4, 3, 2), strided
    tx = torch.tensor(ARR).transpose(0, 2)
    assert_close(x.reshape(12, 2), tx.reshape(12, 2))
    assert x.reshape(12, 2)._base is not x._base  # not viewable: reshape copies
    assert x.reshape(2, 2, 3, 2)._base is x._base  # viewable: reshape is a view
    assert_close(x.unsqueeze(1).expand(4, 5, 3, 2), tx.unsqueeze(1).expand(4, 5, 3, 2))
    assert_close(x[1:3].flatten(1), tx[1:3].flatten(1))
    e, te = mt.zeros(0, 3), torch.zeros(0, 3)
    for fn in (lambda t: t.view(3, 0), lambda t: t.t(), lambda t: t.unsqueeze(0),
               lambda t: t.reshape(-1, 3), lambda t: t.narrow(1, 1, 2)):
        assert fn(e).shape == tuple(fn(te).shape)
    s = mt.tensor(5.0)
    assert s.view(1, 1).shape == (1, 1) and s.reshape(()).shape == ()
    assert s.t().item() == 5.0 and s.flatten().shape == (1,)
    assert s.unsqueeze(0).shape == (1,) and s.squeeze().shape == ()


def test_view_identity_and_versions():
    x = mt.tensor(ARR.copy())
    y = x.view(6, 4)
    assert y._base is x and y.view(24)._base is x  # views of views point to the root
    y[0, 0] = 7.0
    assert x._version == y._version and x._version > 0
    z = x.detach()
    z[0, 0, 1] = 9.0
    assert x[0, 0, 1].item() == 9.0


@pytest.mark.parametrize("fn, exc, match", [
    (lambda x: x.view(5, 5), RuntimeError, "shape '[5, 5]' is invalid for input of size 24"),
    (lambda x: x.view(-1, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda x: x.transpose(0, 1).view(24), RuntimeError, "view size is not compatible"),
    (lambda x: x.permute(0, 1), RuntimeError, "number of dimensions in the tensor input does "
                                              "not match"),
    (lambda x: x.permute(0, 1, 1), RuntimeError, "duplicate dims"),
    (lambda x: x.transpose(0, 3), IndexError, "Dimension out of range (expected to be in range "
                                              "of [-3, 2], but got 3)"),
    (lambda x: x.t(), RuntimeError, "t() expects a tensor with <= 2 dimensions, but self is 3D"),
    (lambda x: x.expand(2, 5, 4), RuntimeError, "The expanded size of the tensor (5) must "
                                                "match the existing size (3) at non-singleton "
                                                "dimension 1"),
    (lambda x: x.expand(3, 4), RuntimeError, "the number of sizes provided (2) must be greater "
                                             "or equal to the number of dimensions in the "
                                             "tensor (3)"),
    (lambda x: x.select(1, 3), IndexError, "index 3 out of range"),
    (lambda x: x.narrow(2, 3, 2), RuntimeError, "exceeds dimension size"),
    (lambda x: x.diagonal(0, 1, 1), RuntimeError, "diagonal dimensions cannot be identical"),
    (lambda x: x.unfold(2, 5, 1), RuntimeError, "maximum size for tensor at dimension 2 is 4 but "
                                                "size is 5"),
    (lambda x: x.unfold(2, 2, 0), RuntimeError, "step is 0 but must be > 0"),
    (lambda x: x.flatten(2, 1), RuntimeError, "start_dim cannot come after end_dim"),
    (lambda x: x.unflatten(1, (2, 2)), RuntimeError, "is invalid for input of size 3"),
    (lambda x: x.movedim((0, 1), (2,)), RuntimeError, "Invalid source or destination dims"),
    (lambda x: x.unsqueeze(4), IndexError, "Dimension out of range"),
    (lambda x: x.squeeze(3), IndexError, "Dimension out of range"),
])
def test_view_errors(fn, exc, match):
    import re

    with pytest.raises(exc, match=re.escape(match)):
        fn(mt.tensor(ARR))
    with pytest.raises(exc):  # torch rejects the same call with the same type
        fn(torch.tensor(ARR))


def test_unfold_of_a_zero_dim_tensor_is_a_view():
    x = mt.tensor(5.0)
    u = x.unfold(0, 1, 1)
    t = torch.tensor(5.0).unfold(0, 1, 1)
    assert tuple(u.shape) == tuple(t.shape) == (1,) and u.stride() == t.stride()
    x.fill_(3.0)
    assert u.tolist() == [3.0]
    assert tuple(x.unfold(0, 0, 1).shape) == tuple(torch.tensor(5.0).unfold(0, 0, 1).shape)


def test_diagonal_of_fewer_than_two_dims_is_an_index_error():
    for x in (mt.ones(3), mt.tensor(1.0)):
        with pytest.raises(IndexError, match="Dimension out of range"):
            x.diagonal()


def test_copy_into_an_empty_transposed_view():
    base = mt.zeros(2, 0)
    view = base.transpose(0, 1)
    assert view.copy_(mt.ones(2)) is view
    assert tuple(view.shape) == (0, 2)
