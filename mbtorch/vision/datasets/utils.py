"""Download, check and extract dataset files (torchvision's ``datasets.utils`` names).

``download_url`` fetches through :func:`mbtorch.hub.download_url_to_file` (one downloader in
mbtorch) into a temporary name, checks the md5 there, and only then renames it to its place:
a wrong checksum raises ``RuntimeError`` naming the file, the expected and the actual md5,
and leaves nothing behind. ``extract_archive`` extracts tar archives (plain, gz, bz2, xz)
after checking every member: a member that would land outside the destination (an absolute
name or ``..``), a link or a device file makes it refuse the whole archive before writing
anything (``ValueError``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tarfile
import uuid
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse

__all__ = ["calculate_md5", "check_integrity", "check_md5", "download_and_extract_archive",
           "download_url", "extract_archive"]

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tar.xz", ".txz")


def calculate_md5(fpath: str | os.PathLike, chunk_size: int = 1024 * 1024) -> str:
    """The md5 hex digest of the file ``fpath`` (read in chunks)."""
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath: str | os.PathLike, md5: str, chunk_size: int = 1024 * 1024) -> bool:
    """Whether the file's md5 is ``md5``."""
    return md5.lower() == calculate_md5(fpath, chunk_size)


def check_integrity(fpath: str | os.PathLike, md5: str | None = None) -> bool:
    """Whether ``fpath`` is a file and, when ``md5`` is given, has that md5 (torchvision's)."""
    if not os.path.isfile(fpath):
        return False
    return md5 is None or check_md5(fpath, md5)


def _reason(exc: URLError) -> str:
    """What went wrong, without mbtorch.hub's advice (which names the temporary file)."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    if isinstance(cause, HTTPError):
        return f"HTTP {cause.code} {cause.reason}"
    if isinstance(cause, URLError):
        return str(cause.reason)
    return str(cause)


def _advice(url: str, fpath: str, exc: URLError) -> str:
    return (f"could not download '{url}' ({_reason(exc)}). If this machine is offline, fetch "
            f"the file elsewhere and place it at '{fpath}'")


def download_url(url: str, root: str | os.PathLike, filename: str | None = None,
                 md5: str | None = None, progress: bool = True) -> None:
    """Download ``url`` to ``root/filename`` (default: the URL's file name) unless a file with
    that md5 is already there; atomic, and checked against ``md5`` when given.

    Raises ``URLError`` (``HTTPError`` for an HTTP status) when the server cannot be reached,
    with a message that says where to put the file by hand, and ``RuntimeError`` on a wrong
    checksum (nothing is written).
    """
    root = os.path.expanduser(os.fspath(root))
    filename = filename or os.path.basename(urlparse(url).path)
    if not filename or os.path.basename(filename) != filename or filename in (".", ".."):
        raise ValueError(f"download_url(): cannot save '{url}' under the name {filename!r}; "
                         "pass filename= a plain file name")
    fpath = os.path.join(root, filename)
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return
    from mbtorch.hub import download_url_to_file

    tmp = f"{fpath}.{uuid.uuid4().hex}.download"
    try:
        try:
            download_url_to_file(url, tmp, progress=progress)
        except HTTPError as exc:
            raise HTTPError(url, exc.code, _advice(url, fpath, exc), exc.headers,
                            None) from exc
        except URLError as exc:
            raise URLError(_advice(url, fpath, exc)) from exc
        if md5 is not None:
            actual = calculate_md5(tmp)
            if actual != md5.lower():
                raise RuntimeError(f"could not download '{filename}': checksum mismatch for "
                                   f"'{url}': expected md5 {md5}, got {actual}; nothing was "
                                   f"saved at '{fpath}'")
        os.replace(tmp, fpath)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _check_members(archive: str, tar: tarfile.TarFile, dest: str) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    for m in members:
        if not (m.isfile() or m.isdir()):
            kind = "link" if m.issym() or m.islnk() else "special file"
            raise ValueError(f"extract_archive(): refusing to extract '{archive}': its member "
                             f"'{m.name}' is a {kind}; only files and folders are extracted")
        target = os.path.normpath(os.path.join(dest, m.name))
        if os.path.isabs(m.name) or os.path.commonpath([dest, target]) != dest:
            raise ValueError(f"extract_archive(): refusing to extract '{archive}': its member "
                             f"'{m.name}' would be written outside '{dest}'")
    return members


def extract_archive(from_path: str | os.PathLike, to_path: str | os.PathLike | None = None,
                    remove_finished: bool = False) -> str:
    """Extract the tar archive ``from_path`` into ``to_path`` (default: its folder) and return
    ``to_path``. Every member is checked before anything is written (see the module's
    docstring); ``remove_finished`` deletes the archive afterwards."""
    from_path = os.fspath(from_path)
    dest = os.path.abspath(os.fspath(to_path) if to_path is not None
                           else os.path.dirname(from_path))
    if not from_path.lower().endswith(_TAR_SUFFIXES):
        raise RuntimeError(f"extract_archive(): unsupported archive type of '{from_path}'. "
                           f"Known suffixes are: {', '.join(_TAR_SUFFIXES)}")
    os.makedirs(dest, exist_ok=True)
    try:
        with tarfile.open(from_path, "r:*") as tar:
            members = _check_members(from_path, tar, dest)
            if hasattr(tarfile, "data_filter"):  # Python's own check too, where it has one
                tar.extractall(dest, members=members, filter="data")
            else:  # pragma: no cover - Pythons before 3.10.12 / 3.11.4
                tar.extractall(dest, members=members)
    except (tarfile.TarError, EOFError) as e:
        raise ValueError(f"extract_archive(): '{from_path}' is not a readable tar archive "
                         f"({e})") from None
    if remove_finished:
        os.remove(from_path)
    return dest


def download_and_extract_archive(url: str, download_root: str | os.PathLike,
                                 extract_root: str | os.PathLike | None = None,
                                 filename: str | None = None, md5: str | None = None,
                                 remove_finished: bool = False, progress: bool = True) -> None:
    """``download_url`` into ``download_root`` (skipped when a file with that md5 is there),
    then ``extract_archive`` into ``extract_root`` (default: ``download_root``)."""
    download_root = os.path.expanduser(os.fspath(download_root))
    extract_root = download_root if extract_root is None else extract_root
    filename = filename or os.path.basename(urlparse(url).path)
    download_url(url, download_root, filename, md5, progress=progress)
    extract_archive(os.path.join(download_root, filename), extract_root, remove_finished)
