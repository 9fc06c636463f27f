"""detect_anomaly names the forward op whose backward first produced NaN."""

from __future__ import annotations

import pytest

import mbtorch as mt


def test_detect_anomaly_names_the_backward_that_made_nan():
    x = mt.tensor([0.0, 1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with mt.autograd.detect_anomaly():
            y = x.sqrt()  # d sqrt/dx at 0 is inf; times the 0 from below gives nan
            z = (y * 0).sum()
            with pytest.raises(RuntimeError, match=r"Function 'SqrtBackward0' returned nan "
                               r"values in its 0th output[\s\S]*x\.sqrt\(\)"):
                z.backward()
    assert not mt.autograd.is_anomaly_enabled()


def test_without_anomaly_mode_nan_passes_silently():
    x = mt.tensor([0.0, 1.0], requires_grad=True)
    (x.sqrt() * 0).sum().backward()
    assert x.grad.isnan().tolist() == [True, False]


def test_set_detect_anomaly_function_and_context():
    mt.autograd.set_detect_anomaly(True)
    try:
        assert mt.autograd.is_anomaly_enabled()
    finally:
        mt.autograd.set_detect_anomaly(False)
    with mt.autograd.set_detect_anomaly(True):
        assert mt.autograd.is_anomaly_enabled()
    assert not mt.autograd.is_anomaly_enabled()
