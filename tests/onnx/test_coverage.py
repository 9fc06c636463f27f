"""Every activation and the layers issue 19 names, exported to ONNX: onnxruntime's result and
``mbtorch.onnx.load``'s equal the module's own (float32, relative to the largest magnitude)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import mbtorch as mt
import mbtorch.onnx
from mbtorch import nn

from .test_export import _Fn

F = nn.functional

LAYERS = {
    "gelu": F.gelu, "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"), "silu": F.silu,
    "elu": F.elu, "selu": F.selu, "celu": F.celu, "leaky_relu": F.leaky_relu,
    "softplus": F.softplus, "hardswish": F.hardswish, "hardsigmoid": F.hardsigmoid,
    "hardtanh": F.hardtanh, "relu6": F.relu6, "mish": F.mish, "logsigmoid": F.logsigmoid,
    "softsign": F.softsign, "tanhshrink": F.tanhshrink, "softshrink": F.softshrink,
    "hardshrink": F.hardshrink, "prelu": lambda: nn.PReLU(), "glu": F.glu,
    "softmin": lambda x: F.softmin(x, 1), "threshold": lambda x: F.threshold(x, 0.1, 2.0),
    "rrelu_eval": lambda: nn.RReLU(), "sigmoid": mt.sigmoid, "tanh": mt.tanh,
    "gru": lambda: nn.GRU(6, 5, batch_first=True, bidirectional=True, num_layers=2),
    "lstm_bidirectional": lambda: nn.LSTM(6, 3, batch_first=True, bidirectional=True),
    "group_norm": lambda: nn.GroupNorm(2, 4), "layer_norm": lambda: nn.LayerNorm(6),
    "instance_norm": lambda: nn.InstanceNorm1d(4, affine=True),
    "batch_norm_1d": lambda: nn.BatchNorm1d(4), "dropout": lambda: nn.Dropout(0.5),
    "einsum": lambda x: mt.einsum("bij,bkj->bik", x, x),
    "sdpa": lambda x: F.scaled_dot_product_attention(x, x, x, is_causal=True),
    "multihead_attention": lambda: _SelfAttention(),
    "interpolate": lambda x: F.interpolate(x[:, None], scale_factor=2)[:, 0],
    "adaptive_avg_pool": lambda x: F.adaptive_avg_pool1d(x, 3),
    "lp_pool": lambda x: F.lp_pool1d(x, 2, 2), "max_pool1d": lambda x: F.max_pool1d(x, 2),
    "cosine_similarity": lambda x: F.cosine_similarity(x, x.flip(1), dim=1),
    "normalize": lambda x: F.normalize(x, dim=-1), "topk": lambda x: x.topk(2, -1).values,
    "cumprod": lambda x: x.cumprod(-1), "logcumsumexp": lambda x: x.logcumsumexp(-1),
    "embedding": lambda: _Embed(),
}


class _SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(6, 2, batch_first=True)

    def forward(self, x):
        return self.mha(x, x, x, need_weights=False)[0]


class _Embed(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 3)

    def forward(self, x):
        return self.emb((x.abs() * 3).long().clamp(max=9))


def _first(out):
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_exports_and_loads(name):
    mt.manual_seed(0)
    made = LAYERS[name]
    module = made() if made.__code__.co_argcount == 0 else _Fn(made)
    module.eval()
    x = mt.randn(2, 4, 6, generator=mt.Generator().manual_seed(1))
    with mt.no_grad():
        want = _first(module(x)).numpy()
    program = mbtorch.onnx.export(module, (x,))
    sess = ort.InferenceSession(program.model_proto.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    scale = max(float(np.abs(want).max()), 1e-12)
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    assert got.shape == want.shape
    assert np.abs(got - want).max() / scale <= 1e-5
    with mt.no_grad():
        loaded = _first(mbtorch.onnx.load(program.model_proto)(x)).numpy()
    assert np.abs(loaded - want).max() / scale <= 1e-5
