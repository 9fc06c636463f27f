"""Checkpoints compatible with PyTorch both ways: mbtorch.save writes torch's zip format (real
torch.load reads it with weights_only=True), mbtorch.load reads torch.save's files (zip and
legacy), weights-only loading refuses anything outside the allow-list without running it."""

import io
import os
import pickle
import warnings
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.serialization import (
    CheckpointError,
    WeightsOnlyUnpicklingError,
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    get_unsafe_globals_in_checkpoint,
    load,
    safe_globals,
    save,
)

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64"]


class Point:
    """A user class, for the allow-list tests."""

    def __init__(self, x, y):
        self.x, self.y = x, y


def _np(t):
    """A tensor of either library as a NumPy array (bfloat16 through float32)."""
    if t.dtype in (mt.bfloat16, torch.bfloat16):
        t = t.float()
    return t.detach().numpy()


def _same(a, b):
    assert tuple(a.shape) == tuple(b.shape)
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    np.testing.assert_array_equal(_np(a), _np(b))


def _mt_net():
    return mt.nn.Sequential(mt.nn.Conv2d(2, 3, 3, padding=1), mt.nn.BatchNorm2d(3), mt.nn.ReLU(),
                            mt.nn.Flatten(), mt.nn.Linear(3 * 4 * 4, 5))


def _torch_net():
    return torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.BatchNorm2d(3),
                               torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(48, 5))


