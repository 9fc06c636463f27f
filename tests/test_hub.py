"""mbtorch.hub: PyTorch's cache layout (torch.hub.get_dir as the oracle), atomic downloads that
leave nothing behind on a wrong hash, a broken transfer or no network, load_state_dict_from_url
of torch.save / mbtorch.save / safetensors files, and hub.load/list/help for a local hubconf.py.
Every URL is file:// or a patched urlopen: the tests never reach the network."""

import hashlib
import http.client
import io
import os
import pathlib
import pickle
import sys
import textwrap
import warnings
import zipfile
from urllib.error import ContentTooShortError, HTTPError, URLError

import numpy as np
import pytest

import mbtorch as mt
import mbtorch.hub as hub
from mbtorch.serialization import CheckpointError

torch = pytest.importorskip("torch")
pytest.importorskip("torch.hub")  # the oracle for the cache layout and errors

ENV_VARS = ("MBTORCH_HOME", "TORCH_HOME", "XDG_CACHE_HOME", "TORCH_HUB", "TORCH_MODEL_ZOO")


@pytest.fixture(autouse=True)
def clean_hub(monkeypatch, tmp_path):
    """No variable, no set_dir, in mbtorch or torch; HOME is a temporary folder."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)


def _url(path):
    return pathlib.Path(path).as_uri()


def _source(tmp_path, data, name="blob.bin"):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / name).write_bytes(data)
    return _url(src / name)


def _files(folder):
    return sorted(os.listdir(folder))


# --- cache layout -----------------------------------------------------------------------------

@pytest.mark.parametrize("env", [
    {},
    {"XDG_CACHE_HOME": "{tmp}/xdg"},
    {"TORCH_HOME": "{tmp}/th"},
    {"TORCH_HOME": "{tmp}/th", "XDG_CACHE_HOME": "{tmp}/xdg"},
    {"TORCH_HOME": "~/th"},
    {"XDG_CACHE_HOME": "~/xdg"},
])
def test_get_dir_matches_torch(monkeypatch, tmp_path, env):
    for var, value in env.items():
        monkeypatch.setenv(var, value.format(tmp=tmp_path))
    assert hub.get_dir() == torch.hub.get_dir()
    assert "~" not in hub.get_dir()


def test_mbtorch_home_comes_first(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("MBTORCH_HOME", "~/mb")
    assert hub.get_dir() == os.path.join(str(tmp_path / "home"), "mb", "hub")
    monkeypatch.setenv("MBTORCH_HOME", "")  # empty: unset, so PyTorch's folder
    assert hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "th" / "hub")


def test_set_dir_wins_as_in_torch(monkeypatch, tmp_path):
    monkeypatch.setenv("MBTORCH_HOME", str(tmp_path / "mb"))
    hub.set_dir("~/mine")
    torch.hub.set_dir("~/mine")
    assert hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "home" / "mine")
    hub.set_dir(tmp_path / "p")  # a PathLike too
    assert hub.get_dir() == str(tmp_path / "p")
    with pytest.raises(TypeError, match=r"set_dir\(\): d must be a path"):
        hub.set_dir(3)


def test_torch_hub_variable_warns_as_in_torch(monkeypatch):
    monkeypatch.setenv("TORCH_HUB", "/old")
    with pytest.warns(UserWarning, match="TORCH_HUB is deprecated"):
        hub.get_dir()


# --- download_url_to_file ---------------------------------------------------------------------

@pytest.mark.parametrize("prefix_len", [None, 0, 8, 64])
def test_download_with_hash_prefix(tmp_path, prefix_len):
    data = os.urandom(300_000)  # several read chunks
    digest = hashlib.sha256(data).hexdigest()
    url = _source(tmp_path, data)
    out = tmp_path / "out"
    out.mkdir()
    prefix = None if prefix_len is None else digest[:prefix_len]
    hub.download_url_to_file(url, str(out / "x.bin"), prefix, progress=False)
    assert (out / "x.bin").read_bytes() == data
    assert _files(out) == ["x.bin"]


@pytest.mark.parametrize("download", [hub.download_url_to_file, torch.hub.download_url_to_file],
                         ids=["mbtorch", "torch"])
def test_wrong_hash_leaves_nothing(tmp_path, download):
    data = b"weights" * 1000
    url = _source(tmp_path, data)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError, match="invalid hash value") as info:
        download(url, str(out / "x.bin"), "deadbeef", progress=False)
    assert "deadbeef" in str(info.value) and hashlib.sha256(data).hexdigest() in str(info.value)
    assert _files(out) == []


def test_failed_download_keeps_the_earlier_file(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.bin").write_bytes(b"the good one")
    with pytest.raises(RuntimeError, match="nothing was saved"):
        hub.download_url_to_file(_source(tmp_path, b"new"), str(out / "x.bin"), "00000000",
                                 progress=False)
    assert _files(out) == ["x.bin"] and (out / "x.bin").read_bytes() == b"the good one"


class _Response:
    """A urlopen answer that sends ``body`` and then, if given, raises ``error``."""

    def __init__(self, body, length, error=None):
        self._body, self._error = io.BytesIO(body), error
        self._headers = {} if length is None else {"Content-Length": str(length)}

    def info(self):
        return self._headers

    def read(self, n):
        chunk = self._body.read(min(n, 100))
        if not chunk and self._error is not None:
            raise self._error
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("error", [ConnectionResetError(104, "Connection reset by peer"),
                                   TimeoutError("timed out"),
                                   http.client.IncompleteRead(b"", 700)])
def test_transfer_broken_off_leaves_nothing(tmp_path, monkeypatch, error):
    monkeypatch.setattr(hub, "urlopen", lambda req, **kw: _Response(b"x" * 300, 1000, error))
    with pytest.raises(type(error)) as info:
        hub.download_url_to_file("https://example.invalid/w.pth", str(tmp_path / "w.pth"),
                                 progress=False)
    assert info.value is error  # PyTorch's type, and the very error, with advice added
    note = " ".join(info.value.__notes__)
    assert "broke off" in note and str(tmp_path / "w.pth") in note and "MBTORCH_HOME" in note
    assert _files(tmp_path) == []


def test_short_transfer_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "urlopen", lambda req, **kw: _Response(b"x" * 300, 1000))
    with pytest.raises(ContentTooShortError, match="got 300 of 1000 bytes"):
        hub.download_url_to_file("https://example.invalid/w.pth", str(tmp_path / "w.pth"))
    assert _files(tmp_path) == []


def test_no_content_length_is_fine(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "urlopen", lambda req, **kw: _Response(b"y" * 250, None))
    hub.download_url_to_file("https://example.invalid/w.pth", str(tmp_path / "w.pth"),
                             progress=False)
    assert (tmp_path / "w.pth").read_bytes() == b"y" * 250


@pytest.mark.parametrize("download", [hub.download_url_to_file, torch.hub.download_url_to_file],
                         ids=["mbtorch", "torch"])
def test_missing_file_url_is_a_urlerror(tmp_path, download):
    dst = tmp_path / "w.pth"
    with pytest.raises(URLError) as info:
        download(_url(tmp_path / "nowhere.pth"), str(dst), progress=False)
    if download is hub.download_url_to_file:
        message = str(info.value)
        assert "nowhere.pth" in message and f"place it at '{dst}'" in message
        assert "MBTORCH_HOME" in message and "offline" in message
    assert _files(tmp_path) == []


def test_unreachable_host_says_what_to_do(tmp_path):
    # port 9 (discard) on the loopback: refused at once, no network needed
    with pytest.raises(URLError, match="If this machine is offline"):
        hub.download_url_to_file("http://127.0.0.1:9/w.pth", str(tmp_path / "w.pth"),
                                 progress=False)
    assert _files(tmp_path) == []


def test_http_error_keeps_its_type_and_code(tmp_path, monkeypatch):
    def refuse(req, **kw):
        raise HTTPError(req.full_url, 404, "Not Found", {}, None)

    monkeypatch.setattr(hub, "urlopen", refuse)
    with pytest.raises(HTTPError, match="HTTP 404 Not Found") as info:
        hub.download_url_to_file("https://example.invalid/w.pth", str(tmp_path / "w.pth"))
    assert info.value.code == 404 and "place it at" in str(info.value)
    assert _files(tmp_path) == []


def test_progress_bar(tmp_path, capsys):
    pytest.importorskip("tqdm")
    url = _source(tmp_path, b"z" * 5000)
    hub.download_url_to_file(url, str(tmp_path / "a.bin"), progress=True)
    assert "100%" in capsys.readouterr().err
    hub.download_url_to_file(url, str(tmp_path / "b.bin"), progress=False)
    assert capsys.readouterr().err == ""


def test_download_argument_errors(tmp_path):
    url = _source(tmp_path, b"abc")
    with pytest.raises(TypeError, match=r"download_url_to_file\(\): url must be a str"):
        hub.download_url_to_file(b"file:///x", str(tmp_path / "x"))
    with pytest.raises(ValueError, match="hash_prefix must be None or a string of hex"):
        hub.download_url_to_file(url, str(tmp_path / "x"), "xyz")
    with pytest.raises(FileNotFoundError, match="the folder of dst"):
        hub.download_url_to_file(url, str(tmp_path / "no" / "x"))


# --- load_state_dict_from_url -----------------------------------------------------------------

def _torch_state():
    gen = torch.Generator().manual_seed(0)
    return {"fc.weight": torch.randn(4, 3, generator=gen), "fc.bias": torch.randn(4, generator=gen),
            "bn.num_batches_tracked": torch.tensor(7)}


def _assert_same(loaded, expected):
    assert list(loaded) == list(expected)
    for key, value in expected.items():
        got = loaded[key]
        assert isinstance(got, mt.Tensor)
        np.testing.assert_array_equal(got.numpy(), value.numpy())


def _hashed(tmp_path, path):
    """Rename ``path`` to ``stem-<sha256[:8]>.ext``, as published weights are named."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    new = path.with_name(f"{path.stem}-{digest}{path.suffix}")
    path.rename(new)
    return new


