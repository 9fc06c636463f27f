"""Plugin discovery: fault isolation, validation of specs, the autoload switch, laziness."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
from mbtorch_numpy.xp import primitive_kernels

import mbtorch as mt
from mbtorch import backends
from mbtorch.__main__ import info_lines
from mbtorch.core import plugins
from mbtorch.core.backend import BackendSpec
from mbtorch.core.dtypes import ALL_DTYPES
from mbtorch.core.hookspecs import PLUGIN_API_VERSION, hookimpl
from mbtorch.core.host import NUMPY_DTYPES
from mbtorch.core.op import Op

REPO = Path(__file__).resolve().parents[2]


class _Storage:
    def empty(self, shape, dtype, device_index):
        return np.empty(shape, NUMPY_DTYPES[dtype])

    def from_numpy(self, array, device_index):
        return np.array(array)

    def to_numpy(self, handle):
        return handle

    def strides(self, handle):
        return tuple(s // handle.itemsize for s in handle.strides)

    def shape(self, handle):
        return handle.shape

    def to_device(self, handle, device_index):
        return handle.copy()


def _kernels():
    from scipy.special import erf

    return primitive_kernels(np, NUMPY_DTYPES.__getitem__, erf)


def _spec(**overrides) -> BackendSpec:
    fields = dict(device_type="fake", api_version=PLUGIN_API_VERSION, distribution="fake-dist",
                  version="9.9", dtypes=frozenset(ALL_DTYPES), storage=_Storage(),
                  kernels=_kernels())
    fields.update(overrides)
    return BackendSpec(**fields)


class FakePlugin:
    DEVICE_TYPE = "fake"

    def __init__(self, make):
        self.make = make

    @hookimpl
    def mbtorch_backend(self, api_version):
        return self.make()


@pytest.fixture
def fake():
    yield
    backends.unregister("fake")


def _run(code: str, env: dict | None = None, path: str | None = None):
    full_env = dict(os.environ, **(env or {}))
    if path:
        full_env["PYTHONPATH"] = path + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=full_env, timeout=300, cwd=REPO)


def test_unknown_device_says_what_to_install(monkeypatch):
    with pytest.raises(RuntimeError, match="no backend provides device 'xyz'; install a plugin "
                                           "providing 'xyz'"):
        mt.zeros(2, device="xyz")
    # a known device type whose package is missing (mbtorch-cuda installs without a GPU, so
    # 'cuda' itself may be present and unavailable here instead)
    monkeypatch.setitem(plugins.KNOWN_PACKAGES, "xpu9", "mbtorch-xpu9")
    with pytest.raises(RuntimeError, match="install mbtorch-xpu9"):
        mt.zeros(2, device="xpu9")


def test_valid_manual_plugin_works(fake):
    st = backends.register_plugin(FakePlugin(_spec), name="fake-plugin")
    assert st.state == "available" and st.device_type == "fake" and st.native_ops == 37
    x = mt.arange(4, device="fake") * 2
    assert x.device == "fake:0" and x.tolist() == [0, 2, 4, 6]


def test_hook_that_raises_is_isolated_and_reported():
    module = types.ModuleType("exploding_hooks")

    @hookimpl
    def mbtorch_backend(api_version):
        raise RuntimeError("driver exploded")

    module.mbtorch_backend = mbtorch_backend
    st = backends.register_plugin(module)
    try:
        assert st.state == "broken" and "RuntimeError: driver exploded" in st.reason
        rows = {r.plugin: r for r in backends.status(load=False)}
        assert rows["exploding_hooks"].state == "broken"
        text = "\n".join(info_lines(backends.status(load=False)))
        assert "driver exploded" in text and "broken" in text
        assert mt.ones(2).tolist() == [1.0, 1.0]  # other backends keep working
    finally:
        backends.unregister("?exploding_hooks")


@pytest.mark.parametrize("overrides, message", [
    (dict(api_version=PLUGIN_API_VERSION + 98), "written for plugin API version 99"),
    (dict(kernels={**_kernels(), "add": np.add}), "kernel table key 'add' is not an mbtorch Op"),
    (dict(kernels={**_kernels(), Op.EXP: 3}), "kernel for EXP is not callable"),
    (dict(kernels={k: v for k, v in _kernels().items() if k is not Op.SORT}),
     r"lacks kernels for primitives \['SORT'\]"),
    (dict(kernels={**_kernels(), Op.WHERE: lambda a, b: a}), r"WHERE must accept \(cond, a, b\)"),
    (dict(storage=object()), "storage has no callable 'empty'"),
])
def test_invalid_spec_is_broken_naming_plugin_and_op(fake, overrides, message):
    st = backends.register_plugin(FakePlugin(lambda: _spec(**overrides)), name="bad-plugin")
    assert st.state == "broken" and st.device_type == "fake"
    assert "'bad-plugin'" in st.reason, st.reason
    assert re.search(message, st.reason), st.reason
    with pytest.raises(RuntimeError, match="the backend for device 'fake' .* is broken"):
        mt.zeros(1, device="fake")


def test_unavailable_backend_raises_its_reason(fake):
    spec = _spec(available=False, reason="installed, but no fake driver: libfake.so missing",
                 storage=None, kernels={})
    st = backends.register_plugin(FakePlugin(lambda: spec), name="fake-plugin")
    assert st.state == "unavailable" and st.device_count == 0
    with pytest.raises(RuntimeError, match="unavailable: installed, but no fake driver"):
        mt.zeros(1, device="fake")
    assert "libfake.so missing" in "\n".join(info_lines(backends.status(load=False)))


def test_plugin_whose_entry_point_fails_to_import(tmp_path):
    dist = tmp_path / "boom_plugin-0.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: boom-plugin\nVersion: 0.3\n")
    (dist / "entry_points.txt").write_text("[mbtorch.backends]\nboom = boom_plugin.hooks\n")
    pkg = tmp_path / "boom_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "hooks.py").write_text("raise ImportError('libboom.so: cannot open shared object')\n")
    proc = _run("""
        import mbtorch
        assert mbtorch.zeros(2).tolist() == [0.0, 0.0]
        rows = {r.device_type: r for r in mbtorch.backends.status()}
        boom = rows["boom"]
        assert boom.state == "broken", boom
        assert "import failed: ImportError: libboom.so" in boom.reason, boom.reason
        assert (boom.distribution, boom.version) == ("boom-plugin", "0.3")
        try:
            mbtorch.zeros(1, device="boom")
        except RuntimeError as exc:
            assert "libboom.so" in str(exc), exc
        else:
            raise SystemExit("no error for the broken device")
        print("ok")
    """, path=str(tmp_path))
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr
    info = subprocess.run([sys.executable, "-m", "mbtorch", "info"], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(tmp_path)), cwd=REPO,
                          timeout=300)
    assert info.returncode == 0, info.stderr
    assert "boom: broken" in info.stdout and "libboom.so" in info.stdout
    assert "cpu: available" in info.stdout


def test_autoload_switch_turns_discovery_off():
    proc = _run("""
        import mbtorch
        assert mbtorch.backends.status() == [], mbtorch.backends.status()
        try:
            mbtorch.zeros(1)
        except RuntimeError as exc:
            print(exc)
    """, env={"MBTORCH_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "no backend provides device 'cpu'; install mbtorch-numpy" in proc.stdout
    assert "MBTORCH_DISABLE_PLUGIN_AUTOLOAD is set" in proc.stdout


def test_import_is_lazy_about_plugins():
    proc = _run("""
        import sys
        import mbtorch
        heavy = [m for m in ("mbtorch_numpy.kernels", "mbtorch_numpy.hooks", "scipy",
                             "mbtorch_mini.kernels", "ml_dtypes", "numpy") if m in sys.modules]
        assert not heavy, heavy
        (mbtorch.ones(3) * 2 + 1).sum().item()
        assert "mbtorch_numpy.kernels" in sys.modules
        assert "mbtorch_mini.kernels" not in sys.modules
        # bfloat16 (ml_dtypes) and erf (SciPy) load when first used, not with the device,
        # nor with the limits of another floating dtype (finfo; fmod reads them)
        mbtorch.fmod(mbtorch.ones(3), 2.0)
        assert mbtorch.finfo(mbtorch.float16).eps == 2.0 ** -10
        assert "ml_dtypes" not in sys.modules and "scipy" not in sys.modules
        x = mbtorch.ones(2, dtype=mbtorch.bfloat16)
        assert (x + 0.5).tolist() == [1.5, 1.5] and "ml_dtypes" in sys.modules
        assert mbtorch.erf(mbtorch.zeros(1)).item() == 0.0 and "scipy" in sys.modules
        print("ok")
    """)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr
