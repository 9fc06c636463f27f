"""Kernel variants proven in a child process before use (mbtorch_opencl/probe.py): a variant
that fails to build, computes wrongly or crashes its process is skipped with one warning,
the next one takes over in the same process, and verdicts are remembered on disk."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import mbtorch as mt
from tests.plugins.test_opencl import _OK, _WHY

pytestmark = pytest.mark.skipif(not _OK, reason=f"no usable OpenCL device: {_WHY}")
ROOT = Path(__file__).resolve().parents[2]
BROKEN = {"acc": "float", "vw": 16, "mul": "broken"}


@pytest.fixture
def dev(monkeypatch, tmp_path):
    """opencl:0 with a private verdict cache, no proven variants yet, and the OpenCL GEMM
    (not the host BLAS path) for every matmul."""
    from mbtorch_opencl import storage

    mt.zeros(1, device="opencl")  # loads the plugin
    monkeypatch.setenv("MBTORCH_OPENCL_CACHE", str(tmp_path / "verdicts"))
    monkeypatch.setenv("MBTORCH_OPENCL_HOST_BLAS", "0")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the child imports tests.plugins...
    d = storage.DEVICES[0]
    monkeypatch.setattr(d, "variants", {})
    return d


def test_ladder_runs_from_the_preferred_width_down_to_scalar(dev):
    from mbtorch_opencl import gemm

    ladder = gemm.ladder(dev, mt.float32)
    widths = [v["vw"] for v in ladder]
    assert widths == sorted(widths, reverse=True) and widths[-1] == 1
    assert ladder[-1] == {"acc": "float", "vw": 1, "mul": "mad"}
    assert {v["mul"] for v in gemm.ladder(dev, mt.int64)} == {"mad"}


def test_broken_variant_falls_back_in_the_same_process_with_one_warning(dev, monkeypatch):
    from mbtorch_opencl import gemm

    from tests.plugins import opencl_variants

    real = gemm.ladder(dev, mt.float32)
    monkeypatch.setitem(gemm.MUL, "broken", opencl_variants.BROKEN_MUL)
    monkeypatch.setattr(gemm, "ladder", lambda d, dtype: [BROKEN, *real])
    monkeypatch.setattr(gemm, "PROBE", "tests.plugins.opencl_variants:gemm_with_broken_variant")
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in ((30, 20), (25, 20)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = mt.tensor(a, device="opencl") @ mt.tensor(b.T, device="opencl")
        again = mt.tensor(b, device="opencl") @ mt.tensor(a.T, device="opencl")
    msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(msgs) == 1, msgs
    assert f"opencl:{dev.index}" in msgs[0] and dev.device.name.strip() in msgs[0]
    assert "vw=16,mul=broken" in msgs[0] and "fma" in msgs[0]  # the build log's complaint
    # the first real variant this driver runs: on most, the preferred one; pip's PoCL 3.0 on
    # AMD EPYC cannot build 16-wide fma, so there the warning names that one as failed too
    chosen = dev.variants["gemm-float"]
    assert chosen in real
    for failed in real[:real.index(chosen)]:
        assert f"acc=float,vw={failed['vw']},mul={failed['mul']}: " in msgs[0]
    assert msgs[0].endswith(f"using acc=float,vw={chosen['vw']},mul={chosen['mul']}")
    np.testing.assert_allclose(got.numpy(force=True), a @ b.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(again.numpy(force=True), b @ a.T, rtol=1e-5, atol=1e-5)


def test_a_crashing_probe_process_leaves_the_caller_alive(dev):
    from mbtorch_opencl import probe

    ok, reason = probe.run_probe(dev, "tests.plugins.opencl_variants:abort", BROKEN)
    assert not ok and "killed by SIGABRT" in reason


def test_verdicts_are_cached_per_device_and_driver(dev, monkeypatch, tmp_path):
    from mbtorch_opencl import probe

    ladder = [{"acc": "float", "vw": 8, "mul": "x"}, {"acc": "float", "vw": 4, "mul": "y"}]
    target = "tests.plugins.opencl_variants:wrong"
    with pytest.raises(RuntimeError, match=r"no gemm-test kernel variant works.*wrongly"):
        probe.select(dev, "gemm-test", ladder, target)
    files = list((tmp_path / "verdicts").glob("*.json"))
    assert [f.stem for f in files] == [probe.fingerprint(dev)]

    def no_child(*args):
        raise AssertionError("a cached verdict must not start a probe process")

    monkeypatch.setattr(probe, "run_probe", no_child)
    with pytest.raises(RuntimeError, match="computed 3 of 1406 elements wrongly"):
        probe.select(dev, "gemm-test", ladder, target)


def test_program_binaries_are_reused_from_disk_and_a_bad_one_is_rebuilt(dev, monkeypatch,
                                                                        tmp_path):
    import pyopencl as cl
    from mbtorch_opencl import codegen as cg

    builds = []
    real = cl.Program

    def counting(*args):
        builds.append("source" if isinstance(args[1], str) else "binary")
        return real(*args)

    monkeypatch.setattr(cg.cl, "Program", counting)
    src = "__kernel void k(__global int* x) { x[get_global_id(0)] += 41; }"
    for _ in range(2):
        dev.kernels.pop(("bin-test",), None)
        cg.get_kernel(dev, ("bin-test",), "k", lambda: src)
    assert builds == ["source", "binary"]
    (path,) = (tmp_path / "verdicts" / "binaries").glob("*/*.bin")
    path.write_bytes(b"not a program binary")
    dev.kernels.pop(("bin-test",), None)
    k = cg.get_kernel(dev, ("bin-test",), "k", lambda: src)
    assert builds[2:] == ["binary", "source"] and path.read_bytes() != b"not a program binary"
    buf = cl.Buffer(dev.context, cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR,
                    hostbuf=np.ones(4, np.int32))
    k(dev.queue, (4,), None, buf)
    out = np.empty(4, np.int32)
    cl.enqueue_copy(dev.queue, out, buf)
    assert out.tolist() == [42] * 4