def test_load_torch_save_file_with_check_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("MBTORCH_HOME", str(tmp_path / "mb"))
    (tmp_path / "src").mkdir()
    state = _torch_state()
    torch.save(state, tmp_path / "src" / "net.pth")
    src = _hashed(tmp_path, tmp_path / "src" / "net.pth")
    loaded = hub.load_state_dict_from_url(_url(src), check_hash=True, progress=False)
    _assert_same(loaded, state)
    checkpoints = tmp_path / "mb" / "hub" / "checkpoints"
    assert _files(checkpoints) == [src.name]
    assert os.path.join(hub.get_dir(), "checkpoints") == str(checkpoints)


@pytest.mark.parametrize("name", ["net.pt", "net.safetensors"])
def test_load_mbtorch_save_file(tmp_path, name):
    state = _torch_state()
    (tmp_path / "src").mkdir()
    mt.save({k: mt.tensor(v.numpy()) for k, v in state.items()}, tmp_path / "src" / name)
    loaded = hub.load_state_dict_from_url(_url(tmp_path / "src" / name),
                                          model_dir=tmp_path / "cache", progress=False)
    _assert_same(loaded, state)
    assert _files(tmp_path / "cache") == [name]


def test_map_location_and_file_name(tmp_path):
    (tmp_path / "src").mkdir()
    torch.save(_torch_state(), tmp_path / "src" / "net.pth")
    loaded = hub.load_state_dict_from_url(_url(tmp_path / "src" / "net.pth"),
                                          model_dir=str(tmp_path / "cache"), map_location="cpu",
                                          file_name="renamed.pth", progress=False)
    assert loaded["fc.weight"].device == mt.device("cpu")
    assert _files(tmp_path / "cache") == ["renamed.pth"]


