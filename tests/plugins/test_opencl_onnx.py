"""``mbtorch.onnx.load`` on ``opencl``: ONNX files written by ``torch.onnx.export`` run on the
OpenCL device and match PyTorch (the cpu and mini runs: tests/onnx/test_load.py). Skipped,
with the reason, where there is no usable OpenCL device."""

from __future__ import annotations

import pytest

import mbtorch.onnx
from tests.onnx.test_load import check_against_torch, torch_export

from .test_opencl import _OK, _WHY, DEV

pytestmark = pytest.mark.skipif(not _OK, reason=f"no usable OpenCL device: {_WHY}")


@pytest.mark.parametrize("name, dynamo", [("fashion_cnn", True), ("lstm", False),
                                          ("tiny_gpt", False), ("mlp", True)])
def test_pytorch_exports_run_on_opencl(name, dynamo, tmp_path):
    path = str(tmp_path / "m.onnx")
    model = torch_export(name, dynamo, path)
    check_against_torch(name, model, mbtorch.onnx.load(path), DEV)
