"""In-place geometry (``t_``, ``squeeze_``, ``resize_``, ``set_``...), tensor metadata and
the CPU-only Python maps, against PyTorch."""

import warnings

import pytest
import torch

import mbtorch as mt


def _both(fn):
    return fn(mt), fn(torch)


@pytest.mark.parametrize("call", [
    lambda x: x.t_(), lambda x: x.transpose_(0, 1), lambda x: x.swapaxes_(0, 1),
    lambda x: x.swapdims_(1, 0), lambda x: x.unsqueeze_(1), lambda x: x.squeeze_(),
    lambda x: x.unsqueeze_(0).squeeze_((0,)),
])
def test_inplace_geometry_matches_torch(call):
    a = mt.arange(6.0).reshape(2, 3)
    b = torch.arange(6.0).reshape(2, 3)
    assert call(a) is a
    call(b)
    assert tuple(a.shape) == tuple(b.shape) and a.stride() == b.stride()
    assert a.tolist() == b.tolist() and a._version == b._version


def test_inplace_geometry_keeps_storage_sharing():
    base = mt.arange(6.0)
    v = base.view(2, 3)
    v.t_()
    assert v._base is base and v.stride() == (1, 3)
    v[0, 1] = 100.0
    assert base.tolist() == [0.0, 1.0, 2.0, 100.0, 4.0, 5.0]
    root = mt.arange(6.0).reshape(2, 3).contiguous()
    root.t_()
    root[0].fill_(9.0)
    assert root.tolist() == [[9.0, 9.0], [1.0, 4.0], [2.0, 5.0]]


def test_inplace_geometry_errors():
    leaf = mt.randn(2, 3, requires_grad=True)
    for call in (lambda x: x.t_(), lambda x: x.squeeze_(), lambda x: x.unsqueeze_(0)):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            call(leaf)
    with pytest.raises(RuntimeError, match="<= 2 dimensions"):
        mt.ones(2, 1, 3).t_()
    with pytest.raises(IndexError, match="out of range"):
        mt.ones(2, 1).unsqueeze_(3)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        leaf[0:1].t_()
    d = leaf.detach()
    assert d.t_().shape == (3, 2) and leaf.shape == (2, 3)
    with mt.no_grad():
        assert leaf.t_().shape == (3, 2)


def test_inplace_geometry_gradients():
    w = [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    grads = []
    for lib in (mt, torch):
        x = lib.ones(2, 3, requires_grad=True)
        y = x * 2
        y.t_()
        y.mul_(lib.tensor(w))
        y[0].add_(1.0)
        y.unsqueeze_(0).squeeze_(0)
        y.sum().backward()
        z = (x * 1.0)[0:2]
        z.transpose_(0, 1)
        (z * lib.tensor(w)).sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1]


def test_resize_():
    a, b = mt.arange(6.0), torch.arange(6.0)
    a.resize_(2, 2)
    b.resize_(2, 2)
    assert a.tolist() == b.tolist() and a._version == b._version
    a.resize_(3, 4)
    b.resize_(3, 4)
    assert a.shape == (3, 4) and a.stride() == b.stride()
    assert a.flatten()[:6].tolist() == b.flatten()[:6].tolist()
    t = mt.ones(3, 3)
    assert t.resize_as_(mt.ones(2)).tolist() == [1.0, 1.0]
    assert mt.resize_as_(mt.ones(3, 3), mt.ones(2)).shape == (2,)
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        mt.ones(2, requires_grad=True).resize_(4)
    with pytest.raises(RuntimeError, match="within its base's storage"):
        mt.ones(4)[:2].resize_(8)


def test_resize_deprecated_out_of_place():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = mt.ones(3, 3).resize(9)
    assert out.shape == (9,) and any("deprecated" in str(w.message) for w in caught)
    with pytest.raises(RuntimeError, match="requested resize to 8"), pytest.warns(UserWarning):
        mt.ones(3, 3).resize(8)
    with pytest.warns(UserWarning):
        assert mt.ones(2, 3).resize_as(mt.ones(6)).shape == (6,)