def test_cached_file_is_reused(tmp_path, monkeypatch):
    (tmp_path / "src").mkdir()
    torch.save(_torch_state(), tmp_path / "src" / "net.pth")
    calls = []
    real = hub.urlopen
    monkeypatch.setattr(hub, "urlopen",
                        lambda req, **kw: calls.append(req.full_url) or real(req, **kw))
    url = _url(tmp_path / "src" / "net.pth")
    first = hub.load_state_dict_from_url(url, model_dir=tmp_path / "cache", progress=False)
    second = hub.load_state_dict_from_url(url, model_dir=tmp_path / "cache", progress=False)
    assert calls == [url]
    _assert_same(second, {k: torch.from_numpy(v.numpy()) for k, v in first.items()})


def test_file_placed_by_hand_loads_offline(tmp_path, monkeypatch):
    def offline(req, **kw):
        raise URLError("no network")

    monkeypatch.setattr(hub, "urlopen", offline)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    url = "https://download.example/models/net-0123abcd.pth"
    with pytest.raises(URLError, match=r"checkpoints.net-0123abcd\.pth"):
        hub.load_state_dict_from_url(url, progress=False)
    state = _torch_state()
    torch.save(state, os.path.join(torch.hub.get_dir(), "checkpoints", "net-0123abcd.pth"))
    _assert_same(hub.load_state_dict_from_url(url, check_hash=True, progress=False), state)