# -- mbtorch.save -> torch.load ------------------------------------------------------------------
def test_module_state_dict_loads_in_torch_with_weights_only(tmp_path):
    net = _mt_net()
    net(mt.randn(4, 2, 4, 4))  # training mode: the running statistics move off their init
    net.eval()
    save(net.state_dict(), tmp_path / "net.pt")
    state = torch.load(tmp_path / "net.pt", weights_only=True)
    assert list(state) == list(net.state_dict())
    for k, v in net.state_dict().items():
        _same(v, state[k])
    other = _torch_net().eval()
    other.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(other(torch.from_numpy(x)).detach().numpy(),
                               net(mt.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_and_non_contiguous_views_load_in_torch(tmp_path, dtype):
    base = (mt.arange(24) % 5).to(getattr(mt, dtype)).reshape(4, 6)
    views = {"base": base, "t": base.t(), "cols": base[:, 1::2], "row": base[2],
             "scalar": base[1, 3]}
    save(views, tmp_path / "v.pt")
    back = torch.load(tmp_path / "v.pt", weights_only=True)
    for k, v in views.items():
        _same(v, back[k])
        assert back[k].stride() == v.stride() and back[k].storage_offset() == v.storage_offset()
    assert back["t"].dtype is getattr(torch, dtype)


def test_shared_storage_stays_shared_in_torch(tmp_path):
    base = mt.arange(12.0).reshape(3, 4)
    p = mt.nn.Parameter(mt.randn(3))
    save({"base": base, "view": base.t()[1:], "p": p, "alias": p.detach()}, tmp_path / "s.pt")
    back = torch.load(tmp_path / "s.pt", weights_only=True)
    assert len({back[k].untyped_storage().data_ptr() for k in ("base", "view")}) == 1
    assert back["p"].untyped_storage().data_ptr() == back["alias"].untyped_storage().data_ptr()
    back["base"][2, 1] = 100.0
    assert back["view"][0, 2].item() == 100.0  # a write through the base reaches the view
    assert isinstance(back["p"], torch.nn.Parameter) and back["p"].requires_grad
    with zipfile.ZipFile(tmp_path / "s.pt") as zf:  # one storage per root, not per tensor
        assert sorted(n for n in zf.namelist() if "/data/" in n) == ["archive/data/0",
                                                                       "archive/data/1"]


def test_zip_layout_is_torchs(tmp_path):
    save({"w": mt.ones(3), "n": 1}, tmp_path / "f.pt")
    with zipfile.ZipFile(tmp_path / "f.pt") as zf:
        names = zf.namelist()
        assert names == ["archive/data.pkl", "archive/.format_version",
                         "archive/.storage_alignment", "archive/byteorder", "archive/data/0",
                         "archive/version", "archive/.data/serialization_id"]
        assert zf.read("archive/byteorder") == b"little"
        assert zf.read("archive/version") == b"3\n"
        assert np.frombuffer(zf.read("archive/data/0"), "<f4").tolist() == [1.0, 1.0, 1.0]
        assert zf.read("archive/data.pkl")[:2] == b"\x80\x02"  # pickle protocol 2
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    assert torch.serialization.get_unsafe_globals_in_checkpoint(str(tmp_path / "f.pt")) == []
    back = torch.load(tmp_path / "f.pt", weights_only=True, mmap=True)  # needs 64-byte alignment
    assert back["w"].tolist() == [1.0, 1.0, 1.0] and back["n"] == 1


def test_optimizer_state_and_plain_values_load_in_torch(tmp_path):
    net = mt.nn.Linear(3, 2)
    opt = mt.optim.Adam(net.parameters(), lr=0.01)
    net(mt.randn(5, 3)).sum().backward()
    opt.step()
    ckpt = {"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
            "history": [0.5, float("inf")], "name": "run", "shape": net.weight.shape,
            "device": mt.device("cpu"), "dtype": mt.bfloat16, "blob": b"\x00\xff", "c": 1 + 2j,
            "tags": {"a", "b"}}
    save(ckpt, tmp_path / "c.pt")
    back = torch.load(tmp_path / "c.pt", weights_only=True)
    assert back["epoch"] == 3 and back["history"] == [0.5, float("inf")] and back["name"] == "run"
    assert back["shape"] == torch.Size([2, 3]) and back["device"] == torch.device("cpu")
    assert back["dtype"] is torch.bfloat16 and back["blob"] == b"\x00\xff" and back["c"] == 1 + 2j
    assert back["tags"] == {"a", "b"}
    state = back["optimizer"]["state"]
    for i, p in enumerate(net.parameters()):
        _same(opt.state[p]["exp_avg"], state[i]["exp_avg"])
    assert back["optimizer"]["param_groups"][0]["lr"] == 0.01
    again = load(tmp_path / "c.pt")  # and mbtorch reads its own file with mbtorch's types
    assert again["dtype"] is mt.bfloat16 and again["device"] == mt.device("cpu")
    assert isinstance(again["shape"], mt.Size) and again["shape"] == (2, 3)


# -- torch.save -> mbtorch.load ------------------------------------------------------------------
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torch_state_dict_loads_into_the_mbtorch_module(tmp_path, legacy):
    torch.manual_seed(0)
    ref = _torch_net()
    ref(torch.randn(4, 2, 4, 4))
    ref.eval()
    torch.save(ref.state_dict(), tmp_path / "ref.pt", _use_new_zipfile_serialization=not legacy)
    state = load(tmp_path / "ref.pt")
    assert isinstance(state, OrderedDict) and list(state) == list(ref.state_dict())
    net = _mt_net().eval()
    net.load_state_dict(state)
    x = np.random.default_rng(1).standard_normal((3, 2, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(net(mt.from_numpy(x)).detach().numpy(),
                               ref(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_tensors_of_every_dtype_load(tmp_path, dtype, legacy):
    base = (torch.arange(24) % 5).to(getattr(torch, dtype)).reshape(4, 6)
    obj = {"base": base, "t": base.t(), "cols": base[:, 1::2], "row": base[2],
           "p": torch.nn.Parameter(base.float()[1:3], requires_grad=False)}
    torch.save(obj, tmp_path / "t.pt", _use_new_zipfile_serialization=not legacy)
    back = load(tmp_path / "t.pt")
    for k, v in obj.items():
        _same(back[k], v)
        assert back[k].stride() == v.stride()
    assert isinstance(back["p"], mt.nn.Parameter) and not back["p"].requires_grad
    back["base"][2, 1] = 0  # storages shared in the file are shared again (it held 3)
    assert back["row"][1].item() == 0 and back["t"][1, 2].item() == 0


def test_torch_requires_grad_and_file_objects(tmp_path):
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2, requires_grad=True), "p": torch.nn.Parameter(torch.zeros(2))},
               buf)
    buf.seek(0)
    back = load(buf)
    assert back["w"].requires_grad and back["w"].is_leaf
    assert isinstance(back["p"], mt.nn.Parameter) and back["p"].requires_grad
    out = io.BytesIO()
    save({"w": back["w"]}, out)
    out.seek(0)
    assert torch.load(out, weights_only=True)["w"].requires_grad


def test_unsupported_torch_content_is_a_clear_error(tmp_path):
    torch.save({"z": torch.tensor([1 + 2j, -3j])}, tmp_path / "c.pt")
    assert load(tmp_path / "c.pt")["z"].tolist() == [1 + 2j, -3j]  # complex64 loads
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "ComplexHalf support is experimental"
        torch.save({"z": torch.zeros(2, dtype=torch.complex32)}, tmp_path / "c32.pt")
    with pytest.raises(CheckpointError, match="complex32"):
        load(tmp_path / "c32.pt")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "m.pt")
    with pytest.raises(WeightsOnlyUnpicklingError, match="torch.nn.modules.linear.Linear"):
        load(tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="torch.nn.modules.linear.Linear.*does not provide"):
        load(tmp_path / "m.pt", weights_only=False)


# -- whole objects, the allow-list and malicious files ----------------------------------------
def test_whole_object_round_trip_needs_weights_only_false(tmp_path):
    net = mt.nn.Sequential(mt.nn.Linear(3, 4), mt.nn.Tanh(), mt.nn.Linear(4, 1))
    obj = {"net": net, "array": np.arange(5.0)}
    save(obj, tmp_path / "whole.pt")
    with pytest.raises(pickle.UnpicklingError, match="GLOBAL mbtorch.nn.modules.container"):
        load(tmp_path / "whole.pt")
    with pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / "whole.pt", weights_only=True)
    back = load(tmp_path / "whole.pt", weights_only=False)
    x = mt.randn(2, 3)
    assert isinstance(back["net"], mt.nn.Sequential) and mt.equal(back["net"](x), net(x))
    np.testing.assert_array_equal(back["array"], np.arange(5.0))


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("how", ["pickle2", "pickle4", "torch.save", "legacy"])
def test_malicious_pickle_is_refused_naming_the_global(tmp_path, how):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    if how.startswith("pickle"):
        path.write_bytes(pickle.dumps(_Evil(marker), protocol=int(how[-1])))
    else:
        torch.save({"w": torch.ones(1), "x": _Evil(marker)}, path,
                   _use_new_zipfile_serialization=how == "torch.save")
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL posix\.system .*blocked"):
        load(path)
    assert not marker.exists()
    add_safe_globals([os.system])  # a blocked module stays blocked
    try:
        with pytest.raises(WeightsOnlyUnpicklingError, match="posix.system"):
            load(path)
    finally:
        clear_safe_globals()
    assert not marker.exists()


def test_any_global_outside_the_allow_list_is_refused(tmp_path):
    marker = tmp_path / "ran"
    code = f"open('{marker}', 'w')".encode()
    payload = (b"\x80\x02cbuiltins\nexec\nq\x00X" + len(code).to_bytes(4, "little") + code
               + b"\x85R.")
    (tmp_path / "e.pt").write_bytes(payload)
    with pytest.raises(WeightsOnlyUnpicklingError,
                       match=r"Unsupported global: GLOBAL exec was not an allowed global"):
        load(tmp_path / "e.pt")
    assert not marker.exists()
    # an allowed class must not be the door to others: BUILD on a plain object is refused
    save({"p": Point(1, 2)}, tmp_path / "p.pt")
    with pytest.raises(WeightsOnlyUnpicklingError, match=f"GLOBAL {Point.__module__}.Point"):
        load(tmp_path / "p.pt")


def test_hand_made_pickles_cannot_change_shared_objects_or_crash(tmp_path):
    # BUILD on the cached device('cpu') with {'type': 'cuda'}: refused, the device unchanged
    evil = (b"\x80\x02ctorch\ndevice\nX\x03\x00\x00\x00cpu\x85R}X\x04\x00\x00\x00type"
            b"X\x04\x00\x00\x00cudasb.")
    (tmp_path / "dev.pt").write_bytes(evil)
    with pytest.raises(WeightsOnlyUnpicklingError, match="Can only build"):
        load(tmp_path / "dev.pt")
    assert mt.device("cpu").type == "cpu"
    for name, data in (("underflow", b"\x80\x02t."), ("unhashable", b"\x80\x02}]Ns.")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError, match="truncated, corrupted"):
            load(tmp_path / name)
    # REDUCE of an allowed global that is no function: an error, not a crash
    (tmp_path / "call.pt").write_bytes(b"\x80\x02ctorch\nfloat32\n)R.")
    with pytest.raises(CheckpointError, match="calling mbtorch.float32 failed.*not callable"):
        load(tmp_path / "call.pt")


def test_unsafe_globals_are_listed_without_loading(tmp_path):
    save({"w": mt.ones(2)}, tmp_path / "ok.pt")
    assert get_unsafe_globals_in_checkpoint(tmp_path / "ok.pt") == []
    save({"p": Point(1, 2), "net": mt.nn.ReLU()}, tmp_path / "p.pt")
    names = [f"{Point.__module__}.Point", "mbtorch.nn.modules.activation.ReLU"]
    assert get_unsafe_globals_in_checkpoint(tmp_path / "p.pt") == names
    with safe_globals([Point]):
        assert get_unsafe_globals_in_checkpoint(tmp_path / "p.pt") == names[1:]
    torch.save(torch.nn.Linear(1, 1), tmp_path / "t.pt")
    assert get_unsafe_globals_in_checkpoint(tmp_path / "t.pt") == \
        torch.serialization.get_unsafe_globals_in_checkpoint(str(tmp_path / "t.pt"))


def test_safe_globals_extend_the_allow_list(tmp_path):
    save({"p": Point(1, 2), "w": mt.ones(2)}, tmp_path / "p.pt")
    with safe_globals([Point]):
        assert Point in get_safe_globals()
        back = load(tmp_path / "p.pt")
    assert isinstance(back["p"], Point) and (back["p"].x, back["p"].y) == (1, 2)
    assert Point not in get_safe_globals()
    with pytest.raises(WeightsOnlyUnpicklingError):
        load(tmp_path / "p.pt")
    add_safe_globals([(Point, f"{Point.__module__}.Point")])
    try:
        assert load(tmp_path / "p.pt")["p"].y == 2
    finally:
        clear_safe_globals()
    assert get_safe_globals() == []
    with pytest.raises(TypeError, match="add_safe_globals"):
        add_safe_globals([42])
    with pytest.raises(ValueError, match="tuple of length 2"):
        add_safe_globals([(Point, "a", "b")])


# -- damaged files, safetensors, atomic writes, arguments -------------------------------------
def test_damaged_and_truncated_files_give_clear_errors(tmp_path):
    save({"w": mt.randn(100)}, tmp_path / "good.pt")
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupted or another format"):
        load(tmp_path / "trunc.pt")
    with zipfile.ZipFile(tmp_path / "good.pt") as zf:
        offset = zf.getinfo("archive/data/0").header_offset
    bad = bytearray(data)
    bad[offset + 200] ^= 0xFF  # inside the storage's bytes: the CRC no longer matches
    (tmp_path / "crc.pt").write_bytes(bytes(bad))
    with pytest.raises(CheckpointError, match="CRC"):
        load(tmp_path / "crc.pt")
    torch.save({"w": torch.ones(50)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    legacy = (tmp_path / "legacy.pt").read_bytes()
    (tmp_path / "legacy_trunc.pt").write_bytes(legacy[:-40])
    with pytest.raises(CheckpointError, match="legacy format.*truncated"):
        load(tmp_path / "legacy_trunc.pt")
    (tmp_path / "junk.pt").write_bytes(b"definitely not a checkpoint")
    with pytest.raises(CheckpointError, match="neither a PyTorch checkpoint nor a safetensors"):
        load(tmp_path / "junk.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="only 0 bytes"):
        load(tmp_path / "empty.pt")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("x/readme.txt", "hello")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        load(tmp_path / "other.zip")


def _rewrite_pickle(src, dst, old, new):
    """Copy the zip checkpoint ``src`` to ``dst`` with bytes of its data.pkl replaced."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("data.pkl"):
                assert old in data
                data = data.replace(old, new)
            zout.writestr(info.filename, data)


def test_a_view_outside_its_storage_is_refused(tmp_path):
    save({"w": mt.arange(4.0)}, tmp_path / "w.pt")
    # the tensor's size (4,) in the pickle is BININT1 4 then TUPLE1; make it 400 elements
    _rewrite_pickle(tmp_path / "w.pt", tmp_path / "oob.pt", b"K\x04\x85", b"M\x90\x01\x85")
    with pytest.raises(CheckpointError, match="reaches past its storage of 4 elements"):
        load(tmp_path / "oob.pt")


def test_a_big_endian_file_is_swapped(tmp_path):
    w = mt.tensor([1.5, -2.0, 3.25], dtype=mt.float64)
    save({"w": w}, tmp_path / "le.pt", _disable_byteorder_record=True)
    with zipfile.ZipFile(tmp_path / "le.pt") as zin, \
            zipfile.ZipFile(tmp_path / "be.pt", "w") as zout:
        assert "archive/byteorder" not in zin.namelist()
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "archive/data/0":
                data = np.frombuffer(data, "<f8").astype(">f8").tobytes()
            zout.writestr(info.filename, data)
        zout.writestr("archive/byteorder", b"big")
    assert load(tmp_path / "be.pt")["w"].tolist() == [1.5, -2.0, 3.25]
    assert load(tmp_path / "le.pt")["w"].tolist() == [1.5, -2.0, 3.25]


def test_map_location_forms(tmp_path):
    save({"w": mt.arange(3.0)}, tmp_path / "cpu.pt")
    # the same file as if saved on a GPU: its location tag says cuda:0
    _rewrite_pickle(tmp_path / "cpu.pt", tmp_path / "gpu.pt", b"X\x03\x00\x00\x00cpu",
                    b"X\x06\x00\x00\x00cuda:0")
    if not mt.cuda.is_available():
        with pytest.raises(RuntimeError, match="saved on 'cuda:0'.*map_location='cpu'"):
            load(tmp_path / "gpu.pt")
    for where in ("cpu", mt.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage,
                  lambda loc: "cpu"):
        back = load(tmp_path / "gpu.pt", map_location=where)
        assert back["w"].device == mt.device("cpu") and back["w"].tolist() == [0.0, 1.0, 2.0]
    back = load(tmp_path / "cpu.pt", map_location=lambda storage, loc: None)  # the saved place
    assert back["w"].device == mt.device("cpu")
    with pytest.raises(TypeError, match="map_location must be"):
        load(tmp_path / "cpu.pt", map_location=3)
    with pytest.raises(TypeError, match="map_location must return None or the storage"):
        load(tmp_path / "cpu.pt", map_location=lambda storage, loc: "cpu")


def test_mmap_maps_the_storages_copy_on_write(tmp_path):
    torch.save({"w": torch.arange(6.0).reshape(2, 3), "e": torch.zeros(0)}, tmp_path / "m.pt")
    back = load(tmp_path / "m.pt", mmap=True)
    assert back["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and back["e"].numel() == 0
    back["w"].add_(1)  # private pages: the file stays as it was
    assert torch.load(tmp_path / "m.pt")["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    save({"w": mt.ones(2)}, tmp_path / "s.safetensors")
    with pytest.raises(RuntimeError, match="mmap=True needs a file in torch.save's zip format"):
        load(tmp_path / "s.safetensors", mmap=True)
    with pytest.raises(ValueError, match="mmap=True needs f to be a file path"):
        load(io.BytesIO(b""), mmap=True)


def test_safetensors_stays_available(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    w = mt.randn(3, 2)
    save({"w": w, "meta": {"step": 2}}, tmp_path / "m.safetensors")  # by the file name
    save({"w": w, "meta": {"step": 2}}, tmp_path / "m.bin", format="safetensors")
    for name in ("m.safetensors", "m.bin"):
        np.testing.assert_array_equal(safetensors_numpy.load_file(str(tmp_path / name))["w"],
                                      w.numpy())
        back = load(tmp_path / name)
        assert mt.equal(back["w"], w) and back["meta"] == {"step": 2}
    buf = io.BytesIO()
    save({"w": w}, buf, format="safetensors")
    buf.seek(0)
    assert mt.equal(load(buf)["w"], w)
    save({"w": w}, tmp_path / "m.pt")  # the default elsewhere is torch's format
    assert zipfile.is_zipfile(tmp_path / "m.pt")
    (tmp_path / "plain").write_bytes(b"")  # written atomically, with a new file's permissions
    assert {(tmp_path / n).stat().st_mode & 0o777 for n in ("m.safetensors", "m.pt", "plain")} \
        == {(tmp_path / "plain").stat().st_mode & 0o777}


def test_failing_save_leaves_the_earlier_file_intact(tmp_path):
    path = tmp_path / "ckpt.pt"
    save({"w": mt.ones(3)}, path)
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        save({"w": mt.zeros(3), "f": lambda: 0}, path)  # a lambda cannot be pickled
    assert torch.load(path, weights_only=True)["w"].tolist() == [1.0, 1.0, 1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temporary left behind
    (tmp_path / "plain").write_bytes(b"")  # the permissions of any new file (the umask's)
    assert path.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777


class _NoSeek(io.RawIOBase):
    def __init__(self):
        self.chunks = []

    def writable(self):
        return True

    def write(self, b):
        self.chunks.append(bytes(b))
        return len(b)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's, for protocol 3
def test_protocols_legacy_writer_and_arguments(tmp_path):
    w = mt.randn(2, 3)
    for proto in (2, 3, 4):
        save({"w": w}, tmp_path / f"p{proto}.pt", pickle_protocol=proto)
        # torch's weights-only unpickler reads protocols 2 and 3 only (as with torch.save)
        _same(w, torch.load(tmp_path / f"p{proto}.pt", weights_only=proto < 4)["w"])
        assert mt.equal(load(tmp_path / f"p{proto}.pt")["w"], w)
    save({"w": w.t()}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    _same(w.t(), torch.load(tmp_path / "legacy.pt", weights_only=True)["w"])
    assert mt.equal(load(tmp_path / "legacy.pt")["w"], w.t())
    sink = _NoSeek()
    sink.seekable = lambda: False
    save({"w": w}, sink)
    _same(w, torch.load(io.BytesIO(b"".join(sink.chunks)), weights_only=True)["w"])
    with pytest.raises(ValueError, match="format must be one of"):
        save({}, tmp_path / "x", format="onnx")
    with pytest.raises(ValueError, match="pickle_protocol"):
        save({}, tmp_path / "x", pickle_protocol=1)
    with pytest.raises(ValueError, match="pickle_module"):
        save({}, tmp_path / "x", pickle_module=io)
    with pytest.raises(TypeError, match="f must be a path or a binary file"):
        save({}, 42)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load(tmp_path / "missing.pt")