def test_set_and_is_set_to():
    b, c = mt.randn(2, 3), mt.ones(5)
    assert b.set_(c) is b and b.shape == (5,)
    assert b.is_set_to(c) and c.is_set_to(b) and not b.is_set_to(mt.ones(5))
    c[0] = 7.0
    assert b[0].item() == 7.0
    b.set_(c, 1, (2,), (2,))
    assert b.tolist() == torch.ones(5).set_(torch.ones(5), 1, (2,), (2,)).tolist()
    assert b.set_().shape == (0,)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        mt.randn(2, requires_grad=True).set_(mt.ones(3))
    with pytest.raises(NotImplementedError, match="derivative for 'set_'"):
        (mt.ones(3, requires_grad=True) * 2).set_(mt.zeros(2))
    with pytest.raises(NotImplementedError, match="derivative for 'set_'"):
        mt.zeros(3).set_(mt.ones(3, requires_grad=True))
    with pytest.raises(RuntimeError, match="scalar type"):
        mt.ones(2).set_(mt.ones(2, dtype=mt.int64))
    x = mt.ones(2, 3)
    assert x.is_set_to(x) and x.is_set_to(x[:]) and not x.is_set_to(x.t())


@pytest.mark.parametrize("shape,wrap", [((2, 3), False), ((7, 3), True), ((7, 3), False),
                                        ((3, 3, 3), False), ((3, 7), True)])
def test_fill_diagonal_(shape, wrap):
    a, b = mt.ones(*shape), torch.ones(*shape)
    assert a.fill_diagonal_(5.0, wrap=wrap) is a
    b.fill_diagonal_(5.0, wrap=wrap)
    assert a.tolist() == b.tolist()


def test_fill_diagonal_errors():
    with pytest.raises(RuntimeError, match="equal length"):
        mt.ones(2, 3, 4).fill_diagonal_(1)
    with pytest.raises(RuntimeError, match="larger than 1"):
        mt.ones(3).fill_diagonal_(1)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        mt.ones(3, 3, requires_grad=True).fill_diagonal_(5)
    assert mt.ones(3, 3).t_().fill_diagonal_(2.0).tolist() == \
        torch.ones(3, 3).t_().fill_diagonal_(2.0).tolist()
    assert mt.ones(3, 7).t().fill_diagonal_(2.0, wrap=True).tolist() == \
        torch.ones(3, 7).t().fill_diagonal_(2.0, wrap=True).tolist()
    assert mt.ones(3, 3, dtype=mt.int64).fill_diagonal_(2.5).tolist() == \
        torch.ones(3, 3, dtype=torch.int64).fill_diagonal_(2.5).tolist()
    grads = []
    for lib in (mt, torch):
        a = lib.ones(2, 3, requires_grad=True)
        y = a * 2
        y.fill_diagonal_(5.0)
        y.sum().backward()
        grads.append(a.grad.tolist())
    assert grads[0] == grads[1]


def test_metadata():
    a, b = mt.ones(2, 3), torch.ones(2, 3)
    assert a.nbytes == b.nbytes and a.ndimension() == b.ndimension() == 2
    assert a.output_nr == b.output_nr == 0 and a.name is None and b.name is None
    assert a.get_device() == b.get_device() == mt.get_device(a) == -1
    assert a.is_pinned() is b.is_pinned() is False
    assert a.is_shared() is False
    assert a[1].data_ptr() - a.data_ptr() == 12 and a.const_data_ptr() == a.data_ptr()
    assert mt.empty(0).data_ptr() == torch.empty(0).data_ptr() == 0
    with pytest.raises(TypeError, match="must be Tensor"):
        mt.get_device([1])


