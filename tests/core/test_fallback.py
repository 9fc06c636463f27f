"""The opt-in CPU fallback: a kernel raising NotImplementedError runs on cpu, with one warning
per op, correct values and gradients; off by default."""

from dataclasses import replace

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.core import plugins
from mbtorch.core.hookspecs import hookimpl
from mbtorch.core.op import Op


class _Hooks:
    DEVICE_TYPE = "gappy"

    def __init__(self, spec):
        self.spec = spec

    @hookimpl
    def mbtorch_backend(self, api_version):
        return self.spec


def _refuse_float64(kernel):
    def k(x):
        if x.dtype == np.float64:
            raise NotImplementedError("no float64 exp on this device")
        return kernel(x)

    return k


@pytest.fixture
def gappy():
    spec = plugins.get_backend("cpu").spec
    kernels = dict(spec.kernels)
    kernels[Op.EXP] = _refuse_float64(kernels[Op.EXP])
    st = plugins.register_plugin(_Hooks(replace(spec, device_type="gappy", kernels=kernels)),
                                 name="gappy-test")
    assert st.state == "available", st.reason
    yield "gappy"
    plugins.unregister("gappy")
    mt.backends.set_cpu_fallback(False)


def test_gap_raises_by_default(gappy):
    x = mt.ones(3, dtype=mt.float64, device=gappy)
    assert not mt.backends.is_cpu_fallback_enabled()
    with pytest.raises(NotImplementedError, match="no float64 exp"):
        mt.exp(x)
    assert mt.exp(x.float()).device.type == "gappy"  # the supported case runs natively


def test_fallback_runs_on_cpu_warns_once_and_keeps_gradients(gappy):
    mt.backends.set_cpu_fallback(True)
    x = mt.tensor([0.0, 1.0, 2.0], dtype=mt.float64, device=gappy, requires_grad=True)
    with pytest.warns(RuntimeWarning, match=r"exp\(\): not implemented on device type 'gappy'"):
        y = mt.exp(x)
    assert y.device.type == "gappy"
    np.testing.assert_allclose(y.detach().numpy(force=True), np.exp([0.0, 1.0, 2.0]))
    y.sum().backward()
    assert x.grad.device.type == "gappy"
    np.testing.assert_allclose(x.grad.numpy(force=True), np.exp([0.0, 1.0, 2.0]))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mt.exp(x.detach())  # second use: no second warning
