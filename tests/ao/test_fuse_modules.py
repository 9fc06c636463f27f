"""fuse_modules / fuse_modules_qat against PyTorch's on the same model and weights: the same
module types at every position, the same outputs (eval: BN folded; QAT: intrinsic
containers), hooks carried over, and the errors for patterns that cannot be fused."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.ao import quantization as Q
from mbtorch.ao.nn import intrinsic as nni

torch = pytest.importorskip("torch")
tq = torch.ao.quantization

from tests.ao._util import to_mt  # noqa: E402
from tests.nn._compare import copy_state  # noqa: E402

FUSE = [["conv1", "bn1", "relu1"], ["conv2", "relu2"], ["c1d", "bn1d"], ["bn2", "relu3"],
        ["fc", "relu4"], ["fc2", "bnfc"], ["sub.conv", "sub.bn"], ["c3d", "bn3d", "relu5"]]


def _model(lib):
    nn = lib.nn

    class Sub(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1, self.relu1 = nn.Conv2d(3, 4, 3, padding=1), \
                nn.BatchNorm2d(4), nn.ReLU()
            self.conv2, self.relu2 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.ReLU()
            self.bn2, self.relu3 = nn.BatchNorm2d(4), nn.ReLU()
            self.sub = Sub()
            self.c1d, self.bn1d = nn.Conv1d(4, 5, 2), nn.BatchNorm1d(5)
            self.fc, self.relu4 = nn.Linear(5 * 31, 6), nn.ReLU()
            self.fc2, self.bnfc = nn.Linear(6, 3), nn.BatchNorm1d(3)
            self.c3d, self.bn3d, self.relu5 = nn.Conv3d(1, 2, 1), nn.BatchNorm3d(2), nn.ReLU()

        def forward(self, x):
            x = self.relu1(self.bn1(self.conv1(x)))
            x = self.relu3(self.bn2(self.relu2(self.conv2(x))))
            x = self.sub.bn(self.sub.conv(x))
            x = self.bn1d(self.c1d(x.flatten(2)[:, :, :32]))
            x = self.relu4(self.fc(x.flatten(1)))
            y = self.bnfc(self.fc2(x))
            z = self.relu5(self.bn3d(self.c3d(y.reshape(y.shape[0], 1, 3, 1, 1))))
            return z.flatten(1)

    return M()


def _pair(train: bool):
    torch.manual_seed(0)
    tm = _model(torch)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # non-trivial BN statistics and affine parameters
        for m in tm.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.randn(m.num_features, generator=g))
                m.bias.copy_(torch.randn(m.num_features, generator=g))
    mm = _model(mt)
    copy_state(tm, mm)
    tm.train(train)
    mm.train(train)
    return tm, mm


def _types(model):
    return [(n, type(m).__name__) for n, m in model.named_modules() if n]


def test_eval_fusion_matches_torch():
    tm, mm = _pair(train=False)
    tf, mf = tq.fuse_modules(tm, FUSE), Q.fuse_modules(mm, FUSE)
    assert _types(mf) == _types(tf)
    assert isinstance(mf.conv1, nni.ConvReLU2d) and isinstance(mf.bn1, mt.nn.Identity)
    assert isinstance(mf.sub.conv, mt.nn.Conv2d)  # BN folded into the conv
    x = torch.randn(2, 3, 8, 8)
    np.testing.assert_allclose(mf(to_mt(x)).detach().numpy(), tf(x).detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(mm(to_mt(x)).detach().numpy(), tm(x).detach().numpy(), rtol=1e-4,
                               atol=1e-5)  # the original is untouched (inplace=False)
    for name in ("conv1.0.weight", "conv1.0.bias", "sub.conv.weight", "fc2.weight",
                 "fc2.bias"):
        np.testing.assert_allclose(mf.state_dict()[name].detach().numpy(),
                                   tf.state_dict()[name].numpy(), rtol=1e-5, atol=1e-6)


def test_qat_fusion_matches_torch():
    tm, mm = _pair(train=True)
    tf, mf = tq.fuse_modules_qat(tm, FUSE), Q.fuse_modules_qat(mm, FUSE)
    assert _types(mf) == _types(tf)
    assert isinstance(mf.conv1, nni.ConvBnReLU2d) and isinstance(mf.c1d, nni.ConvBn1d)
    assert isinstance(mf.fc2, nni.LinearBn1d) and isinstance(mf.bn2, nni.BNReLU2d)
    assert all(m.training for m in mf.modules())
    x = torch.randn(4, 3, 8, 8)
    np.testing.assert_allclose(mf(to_mt(x)).detach().numpy(), tf(x).detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(mf.conv1[1].running_mean.numpy(),
                               tf.conv1[1].running_mean.numpy(), rtol=1e-5, atol=1e-6)


def test_inplace_and_single_list_form():
    _, mm = _pair(train=False)
    out = Q.fuse_modules(mm, ["conv1", "bn1", "relu1"], inplace=True)
    assert out is mm and isinstance(mm.conv1, nni.ConvReLU2d)
    assert isinstance(mm.relu1, mt.nn.Identity) and not mm.relu1.training


def test_hooks_move_to_the_fused_module():
    """The first module's pre-hooks and the last one's hooks move to the fused module. (The
    eval-mode BN fold deep-copies the conv with its hooks, so PyTorch then runs the pre-hook
    twice; the sequence is compared with PyTorch's.)"""
    tm, mm = _pair(train=False)
    seen: dict = {"torch": [], "mt": []}
    for key, model in (("torch", tm), ("mt", mm)):
        model.conv1.register_forward_pre_hook(lambda mod, args, k=key: seen[k].append("pre"))
        model.relu1.register_forward_hook(lambda mod, args, out, k=key: seen[k].append("post"))
    tf = tq.fuse_modules(tm, ["conv1", "bn1", "relu1"])
    mf = Q.fuse_modules(mm, ["conv1", "bn1", "relu1"])
    assert len(mf.conv1._forward_pre_hooks) == 1 and len(mf.conv1._forward_hooks) == 1
    tf(torch.randn(1, 3, 8, 8))
    mf(mt.randn(1, 3, 8, 8))
    assert seen["mt"] == seen["torch"] == ["pre", "pre", "post"]


def test_custom_fuser_method():
    _, mm = _pair(train=False)

    def fuse_linear_relu_custom(is_qat, linear, relu):
        return nni.LinearReLU(linear, relu)

    cfg = {"additional_fuser_method_mapping": {(mt.nn.Linear, mt.nn.ReLU):
                                               fuse_linear_relu_custom}}
    fused = Q.fuse_modules(mm, ["fc", "relu4"], fuse_custom_config_dict=cfg)
    assert isinstance(fused.fc, nni.LinearReLU)


def test_get_fuser_method_and_fuse_known_modules():
    assert Q.get_fuser_method((mt.nn.Conv2d, mt.nn.BatchNorm2d)) is Q.fuse_conv_bn
    conv, bn = mt.nn.Conv2d(2, 2, 1).eval(), mt.nn.BatchNorm2d(2).eval()
    fused, ident = Q.fuse_known_modules([conv, bn], is_qat=False)
    assert isinstance(fused, mt.nn.Conv2d) and isinstance(ident, mt.nn.Identity)


# -- bad input ---------------------------------------------------------------------------------

def test_unknown_pattern_is_rejected():
    _, mm = _pair(train=False)
    with pytest.raises(AssertionError, match="did not find fuser method"):
        Q.fuse_modules(mm, ["relu1", "conv2"])
    with pytest.raises(AttributeError, match="nope"):
        Q.fuse_modules(mm, ["conv1", "nope"])
    with pytest.raises(TypeError, match="modules_to_fuse"):
        Q.fuse_modules(mm, "conv1")
    with pytest.raises(TypeError, match="model"):
        Q.fuse_modules(object(), ["conv1", "bn1"])


def test_mode_mismatch_and_bad_bn_for_qat():
    conv, bn = mt.nn.Conv2d(2, 2, 1), mt.nn.BatchNorm2d(2).eval()
    with pytest.raises(AssertionError, match="same mode"):
        Q.fuse_conv_bn(False, conv, bn)
    with pytest.raises(AssertionError, match="affine"):
        Q.fuse_conv_bn(True, conv, mt.nn.BatchNorm2d(2, affine=False))
    with pytest.raises(AssertionError, match="num_features"):
        Q.fuse_conv_bn(True, conv, mt.nn.BatchNorm2d(3))
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        Q.fuse_modules(_pair(train=True)[1], ["sub.conv", "sub.bn"])


def test_intrinsic_containers_check_types():
    with pytest.raises(AssertionError, match="Incorrect types for input modules: Linear and "
                                             "ReLU"):
        nni.ConvReLU2d(mt.nn.Linear(2, 2), mt.nn.ReLU())
    with pytest.raises(AssertionError, match="Incorrect types"):
        nni.ConvBnReLU2d(mt.nn.Conv2d(1, 1, 1), mt.nn.BatchNorm1d(1), mt.nn.ReLU())
    seq = nni.LinearReLU(mt.nn.Linear(3, 2), mt.nn.ReLU())
    x = mt.randn(4, 3)
    assert mt.equal(seq(x), mt.relu(seq[0](x)))
