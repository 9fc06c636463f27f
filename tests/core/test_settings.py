"""Process settings (``mbtorch.core.settings``) and the small top-level queries
(``mbtorch._queries``) against PyTorch: values, validation errors, and that each setting
controls what it says (BLAS threads, factories' default device, anomaly mode, warnings)."""

import itertools
import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.core import plugins
from mbtorch.core import settings as S
from mbtorch.core.hookspecs import hookimpl
from mbtorch.core.op import Op

torch = pytest.importorskip("torch")
threadpoolctl = pytest.importorskip("threadpoolctl")


@pytest.fixture(autouse=True)
def _restore():
    saved = (S.SETTINGS.deterministic, S.SETTINGS.deterministic_warn_only,
             S.SETTINGS.matmul_precision, S.SETTINGS.warn_always, S.SETTINGS.interop_threads_set)
    yield
    (S.SETTINGS.deterministic, S.SETTINGS.deterministic_warn_only, S.SETTINGS.matmul_precision,
     S.SETTINGS.warn_always, S.SETTINGS.interop_threads_set) = saved
    mt.set_default_device(None)
    mt.set_anomaly_enabled(False)


def _blas_threads():
    info = threadpoolctl.threadpool_info()
    return max(i["num_threads"] for i in info if i["user_api"] == "blas")


def test_num_threads_controls_the_cpu_blas_pool():
    before = mt.get_num_threads()
    assert before == _blas_threads()
    try:
        mt.set_num_threads(1)
        assert mt.get_num_threads() == 1 == _blas_threads()
        a = mt.randn(64, 64, dtype=mt.float64)
        np.testing.assert_allclose((a @ a).numpy(), a.numpy() @ a.numpy(), rtol=1e-12)
    finally:
        mt.set_num_threads(before)
    assert mt.get_num_threads() == before
    for bad, kind in ((0, "positive integer"), (2.0, "expects an int, but got float")):
        with pytest.raises(RuntimeError, match=kind):
            mt.set_num_threads(bad)
        with pytest.raises(RuntimeError):
            torch.set_num_threads(bad)


def test_interop_threads_say_one_and_validate_like_torch():
    assert mt.get_num_interop_threads() == 1
    assert mt.init_num_threads() is None
    with pytest.raises(RuntimeError, match="positive integer"):
        mt.set_num_interop_threads(0)
    S.SETTINGS.interop_threads_set = False
    with pytest.warns(UserWarning, match="no inter-op thread pool"):
        mt.set_num_interop_threads(4)
    assert mt.get_num_interop_threads() == 1
    with pytest.raises(RuntimeError, match="cannot set number of interop threads"):
        mt.set_num_interop_threads(2)


