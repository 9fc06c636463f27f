"""``mbtorch-export`` (``python -m mbtorch.onnx``) and ``examples/deploy_onnx.py`` on a small
checkpoint of ``mbtorch-train`` trained on synthetic IDX files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

import mbtorch
from mbtorch import train
from mbtorch.onnx.__main__ import main as export_main
from tests.fashion_idx import write_split as _write_split

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy")
    data = root / "data"
    data.mkdir()
    _write_split(str(data), True, 64, 0)
    _write_split(str(data), False, 40, 1)
    out = root / "run"
    rc = train.main(["--data-root", str(data), "--out", str(out), "--epochs", "1",
                     "--batch-size", "16", "--no-progress", "--no-malloc-tuning"])
    assert rc == 0
    return str(data), str(out / train.CHECKPOINT)


def test_export_command_writes_a_checked_model(trained, tmp_path, capsys):
    _, ckpt = trained
    out = tmp_path / "model.onnx"
    assert export_main([ckpt, "--model", "fashion_cnn", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "wrote" in said and "checked under onnxruntime" in said
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.input[0].name == "images"
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    # an existing file is kept unless --overwrite
    before = out.read_bytes()
    assert export_main([ckpt, "-o", str(out)]) == 2
    assert "exists: pass --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert export_main([ckpt, "-o", str(out), "--overwrite"]) == 0


def test_export_command_errors(trained, tmp_path, capsys):
    assert export_main([str(tmp_path / "none.pt"), "-o", str(tmp_path / "m.onnx")]) == 2
    assert "no checkpoint at" in capsys.readouterr().err
    other = tmp_path / "other.pt"
    mbtorch.save({"weights": mbtorch.zeros(3)}, str(other))
    assert export_main([str(other), "-o", str(tmp_path / "m.onnx")]) == 2
    assert "is not a checkpoint of the fashion_cnn model" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


def test_export_command_runs_as_a_module(trained, tmp_path):
    _, ckpt = trained
    out = tmp_path / "m.onnx"
    proc = subprocess.run([sys.executable, "-m", "mbtorch.onnx", ckpt, "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file()


def test_deploy_example_runs_everywhere_with_one_accuracy(trained, capsys):
    data, ckpt = trained
    sys.path.insert(0, str(REPO / "examples"))
    try:
        import deploy_onnx
    finally:
        sys.path.remove(str(REPO / "examples"))
    results = deploy_onnx.main(["--checkpoint", ckpt, "--data-root", data,
                                "--batch-size", "16"])
    said = capsys.readouterr().out
    assert "onnxruntime (CPU)" in results and "mbtorch.onnx.load on cpu" in results
    assert "ms per batch of 16" in said
    assert len(set(results.values())) == 1  # every runtime classifies the same images alike
    assert os.path.basename(ckpt) == train.CHECKPOINT
