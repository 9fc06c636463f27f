"""The cuda backend (plugins/mbtorch_cuda).

Three layers, so that a machine without a GPU still checks most of it:

- availability: the plugin's reasons (no CuPy, no driver, no GPU, no NVRTC), what
  ``device='cuda'``, ``python -m mbtorch info`` and ``mbtorch.cuda`` answer then;
- the kernel table and the fused kernels' CUDA sources, without a GPU: the table is built through
  the plugin's own ``kernels.build`` against NumPy and run as a registered device; the Philox,
  softmax, sigmoid and relu sources are compiled with the host C++ compiler (``__syncthreads``
  emulated with a pthread barrier, one thread per CUDA thread) and compared with NumPy;
- on a GPU: the tensor API on ``device='cuda'`` against ``cpu`` (skipped here with the reason).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import types

import numpy as np
import pytest

import mbtorch as mt
from mbtorch import backends
from mbtorch.core.hookspecs import hookimpl
from mbtorch.core.op import Op
from mbtorch.core.plugin_api import philox_words

hooks = pytest.importorskip("mbtorch_cuda.hooks", reason="mbtorch-cuda is not installed")
from mbtorch_cuda import fused, kernels  # noqa: E402


def _cuda_state() -> tuple[bool, str]:
    for st in backends.status(load=False):
        if st.device_type == "cuda" and st.state != "not loaded":
            return st.state == "available", st.reason or st.state
    try:
        mt.zeros(1, device="cuda")
    except RuntimeError as exc:
        return False, str(exc)
    return True, ""


CUDA_OK, CUDA_WHY = _cuda_state()
needs_gpu = pytest.mark.skipif(not CUDA_OK, reason=f"no usable CUDA device: {CUDA_WHY}")
CXX = shutil.which("g++") or shutil.which("c++")
needs_cxx = pytest.mark.skipif(CXX is None, reason="no host C++ compiler to run CUDA sources")


# -- availability -----------------------------------------------------------------------------
def _row():
    return next(s for s in backends.status() if s.device_type == "cuda")


@pytest.mark.skipif(CUDA_OK, reason="a CUDA device is usable here")
def test_unavailable_device_raises_the_plugins_reason():
    st = _row()
    assert st.state == "unavailable" and st.reason.startswith("installed")
    assert st.distribution == "mbtorch-cuda" and st.device_count == 0
    with pytest.raises(RuntimeError, match="device 'cuda' is unavailable: installed"):
        mt.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="installed"):
        mt.ones(3).to("cuda")


@pytest.mark.skipif(CUDA_OK, reason="a CUDA device is usable here")
def test_info_lists_cuda_with_reason(capsys):
    from mbtorch.__main__ import main

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    block = out[out.index("cuda: unavailable"):]
    assert "mbtorch-cuda" in block and f"reason          {_row().reason}" in block


@pytest.mark.skipif(CUDA_OK, reason="a CUDA device is usable here")
def test_mbtorch_cuda_answers_without_a_device():
    assert mt.cuda.is_available() is False
    assert mt.cuda.device_count() == 0
    for fn in (mt.cuda.current_device, mt.cuda.synchronize, mt.cuda.memory_allocated,
               mt.cuda.max_memory_allocated, mt.cuda.empty_cache, mt.cuda.get_device_name):
        with pytest.raises(RuntimeError, match="unavailable: installed"):
            fn()
    with pytest.raises(RuntimeError, match="unavailable"):
        mt.cuda.set_device(0)
    mt.cuda.manual_seed_all(5)  # one generator for all devices: seeding needs no GPU
    assert mt.initial_seed() == 5


def _fake_cupy(count=None, count_error=None, nvrtc_error=None):
    def get_count():
        if count_error:
            raise count_error
        return count

    def nvrtc_version():
        if nvrtc_error:
            raise nvrtc_error
        return (12, 9)

    cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_count),
                                 nvrtc=types.SimpleNamespace(getVersion=nvrtc_version))
    return types.SimpleNamespace(cuda=cuda)


def test_probe_reasons():
    err = RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")
    assert hooks.probe(_fake_cupy(count_error=err)) == (
        0, "installed, no CUDA device: RuntimeError: cudaErrorInsufficientDriver: CUDA driver "
           "version is insufficient")
    assert hooks.probe(_fake_cupy(count=0))[1] == ("installed, no CUDA device: the CUDA "
                                                   "runtime lists none")
    count, why = hooks.probe(_fake_cupy(count=2, nvrtc_error=OSError("libnvrtc.so.12")))
    assert count == 0 and "2 CUDA device(s), but NVRTC cannot be loaded" in why
    assert "mbtorch-cuda[cuda12]" in why
    assert hooks.probe(_fake_cupy(count=2)) == (2, "")


def test_hook_without_cupy(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "cupy", None)  # import cupy -> ImportError
    spec = hooks.mbtorch_backend(api_version=1)
    assert spec.available is False and spec.device_type == "cuda"
    assert spec.reason.startswith("installed, but CuPy is not installed")
    assert "mbtorch-cuda[cuda12]" in spec.reason


# -- the kernel table, built through the plugin's code against NumPy ---------------------------
class _SimHooks:
    """A device 'cudasim': the cuda plugin's kernel table built on NumPy (no fused kernels)."""

    DEVICE_TYPE = "cudasim"

    def __init__(self, device_count):
        self.device_count = device_count

    @hookimpl
    def mbtorch_backend(self, api_version):
        import scipy.special
        from mbtorch_numpy.storage import DTYPES, NumpyStorage

        from mbtorch.core.backend import BackendSpec

        table = kernels.build(np, scipy.special.erf, fused=False,
                              device_count=self.device_count)
        return BackendSpec(device_type="cudasim", api_version=api_version,
                           distribution="test", dtypes=frozenset(DTYPES),
                           storage=NumpyStorage(), kernels=table)


