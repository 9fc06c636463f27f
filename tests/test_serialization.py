"""mbtorch.save / mbtorch.load: safetensors files, structure in metadata, atomic writes,
clear errors on damaged or foreign files, and no code execution on load. (PyTorch's zip format,
the default of save, is tested in test_serialization_pt.py; the format-neutral round trips
here run through it.)"""

import json
import os
import pickle

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.serialization import CheckpointError, load, save


def test_round_trip_nested_structure(tmp_path):
    obj = {
        "model": {"fc.weight": mt.randn(3, 2), "fc.bias": mt.zeros(3)},
        "step": 7, "lr": 0.1, "name": "run", "flag": True, "none": None, "inf": float("inf"),
        "history": [1.5, (mt.tensor([1, 2], dtype=mt.int32), "x")],
        3: mt.tensor(2.5, dtype=mt.float64),
    }
    path = tmp_path / "ckpt.safetensors"
    save(obj, path)
    back = load(path)
    assert back["step"] == 7 and back["lr"] == 0.1 and back["name"] == "run"
    assert back["flag"] is True and back["none"] is None and back["inf"] == float("inf")
    assert mt.equal(back["model"]["fc.weight"], obj["model"]["fc.weight"])
    t, s = back["history"][1]
    assert isinstance(back["history"][1], tuple) and s == "x"
    assert t.dtype is mt.int32 and t.tolist() == [1, 2]
    assert back[3].dtype is mt.float64 and back[3].shape == () and back[3].item() == 2.5


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64", "float16",
                                   "bfloat16", "float32", "float64"])
def test_every_dtype_round_trips_exactly(tmp_path, dtype):
    x = (mt.arange(12) % 3).to(getattr(mt, dtype)).reshape(3, 4).t()  # non-contiguous
    save({"x": x}, tmp_path / "a")
    y = load(tmp_path / "a")["x"]
    assert y.dtype is x.dtype and y.shape == x.shape and y.tolist() == x.tolist()


def test_file_is_plain_safetensors_readable_by_the_library(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    w = mt.randn(4, 5)
    save({"layer.weight": w, "layer.bias": mt.ones(4)}, tmp_path / "m.safetensors")
    arrays = safetensors_numpy.load_file(str(tmp_path / "m.safetensors"))
    np.testing.assert_array_equal(arrays["layer.weight"], w.numpy())
    # and a file written by the safetensors library loads as a flat dict
    safetensors_numpy.save_file({"a": np.arange(3, dtype=np.int64)}, str(tmp_path / "ext"))
    assert load(tmp_path / "ext")["a"].tolist() == [0, 1, 2]


def test_module_state_dict_checkpoint_round_trip(tmp_path):
    model = mt.nn.Sequential(mt.nn.Linear(4, 3), mt.nn.BatchNorm1d(3))
    save(model.state_dict(), tmp_path / "m")
    other = mt.nn.Sequential(mt.nn.Linear(4, 3), mt.nn.BatchNorm1d(3))
    other.load_state_dict(load(tmp_path / "m"))
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert mt.equal(a, b), k


def test_truncated_and_corrupted_files_raise(tmp_path):
    path = tmp_path / "good"
    save({"w": mt.randn(100)}, path, format="safetensors")  # the zip format: test_serialization_pt
    data = path.read_bytes()
    (tmp_path / "trunc").write_bytes(data[: len(data) - 10])
    with pytest.raises(CheckpointError, match="truncated, corrupted or another format"):
        load(tmp_path / "trunc")
    bad = bytearray(data)
    bad[10] = ord("!")
    (tmp_path / "corrupt").write_bytes(bytes(bad))
    with pytest.raises(CheckpointError):
        load(tmp_path / "corrupt")
    (tmp_path / "tiny").write_bytes(b"abc")
    with pytest.raises(CheckpointError, match="only 3 bytes"):
        load(tmp_path / "tiny")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing")


def test_a_pickle_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError):
        load(tmp_path / "evil.pt")
    assert not marker.exists()


def test_structure_metadata_is_validated(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    meta = {"mbtorch.structure": json.dumps({"__tensor__": "missing"})}
    safetensors_numpy.save_file({"a": np.zeros(2, np.float32)}, str(tmp_path / "f"), meta)
    with pytest.raises(CheckpointError, match="refers to tensor 'missing'"):
        load(tmp_path / "f")
    meta = {"mbtorch.structure": "{not json"}
    safetensors_numpy.save_file({"a": np.zeros(2, np.float32)}, str(tmp_path / "g"), meta)
    with pytest.raises(CheckpointError, match="corrupted structure metadata"):
        load(tmp_path / "g")


def test_write_is_atomic_when_saving_fails(tmp_path):
    path = tmp_path / "ckpt"
    save({"w": mt.ones(3)}, path)
    with pytest.raises(TypeError, match="cannot save an object of type object"):
        save({"w": mt.zeros(3), "bad": object()}, path, format="safetensors")
    assert load(path)["w"].tolist() == [1.0, 1.0, 1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporary left behind


def test_map_location_and_requires_grad(tmp_path):
    w = mt.randn(2, requires_grad=True)
    save({"w": w}, tmp_path / "p")
    back = load(tmp_path / "p", map_location="cpu")
    assert back["w"].requires_grad and back["w"].device == mt.device("cpu")
    with pytest.raises(RuntimeError, match="no backend provides device 'nowhere'"):
        load(tmp_path / "p", map_location="nowhere")