@pytest.mark.parametrize("make", [
    lambda lib: lib.empty(2, 3), lambda lib: lib.empty(4, 5, 6).permute(2, 0, 1),
    lambda lib: lib.empty(2, 3).expand(4, 2, 3), lambda lib: lib.empty(2, 1, 3),
    lambda lib: lib.empty(2, 3, 4, 5).permute(0, 2, 3, 1), lambda lib: lib.empty(3),
    lambda lib: lib.empty(3, 1).as_strided((3, 1), (1, 1)), lambda lib: lib.empty(5, 4).t(),
])
def test_dim_order(make):
    assert make(mt).dim_order() == make(torch).dim_order()


def test_dim_order_ambiguity():
    with pytest.raises(RuntimeError, match="unique dim order"):
        mt.empty(1, 2, 3).dim_order(ambiguity_check=True)
    assert mt.empty(2, 3).dim_order(ambiguity_check=True) == (0, 1)


def test_sum_to_size_narrow_copy_new_empty_strided():
    x = mt.arange(6.0).reshape(2, 3)
    xt = torch.arange(6.0).reshape(2, 3)
    for size in ((1, 3), (3,), ((2, 1),), (1, 1)):
        assert x.sum_to_size(*size).tolist() == xt.sum_to_size(*size).tolist()
    with pytest.raises(RuntimeError, match="not expandable"):
        x.sum_to_size(4, 3)
    n = x.narrow_copy(1, 1, 2)
    assert n.tolist() == xt.narrow_copy(1, 1, 2).tolist() and n._base is None
    with pytest.raises(RuntimeError, match="exceeds dimension size"):
        mt.ones(3).narrow_copy(0, 1, 5)
    e = x.new_empty_strided((2, 3), (1, 2), dtype=mt.int64)
    assert e.stride() == (1, 2) and e.dtype is mt.int64 and e.shape == (2, 3)
    e.fill_(4)
    assert e.tolist() == [[4, 4, 4], [4, 4, 4]]


def test_as_subclass_and_module_load():
    x = mt.ones(3, requires_grad=True)
    p = mt.ones(3).as_subclass(mt.nn.Parameter)
    assert type(p) is mt.nn.Parameter
    y = x.as_subclass(mt.Tensor)
    assert y.requires_grad and y.grad_fn is not None
    (y * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError, match="does not inherit from Tensor"):
        mt.ones(3).as_subclass(int)
    a = mt.ones(2)
    out = a.module_load(mt.zeros(2))
    assert out is not a and a.tolist() == [0.0, 0.0] and out.tolist() == [0.0, 0.0]
    other = mt.full((2,), 3.0)
    assert a.module_load(other, assign=True).tolist() == [3.0, 3.0] and a.tolist() == [0.0, 0.0]


def test_python_maps():
    def pairs(lib):
        a = lib.ones(3).apply_(lambda v: v * 2)
        b = lib.ones(3).map_(lib.arange(3.0), lambda p, q: p + q)
        c = lib.ones(3).map2_(lib.arange(3.0), lib.arange(3.0), lambda p, q, r: p + q * r)
        d = lib.ones(3, dtype=lib.int64).apply_(lambda v: v * 2.7)
        e = lib.ones(2, 3).map_(lib.arange(3.0), lambda p, q: p - q)
        return [t.tolist() for t in (a, b, c, d, e)]

    assert pairs(mt) == pairs(torch)
    with pytest.raises(RuntimeError, match="requires grad"):
        mt.ones(3, requires_grad=True).apply_(lambda v: v)
    with pytest.raises(RuntimeError, match="expanded size"):
        mt.ones(1).map_(mt.arange(3.0), lambda p, q: p + q)


def test_missing_devices_raise_torch_errors():
    x = mt.ones(2)
    with pytest.raises(RuntimeError, match="not linked with support for ipu"):
        x.ipu()
    with pytest.raises(AssertionError, match="not compiled with XPU"):
        x.xpu()
    with pytest.raises(AssertionError, match="not compiled with MTIA"):
        x.mtia()


def test_pin_memory():
    x = mt.arange(4.0)
    if mt.accelerator.is_available():
        p = x.pin_memory()
        assert p is not x and p.tolist() == x.tolist()
    else:
        with pytest.raises(RuntimeError, match="accelerator"):
            x.pin_memory()