@pytest.fixture(params=[1, 2], ids=["one-gpu", "guarded"])
def sim(request):
    st = backends.register_plugin(_SimHooks(request.param), name=f"sim{request.param}")
    assert st.state == "available", st.reason
    yield "cudasim"
    backends.unregister("cudasim")


def test_table_covers_primitives_and_native_composites():
    import scipy.special

    table = kernels.build(np, scipy.special.erf, fused=False)
    assert {Op.SOFTMAX, Op.LOG_SOFTMAX, Op.ARGMAX, Op.VAR, Op.CUMSUM, Op.SUB} <= set(table)


def test_sim_device_matches_cpu(sim):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 6)).astype(np.float32)
    b = rng.standard_normal((6, 3)).astype(np.float32)
    cases = [
        lambda x, y: mt.softmax(x, 0), lambda x, y: mt.log_softmax(x, 1),
        lambda x, y: x @ y, lambda x, y: x.argmax(1), lambda x, y: x.var(0),
        lambda x, y: x.cumsum(1), lambda x, y: mt.sigmoid(x) - mt.relu(x),
        lambda x, y: x.t()[1:, ::2].sort(0)[0], lambda x, y: x.sum(0) // 0.5,
        lambda x, y: mt.zeros(3, device=x.device).scatter_add(
            0, mt.tensor([0, 2, 0], device=x.device), x[0, :3]),
    ]
    for fn in cases:
        want = fn(mt.tensor(a), mt.tensor(b))
        got = fn(mt.tensor(a, device=sim), mt.tensor(b, device=sim))
        assert got.device.type == "cudasim" and got.dtype is want.dtype
        np.testing.assert_allclose(got.numpy(force=True), want.numpy(), rtol=1e-6, atol=1e-6)
    mt.manual_seed(7)
    want = mt.randn(100)
    mt.manual_seed(7)
    np.testing.assert_array_equal(mt.randn(100, device=sim).numpy(force=True), want.numpy())


def test_real_cupy_table_validates_and_uses_fused_kernels():
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    import cupyx.scipy.special
    from mbtorch_cuda.storage import CupyStorage, supported_dtypes

    from mbtorch.core.backend import BackendSpec, validate
    from mbtorch.core.hookspecs import PLUGIN_API_VERSION

    table = kernels.build(cupy, cupyx.scipy.special.erf)  # kernels compile at first launch
    validate(BackendSpec("cuda", PLUGIN_API_VERSION, "mbtorch-cuda", storage=CupyStorage(cupy),
                         kernels=table, dtypes=frozenset(supported_dtypes(cupy))), "test")
    for op in (Op.PHILOX, Op.SOFTMAX, Op.LOG_SOFTMAX, Op.SIGMOID, Op.RELU):
        assert table[op].__module__ == fused.__name__, op


# -- the CUDA sources, compiled for the host --------------------------------------------------
_PRELUDE = r"""
#include <math.h>
#include <pthread.h>
static inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}
struct Dim { unsigned int x; };
static thread_local Dim threadIdx;
static Dim blockIdx, blockDim;
static pthread_barrier_t barrier;
#define __global__
#define __shared__ static
#define __syncthreads() pthread_barrier_wait(&barrier)
"""


