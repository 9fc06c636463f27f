"""``python -m bench.compression`` on tiny generated IDX files: every variant runs through
``mbtorch-train``, the ONNX rows come from onnxruntime, the Markdown and JSON are written and
a second run never replaces the first's files. No timing is asserted."""

from __future__ import annotations

import json

import pytest

from bench import compression
from tests.fashion_idx import write_split as _write_split


def test_compression_benchmark_runs_end_to_end(tmp_path):
    pytest.importorskip("onnxruntime")
    root = tmp_path / "data"
    root.mkdir()
    _write_split(str(root), True, 64, 0)
    _write_split(str(root), False, 40, 1)
    argv = ["--epochs", "1", "--data-root", str(root), "--limit-train", "48",
            "--limit-test", "32", "--repeats", "1", "--out", str(tmp_path / "results")]
    assert compression.main(argv) == 0
    md = sorted((tmp_path / "results").glob("compression-*.md"))
    assert len(md) == 1
    result = json.loads(md[0].with_suffix(".json").read_text())
    assert set(result["variants"]) == {"prune", "dynamic", "static", "qat"}
    assert [o["model"] for o in result["onnx"]] == ["float32", "static int8 (graph)",
                                                     "QAT int8"]
    assert "QLinearConv" in result["onnx"][1]["int8 kernels"]
    text = md[0].read_text()
    for row in ("float32", "pruned 80 %", "dynamic int8", "static int8", "QAT int8"):
        assert row in text
    assert compression.main(argv) == 0  # a second run: a new file beside the first
    assert len(list((tmp_path / "results").glob("compression-*.md"))) == 2