def test_check_hash_wrong_or_missing(tmp_path):
    (tmp_path / "src").mkdir()
    torch.save(_torch_state(), tmp_path / "src" / "net-00000000.pth")
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.load_state_dict_from_url(_url(tmp_path / "src" / "net-00000000.pth"),
                                     model_dir=tmp_path / "cache", check_hash=True,
                                     progress=False)
    assert _files(tmp_path / "cache") == []
    with pytest.raises(ValueError, match="check_hash=True needs a file name of the form"):
        hub.load_state_dict_from_url(_url(tmp_path / "src" / "net-00000000.pth"),
                                     model_dir=tmp_path / "cache", check_hash=True,
                                     file_name="net.pth", progress=False)
    # as in PyTorch, the hash is only checked on download
    hub.load_state_dict_from_url(_url(tmp_path / "src" / "net-00000000.pth"),
                                 model_dir=tmp_path / "cache", progress=False)
    hub.load_state_dict_from_url(_url(tmp_path / "src" / "net-00000000.pth"),
                                 model_dir=tmp_path / "cache", check_hash=True, progress=False)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_damaged_cached_file_says_delete_it(tmp_path, damage):
    cache = tmp_path / "cache"
    cache.mkdir()
    torch.save(_torch_state(), cache / "net.pth")
    data = (cache / "net.pth").read_bytes()
    (cache / "net.pth").write_bytes(data[: len(data) // 2] if damage == "truncate"
                                    else b"<html>proxy login</html>" * 4)
    with pytest.raises(CheckpointError) as info:
        hub.load_state_dict_from_url("https://example.invalid/net.pth", model_dir=cache,
                                     progress=False)
    assert isinstance(info.value, RuntimeError)
    assert str(cache / "net.pth") in str(info.value) and "delete it" in str(info.value)


def test_weights_only_refusal_is_not_called_damage(tmp_path):
    (tmp_path / "src").mkdir()
    torch.save({"f": np.float64}, tmp_path / "src" / "obj.pth")  # a global off the allow-list
    url = _url(tmp_path / "src" / "obj.pth")
    with pytest.raises(pickle.UnpicklingError) as info:
        hub.load_state_dict_from_url(url, model_dir=tmp_path / "cache", progress=False)
    assert "delete it" not in str(info.value)
    loaded = hub.load_state_dict_from_url(url, model_dir=tmp_path / "cache", progress=False,
                                          weights_only=False)
    assert loaded == {"f": np.float64}


def test_legacy_zip_of_one_file(tmp_path):
    state = _torch_state()
    buf = io.BytesIO()
    torch.save(state, buf, _use_new_zipfile_serialization=False)
    (tmp_path / "src").mkdir()
    with zipfile.ZipFile(tmp_path / "src" / "old.zip", "w") as zf:
        zf.writestr("old.pth", buf.getvalue())
    with pytest.warns(FutureWarning, match="old format < 1.6"):
        loaded = hub.load_state_dict_from_url(_url(tmp_path / "src" / "old.zip"),
                                              model_dir=tmp_path / "cache", progress=False)
    _assert_same(loaded, state)
    assert _files(tmp_path / "cache") == ["old.pth", "old.zip"]


def test_legacy_zip_with_a_path_is_refused(tmp_path):
    (tmp_path / "cache").mkdir()
    with zipfile.ZipFile(tmp_path / "cache" / "evil.zip", "w") as zf:
        zf.writestr("../evil.pth", b"\x80\x02")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(RuntimeError, match="not a plain file name"):
            hub.load_state_dict_from_url("https://example.invalid/evil.zip",
                                         model_dir=tmp_path / "cache", progress=False)
    assert not (tmp_path / "evil.pth").exists()


def test_load_state_dict_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="pass file_name="):
        hub.load_state_dict_from_url("https://example.invalid/models/", model_dir=tmp_path)
    with pytest.raises(ValueError, match="cannot use '../x.pth'"):
        hub.load_state_dict_from_url("https://example.invalid/a.pth", model_dir=tmp_path,
                                     file_name="../x.pth")
    with pytest.raises(TypeError, match=r"load_state_dict_from_url\(\): url must be a str"):
        hub.load_state_dict_from_url(None)


