"""``mbtorch-train --quantize {dynamic,static,qat}``: the trained CNN as int8 (dynamic Linear
weights; the graph flow with calibration; quantization-aware fine-tuning), its saved file,
report and accuracy, on tiny generated IDX files (cpu)."""

from __future__ import annotations

import json

import pytest

import mbtorch
from mbtorch import _train_quantize as tq
from mbtorch import train
from tests.fashion_idx import train_args as _args


def _report(out):
    with open(out / tq.QUANT_REPORT) as f:
        return json.load(f)


@pytest.mark.parametrize("mode", ["dynamic", "static", "qat"])
def test_train_then_quantize(mode, data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main(_args(data_root, out, "--epochs", "1", "--quantize", mode,
                            "--calibration-batches", "2")) == 0
    said = capsys.readouterr().out
    assert f"quantized ({mode}): test accuracy" in said
    report = _report(out)
    assert report["mode"] == mode and report["model_epoch"] == 1
    b = report["bytes"]
    # int8 weights: the 200k-parameter Linear layer alone makes it over 3.5x smaller
    assert b["float_safetensors"] / b["quantized_file"] > 3.5
    acc = report["accuracy"]
    assert 0.0 <= acc["quantized"] <= 1.0 and 0.0 <= acc["float"] <= 1.0
    path = out / tq.files_for(train.parse_args(["--quantize", mode]))[0]
    assert path.stat().st_size == b["quantized_file"]
    if mode == "static":
        program = mbtorch.export.load(str(path))
        ops = {n.op for n in program.graph.nodes if n.op is not None}
        assert mbtorch.core.op.Op.QUANTIZE in ops and mbtorch.core.op.Op.DEQUANTIZE in ops
        x = mbtorch.zeros(3, 1, 28, 28)
        assert tuple(program.module()(x).shape) == (3, 10)  # any batch size
    else:
        state = mbtorch.load(str(path))
        assert any(t.is_quantized for t in state.values() if isinstance(t, mbtorch.Tensor))
    if mode == "qat":
        assert len(report["qat_accuracy"]) == 1


def test_quantize_a_resumed_checkpoint_and_refuse_to_overwrite(data_root, tmp_path):
    out = tmp_path / "run"
    assert train.main(_args(data_root, out, "--epochs", "1")) == 0
    resume = ["--resume", str(out / train.CHECKPOINT), "--epochs", "0"]
    assert train.main(_args(data_root, out, *resume, "--quantize", "dynamic")) == 0
    before = (out / "quantized.pt").read_bytes()
    assert train.main(_args(data_root, out, *resume, "--quantize", "dynamic")) == 2
    assert (out / "quantized.pt").read_bytes() == before  # nothing replaced
    assert train.main(_args(data_root, out, *resume, "--quantize", "dynamic",
                            "--overwrite")) == 0


@pytest.mark.parametrize("extra, message", [
    (["--quantize", "int4"], "invalid choice"),
    (["--quantize", "static", "--calibration-batches", "0"], "--calibration-batches"),
    (["--quantize", "qat", "--finetune-epochs", "0"], "--finetune-epochs must be at least 1"),
])
def test_bad_quantize_options_are_usage_errors(extra, message, data_root, tmp_path,
                                               capsys):
    with pytest.raises(SystemExit) as e:
        train.main(_args(data_root, tmp_path / "run", "--epochs", "1", *extra))
    assert e.value.code == 2 and message in capsys.readouterr().err
