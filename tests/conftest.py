"""Shared test helpers: compare mbtorch results with NumPy / PyTorch values."""

from __future__ import annotations

import numpy as np
import pytest


def assert_close(actual, expected, rtol=1e-6, atol=1e-6, dtype=None):
    """Compare an mbtorch tensor with a NumPy array / torch tensor / list, values and shape."""
    a = actual.numpy(force=True) if hasattr(actual, "numpy") else np.asarray(actual)
    e = expected.numpy() if hasattr(expected, "detach") else np.asarray(expected)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
    if dtype is not None:
        assert actual.dtype is dtype, f"dtype {actual.dtype} != {dtype}"
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e)
    else:
        np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), rtol=rtol,
                                   atol=atol, equal_nan=True)


@pytest.fixture
def torch_or_skip():
    return pytest.importorskip("torch")


@pytest.fixture(scope="session")
def mini_device() -> str:
    """The template plugin's device ``mini``: pip-installs examples/mbtorch_mini if needed."""
    import importlib
    import site
    import subprocess
    import sys
    import sysconfig
    from importlib import metadata
    from pathlib import Path

    from mbtorch import backends

    def found() -> bool:
        return any(ep.name == "mini" for ep in metadata.entry_points(group="mbtorch.backends"))

    if not found():
        template = Path(__file__).resolve().parents[1] / "examples" / "mbtorch_mini"
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
               "--no-build-isolation", "-e", str(template)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"cannot pip-install the template plugin: {exc}")
        if proc.returncode != 0:
            pytest.skip(f"pip install -e examples/mbtorch_mini failed: {proc.stderr[-800:]}")
        site.addsitedir(sysconfig.get_paths()["purelib"])  # runs the editable-install hook
        importlib.invalidate_caches()
        backends.rescan()
        if not found():
            pytest.skip("examples/mbtorch_mini was installed but is not visible in this process")
    return "mini"
