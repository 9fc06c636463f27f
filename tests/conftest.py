"""Shared test helpers: compare mbtorch results with NumPy / PyTorch values."""

from __future__ import annotations

import os

import numpy as np
import pytest

# device test modules run in a child pytest each, so a driver crash fails one test (issue 18)
pytest_plugins = ["tests._isolate"]


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


WITHOUT_TORCH_ENV = "MBTORCH_TESTS_WITHOUT_TORCH"
"""Set to 1 to run the suite without PyTorch: the tests that compare with it are skipped.
Without it, a missing PyTorch stops the session with one clear error (it is the oracle)."""

MINI_MISSING = ("the template plugin (device 'mini') is not installed in this environment: "
                "pip install -e examples/mbtorch_mini (.ci/run installs it)")


def _hypothesis_profiles() -> None:
    """Hypothesis settings for the fuzz tests: ``ci`` (the default) is derandomized, so a CI run
    is reproducible, with a bounded number of examples; ``long`` (MBTORCH_FUZZ=long) draws
    fresh random examples, ten times as many, for a run by hand."""
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # hypothesis is a dev dependency; the fuzz tests importorskip it
        return
    common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow],
                  print_blob=True)
    settings.register_profile("ci", max_examples=60, derandomize=True, **common)
    settings.register_profile("long", max_examples=600, **common)
    settings.load_profile("long" if os.environ.get("MBTORCH_FUZZ") == "long" else "ci")


def pytest_configure(config):
    _hypothesis_profiles()
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        if os.environ.get(WITHOUT_TORCH_ENV, "") in ("", "0"):
            raise pytest.UsageError(
                f"PyTorch is the oracle of these tests and cannot be imported ({exc}): "
                f"pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu, "
                f"or set {WITHOUT_TORCH_ENV}=1 to skip the tests that compare with it") from exc


@pytest.fixture
def torch_or_skip():
    """PyTorch; skipped only under MBTORCH_TESTS_WITHOUT_TORCH=1 (else pytest_configure
    has already stopped the session)."""
    return pytest.importorskip("torch")


def mini_available() -> bool:
    from mbtorch import backends

    status = {s.device_type: s for s in backends.status()}
    return "mini" in status and status["mini"].state == "available"


@pytest.fixture(scope="session")
def mini_device() -> str:
    """The template plugin's device ``mini``; a missing plugin is a failure, not a skip."""
    if not mini_available():
        pytest.fail(MINI_MISSING)
    return "mini"


@pytest.fixture
def data_root(tmp_path):
    """A folder of tiny IDX files in Fashion-MNIST's layout (tests/fashion_idx.py)."""
    from tests.fashion_idx import write_dataset

    return write_dataset(tmp_path / "data")