def _compile(tmp_path, name: str, source: str):
    src = tmp_path / f"{name}.cpp"
    lib = tmp_path / f"{name}.so"
    src.write_text(_PRELUDE + source)
    proc = subprocess.run([CXX, "-O1", "-shared", "-fPIC", "-pthread", "-o", str(lib),
                           str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return ctypes.CDLL(str(lib))


@needs_cxx
def test_philox_source_matches_philox_words(tmp_path):
    lib = _compile(tmp_path, "philox", f"""
extern "C" void run(unsigned int k0, unsigned int k1, unsigned long long first,
                    long long* out, long long blocks) {{
    for (long long i = 0; i < blocks; ++i) {{ {fused.PHILOX_BODY} }}
}}""")
    for seed, offset, n in [(0, 0, 16), (67280421310721, 5, 23), (2**64 - 1, 2**33 + 3, 9),
                            (12345, 7, 1)]:
        first, blocks, start = fused.philox_span(offset, n)
        out = np.zeros(4 * blocks, np.int64)
        k0, k1 = fused.philox_key(seed)
        lib.run(ctypes.c_uint(int(k0)), ctypes.c_uint(int(k1)), ctypes.c_ulonglong(first),
                out.ctypes.data_as(ctypes.c_void_p), ctypes.c_longlong(blocks))
        np.testing.assert_array_equal(out[start:start + n], philox_words(np, seed, offset, n))


def _softmax_lib(tmp_path, dtype_name: str):
    ctype = fused.SOFTMAX_TYPES[dtype_name][0]
    return _compile(tmp_path, f"softmax_{dtype_name}", fused.softmax_source(dtype_name) + f"""
struct Args {{ const {ctype}* x; {ctype}* y; long long n; int log_out; unsigned int tid; }};
static void* thread_main(void* p) {{
    Args* a = (Args*)p;
    threadIdx.x = a->tid;
    mbt_softmax_{dtype_name}(a->x, a->y, a->n, a->log_out);
    return 0;
}}
extern "C" void launch(const {ctype}* x, {ctype}* y, long long rows, long long n,
                       int log_out, unsigned int threads) {{
    pthread_t tids[{fused.SOFTMAX_BLOCK}];
    Args args[{fused.SOFTMAX_BLOCK}];
    blockDim.x = threads;
    pthread_barrier_init(&barrier, 0, threads);
    for (long long b = 0; b < rows; ++b) {{
        blockIdx.x = (unsigned int)b;
        for (unsigned int t = 0; t < threads; ++t) {{
            args[t] = Args{{x, y, n, log_out, t}};
            pthread_create(&tids[t], 0, thread_main, &args[t]);
        }}
        for (unsigned int t = 0; t < threads; ++t) pthread_join(tids[t], 0);
    }}
    pthread_barrier_destroy(&barrier);
}}""")


def _softmax_ref(x, log_out):
    with np.errstate(invalid="ignore"):
        m = np.max(x, axis=1, keepdims=True)
        z = x - m
        s = np.sum(np.exp(z), axis=1, keepdims=True)
        return z - np.log(s) if log_out else np.exp(z) / s


@needs_cxx
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_softmax_source_matches_numpy(tmp_path, dtype_name):
    lib = _softmax_lib(tmp_path, dtype_name)
    rng = np.random.default_rng(1)
    for n in (1, 5, 33, 300, 1000):
        x = (rng.standard_normal((3, n)) * 20).astype(dtype_name)
        if n > 4:
            x[1, 3] = np.nan  # a NaN row stays NaN
            x[2, :] = -np.inf  # an all -inf row is NaN, as the decomposition and PyTorch
        for log_out in (0, 1):
            y = np.empty_like(x)
            lib.launch(x.ctypes.data_as(ctypes.c_void_p), y.ctypes.data_as(ctypes.c_void_p),
                       ctypes.c_longlong(3), ctypes.c_longlong(n), ctypes.c_int(log_out),
                       ctypes.c_uint(fused.softmax_threads(n)))
            rtol = 1e-5 if dtype_name == "float32" else 1e-12
            np.testing.assert_allclose(y, _softmax_ref(x, log_out), rtol=rtol, atol=rtol,
                                       equal_nan=True)


def test_softmax_threads_are_powers_of_two_within_a_block():
    assert [fused.softmax_threads(n) for n in (1, 32, 33, 200, 10**6)] == [32, 32, 64, 256, 256]


@needs_cxx
def test_elementwise_sources(tmp_path):
    lib = _compile(tmp_path, "elementwise", f"""
extern "C" void sigmoid32(const float* xs, float* ys, long long n) {{
    for (long long i = 0; i < n; ++i) {{
        float x = xs[i]; float y; {fused.SIGMOID_BODY["float32"]}; ys[i] = y; }}
}}
extern "C" void sigmoid64(const double* xs, double* ys, long long n) {{
    for (long long i = 0; i < n; ++i) {{
        double x = xs[i]; double y; {fused.SIGMOID_BODY["float64"]}; ys[i] = y; }}
}}
template <typename T> static void relu(const T* xs, T* ys, long long n) {{
    for (long long i = 0; i < n; ++i) {{ T x = xs[i]; T y; {fused.RELU_BODY}; ys[i] = y; }}
}}
extern "C" void relu32(const float* x, float* y, long long n) {{ relu<float>(x, y, n); }}
extern "C" void relu64i(const long long* x, long long* y, long long n) {{ relu(x, y, n); }}
""")
    x = np.array([-100.0, -2.5, -0.0, 0.0, 1e-3, 3.0, 90.0, np.nan, -np.inf, np.inf])

    def run(fn, a):
        y = np.empty_like(a)
        fn(a.ctypes.data_as(ctypes.c_void_p), y.ctypes.data_as(ctypes.c_void_p),
           ctypes.c_longlong(a.size))
        return y

    for fn, dt in ((lib.sigmoid32, np.float32), (lib.sigmoid64, np.float64)):
        a = x.astype(dt)
        with np.errstate(over="ignore"):
            want = 1 / (np.exp(-a) + 1)
        np.testing.assert_allclose(run(fn, a), want, rtol=2e-7, equal_nan=True)
    got = run(lib.relu32, x.astype(np.float32))
    want = mt.relu(mt.tensor(x.astype(np.float32))).numpy()
    np.testing.assert_array_equal(got, want)
    assert np.signbit(got[2])  # -0.0 kept, as the decomposition and PyTorch
    ints = np.array([-5, 0, 7], np.int64)
    np.testing.assert_array_equal(run(lib.relu64i, ints), [0, 0, 7])


# -- on a GPU ---------------------------------------------------------------------------------
def _check(fn, *arrays, rtol=1e-5, atol=1e-6):
    cpu = [mt.tensor(a) for a in arrays]
    want, got = fn(*cpu), fn(*[t.to("cuda") for t in cpu])
    assert got.device.type == "cuda" and got.dtype is want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got.numpy(force=True).astype(np.float64),
                               want.numpy().astype(np.float64), rtol=rtol, atol=atol,
                               equal_nan=True)


@needs_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_gpu_fused_kernels_match_cpu(dtype):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((7, 300)) * 10).astype(dtype)
    tol = 2e-3 if dtype == np.float16 else 1e-5
    for fn in (lambda t: mt.softmax(t, 1), lambda t: mt.softmax(t, 0),
               lambda t: mt.log_softmax(t, 1), mt.sigmoid, mt.relu):
        _check(fn, x, rtol=tol, atol=tol)


@needs_gpu
def test_gpu_tensor_api_random_and_memory():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((64, 32)), rng.standard_normal((32, 16))
    _check(lambda x, y: x @ y, a.astype(np.float32), b.astype(np.float32), rtol=1e-4)
    _check(lambda x, y: (x.t()[::2] * 2).sum(1), a, a)
    _check(lambda x, y: x.argmax(0), a, a)
    mt.manual_seed(11)
    want = mt.randn(1000).numpy()
    mt.manual_seed(11)
    np.testing.assert_allclose(mt.randn(1000, device="cuda").numpy(force=True), want,
                               rtol=1e-6, atol=1e-6)
    mt.cuda.synchronize()
    assert mt.cuda.memory_allocated() > 0
    assert mt.cuda.max_memory_allocated() >= mt.cuda.memory_allocated()
    assert mt.cuda.get_device_name()


@needs_gpu
def test_gpu_dlpack_with_cupy():
    import cupy

    t = mt.arange(6.0, device="cuda")
    c = cupy.from_dlpack(t)
    c[0] = 42.0
    assert t[0].item() == 42.0
    back = mt.from_dlpack(c)
    assert back.device.type == "cuda" and back.tolist() == t.tolist()
