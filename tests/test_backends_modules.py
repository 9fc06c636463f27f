"""``mbtorch.backends.cudnn`` / ``cuda`` / ``mps`` / ``opencl``: PyTorch's flags (defaults,
reading, setting, checking) against real torch, and the availability answers from the plugin
registry."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

import mbtorch as mt
from mbtorch import backends
from mbtorch.core import plugins

CUDNN_FLAGS = ["enabled", "benchmark", "deterministic", "allow_tf32"]
MATMUL_FLAGS = ["allow_tf32", "allow_fp16_accumulation"]
REDUCTIONS = ["allow_fp16_reduced_precision_reduction", "allow_bf16_reduced_precision_reduction"]
SDP = ["flash", "mem_efficient", "math", "cudnn"]


@pytest.fixture
def restore_flags():
    cudnn = {n: getattr(backends.cudnn, n) for n in CUDNN_FLAGS}
    matmul = {n: getattr(backends.cuda.matmul, n) for n in MATMUL_FLAGS + REDUCTIONS}
    sdp = {k: getattr(backends.cuda, f"{k}_sdp_enabled")() for k in SDP}
    yield
    for n, v in cudnn.items():
        setattr(backends.cudnn, n, v)
        setattr(torch.backends.cudnn, n, v)
    for n, v in matmul.items():
        setattr(backends.cuda.matmul, n, v)
        setattr(torch.backends.cuda.matmul, n, v)
    for k, v in sdp.items():
        getattr(backends.cuda, f"enable_{k}_sdp")(v)
        getattr(torch.backends.cuda, f"enable_{k}_sdp")(v)


@pytest.mark.parametrize("name", CUDNN_FLAGS)
def test_cudnn_flags_read_and_set_like_torch(name, restore_flags):
    assert getattr(backends.cudnn, name) == getattr(torch.backends.cudnn, name)
    for value in (True, False):
        setattr(backends.cudnn, name, value)
        setattr(torch.backends.cudnn, name, value)
        assert getattr(backends.cudnn, name) is getattr(torch.backends.cudnn, name) is value
    for bad in (1, "yes", None):
        with pytest.raises(RuntimeError):
            setattr(torch.backends.cudnn, name, bad)
        with pytest.raises(RuntimeError, match=f"expects a bool, but got {type(bad).__name__}"):
            setattr(backends.cudnn, name, bad)


@pytest.mark.parametrize("name", MATMUL_FLAGS)
def test_matmul_flags_read_and_set_like_torch(name, restore_flags):
    assert getattr(backends.cuda.matmul, name) == getattr(torch.backends.cuda.matmul, name)
    for value in (True, False):
        setattr(backends.cuda.matmul, name, value)
        assert getattr(backends.cuda.matmul, name) is value
    with pytest.raises(RuntimeError):
        setattr(torch.backends.cuda.matmul, name, 1)
    with pytest.raises(RuntimeError, match="expects a bool, but got int"):
        setattr(backends.cuda.matmul, name, 1)


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_flags_take_a_bool_or_a_pair_like_torch(name, restore_flags):
    ours, theirs = backends.cuda.matmul, torch.backends.cuda.matmul
    assert getattr(ours, name) == getattr(theirs, name)
    assert getattr(ours, name + "_split_k") == getattr(theirs, name + "_split_k")
    for value in (False, (False, False), [False], (False, True), [True]):
        setattr(ours, name, value)
        setattr(theirs, name, value)
        assert getattr(ours, name) is getattr(theirs, name)
        assert getattr(ours, name + "_split_k") is getattr(theirs, name + "_split_k")
    for bad in (1, (), (True, False, True), (1, True)):
        with pytest.raises(TypeError):
            setattr(theirs, name, bad)
        with pytest.raises(TypeError, match=name):
            setattr(ours, name, bad)
    for lib in (torch, mt):
        with pytest.raises(RuntimeError, match="allow_splitk=False is not supported"):
            setattr(lib.backends.cuda.matmul, name, (True, False))
    setattr(theirs, name, True)


def test_matmul_refuses_unknown_names_as_torch():
    for lib in (torch, mt):
        with pytest.raises(AttributeError, match="Unknown attribute foo"):
            lib.backends.cuda.matmul.foo  # noqa: B018
        with pytest.raises(AttributeError, match="Unknown attribute foo"):
            lib.backends.cuda.matmul.foo = True


def test_cudnn_flags_context_manager_restores_like_torch(restore_flags):
    for lib in (torch, mt):
        cudnn = lib.backends.cudnn
        with cudnn.flags(enabled=False, benchmark=True, deterministic=True, allow_tf32=False):
            inside = (cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32)
        assert inside == (False, True, True, False)
        assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32) == \
            (True, False, False, True)
    orig = backends.cudnn.set_flags(False, True)
    assert orig[:2] == (True, False)
    assert (backends.cudnn.enabled, backends.cudnn.benchmark) == (False, True)
    backends.cudnn.set_flags(*orig)
    assert (backends.cudnn.enabled, backends.cudnn.benchmark) == (True, False)


@pytest.mark.parametrize("kind", SDP)
def test_sdp_switches_like_torch(kind, restore_flags):
    ours, theirs = backends.cuda, torch.backends.cuda
    assert getattr(ours, f"{kind}_sdp_enabled")() == getattr(theirs, f"{kind}_sdp_enabled")()
    getattr(ours, f"enable_{kind}_sdp")(False)
    assert getattr(ours, f"{kind}_sdp_enabled")() is False
    with pytest.raises(RuntimeError):
        getattr(theirs, f"enable_{kind}_sdp")(1)
    with pytest.raises(RuntimeError, match="expects a bool"):
        getattr(ours, f"enable_{kind}_sdp")(1)


@pytest.fixture
def registry(monkeypatch):
    """``registry(cuda=True)``: a fake registry where ``cuda`` is installed and available
    (False: installed, unavailable)."""

    def install(info=None, **types):
        rows = [SimpleNamespace(device_type=n) for n in ("cpu", *types)]
        live = {n for n, ok in types.items() if ok}
        spec = SimpleNamespace(info=info or {})

        def get_backend(name):
            if name not in live:
                raise RuntimeError(f"device '{name}' is unavailable: fake")
            return SimpleNamespace(device_type=name, spec=spec)

        monkeypatch.setattr(plugins, "status", lambda load=True: rows)
        monkeypatch.setattr(plugins, "get_backend", get_backend)

    return install


def test_without_cuda_answers_as_cpu_torch(registry):
    registry(cuda=False)
    assert backends.cudnn.is_available() is torch.backends.cudnn.is_available() is False
    assert backends.cudnn.version() is torch.backends.cudnn.version() is None
    assert backends.cudnn.benchmark_limit is torch.backends.cudnn.benchmark_limit is None
    assert backends.cudnn.is_acceptable(mt.zeros(1)) is \
        torch.backends.cudnn.is_acceptable(torch.zeros(1)) is False
    assert backends.cuda.is_built()  # the plugin is installed: PyTorch's "built with CUDA"
    registry()
    assert not backends.cuda.is_built()


def test_with_cuda_available(registry, restore_flags):
    registry(cuda=True, info={"cudnn": "90100"})
    assert backends.cudnn.is_available() and backends.cuda.is_built()
    assert backends.cudnn.version() == 90100
    assert backends.cudnn.benchmark_limit == 10
    backends.cudnn.benchmark_limit = 3
    assert backends.cudnn.benchmark_limit == 3
    backends.cudnn.benchmark_limit = 10
    with pytest.raises(RuntimeError, match="non-negative int"):
        backends.cudnn.benchmark_limit = -1
    cuda_tensor = SimpleNamespace(device=mt.device("cuda"), dtype=mt.float32)
    assert backends.cudnn.is_acceptable(cuda_tensor)
    backends.cudnn.enabled = False
    assert not backends.cudnn.is_acceptable(cuda_tensor)
    registry(cuda=True)
    assert backends.cudnn.version() is None  # a plugin that reports none


def test_mps_and_opencl_answer_from_the_registry(registry):
    registry(opencl=True, mps=False)
    assert backends.opencl.is_available() and backends.opencl.is_built()
    assert not backends.mps.is_available() and backends.mps.is_built()
    registry()
    assert not backends.opencl.is_available() and not backends.opencl.is_built()
    assert backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert backends.mps.is_built() is torch.backends.mps.is_built() is False


def test_real_registry_is_consistent():
    rows = {s.device_type: s for s in backends.status()}
    cuda = rows.get("cuda")
    assert backends.cudnn.is_available() == (cuda is not None and cuda.state == "available")
    assert backends.cuda.is_built() == (cuda is not None)
    assert backends.cudnn.is_available() == mt.cuda.is_available()
    opencl = rows.get("opencl")
    assert backends.opencl.is_available() == (opencl is not None
                                              and opencl.state == "available")


def test_package_keeps_its_plugin_api():
    for name in ("status", "register_plugin", "unregister", "rescan", "BackendStatus",
                 "AUTOLOAD_ENV", "ENTRY_POINT_GROUP", "set_cpu_fallback",
                 "is_cpu_fallback_enabled"):
        assert name in backends.__all__ and hasattr(backends, name)
    assert backends.status is plugins.status or callable(backends.status)
    import mbtorch.backends.cudnn as cudnn_module

    assert cudnn_module is backends.cudnn
