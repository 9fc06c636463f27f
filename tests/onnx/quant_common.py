"""Helpers shared by the quantized-ONNX tests (``test_quant_export``, ``test_quant_load``)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

import mbtorch.nn.functional as F
from mbtorch import nn


def session(path: str, optimized: str | None = None,
            literal: bool = False) -> ort.InferenceSession:
    """An onnxruntime session; ``literal``: without graph optimizations, so a QDQ model runs
    node by node in float (its definition) instead of fused into integer kernels."""
    so = ort.SessionOptions()
    if optimized is not None:
        so.optimized_model_filepath = optimized
    if literal:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def within_one_step(got: np.ndarray, want: np.ndarray, step: float,
                    exact: float = 0.98) -> None:
    """At most one step apart everywhere, and equal in at least the ``exact`` fraction."""
    assert got.shape == want.shape and got.dtype == want.dtype
    diff = np.abs(got.astype(np.float64) - want)
    assert diff.max(initial=0.0) <= step * (1 + 1e-5), f"off by {diff.max() / step:.3g} steps"
    assert np.mean(diff <= step * 1e-5) >= exact


class FloatCNN(nn.Module):
    def __init__(self, bias: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=bias)
        self.conv2 = nn.Conv2d(8, 8, 3, bias=bias)
        self.fc = nn.Linear(8 * 2 * 2, 10, bias=bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        return self.fc(F.relu(self.conv2(x)).flatten(1))