def test_random_samplers():
    mt.manual_seed(0)
    c = mt.empty(20000).cauchy_(1.0, 2.0)
    assert abs(c.median().item() - 1.0) < 0.1
    q = c.sort().values
    assert abs((q[15000] - q[5000]).item() - 4.0) < 0.3  # the IQR is 2 sigma
    ln = mt.empty(20000, dtype=mt.float64).log_normal_(0.5, 0.25).log()
    assert abs(ln.mean().item() - 0.5) < 0.01 and abs(ln.std().item() - 0.25) < 0.01
    g = mt.empty(20000, dtype=mt.int64).geometric_(0.25)
    assert g.dtype is mt.int64 and g.min().item() >= 1
    assert abs(g.double().mean().item() - 4.0) < 0.15
    mt.manual_seed(3)
    a = mt.empty(5).cauchy_()
    mt.manual_seed(3)
    assert mt.empty(5).cauchy_().tolist() == a.tolist()
    for call, err, msg in (
            (lambda: mt.empty(3).cauchy_(0, -1), RuntimeError, "sigma > 0.0"),
            (lambda: mt.empty(3).log_normal_(1, -2), RuntimeError, "std > 0.0"),
            (lambda: mt.empty(3).geometric_(1), RuntimeError, r"p to be in \(0, 1\)"),
            (lambda: mt.empty(3, dtype=mt.int64).cauchy_(), RuntimeError, "continuous"),
            (lambda: mt.empty(3, dtype=mt.int64).log_normal_(), NotImplementedError, "int64"),
            (lambda: mt.empty(3, dtype=mt.bool).geometric_(0.5), NotImplementedError, "Bool")):
        with pytest.raises(err, match=msg):
            call()


def test_storages_match_torch():
    def facts(lib):
        x = lib.arange(6.0).reshape(2, 3)
        s = x.untyped_storage()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            typed = x.t().storage()
        y = lib.arange(6.0)
        y.resize_(2, 2)
        return (s.nbytes(), s.size(), s.element_size(), len(s), x.data_ptr() == s.data_ptr(),
                x[1].untyped_storage().data_ptr() == s.data_ptr(),
                lib.ones(6).untyped_storage().data_ptr() == s.data_ptr(),
                typed.size(), typed.element_size(), str(typed.dtype).split(".")[-1],
                typed.tolist(), s.tolist(), y.untyped_storage().nbytes(),
                lib.empty(0).untyped_storage().data_ptr())

    assert facts(mt) == facts(torch)
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        mt.ones(2).storage()


def test_layout_and_mode_flags():
    x, s = mt.ones(2), mt.ones(2, 2).to_sparse()
    assert x.is_sparse_csr is torch.ones(2).is_sparse_csr is False and s.is_sparse_csr is False
    with mt.inference_mode():
        y = mt.ones(2)
    assert y.is_inference() is False and x.is_inference() is mt.is_inference(x) is False


def test_storage_objects_and_set_to_storage():
    def facts(lib):
        x = lib.arange(6.0).reshape(2, 3)
        y = lib.empty(0).set_(x.untyped_storage())
        z = lib.empty(0).set_(x.untyped_storage(), 2, (2,), (2,))
        x.view(-1)[0] = 50.0
        typed = lib.TypedStorage(3, dtype=lib.float64)
        return (tuple(y.shape), y.tolist(), z.tolist(), y.is_set_to(x),
                isinstance(x.untyped_storage(), lib.UntypedStorage),
                lib.UntypedStorage(8).nbytes(), typed.size(), typed.nbytes(),
                typed.element_size())

    assert facts(mt) == facts(torch)
    with pytest.raises(TypeError, match="non-negative int"):
        mt.UntypedStorage(-1)
    with pytest.raises(TypeError, match="Tensor or a storage"):
        mt.ones(2).set_([1.0, 2.0])
