"""The download and archive helpers: md5 checks, atomic downloads through mbtorch.hub from a
local HTTP server, offline advice, and tar extraction that refuses unsafe members."""

from __future__ import annotations

import hashlib
import os
from urllib.error import HTTPError, URLError

import pytest

from mbtorch.vision.datasets.utils import (
    calculate_md5,
    check_integrity,
    download_and_extract_archive,
    download_url,
    extract_archive,
)

from ._helpers import serve, write_tar


def test_md5_and_integrity(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc" * 1000)
    md5 = hashlib.md5(b"abc" * 1000).hexdigest()
    assert calculate_md5(path, chunk_size=7) == md5
    assert check_integrity(path) and check_integrity(path, md5) and check_integrity(path,
                                                                                   md5.upper())
    assert not check_integrity(path, "0" * 32) and not check_integrity(tmp_path / "nope")


def test_download_url(tmp_path):
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "a.bin").write_bytes(b"payload")
    md5 = hashlib.md5(b"payload").hexdigest()
    with serve(tmp_path / "srv") as (url, requests):
        download_url(url + "a.bin", tmp_path / "out", md5=md5, progress=False)
        assert (tmp_path / "out" / "a.bin").read_bytes() == b"payload"
        download_url(url + "a.bin", tmp_path / "out", md5=md5, progress=False)  # kept
        assert requests == ["/a.bin"]
        with pytest.raises(RuntimeError) as e:
            download_url(url + "a.bin", tmp_path / "out", "b.bin", md5="1" * 32,
                         progress=False)
        assert f"expected md5 {'1' * 32}, got {md5}" in str(e.value)
        assert os.listdir(tmp_path / "out") == ["a.bin"]
        with pytest.raises(HTTPError) as e:
            download_url(url + "missing.bin", tmp_path / "out", progress=False)
        assert e.value.code == 404
        assert f"place it at '{tmp_path / 'out' / 'missing.bin'}'" in str(e.value)
    with pytest.raises(URLError, match="If this machine is offline"):
        download_url("http://127.0.0.1:9/c.bin", tmp_path / "out", progress=False)
    assert os.listdir(tmp_path / "out") == ["a.bin"]
    with pytest.raises(ValueError, match="pass filename= a plain file name"):
        download_url(url + "a.bin", tmp_path / "out", "../a.bin")


@pytest.mark.parametrize("members, message", [
    ({"../up.txt": b"x"}, "member '../up.txt' would be written outside"),
    ({"/abs.txt": b"x"}, "member '/abs.txt' would be written outside"),
    ({"d/ok.txt": b"x", "d/link": ("sym", "/etc/passwd")}, "member 'd/link' is a link"),
])
def test_unsafe_archives_are_refused_before_writing(tmp_path, members, message):
    archive = tmp_path / "a.tar.gz"
    write_tar(archive, members)
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match=message):
        extract_archive(archive, dest)
    assert os.listdir(dest) == [] and not (tmp_path / "up.txt").exists()


def test_extract_and_download_and_extract(tmp_path):
    srv = tmp_path / "srv"
    srv.mkdir()
    write_tar(srv / "d.tgz", {"top/a.txt": b"A", "top/sub/b.txt": b"B"})
    assert extract_archive(srv / "d.tgz", tmp_path / "x") == str(tmp_path / "x")
    assert (tmp_path / "x" / "top" / "sub" / "b.txt").read_bytes() == b"B"
    with serve(srv) as (url, _):
        download_and_extract_archive(url + "d.tgz", tmp_path / "dl", md5=calculate_md5(
            srv / "d.tgz"), remove_finished=True, progress=False)
    assert sorted(os.listdir(tmp_path / "dl")) == ["top"]
    with pytest.raises(RuntimeError, match="unsupported archive type"):
        extract_archive(srv / "d.zip")
    (srv / "bad.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(ValueError, match="is not a readable tar archive"):
        extract_archive(srv / "bad.tar.gz")