# --- hub.load / list / help ------------------------------------------------------------------

HUBCONF = '''
dependencies = {deps!r}

import mbtorch
from helper_mod import WIDTH  # a sibling module: the folder is on sys.path


def tiny(out_features=3, bias=True):
    """A tiny linear model."""
    return mbtorch.nn.Linear(WIDTH, out_features, bias=bias)


def scale(x, factor=2):
    return x * factor


def _private():
    return None
'''


def _repo(tmp_path, deps=("numpy",)):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "hubconf.py").write_text(textwrap.dedent(HUBCONF.format(deps=list(deps))))
    (repo / "helper_mod.py").write_text("WIDTH = 5\n")
    return repo


def test_hub_load_list_help_local(tmp_path):
    repo = _repo(tmp_path)
    path_before = list(sys.path)
    assert hub.list(str(repo)) == ["scale", "tiny"]
    assert hub.help(repo, "tiny").strip() == "A tiny linear model."
    net = hub.load(str(repo), "tiny", 4, bias=False, source="local", trust_repo=True)
    assert isinstance(net, mt.nn.Linear)
    assert (net.in_features, net.out_features, net.bias) == (5, 4, None)
    assert hub.load(repo, "scale", 3, factor=5) == 15
    assert sys.path == path_before and "hubconf" not in sys.modules


def test_hubconf_matches_torch_local_load(tmp_path):
    repo = _repo(tmp_path)
    assert (hub.load(repo, "scale", 7, source="local")
            == torch.hub.load(str(repo), "scale", 7, source="local"))


def test_missing_dependency(tmp_path):
    repo = _repo(tmp_path, deps=("numpy", "no_such_package_mbt", "nor_this_one"))
    with pytest.raises(RuntimeError,
                       match="Missing dependencies: no_such_package_mbt, nor_this_one"):
        hub.load(repo, "tiny")
    with pytest.raises(RuntimeError, match="Missing dependencies"):
        hub.help(repo, "tiny")
    assert hub.list(repo) == ["scale", "tiny"]  # listing needs no dependency, as in PyTorch


def test_hub_errors(tmp_path):
    repo = _repo(tmp_path)
    with pytest.raises(NotImplementedError, match="git clone https://github.com/pytorch/vision"):
        hub.load("pytorch/vision", "resnet18", source="github")
    with pytest.raises(NotImplementedError, match="no network hub"):
        hub.list("pytorch/vision:v0.10.0", source="GitHub")
    with pytest.raises(NotImplementedError, match=r"github.com/pytorch/vision, then"):
        hub.help("pytorch/vision:v0.10.0", "resnet18", source="github")
    with pytest.raises(ValueError, match='unknown source "hf"'):
        hub.load(repo, "tiny", source="hf")
    with pytest.raises(FileNotFoundError, match="no hubconf.py in"):
        hub.load(tmp_path / "empty", "tiny")
    with pytest.raises(RuntimeError, match="Cannot find callable nope in hubconf"):
        hub.load(repo, "nope")
    with pytest.raises(RuntimeError, match="Cannot find callable WIDTH"):
        hub.load(repo, "WIDTH")  # not callable
    with pytest.raises(ValueError, match="model must be a string"):
        hub.load(repo, 3)
    with pytest.raises(ValueError, match="trust_repo must be None, True, False or 'check'"):
        hub.load(repo, "tiny", trust_repo="yes")
    with pytest.raises(TypeError, match="dependencies' must be a list"):
        (repo / "hubconf.py").write_text("dependencies = 'numpy'\ndef f():\n    return 1\n")
        hub.load(repo, "f")


def test_stalled_server_times_out_and_leaves_nothing(tmp_path, monkeypatch):
    """A mirror that accepts the connection and never answers must not hang the caller."""
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setattr(hub, "_READ_TIMEOUT", 0.5)
    try:
        port = server.getsockname()[1]
        with pytest.raises(OSError) as info:
            hub.download_url_to_file(f"http://127.0.0.1:{port}/w.pth", str(tmp_path / "w.pth"),
                                     progress=False)
    finally:
        server.close()
    assert "timed out" in str(info.value)
    assert _files(tmp_path) == []
