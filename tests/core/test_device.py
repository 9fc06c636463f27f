import pytest

import mbtorch as mt


def test_device_parsing_and_interning():
    assert mt.device("cuda:1") is mt.device("cuda", 1)
    d = mt.device("opencl:0")
    assert (d.type, d.index) == ("opencl", 0)
    assert str(d) == "opencl:0" and repr(d) == "device(type='opencl', index=0)"
    assert mt.device("cpu").index is None
    assert mt.device("cpu") == "cpu"


@pytest.mark.parametrize("bad", ["cuda:-1", "cu da", "cuda:x", ""])
def test_bad_device_strings(bad):
    with pytest.raises(RuntimeError):
        mt.device(bad)


def test_unknown_device_says_which_package(monkeypatch):
    # every package in KNOWN_PACKAGES may be installed here (mbtorch-cuda installs without a
    # GPU), so the message is checked for a known package that is not
    from mbtorch.core import plugins

    monkeypatch.setitem(plugins.KNOWN_PACKAGES, "xpu9", "mbtorch-xpu9")
    with pytest.raises(RuntimeError, match="no backend provides device 'xpu9'; install "
                                           "mbtorch-xpu9"):
        mt.zeros(2, device="xpu9")


def test_unknown_third_party_device():
    with pytest.raises(RuntimeError, match="no backend provides device 'tpu7'"):
        mt.ones(1, device="tpu7")


def test_mixed_devices_error_names_both():
    from mbtorch.core.meta import check_same_device

    a = mt.ones(2)
    with pytest.raises(RuntimeError, match="same device"):
        fake = a.detach()
        fake._device = mt.device("opencl:0")
        check_same_device([a, fake], "add", ["input", "other"])


def test_tensor_device_is_concrete():
    assert mt.zeros(1).device == mt.device("cpu")
    assert mt.zeros(1, device=mt.device("cpu")).device.type == "cpu"
