"""``mbtorch.load`` on files written by real ``torch.save`` with what published weights hold:
half-precision storages (float16, bfloat16), storages shared between tensors at offsets and
strides (tied weights keep their identity), non-contiguous tensors, int64 buffers, the
``_metadata`` of a state dict, nested training checkpoints, the legacy (non-zip) format, a
torchvision-style ResNet-18 saved in float16 loading into ``mbtorch.vision.models.resnet18``,
and ``mmap=True``; uint16/32/64 tensors (on untyped storages) both ways."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.vision import models

torch = pytest.importorskip("torch")

from bench.zoo_torch_ref import reference  # noqa: E402 - needs torch

FORMATS = pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])


def _save(obj, path, legacy=False):
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path


def _np(t):
    return (t.float() if t.dtype in (mt.bfloat16, torch.bfloat16) else t).detach().numpy()


def _same(ours, theirs):
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert ours.stride() == theirs.stride()
    assert ours.storage_offset() == theirs.storage_offset()
    np.testing.assert_array_equal(_np(ours), _np(theirs))


def _shares(a, b):
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def _small_net(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 5))


@FORMATS
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_state_dict_loads_and_runs_after_float(tmp_path, dtype, legacy):
    torch.manual_seed(0)
    ref = _small_net(torch)
    ref(torch.randn(8, 3, 6, 6))  # running statistics and num_batches_tracked move
    ref = ref.eval().to(getattr(torch, dtype))
    state = mt.load(_save(ref.state_dict(), tmp_path / "h.pt", legacy))
    for k, v in ref.state_dict().items():
        _same(state[k], v)
    assert state["1.num_batches_tracked"].dtype == mt.int64  # not cast by .half()
    ours = _small_net(mt).to(getattr(mt, dtype))
    ours.load_state_dict(state)
    ours = ours.float().eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    with torch.no_grad():
        want = ref.float()(torch.from_numpy(x)).numpy()
    with mt.no_grad():
        got = ours(mt.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@FORMATS
def test_views_on_one_storage_keep_offsets_strides_and_sharing(tmp_path, legacy):
    base = torch.arange(40, dtype=torch.float32)
    obj = {"rows": base[4:28].view(4, 6), "cols": base[4:28].view(4, 6)[:, 1::2],
           "t": base[10:30].view(4, 5).t(), "strided": base.as_strided((3, 3), (7, 2), 6),
           "tail": base[35:], "scalar": base[7]}
    back = mt.load(_save(obj, tmp_path / "v.pt", legacy))
    for k, v in obj.items():
        _same(back[k], v)
    assert len({back[k].untyped_storage().data_ptr() for k in obj}) == 1
    back["rows"][1, 3] = -1.0  # base[13]: seen through every view that covers it
    assert back["cols"][1, 1].item() == -1.0 and back["t"][3, 0].item() == -1.0
    assert back["strided"][1, 0].item() == -1.0 and back["tail"][0].item() == 35.0


@FORMATS
def test_tied_weights_keep_their_identity(tmp_path, legacy):
    emb = torch.nn.Embedding(7, 4)
    head = torch.nn.Linear(4, 7, bias=False)
    head.weight = emb.weight
    tied = torch.nn.ModuleDict({"emb": emb, "head": head})
    same = torch.randn(3)
    obj = {"state": tied.state_dict(), "a": same, "b": same}
    back = mt.load(_save(obj, tmp_path / "tied.pt", legacy))
    assert back["a"] is back["b"]  # one object saved twice is one object again
    sd = back["state"]
    assert list(sd) == ["emb.weight", "head.weight"] and _shares(sd["emb.weight"],
                                                                 sd["head.weight"])
    ours = mt.nn.ModuleDict({"emb": mt.nn.Embedding(7, 4), "head": mt.nn.Linear(4, 7, False)})
    ours["head"].weight = ours["emb"].weight
    ours.load_state_dict(sd)
    assert ours["head"].weight is ours["emb"].weight
    np.testing.assert_array_equal(ours["head"].weight.detach().numpy(),
                                  emb.weight.detach().numpy())


@FORMATS
def test_a_non_contiguous_tensor_saved_alone(tmp_path, legacy):
    big = torch.randn(6, 8)
    obj = {"t": big.t(), "every_other": big[:, ::2], "corner": big[1:3, 2:5]}
    back = mt.load(_save(obj, tmp_path / "nc.pt", legacy))
    for k, v in obj.items():
        _same(back[k], v)
        assert not back[k].is_contiguous()
        assert back[k].contiguous().is_contiguous()
        np.testing.assert_array_equal(back[k].contiguous().numpy(), v.contiguous().numpy())


@FORMATS
def test_state_dict_metadata_and_int64_buffers(tmp_path, legacy):
    ref = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).train()
    for _ in range(3):
        ref(torch.randn(5, 3))
    sd = ref.state_dict()
    back = mt.load(_save(sd, tmp_path / "m.pt", legacy))
    assert isinstance(back, OrderedDict) and list(back) == list(sd)
    assert back._metadata == sd._metadata  # {"": {"version": 1}, "1": {"version": 2}, ...}
    assert back._metadata["1"]["version"] == 2
    nbt = back["1.num_batches_tracked"]
    assert nbt.dtype == mt.int64 and nbt.shape == () and nbt.item() == 3
    ours = mt.nn.Sequential(mt.nn.Linear(3, 4), mt.nn.BatchNorm1d(4))
    ours.load_state_dict(back)
    assert ours[1].num_batches_tracked.item() == 3
    np.testing.assert_array_equal(ours[1].running_var.numpy(), sd["1.running_var"].numpy())


@FORMATS
def test_nested_training_checkpoint(tmp_path, legacy):
    torch.manual_seed(1)
    ref = _small_net(torch)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    ref(torch.randn(2, 3, 6, 6)).sum().backward()
    opt.step()
    ckpt = {"state_dict": ref.state_dict(), "optimizer": opt.state_dict(), "epoch": 12,
            "best_acc1": torch.tensor(76.13), "arch": "small", "args": {"lr": 0.1,
                                                                        "milestones": [30, 60]}}
    back = mt.load(_save(ckpt, tmp_path / "ckpt.pth.tar", legacy))
    assert back["epoch"] == 12 and back["arch"] == "small"
    assert back["args"] == {"lr": 0.1, "milestones": [30, 60]}
    assert back["best_acc1"].item() == pytest.approx(76.13)
    for k, v in ckpt["state_dict"].items():
        _same(back["state_dict"][k], v)
    ostate = back["optimizer"]
    assert ostate["param_groups"][0]["lr"] == 0.1
    assert ostate["param_groups"][0]["params"] == ckpt["optimizer"]["param_groups"][0]["params"]
    for i, s in ckpt["optimizer"]["state"].items():
        _same(ostate["state"][i]["momentum_buffer"], s["momentum_buffer"])
    ours = _small_net(mt)
    ours.load_state_dict(back["state_dict"])


@pytest.fixture
def resnet18_half(tmp_path):
    """torchvision-style ResNet-18 weights (the reference, torchvision's names) saved in
    float16, as many published checkpoints are, and the float32 model they round to."""
    ref = reference("resnet18")
    path = tmp_path / "resnet18-f16.pth"
    torch.save(ref.half().state_dict(), path)
    return path, ref.float().eval()  # the float16-rounded weights, in float32


def test_torchvision_resnet18_in_float16_loads_into_the_zoo_model(resnet18_half):
    path, ref = resnet18_half
    state, mapped = mt.load(path), mt.load(path, mmap=True)
    assert list(state) == list(mapped) == list(ref.state_dict())
    for k, v in state.items():
        np.testing.assert_array_equal(mapped[k].numpy(), v.numpy())
    assert state["fc.weight"].dtype == mt.float16 and state["bn1.running_var"].dtype == \
        mt.float16 and state["bn1.num_batches_tracked"].dtype == mt.int64
    model = models.resnet18().half()
    model.load_state_dict(mapped, strict=True)
    model = model.float().eval()
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        want = ref(torch.from_numpy(x)).numpy()
    with mt.no_grad():
        got = model(mt.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_mmap_keeps_views_shared_and_half_precision(tmp_path):
    base = torch.randn(4, 6).half()
    obj = {"w": base, "wt": base.t(), "row": base[2], "bf": torch.randn(3).bfloat16()}
    back = mt.load(_save(obj, tmp_path / "mm.pt"), mmap=True)
    for k, v in obj.items():
        _same(back[k], v)
    assert _shares(back["w"], back["wt"]) and _shares(back["w"], back["row"])
    back["w"][2, 3] = 0.5  # copy-on-write pages, shared by the views, not by the file
    assert back["row"][3].item() == 0.5 and back["wt"][3, 2].item() == 0.5
    assert torch.load(tmp_path / "mm.pt")["w"][2, 3].item() == obj["w"][2, 3].item()


def test_mmap_of_a_legacy_file_is_refused(tmp_path):
    path = _save({"w": torch.ones(2)}, tmp_path / "legacy.pt", legacy=True)
    with pytest.raises(RuntimeError, match="mmap=True needs a file in torch.save's zip format"):
        mt.load(path, mmap=True)


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_uint16_32_64_on_untyped_storages_load(tmp_path, mmap):
    """PyTorch saves uint16/32/64 on an UntypedStorage (its size in bytes) rebuilt by
    _rebuild_tensor_v3, which names the dtype; views keep sharing it."""
    base = torch.tensor([1, 2, 65535, 7, 9, 11], dtype=torch.uint16)
    obj = {"u16": base, "view": base[2:].view(2, 2).t(), "u32": torch.tensor(
        [1, 2**32 - 1], dtype=torch.uint32), "u64": torch.tensor([3, 2**62], dtype=torch.uint64),
        "dtype": torch.uint64}
    back = mt.load(_save(obj, tmp_path / "u.pt"), mmap=mmap)
    for k in ("u16", "view", "u32", "u64"):
        assert back[k].dtype == getattr(mt, str(obj[k].dtype).split(".")[1])
        assert back[k].stride() == obj[k].stride() and back[k].tolist() == obj[k].tolist()
    assert back["dtype"] is mt.uint64 and _shares(back["u16"], back["view"])
    back["u16"][3] = 5
    assert back["view"][1, 0].item() == 5


def test_uint_tensors_save_as_pytorch_does(tmp_path):
    b = mt.tensor([1, 2, 65535, 7], dtype=mt.uint16)
    obj = {"u16": b, "odd": b[1:][::2], "u32": mt.tensor([4, 2**32 - 1], dtype=mt.uint32),
           "p": mt.nn.Parameter(mt.tensor([3], dtype=mt.uint64), requires_grad=False),
           "dtype": mt.uint32}
    mt.save(obj, tmp_path / "w.pt")
    theirs = torch.load(tmp_path / "w.pt", weights_only=True)
    assert theirs["u16"].dtype == torch.uint16 and theirs["odd"].tolist() == [2, 7]
    assert _shares(theirs["u16"], theirs["odd"]) and theirs["odd"].storage_offset() == 1
    assert theirs["u32"].tolist() == [4, 2**32 - 1] and theirs["dtype"] is torch.uint32
    assert isinstance(theirs["p"], torch.nn.Parameter) and theirs["p"].dtype == torch.uint64
    assert mt.load(tmp_path / "w.pt")["odd"].tolist() == [2, 7]
    with pytest.raises(RuntimeError, match="mbtorch.uint16 tensors need the zip format"):
        mt.save({"u": b}, tmp_path / "l.pt", _use_new_zipfile_serialization=False)


def test_untyped_storage_errors_are_clear():
    from mbtorch._checkpoint.names import allowed_globals
    from mbtorch._checkpoint.storage import CheckpointError, StorageTable, _rebuild_tensor_v3

    untyped = allowed_globals()["torch.storage.UntypedStorage"]
    table = StorageTable(None, lambda t, loc: t)
    odd = table.persistent_load(("storage", untyped, "0", "cpu", 5))
    with pytest.raises(CheckpointError, match="holds 5 bytes, not a whole number of "
                                              "mbtorch.uint16 elements"):
        _rebuild_tensor_v3(odd, 0, (2,), (1,), False, None, mt.uint16)
    two = table.persistent_load(("storage", untyped, "1", "cpu", 8))
    _rebuild_tensor_v3(two, 0, (4,), (1,), False, None, mt.uint16)
    with pytest.raises(CheckpointError, match="a mbtorch.uint32 tensor on a mbtorch.uint16 "
                                              "storage is not supported"):
        _rebuild_tensor_v3(two, 0, (2,), (1,), False, None, mt.uint32)
    with pytest.raises(CheckpointError, match="declared with 8 and with 6 bytes"):
        table.persistent_load(("storage", untyped, "1", "cpu", 6))
    with pytest.raises(CheckpointError, match="dtype must be a dtype mbtorch holds"):
        _rebuild_tensor_v3(table.persistent_load(("storage", untyped, "2", "cpu", 4)), 0,
                           (1,), (1,), False, None, "uint32")
    floats = table.persistent_load(("storage", allowed_globals()["torch.FloatStorage"], "3",
                                    "cpu", 2))
    with pytest.raises(CheckpointError, match="a mbtorch.int32 tensor on a mbtorch.float32"):
        _rebuild_tensor_v3(floats, 0, (2,), (1,), False, None, mt.int32)
