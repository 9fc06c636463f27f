"""QAT modules (``nn.qat``, ``nn.intrinsic.qat``) against PyTorch's with copied weights and
fake-quant state: forward and backward over several training steps (BN statistics and
observer state included), eval mode, frozen BN, the two-pass BN path, from_float / to_float,
and the errors for a missing qconfig or a wrong float module."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.ao import quantization as Q
from mbtorch.ao.nn import intrinsic as nni
from mbtorch.ao.nn import qat as nnqat
from mbtorch.ao.nn.intrinsic import qat as nniqat

torch = pytest.importorskip("torch")
tq = torch.ao.quantization
t_nnqat = torch.ao.nn.qat
t_nniqat = torch.ao.nn.intrinsic.qat

from tests.ao._util import to_mt  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5

QCONFIGS = {"default": ("default_qat_qconfig", None),
            "x86_v0": ("get_default_qat_qconfig", ("x86", 0)),
            "x86_fused": ("get_default_qat_qconfig", ("x86", 1)),
            "qnnpack_fused": ("get_default_qat_qconfig", ("qnnpack", 1))}


def _qconfigs(key):
    name, args = QCONFIGS[key]
    if args is None:
        return getattr(tq, name), getattr(Q, name)
    return getattr(tq, name)(*args), getattr(Q, name)(*args)


def copy_state(tmod, mmod):
    """Load torch's state into the mbtorch module (strict). Through clones: calling .numpy()
    on a torch tensor makes its storage non-resizable, and the per-channel observers resize
    their empty min/max buffers on the first batch."""
    mmod.load_state_dict({k: mt.tensor(v.detach().clone().numpy())
                          for k, v in tmod.state_dict().items()})


def _close(a, e, what):
    np.testing.assert_allclose(a.detach().numpy(), e.detach().numpy(), rtol=RTOL, atol=ATOL,
                               err_msg=what)


def _train_steps(tmod, mmod, shape, steps=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    tparams, mparams = dict(tmod.named_parameters()), dict(mmod.named_parameters())
    assert sorted(tparams) == sorted(mparams)
    for i in range(steps):
        x = (torch.randn(shape, generator=g) * (i + 1)).requires_grad_(True)
        xm = to_mt(x, requires_grad=True)
        ty, my = tmod(x), mmod(xm)
        _close(my, ty, f"step {i} forward")
        ct = torch.randn(ty.shape, generator=g)
        ty.backward(ct)
        my.backward(to_mt(ct))
        _close(xm.grad, x.grad, f"step {i} input grad")
        for name, p in tparams.items():
            _close(mparams[name].grad, p.grad, f"step {i} grad of {name}")
            p.grad = None
            mparams[name].grad = None
    tstate, mstate = tmod.state_dict(), mmod.state_dict()
    assert list(mstate) == list(tstate)
    for k, v in tstate.items():
        if v.dtype.is_floating_point:
            _close(mstate[k], v, f"state {k}")
        else:
            np.testing.assert_array_equal(mstate[k].numpy(), v.numpy(), err_msg=k)


def _pair(tcls, mcls, args, kwargs, key):
    tqc, mqc = _qconfigs(key)
    torch.manual_seed(0)
    tmod = tcls(*args, qconfig=tqc, **kwargs)
    mmod = mcls(*args, qconfig=mqc, **kwargs)
    if getattr(tmod, "bias", None) is not None:  # PyTorch's LinearBn1d leaves it torch.empty
        with torch.no_grad():
            tmod.bias.uniform_(-0.5, 0.5)
    copy_state(tmod, mmod)
    return tmod, mmod


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("key", sorted(QCONFIGS))
def test_qat_linear_and_linear_relu(key):
    _train_steps(*_pair(t_nnqat.Linear, nnqat.Linear, (6, 4), {}, key), (5, 6))
    _train_steps(*_pair(t_nniqat.LinearReLU, nniqat.LinearReLU, (6, 4), {}, key), (5, 6))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("key", sorted(QCONFIGS))
@pytest.mark.parametrize("name,args,kwargs,shape", [
    ("Conv2d", (3, 4, 3), {"padding": 1, "stride": 2}, (2, 3, 7, 7)),
    ("Conv1d", (3, 4, 2), {"bias": False}, (2, 3, 9)),
])
def test_qat_conv(key, name, args, kwargs, shape):
    _train_steps(*_pair(getattr(t_nnqat, name), getattr(nnqat, name), args, kwargs, key),
                 shape)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("key", sorted(QCONFIGS))
@pytest.mark.parametrize("name,args,kwargs,shape", [
    ("ConvBn2d", (3, 4, 3), {"padding": 1}, (4, 3, 6, 6)),
    ("ConvBnReLU2d", (3, 4, 3), {"bias": True}, (4, 3, 6, 6)),
    ("ConvReLU2d", (3, 4, 3), {}, (2, 3, 6, 6)),
    ("ConvBn1d", (3, 5, 2), {}, (4, 3, 8)),
    ("ConvBnReLU1d", (3, 5, 2), {}, (4, 3, 8)),
    ("ConvBn3d", (2, 3, 2), {}, (3, 2, 4, 4, 4)),
    ("ConvBnReLU3d", (2, 3, 2), {"bias": True}, (3, 2, 4, 4, 4)),
    ("ConvReLU3d", (2, 3, 2), {}, (2, 2, 4, 4, 4)),
])
def test_intrinsic_qat_conv(key, name, args, kwargs, shape):
    tmod, mmod = _pair(getattr(t_nniqat, name), getattr(nniqat, name), args, kwargs, key)
    _train_steps(tmod, mmod, shape)
    if hasattr(tmod, "bn"):  # frozen BN, then eval mode
        tmod.apply(t_nniqat.freeze_bn_stats)
        mmod.apply(nniqat.freeze_bn_stats)
        assert not mmod.bn.training and mmod.freeze_bn
        _train_steps(tmod, mmod, shape, steps=1, seed=1)
        mmod.train()
        tmod.train()
        assert not mmod.bn.training  # a frozen BN stays in eval mode
        mmod.apply(nniqat.update_bn_stats)
        tmod.apply(t_nniqat.update_bn_stats)
        assert mmod.bn.training
    tmod.eval()
    mmod.eval()
    _train_steps(tmod, mmod, shape, steps=1, seed=2)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("key", ["default", "x86_fused"])
def test_linear_bn_qat_matches_torch(key):
    tmod, mmod = _pair(t_nniqat.LinearBn1d, nniqat.LinearBn1d, (6, 4), {}, key)
    _train_steps(tmod, mmod, (5, 6))
    tmod.eval()
    mmod.eval()
    _train_steps(tmod, mmod, (5, 6), steps=1, seed=1)
    _close(mmod.to_float()(mt.ones(2, 6)), tmod.to_float()(torch.ones(2, 6)), "to_float")
    flt = nni.LinearBn1d(mt.nn.Linear(6, 4), mt.nn.BatchNorm1d(4))
    flt.qconfig = Q.default_qat_qconfig
    assert nniqat.LinearBn1d.from_float(flt).weight is flt[0].weight


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_conv_bn_slow_path_matches_torch():
    tmod, mmod = _pair(t_nniqat.ConvBnReLU2d, nniqat.ConvBnReLU2d, (3, 4, 3), {"bias": True},
                       "x86_fused")
    tmod._enable_slow_path_for_better_numerical_stability = True
    mmod._enable_slow_path_for_better_numerical_stability = True
    _train_steps(tmod, mmod, (4, 3, 6, 6))
    tmod.eval()
    mmod.eval()
    _train_steps(tmod, mmod, (4, 3, 6, 6), steps=1)


def _float_conv_bn(lib, nni_mod, relu):
    conv, bn = lib.nn.Conv2d(3, 4, 3), lib.nn.BatchNorm2d(4)
    mods = (conv, bn, lib.nn.ReLU()) if relu else (conv, bn)
    return getattr(nni_mod, "ConvBnReLU2d" if relu else "ConvBn2d")(*mods)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("relu", [False, True])
def test_from_float_and_to_float_conv_bn(relu):
    torch.manual_seed(0)
    tf = _float_conv_bn(torch, torch.ao.nn.intrinsic, relu)
    mf = _float_conv_bn(mt, nni, relu)
    copy_state(tf, mf)
    tf.qconfig, mf.qconfig = tq.default_qat_qconfig, Q.default_qat_qconfig
    tcls = t_nniqat.ConvBnReLU2d if relu else t_nniqat.ConvBn2d
    mcls = nniqat.ConvBnReLU2d if relu else nniqat.ConvBn2d
    tq_mod, mq_mod = tcls.from_float(tf), mcls.from_float(mf)
    assert mq_mod.weight is mf[0].weight and mq_mod.bn.running_mean is mf[1].running_mean
    _train_steps(tq_mod, mq_mod, (4, 3, 6, 6), steps=2)
    tback, mback = tq_mod.to_float(), mq_mod.to_float()
    assert type(mback).__name__ == type(tback).__name__
    x = torch.randn(2, 3, 6, 6)
    tback.eval()
    mback.eval()
    _close(mback(to_mt(x)), tback(x), "to_float forward")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_from_float_and_to_float_linear_and_conv():
    lin, tlin = mt.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    copy_state(tlin, lin)
    lin.qconfig, tlin.qconfig = Q.default_qat_qconfig, tq.default_qat_qconfig
    q, tqm = nnqat.Linear.from_float(lin), t_nnqat.Linear.from_float(tlin)
    assert q.weight is lin.weight
    _train_steps(tqm, q, (3, 4), steps=1)
    back = q.to_float()
    assert type(back) is mt.nn.Linear and mt.equal(back.weight, lin.weight)
    lr = nni.LinearReLU(mt.nn.Linear(4, 3), mt.nn.ReLU())
    lr.qconfig = lr[0].qconfig = Q.default_qat_qconfig
    qlr = nniqat.LinearReLU.from_float(lr)
    assert isinstance(qlr, nniqat.LinearReLU) and isinstance(qlr.to_float(), nni.LinearReLU)
    cr = nni.ConvReLU2d(mt.nn.Conv2d(2, 3, 1), mt.nn.ReLU())
    cr.qconfig = cr[0].qconfig = Q.default_qat_qconfig
    qcr = nniqat.ConvReLU2d.from_float(cr)
    assert isinstance(qcr.to_float(), nni.ConvReLU2d)
    assert issubclass(nniqat.ConvBn2d, nni._FusedModule)


# -- bad input ---------------------------------------------------------------------------------

def test_missing_qconfig_and_wrong_float_module():
    with pytest.raises(AssertionError, match="qconfig must be provided"):
        nnqat.Linear(3, 2)
    with pytest.raises(AssertionError, match="qconfig must be provided"):
        nniqat.ConvBn2d(3, 2, 1)
    lin = mt.nn.Linear(3, 2)
    with pytest.raises(AssertionError, match="must have qconfig defined"):
        nnqat.Linear.from_float(lin)
    lin.qconfig = None
    with pytest.raises(AssertionError, match="valid qconfig"):
        nnqat.Linear.from_float(lin)
    conv = mt.nn.Conv2d(2, 2, 1)
    conv.qconfig = Q.default_qat_qconfig
    with pytest.raises(AssertionError, match="only works for Linear, got Conv2d"):
        nnqat.Linear.from_float(conv)
    with pytest.raises(AssertionError, match="only works for ConvBn2d"):
        nniqat.ConvBn2d.from_float(conv)
