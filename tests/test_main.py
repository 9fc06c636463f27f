"""``python -m mbtorch info``: the backend report, as text and as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mbtorch as mt
from mbtorch.__main__ import info_lines, main
from mbtorch.core.plugins import BackendStatus

REPO = Path(__file__).resolve().parents[1]


def test_info_command_lists_cpu():
    proc = subprocess.run([sys.executable, "-m", "mbtorch", "info"], capture_output=True,
                          text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"mbtorch {mt.__version__}" in out and "plugin API version 1" in out
    assert "cpu: available" in out and "mbtorch_numpy.hooks" in out
    assert "mbtorch-numpy 0.1.0" in out and "float32" in out and "native kernels" in out


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    rows = {r["device_type"]: r for r in json.loads(capsys.readouterr().out)}
    cpu = rows["cpu"]
    assert cpu["state"] == "available" and cpu["device_count"] == 1
    assert cpu["native_ops"] >= 37 and "numpy" in cpu["info"]


def test_info_lines_show_reason_of_broken_and_unavailable():
    rows = [BackendStatus("cuda", "mbtorch_cuda.hooks", "mbtorch-cuda", "0.1", "unavailable",
                          "installed, but no CUDA driver: libcuda.so.1 not found"),
            BackendStatus("?", "weird.hooks", state="broken", reason="ImportError: nope")]
    text = "\n".join(info_lines(rows))
    assert "cuda: unavailable" in text and "libcuda.so.1 not found" in text
    assert "?: broken" in text and "ImportError: nope" in text
    assert "(unknown distribution)" in text
    assert "no backends found" in "\n".join(info_lines([]))
