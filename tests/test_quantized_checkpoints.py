"""Quantized tensors in checkpoints: ``mbtorch.save``/``load`` round trips (PyTorch's zip and
legacy formats, safetensors) of per-tensor and per-channel qint8/quint8/qint32 tensors;
files written by ``torch.save`` (quantized tensors, a converted model's state dict) load
with identical integers and quantization; files written by mbtorch load in real
``torch.load(weights_only=True)``; malformed quantized entries are clear errors."""

from __future__ import annotations

import io
from collections import OrderedDict

import numpy as np
import pytest
import torch

import mbtorch as mt
from mbtorch._checkpoint.names import REBUILD_QTENSOR, REBUILD_TENSOR_V2
from mbtorch._checkpoint.storage import CheckpointError
from mbtorch._checkpoint.torch_write import _Rebuild, _SavedStorage, write_zip

# PyTorch's own deprecation notices about its quantized tensors and torch.ao
pytestmark = [pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:TypedStorage is deprecated"),
              pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated"),
              pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max")]

PER_TENSOR = [("qint8", 0.05, -3), ("quint8", 0.1, 130), ("qint32", 0.001, 7)]
PER_CHANNEL = [("qint8", 0), ("quint8", 1), ("qint8", 2)]


def _values(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 2


def _mt_per_tensor(name, scale, zp, seed=0):
    return mt.quantize_per_tensor(mt.tensor(_values((3, 4, 5), seed)), scale, zp,
                                  getattr(mt, name))


def _mt_per_channel(name, axis, seed=0):
    x = _values((3, 4, 5), seed)
    n = x.shape[axis]
    scales = np.linspace(0.02, 0.2, n)
    zps = np.arange(n) * (1 if name == "qint8" else 20)
    return mt.quantize_per_channel(mt.tensor(x), mt.tensor(scales), mt.tensor(zps), axis,
                                   getattr(mt, name))


def _same(got, want) -> None:
    """Same dtype name, integers and quantization (mbtorch or torch tensors, either side)."""
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert str(got.qscheme()).split(".")[-1] == str(want.qscheme()).split(".")[-1]
    np.testing.assert_array_equal(got.int_repr().numpy(), want.int_repr().numpy())
    assert tuple(got.shape) == tuple(want.shape)
    if "per_tensor" in str(got.qscheme()):
        assert got.q_scale() == want.q_scale() and got.q_zero_point() == want.q_zero_point()
    else:
        assert got.q_per_channel_axis() == want.q_per_channel_axis()
        assert got.q_per_channel_scales().tolist() == want.q_per_channel_scales().tolist()
        assert (got.q_per_channel_zero_points().tolist()
                == want.q_per_channel_zero_points().tolist())


def _state() -> dict:
    out = {f"t_{n}": _mt_per_tensor(n, s, z, i) for i, (n, s, z) in enumerate(PER_TENSOR)}
    out.update({f"c_{n}_{a}": _mt_per_channel(n, a, i) for i, (n, a) in enumerate(PER_CHANNEL)})
    return out


@pytest.mark.parametrize("fmt", ["zip", "safetensors"])
def test_round_trip_through_mbtorch(tmp_path, fmt):
    state = _state()
    state["plain"] = mt.arange(4.0)
    path = tmp_path / ("ckpt.safetensors" if fmt == "safetensors" else "ckpt.pt")
    mt.save(state, path)
    back = mt.load(path)
    assert set(back) == set(state)
    for key, want in state.items():
        if key == "plain":
            np.testing.assert_array_equal(back[key].numpy(), want.numpy())
        else:
            _same(back[key], want)
            np.testing.assert_array_equal(back[key].dequantize().numpy(),
                                          want.dequantize().numpy())


def test_legacy_format_is_written_for_torch_and_refused_on_reading(tmp_path):
    state = _state()
    mt.save(state, tmp_path / "l.pt", _use_new_zipfile_serialization=False)
    t = torch.load(tmp_path / "l.pt", weights_only=True)  # PyTorch reads its legacy format
    for key, want in state.items():
        _same(t[key], want)
    with pytest.raises(CheckpointError, match="legacy .*re-save .*zip format"):
        mt.load(tmp_path / "l.pt")


@pytest.mark.parametrize("suffix", ["pt", "safetensors"])
def test_quantized_tensors_load_onto_another_device(tmp_path, suffix, mini_device):
    state = _state()
    mt.save(state, tmp_path / f"d.{suffix}")
    back = mt.load(tmp_path / f"d.{suffix}", map_location=mini_device)
    for key, want in state.items():
        assert back[key].device.type == mini_device
        _same(back[key].cpu(), want)


def test_views_of_a_quantized_tensor_share_its_storage_in_the_file(tmp_path):
    q = _mt_per_tensor("quint8", 0.1, 130)
    mt.save({"q": q, "row": q[1], "t": q.transpose(0, 2)}, tmp_path / "v.pt")
    t = torch.load(tmp_path / "v.pt", weights_only=True)
    assert t["row"].untyped_storage().data_ptr() == t["q"].untyped_storage().data_ptr()
    back = mt.load(tmp_path / "v.pt")
    for k in ("q", "row", "t"):
        _same(back[k], t[k])


def test_safetensors_layout_is_readable_by_any_tool(tmp_path):
    from safetensors.numpy import load_file

    q, c = _mt_per_tensor("qint8", 0.05, -3), _mt_per_channel("quint8", 1)
    mt.save({"q": q, "c": c}, tmp_path / "q.safetensors")
    flat = load_file(str(tmp_path / "q.safetensors"))
    assert set(flat) == {"q", "q.scale", "q.zero_point", "c", "c.scale", "c.zero_point",
                         "c.axis"}
    np.testing.assert_array_equal(flat["q"], q.int_repr().numpy())
    assert flat["q"].dtype == np.int8 and flat["c"].dtype == np.uint8
    assert flat["q.scale"].shape == () and float(flat["q.scale"]) == 0.05
    assert int(flat["q.zero_point"]) == -3 and int(flat["c.axis"]) == 1
    np.testing.assert_array_equal(flat["c.scale"], c.q_per_channel_scales().numpy())
    np.testing.assert_array_equal(flat["c.zero_point"], c.q_per_channel_zero_points().numpy())


def _torch_tensors() -> dict:
    out = {}
    for i, (n, s, z) in enumerate(PER_TENSOR):
        out[f"t_{n}"] = torch.quantize_per_tensor(torch.from_numpy(_values((3, 4, 5), i)), s,
                                                  z, getattr(torch, n))
    for i, (n, a) in enumerate(PER_CHANNEL):
        x = torch.from_numpy(_values((3, 4, 5), i))
        k = x.shape[a]
        out[f"c_{n}_{a}"] = torch.quantize_per_channel(
            x, torch.linspace(0.02, 0.2, k, dtype=torch.float64),
            torch.arange(k) * (1 if n == "qint8" else 20), a, getattr(torch, n))
    return out


@pytest.mark.parametrize("weights_only", [True, False])
def test_torch_save_of_quantized_tensors_loads_identically(tmp_path, weights_only):
    tensors = _torch_tensors()
    tensors["view"] = tensors["t_quint8"][1:, ::2]
    torch.save(tensors, tmp_path / "t.pt")
    back = mt.load(tmp_path / "t.pt", weights_only=weights_only)
    for key, want in tensors.items():
        _same(back[key], want)
        np.testing.assert_array_equal(back[key].dequantize().numpy(),
                                      want.dequantize().numpy())


def test_mbtorch_save_loads_in_torch_weights_only(tmp_path):
    state = _state()
    state["dtype"], state["scheme"] = mt.qint8, mt.per_channel_affine
    mt.save(state, tmp_path / "m.pt")
    t = torch.load(tmp_path / "m.pt", weights_only=True)
    assert t["dtype"] is torch.qint8 and t["scheme"] is torch.per_channel_affine
    for key, want in state.items():
        if key not in ("dtype", "scheme"):
            _same(t[key], want)
            np.testing.assert_array_equal(t[key].dequantize().numpy(),
                                          want.dequantize().numpy())


class _TorchCNN(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        q = torch.ao.quantization
        self.quant, self.dequant = q.QuantStub(), q.DeQuantStub()
        self.conv, self.relu = torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()
        self.fc = torch.nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        x = self.relu(self.conv(self.quant(x)))
        return self.dequant(self.fc(x.flatten(1)))


def test_torch_converted_state_dict_loads(tmp_path):
    q = torch.ao.quantization
    torch.manual_seed(0)
    model = _TorchCNN().eval()
    model.qconfig = q.get_default_qconfig("x86")
    prepared = q.prepare(model)
    prepared(torch.randn(8, 3, 8, 8))
    sd = q.convert(prepared).state_dict()
    torch.save(sd, tmp_path / "sd.pt")
    assert mt.serialization.get_unsafe_globals_in_checkpoint(tmp_path / "sd.pt") == []
    back = mt.load(tmp_path / "sd.pt")
    assert list(back) == list(sd)
    _same(back["conv.weight"], sd["conv.weight"])
    weight, bias = back["fc._packed_params._packed_params"]
    _same(weight, sd["fc._packed_params._packed_params"][0])
    np.testing.assert_array_equal(bias.detach().numpy(),
                                  sd["fc._packed_params._packed_params"][1].detach().numpy())
    assert back["fc._packed_params.dtype"] is mt.qint8
    assert back["conv.scale"].item() == sd["conv.scale"].item()


def test_torch_float_qparams_and_4_bit_tensors_are_refused_clearly(tmp_path):
    # per_channel_affine_float_qparams (float zero points): torch's quantized embeddings
    table = torch.ao.nn.quantized.Embedding(4, 3)
    assert table.weight().qscheme() is torch.per_channel_affine_float_qparams
    torch.save({"w": table.weight()}, tmp_path / "e.pt")
    with pytest.raises(CheckpointError, match="float zero points .*float_qparams"):
        mt.load(tmp_path / "e.pt")
    four = torch.ao.nn.quantized.Embedding(4, 4, dtype=torch.quint4x2)
    torch.save({"w": four.weight()}, tmp_path / "f.pt")
    with pytest.raises(CheckpointError, match="not supported"):  # 4-bit: float qparams too
        mt.load(tmp_path / "f.pt")


def _crafted(root, call) -> io.BytesIO:
    """A file holding ``root`` (its storage is the file's first, key '0') and ``call``."""
    buf = io.BytesIO()
    write_zip({"root": root, "x": call}, buf)
    buf.seek(0)
    return buf


def test_malformed_quantized_entries_are_clear_errors():
    q = _mt_per_tensor("qint8", 0.05, -3)
    geometry = (_SavedStorage("0", q, q.numel()), 0, tuple(q.shape), tuple(q.stride()))
    plain = _crafted(q, _Rebuild(REBUILD_TENSOR_V2, geometry + (False, OrderedDict())))
    with pytest.raises(CheckpointError, match="plain tensor on a .*qint8 storage"):
        mt.load(plain)
    scales, zps = mt.ones(3, dtype=mt.float64), mt.zeros(3, dtype=mt.int64)
    bad_axis = (mt.per_channel_affine, scales, zps, 5)
    with pytest.raises(CheckpointError, match="axis 5 is out of range"):
        mt.load(_crafted(q, _Rebuild(REBUILD_QTENSOR, geometry + (bad_axis, False,
                                                               OrderedDict()))))
    short = (mt.per_channel_affine, scales[:2], zps[:2], 0)
    with pytest.raises(CheckpointError, match="1-d with 3 values"):
        mt.load(_crafted(q, _Rebuild(REBUILD_QTENSOR, geometry + (short, False, OrderedDict()))))
    grad = (mt.per_tensor_affine, 0.1, 0)
    with pytest.raises(CheckpointError, match="cannot require grad"):
        mt.load(_crafted(q, _Rebuild(REBUILD_QTENSOR, geometry + (grad, True, OrderedDict()))))
    floats = mt.zeros(3)
    float_storage = (_SavedStorage("0", floats, 3), 0, (3,), (1,))
    with pytest.raises(CheckpointError, match="expected a quantized storage"):
        mt.load(_crafted(floats, _Rebuild(REBUILD_QTENSOR, float_storage + (grad, False,
                                                                    OrderedDict()))))


class _MtCNN(mt.nn.Module):
    """``_TorchCNN`` written with mbtorch (same layer names)."""

    def __init__(self) -> None:
        from mbtorch.ao.quantization import DeQuantStub, QuantStub

        super().__init__()
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.conv, self.relu = mt.nn.Conv2d(3, 4, 3), mt.nn.ReLU()
        self.fc = mt.nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        x = self.relu(self.conv(self.quant(x)))
        return self.dequant(self.fc(x.flatten(1)))


def _calibrated(model, q, batches):
    model.qconfig = q.get_default_qconfig("x86")
    prepared = q.prepare(model)
    for x in batches:
        prepared(x)
    return q.convert(prepared)


def test_mbtorch_converted_state_dict_runs_in_torch_converted_model(tmp_path):
    import mbtorch.ao.quantization as mq

    mt.manual_seed(0)
    ours = _calibrated(_MtCNN().eval(), mq, [mt.randn(8, 3, 8, 8) for _ in range(3)])
    mt.save(ours.state_dict(), tmp_path / "ours.pt")
    theirs = _calibrated(_TorchCNN().eval(), torch.ao.quantization,
                         [torch.randn(8, 3, 8, 8)])
    theirs.load_state_dict(torch.load(tmp_path / "ours.pt", weights_only=True))
    _same(theirs.conv.weight(), ours.conv.weight())
    # PyTorch's integer kernels requantize integer sums where mbtorch computes in float: a
    # value at a rounding tie may land one output step away
    x = _values((16, 3, 8, 8), 5)
    diff = np.abs(theirs(torch.from_numpy(x)).numpy() - ours(mt.tensor(x)).numpy())
    step = ours.fc.scale
    assert diff.max() <= step * (1 + 1e-5) and np.mean(diff < step * 1e-5) >= 0.9
