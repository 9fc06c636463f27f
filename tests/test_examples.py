"""The programs under examples/ run as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_quickstart_runs():
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "quickstart.py")],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "after xt[0, 1] = 100, x[1, 0] = 100.0" in out
    assert "y = x @ w has shape (2, 4)" in out
    assert "error: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x2)" in out
    assert "backend cpu: available" in out
    # run from examples/, the plugin template's directory must not shadow the installed plugin
    assert "backend mini: broken" not in out
