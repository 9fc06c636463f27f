"""PyTorch's legacy tensor API (``Tensor(...)``, ``FloatTensor`` & co., ``Tensor.type()``,
``Variable``, the ``is_*`` flags), each checked against real torch on the same input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import mbtorch as mt
from mbtorch.autograd import Variable

LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor",
          "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]
DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool"]


def same(ours, theirs):
    """Same dtype, shape and values as the torch tensor."""
    assert isinstance(ours, mt.Tensor) and type(ours) is mt.Tensor
    assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.float().numpy(), theirs.float().numpy())


DATA = [[1, 2], (2, 3), [[1.5, -2.0], [3.0, 4.0]], [True, False], range(3), [], [[]],
        np.array([1, 2]), np.array([1.5, 2.5]), np.array([[1, 0]], dtype=np.uint8)]


@pytest.mark.parametrize("data", DATA, ids=repr)
def test_tensor_from_data_matches_torch(data):
    same(mt.Tensor(data), torch.Tensor(data))


@pytest.mark.parametrize("name", LEGACY)
@pytest.mark.parametrize("data", [[1.7, 2.0, 0.0], [[1, 2], [3, 4]], [True, False],
                                  np.array([3.0, 4.5])], ids=repr)
def test_typed_classes_from_data_match_torch(name, data):
    same(getattr(mt, name)(data), getattr(torch, name)(data))


@pytest.mark.parametrize("name", ["Tensor"] + LEGACY)
@pytest.mark.parametrize("sizes", [(2, 3), (3,), (0,), (2, 1, 2), (mt.Size([2, 3]),),
                                   (np.int64(2), 3), (2, True)], ids=repr)
def test_sizes_give_an_uninitialised_tensor_of_that_shape(name, sizes):
    tsizes = tuple(torch.Size(s) if isinstance(s, mt.Size) else s for s in sizes)
    ours, theirs = getattr(mt, name)(*sizes), getattr(torch, name)(*tsizes)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    assert ours.is_contiguous()


@pytest.mark.parametrize("name", ["Tensor"] + LEGACY)
def test_no_arguments_is_empty(name):
    same(getattr(mt, name)(), getattr(torch, name)())


def test_tensor_follows_the_default_dtype_typed_classes_do_not():
    old = mt.get_default_dtype()
    try:
        mt.set_default_dtype(mt.float64)
        torch.set_default_dtype(torch.float64)
        same(mt.Tensor([1, 2]), torch.Tensor([1, 2]))
        same(mt.FloatTensor([1, 2]), torch.FloatTensor([1, 2]))
        assert mt.Tensor(2).dtype == mt.float64
        assert mt.zeros(1).type() == torch.zeros(1).type() == "torch.DoubleTensor"
    finally:
        mt.set_default_dtype(old)
        torch.set_default_dtype(torch.float32)


def test_tensor_of_a_tensor_is_an_alias_sharing_storage_and_graph():
    a = mt.tensor([1.0, 2.0], requires_grad=True)
    b = mt.Tensor(a)
    assert b is not a and b.requires_grad and b.grad_fn is not None
    b.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0])
    with mt.no_grad():
        b[0] = 7.0
    assert a[0].item() == 7.0
    same(mt.Tensor(mt.tensor([1, 2])), torch.Tensor(torch.tensor([1, 2])))  # any dtype
    same(mt.LongTensor(mt.tensor([1, 2])), torch.LongTensor(torch.tensor([1, 2])))


def test_ndarray_of_the_same_dtype_is_shared_as_in_torch():
    for ctor, npd in ((mt.Tensor, np.float32), (mt.DoubleTensor, np.float64)):
        a = np.array([1.0, 2.0], dtype=npd)
        t = ctor(a)
        a[0] = 9.0
        assert t[0].item() == 9.0
    a = np.array([1.0, 2.0])  # float64 into a float32 tensor: a copy
    t = mt.Tensor(a)
    a[0] = 9.0
    assert t[0].item() == 1.0


BAD = [
    ((2.5,), {}, TypeError, "data must be a sequence"),
    ((None,), {}, TypeError, "data must be a sequence"),
    ((True,), {}, TypeError, "data must be a sequence"),
    (("ab",), {}, TypeError, "invalid data type 'str'"),
    ((2, "a"), {}, TypeError, "size"),
    (([1], [2]), {}, TypeError, "size"),
    (([1],), {"dtype": "float64"}, TypeError, "dtype"),
    (([1],), {"requires_grad": True}, TypeError, "requires_grad"),
    ((-1,), {}, RuntimeError, "negative dimension -1"),
]


@pytest.mark.parametrize("args,kwargs,exc,match", BAD, ids=repr)
def test_bad_arguments_raise_torchs_exception_types(args, kwargs, exc, match):
    tkwargs = {k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
    with pytest.raises(exc):
        torch.Tensor(*args, **tkwargs)
    with pytest.raises(exc, match=match):
        mt.Tensor(*args, **kwargs)


def test_typed_class_refuses_a_tensor_of_another_type_and_another_device():
    with pytest.raises(TypeError):
        torch.FloatTensor(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"expected torch.FloatTensor \(got torch.LongTensor\)"):
        mt.FloatTensor(mt.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="expects device type: cpu but device type: meta"):
        mt.LongTensor(2, device="meta")
    with pytest.raises(RuntimeError, match="torch.Tensor.tensor, device=device. is not"):
        mt.Tensor(mt.ones(2), device="cpu")
    same(mt.Tensor([1, 2], device="cpu"), torch.Tensor([1, 2], device="cpu"))


@pytest.mark.parametrize("name,dtype", list(zip(LEGACY, DTYPES)))
def test_isinstance_matches_dtype_and_device_exactly_as_torch(name, dtype):
    for other in DTYPES:
        ours = mt.zeros(2, dtype=getattr(mt, other))
        theirs = torch.zeros(2, dtype=getattr(torch, other))
        assert isinstance(ours, getattr(mt, name)) == isinstance(theirs, getattr(torch, name))
        assert isinstance(ours, getattr(mt, name)) == (other == dtype)
        assert isinstance(ours, mt.Tensor)
    assert not isinstance(3, getattr(mt, name))
    assert not issubclass(getattr(mt, name), mt.Tensor)
    assert getattr(mt, name).dtype == getattr(mt, dtype)
    assert not getattr(mt, name).is_cuda


def test_parameter_is_an_instance_of_its_legacy_type():
    from mbtorch.nn import Parameter

    p = Parameter(mt.zeros(2))
    assert isinstance(p, mt.FloatTensor) and not isinstance(p, mt.LongTensor)
    assert type(p) is Parameter and p.requires_grad


@pytest.mark.parametrize("dtype", DTYPES)
def test_type_string_is_torchs(dtype):
    assert mt.zeros(2, dtype=getattr(mt, dtype)).type() == \
        torch.zeros(2, dtype=getattr(torch, dtype)).type()


@pytest.mark.parametrize("target", ["LongTensor", "torch.LongTensor", "torch.DoubleTensor",
                                    "BoolTensor", "torch.Tensor", "Tensor", "int32", "float64"])
def test_type_converts_as_torch(target):
    def resolve(lib, prefix):
        if target.startswith("torch."):
            return target
        return getattr(lib, target)

    ours = mt.tensor([1.5, -2.0, 0.0]).type(resolve(mt, "mbtorch"))
    theirs = torch.tensor([1.5, -2.0, 0.0]).type(resolve(torch, "torch"))
    same(ours, theirs)


def test_type_returns_self_when_already_of_that_type():
    x = mt.zeros(2)
    assert x.type(mt.FloatTensor) is x and x.type("torch.FloatTensor") is x
    assert x.type(mt.float32) is x and x.type(dtype=mt.LongTensor).dtype == mt.int64
    assert x.type(non_blocking=True) == "torch.FloatTensor"
    assert x.type("mbtorch.LongTensor").dtype == mt.int64


def test_type_bad_arguments():
    x, tx = mt.zeros(2), torch.zeros(2)
    for bad in ("torch.int32", "LongTensor", "torch.NoTensor"):
        with pytest.raises(ValueError):
            tx.type(bad)
        with pytest.raises(ValueError, match="invalid type"):
            x.type(bad)
    with pytest.raises(TypeError):
        tx.type(3)
    with pytest.raises(TypeError, match="dtype must be a type, str, or dtype object"):
        x.type(3)


def test_new_uses_selfs_dtype():
    x, tx = mt.ones(2).long(), torch.ones(2).long()
    same(x.new([1.5, 2]), tx.new([1.5, 2]))
    same(x.new(), tx.new())
    assert tuple(x.new(2, 3).shape) == (2, 3) and x.new(2, 3).dtype == mt.int64
    assert x.new(mt.Size([4])).shape == (4,)
    same(x.new(mt.tensor([5, 6])), tx.new(torch.tensor([5, 6])))
    with pytest.raises(TypeError):
        tx.new(torch.ones(2))
    with pytest.raises(TypeError, match=r"expected torch.LongTensor \(got torch.FloatTensor\)"):
        x.new(mt.ones(2))


def test_subclass_without_new_gets_its_own_instances():
    class Mine(mt.Tensor):
        pass

    m = Mine([1, 2])
    assert type(m) is Mine and m.tolist() == [1.0, 2.0]


# -- Variable --------------------------------------------------------------------------------
def test_variable_is_a_detached_leaf_sharing_storage():
    a = mt.ones(2, requires_grad=True)
    x = a * 2
    v = Variable(x, requires_grad=True)
    tv = torch.autograd.Variable(torch.ones(2, requires_grad=True) * 2, requires_grad=True)
    assert type(v) is mt.Tensor
    assert (v.is_leaf, v.requires_grad) == (tv.is_leaf, tv.requires_grad) == (True, True)
    (v * 3).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [3.0, 3.0])
    assert a.grad is None
    assert Variable(a).requires_grad is torch.autograd.Variable(torch.ones(2)).requires_grad
    same(Variable(), torch.autograd.Variable())
    assert Variable(a, True).requires_grad


def test_variable_isinstance_and_errors():
    assert isinstance(mt.ones(1), Variable) and isinstance(mt.ones(1).long(), Variable)
    assert not isinstance([1], Variable)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        Variable([1])
    with pytest.raises(RuntimeError, match="floating point"):
        Variable(mt.tensor([1]), requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Variable(mt.ones(1), volatile=True)
    assert "volatile was removed" in str(caught[0].message)


# -- is_* -------------------------------------------------------------------------------------
FLAGS = ["is_cpu", "is_cuda", "is_xpu", "is_mps", "is_meta", "is_ipu", "is_xla", "is_maia",
         "is_mtia", "is_vulkan", "is_mkldnn", "is_nested", "is_quantized"]


def test_device_flags_match_torch_on_cpu():
    for flag in FLAGS:
        assert getattr(mt.zeros(1), flag) == getattr(torch.zeros(1), flag), flag


@pytest.mark.parametrize("dtype", DTYPES)
def test_is_signed_and_is_same_size_match_torch(dtype):
    ours = mt.zeros(2, dtype=getattr(mt, dtype))
    theirs = torch.zeros(2, dtype=getattr(torch, dtype))
    assert ours.is_signed() == theirs.is_signed()
    assert ours.is_same_size(mt.ones(2)) and not ours.is_same_size(mt.ones(3))


@pytest.mark.parametrize("t", ["DoubleTensor", "torch.DoubleTensor", "HalfTensor",
                               "BFloat16Tensor", "FloatTensor"])
def test_set_default_tensor_type_sets_the_default_dtype_as_torch(t):
    old = mt.get_default_dtype()
    try:
        with pytest.warns(UserWarning, match="deprecated"):
            mt.set_default_tensor_type(t if "." in t else getattr(mt, t))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.set_default_tensor_type(t if "." in t else getattr(torch, t))
        assert mt.get_default_dtype().name == str(torch.get_default_dtype()).split(".")[1]
        same(mt.Tensor([1.5]), torch.Tensor([1.5]))
    finally:
        mt.set_default_dtype(old)
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("t", ["LongTensor", "float64", "torch.cuda.FloatTensor"])
def test_set_default_tensor_type_refuses_as_torch(t):
    def arg(lib):
        return t if "." in t else getattr(lib, t)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError):
            torch.set_default_tensor_type(arg(torch))
        with pytest.raises(TypeError, match="set_default_tensor_type"):
            mt.set_default_tensor_type(arg(mt))
    assert mt.get_default_dtype() == mt.float32


def test_cuda_legacy_classes():
    import mbtorch as mt

    assert mt.cuda.FloatTensor.__name__ == "FloatTensor" and mt.cuda.FloatTensor.is_cuda
    assert not isinstance(mt.ones(2), mt.cuda.FloatTensor)
    if not mt.cuda.is_available():  # construction names the missing device
        with pytest.raises(RuntimeError, match="cuda"):
            mt.cuda.FloatTensor(2)