def test_deterministic_flags_and_debug_mode_match_torch():
    t_saved = (torch.are_deterministic_algorithms_enabled(),
               torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        for mode, warn_only in itertools.product((True, False), repeat=2):
            mt.use_deterministic_algorithms(mode, warn_only=warn_only)
            torch.use_deterministic_algorithms(mode, warn_only=warn_only)
            assert mt.are_deterministic_algorithms_enabled() is mode
            assert (mt.is_deterministic_algorithms_warn_only_enabled()
                    == torch.is_deterministic_algorithms_warn_only_enabled())
            assert mt.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
        for m in ("default", "warn", "error", 0, 1, 2):
            mt.set_deterministic_debug_mode(m)
            torch.set_deterministic_debug_mode(m)
            assert mt.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
            assert (mt.are_deterministic_algorithms_enabled()
                    == torch.are_deterministic_algorithms_enabled())
    finally:
        torch.use_deterministic_algorithms(t_saved[0], warn_only=t_saved[1])
    with pytest.raises(RuntimeError, match="expected one of `default`, `warn`, `error`"):
        mt.set_deterministic_debug_mode("x")
    with pytest.raises(RuntimeError, match="expected 0, 1, or 2, but got 3"):
        mt.set_deterministic_debug_mode(3)
    with pytest.raises(TypeError, match="use_deterministic_algorithms.*mode.*bool"):
        mt.use_deterministic_algorithms(1)


def test_matmul_precision_flush_denormal_and_warn_always():
    assert mt.get_float32_matmul_precision() == "highest"
    mt.set_float32_matmul_precision("medium")
    assert mt.get_float32_matmul_precision() == "medium"
    with pytest.warns(UserWarning, match="bad is not one of 'highest', 'high', or 'medium'"):
        mt.set_float32_matmul_precision("bad")
    assert mt.get_float32_matmul_precision() == "medium"
    assert mt.set_flush_denormal(True) is False  # cannot be set: denormals stay
    assert mt.tensor([1e-40], dtype=mt.float32).item() != 0.0
    assert mt.set_flush_denormal(False) is True
    assert mt.is_warn_always_enabled() is False
    mt.set_warn_always(True)
    assert mt.is_warn_always_enabled() is True
    with pytest.raises(RuntimeError, match="expects a bool, but got int"):
        mt.set_warn_always(1)


class _Gappy:
    DEVICE_TYPE = "gappy_s"

    def __init__(self, spec):
        self.spec = spec

    @hookimpl
    def mbtorch_backend(self, api_version):
        return self.spec


def _no_exp(x):
    raise NotImplementedError("no exp on this device")


def test_warn_always_repeats_the_cpu_fallback_warning():
    spec = plugins.get_backend("cpu").spec
    kernels = dict(spec.kernels)
    kernels[Op.EXP] = _no_exp
    plugins.register_plugin(_Gappy(replace(spec, device_type="gappy_s", kernels=kernels)),
                            name="gappy-settings-test")
    try:
        mt.backends.set_cpu_fallback(True)
        x = mt.ones(2, device="gappy_s")
        with warnings.catch_warnings(record=True):
            mt.exp(x)  # the once-per-op warning, whether or not an earlier test saw it
        mt.set_warn_always(True)
        for _ in range(2):
            with pytest.warns(RuntimeWarning, match="exp"):
                mt.exp(x)
    finally:
        mt.backends.set_cpu_fallback(False)
        plugins.unregister("gappy_s")


def test_default_device_reaches_every_factory(mini_device):
    dev = mini_device
    assert mt.get_default_device() == mt.device("cpu")
    mt.set_default_device(dev)
    assert mt.get_default_device() == mt.device(dev, 0)
    made = [mt.zeros(2), mt.ones(2), mt.empty(2), mt.full((2,), 1.0), mt.tensor([1.0]),
            mt.arange(3), mt.linspace(0, 1, 3), mt.eye(2), mt.rand(2), mt.randn(2),
            mt.randint(0, 3, (2,)), mt.randperm(3)]
    assert {t.device.type for t in made} == {dev}
    assert mt.zeros(2, device="cpu").device.type == "cpu"  # an explicit device wins
    assert mt.zeros_like(mt.zeros(2, device="cpu")).device.type == "cpu"  # like its input
    torch.set_default_device("meta")
    try:  # the legacy constructors ignore the default device, in PyTorch too
        assert mt.Tensor(2, 3).device.type == torch.Tensor(2, 3).device.type == "cpu"
    finally:
        torch.set_default_device(None)
    mt.set_default_device(None)
    assert mt.zeros(2).device.type == "cpu"
    with mt.device(dev):
        assert mt.ones(2).device.type == dev
        with mt.device("cpu"):
            assert mt.ones(2).device.type == "cpu"
        assert mt.ones(2).device.type == dev
    assert mt.ones(2).device.type == "cpu"
    with pytest.raises(TypeError, match="set_default_device"):
        mt.set_default_device(0)


def test_anomaly_switches_reach_autograd():
    assert mt.is_anomaly_enabled() is False
    mt.set_anomaly_enabled(True)
    assert mt.autograd.anomaly.is_anomaly_enabled() and mt.is_anomaly_check_nan_enabled()
    x = mt.tensor([0.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="nan"):
        (mt.sqrt(x) * 0.0).sum().backward()
    mt.set_anomaly_enabled(True, False)
    assert mt.is_anomaly_check_nan_enabled() is False
    mt.set_anomaly_enabled(False)
    assert mt.is_anomaly_enabled() is False


def test_constants_and_queries_match_torch():
    for name in ("e", "pi", "inf"):
        assert getattr(mt, name) == getattr(torch, name)
    assert math.isnan(mt.nan) and mt.newaxis is None is torch.newaxis
    dtypes = ("bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64")
    for a, b in itertools.product(dtypes, repeat=2):
        assert mt.can_cast(getattr(mt, a), getattr(mt, b)) == torch.can_cast(
            getattr(torch, a), getattr(torch, b)), (a, b)
    for a, b in [(mt.ones(2, dtype=mt.int32), 2.5), (2, 2.5), (mt.tensor(1.0), mt.ones(2,
                 dtype=mt.int64)), (mt.ones(2, dtype=mt.uint8), -1), (True, mt.ones(2))]:
        ta = torch.tensor(a.tolist(), dtype=getattr(torch, a.dtype.name)) if isinstance(
            a, mt.Tensor) else a
        tb = torch.tensor(b.tolist(), dtype=getattr(torch, b.dtype.name)) if isinstance(
            b, mt.Tensor) else b
        assert mt.result_type(a, b).name == str(torch.result_type(ta, tb)).split(".")[1]
    assert mt.is_same_size(mt.ones(2, 3), mt.zeros(2, 3)) and not mt.is_same_size(
        mt.ones(2), mt.ones(3))
    assert mt.is_signed(mt.ones(2)) and not mt.is_signed(mt.ones(2, dtype=mt.uint8))
    assert not mt.is_storage(mt.ones(2)) and not mt.is_distributed(mt.ones(2))
    assert mt.is_storage(mt.ones(2).untyped_storage()) == torch.is_storage(
        torch.ones(2).untyped_storage())
    assert not mt.is_inference(mt.ones(2))
    assert mt.typename(mt.ones(2)) == torch.typename(torch.ones(2)) == "torch.FloatTensor"
    assert mt.typename(3) == torch.typename(3) == "int"
    assert mt.typename(mt.nn.Linear(2, 2)) == "mbtorch.nn.modules.linear.Linear"
    with pytest.raises(TypeError, match="can_cast.*from_"):
        mt.can_cast(1, mt.int32)
    with pytest.raises(TypeError, match="is_inference.*input"):
        mt.is_inference(3)


def test_get_device_module():
    assert mt.get_device_module() is mt.cpu
    assert mt.get_device_module("cpu") is mt.cpu is mt.get_device_module(mt.device("cpu"))
    assert mt.get_device_module("cuda") is mt.cuda
    with pytest.raises(RuntimeError, match="does not have a corresponding module"):
        mt.get_device_module("mini")


def test_deterministic_mode_fills_uninitialized_memory_like_torch():
    saved = torch.are_deterministic_algorithms_enabled()
    mt.use_deterministic_algorithms(True)
    torch.use_deterministic_algorithms(True)
    try:
        for name in ("float32", "float16", "int32", "uint8", "int64", "bool"):
            md, td = getattr(mt, name), getattr(torch, name)
            made = [(mt.empty(3, dtype=md), torch.empty(3, dtype=td)),
                    (mt.empty_like(mt.ones(2, 2), dtype=md),
                     torch.empty_like(torch.ones(2, 2), dtype=td)),
                    (mt.ones(1).new_empty(2, dtype=md), torch.ones(1).new_empty(2, dtype=td))]
            for m, t in made:
                np.testing.assert_array_equal(m.numpy(), t.numpy())
    finally:
        mt.use_deterministic_algorithms(False)
        torch.use_deterministic_algorithms(saved)
    assert mt.empty(2, 3).shape == (2, 3)  # off again: plain allocation
