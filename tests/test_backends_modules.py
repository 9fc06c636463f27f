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


# -- the CPU-library modules (issue 15) -------------------------------------------------------
CPU_LIBRARY_MODULES = ["cpu", "mkl", "mkldnn", "openmp", "opt_einsum", "nnpack", "mha",
                       "miopen", "quantized", "kleidiai", "cusparselt", "python_native"]


@pytest.mark.parametrize("name", CPU_LIBRARY_MODULES)
def test_cpu_library_modules_exist_with_torchs_public_functions(name):
    import importlib

    ours = importlib.import_module(f"mbtorch.backends.{name}")
    assert getattr(backends, name) is ours
    theirs = importlib.import_module(f"torch.backends.{name}")
    for attr in dir(theirs):
        value = getattr(theirs, attr)
        if (not attr.startswith("_") and callable(value) and not isinstance(value, type)
                and getattr(value, "__module__", "").startswith("torch.backends")):
            assert callable(getattr(ours, attr, None)), f"{name}.{attr}"


def test_cpu_capability_and_library_availability():
    from mbtorch.backends.mkl import numpy_blas_name

    capability = backends.cpu.get_cpu_capability()
    assert capability in ("DEFAULT", "AVX2", "AVX512")
    if torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512"):  # x86 with NumPy SIMD
        assert capability == torch.backends.cpu.get_cpu_capability()
    assert backends.mkl.is_available() == ("mkl" in numpy_blas_name())
    assert numpy_blas_name() != ""  # NumPy reports its BLAS, so the answer is a real one
    for module in (backends.mkldnn, backends.openmp, backends.nnpack, backends.kleidiai,
                   backends.cusparselt):
        assert module.is_available() is False
    assert backends.mkldnn.is_acl_available() is False
    assert backends.cusparselt.version() is None and backends.cusparselt.get_max_alg_id() is None
    with backends.mkl.verbose(backends.mkl.VERBOSE_OFF):
        pass
    with pytest.raises(AssertionError, match="Failed to set MKL into verbose mode"):
        with backends.mkl.verbose(backends.mkl.VERBOSE_ON):
            pass
    with pytest.raises(AssertionError, match="Failed to set MKLDNN into verbose mode"):
        with backends.mkldnn.verbose(backends.mkldnn.VERBOSE_ON):
            pass


def test_mkldnn_flags_like_torch():
    m, t = backends.mkldnn, torch.backends.mkldnn
    for flag in ("enabled", "deterministic", "allow_tf32", "fp32_precision"):
        assert getattr(m, flag) == getattr(t, flag), flag
    assert m.set_flags() == t.set_flags()
    with pytest.warns(UserWarning, match="TF32"), m.flags(
            enabled=False, deterministic=True, allow_tf32=False, fp32_precision="bf16"):
        assert (m.enabled, m.deterministic, m.fp32_precision) == (False, True, "bf16")
        assert m.allow_tf32 is None
    assert (m.enabled, m.deterministic, m.fp32_precision) == (True, False, "none")
    with pytest.raises(RuntimeError, match="set_enabled_mkldnn expects a bool, but got int"):
        m.enabled = 1
    with pytest.raises(RuntimeError, match="Unknown precision: xx"):
        m.fp32_precision = "xx"
    with pytest.warns(UserWarning, match="TF32 acceleration on top of oneDNN"):
        m.allow_tf32 = True
    assert m.allow_tf32 is None


def test_nnpack_miopen_mha_flags_like_torch():
    assert backends.nnpack.set_flags(False) == torch.backends.nnpack.set_flags(False) == (True,)
    assert backends.nnpack.set_flags(True) == torch.backends.nnpack.set_flags(True) == (False,)
    with backends.nnpack.flags(enabled=False):
        assert backends.nnpack.set_flags(False) == (False,)
    assert backends.nnpack.set_flags(True) == (True,)
    with pytest.raises(RuntimeError, match="expects a bool, but got int"):
        backends.nnpack.set_flags(1)
    assert backends.miopen.immediate is torch.backends.miopen.immediate is False
    with backends.miopen.flags(immediate=True):
        assert backends.miopen.immediate is True
    assert backends.miopen.set_flags() == (False,)
    with pytest.raises(RuntimeError, match="set_immediate_miopen expects a bool, but got int"):
        backends.miopen.immediate = 1
    assert backends.mha.get_fastpath_enabled() is torch.backends.mha.get_fastpath_enabled()
    backends.mha.set_fastpath_enabled(False)
    assert backends.mha.get_fastpath_enabled() is False
    backends.mha.set_fastpath_enabled(True)


def test_opt_einsum_answers_as_torch_without_the_package():
    o, t = backends.opt_einsum, torch.backends.opt_einsum
    assert o.is_available() is False and o.get_opt_einsum() is None
    assert (o.enabled, o.strategy) == (False, None)
    if not t.is_available():  # torch without opt_einsum: the same answers and errors
        assert (t.enabled, t.strategy) == (o.enabled, o.strategy)
        assert o.set_flags() == t.set_flags()
    with pytest.raises(ValueError, match="opt_einsum is not available"):
        o.enabled = True
    with pytest.raises(ValueError, match="opt_einsum is not available"):
        o.set_flags(None, "greedy")
    with o.flags(enabled=False):
        assert o.enabled is False


def test_quantized_engine_and_python_native():
    q = backends.quantized
    assert q.engine == "none" and q.supported_engines == ["none"]
    q.engine = "none"
    with pytest.raises(RuntimeError, match="foo is not a valid value for quantized engine"):
        q.engine = "foo"
    with pytest.raises(RuntimeError, match="quantized engine x86 is not supported"):
        q.engine = "x86"
    pn = backends.python_native
    assert pn.all_dsls == [] and pn.available_dsls == []
    assert pn.get_dsl_operations("triton") == [] and pn.is_dsl_disabled("triton") is False
    pn.disable_operations("scaled_mm")
    assert pn.is_operation_disabled("scaled_mm")
    with pn.operations_disabled("scaled_mm", "flash"):
        assert pn.is_operation_disabled("flash")
    assert pn.is_operation_disabled("scaled_mm") and not pn.is_operation_disabled("flash")
    pn.enable_operations("scaled_mm")
    assert not pn.is_operation_disabled("scaled_mm")
    pn.disable_dispatch_keys("CPU")
    pn.enable_dispatch_keys("CPU")
