"""``mbtorch.hub``: ``torch.hub``'s names and cache, offline first.

Weights are cached where PyTorch caches them, so files PyTorch already downloaded are reused:
``get_dir()`` is ``$MBTORCH_HOME/hub`` when ``MBTORCH_HOME`` is set, else PyTorch's
``$TORCH_HOME/hub`` (``TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``, and
``XDG_CACHE_HOME`` to ``~/.cache``); ``load_state_dict_from_url`` keeps its files in
``<get_dir()>/checkpoints`` under their names from the URL.

A download goes to a ``<dst>.<random>.partial`` file next to ``dst`` and is renamed over
``dst`` only once complete and (with ``hash_prefix``) checked, so ``dst`` never holds half a
file; on any error the partial file is deleted. Errors keep PyTorch's types and say what to do
offline: a failed connection raises a new ``URLError`` (``HTTPError`` for an HTTP status) whose
message names the URL and where to put the file instead; an error in the middle of the transfer
is re-raised as it is with that advice added as a note (``exc.__notes__``); a transfer shorter
than its ``Content-Length`` raises ``ContentTooShortError`` (a ``URLError``).

Differences from PyTorch, on purpose: ``load_state_dict_from_url`` defaults to
``weights_only=True`` (it loads files from the network); ``check_hash=True`` with a file name
that carries no ``-<sha256 prefix>.`` part raises ``ValueError`` instead of skipping the check;
``hub.load``/``list``/``help`` default to ``source='local'``, and ``source='github'`` raises
``NotImplementedError`` (mbtorch has no network hub: clone the repository and pass its folder).
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import http.client
import importlib.util
import os
import re
import shutil
import sys
import uuid
import warnings
import zipfile
from types import ModuleType
from typing import Any, Callable, Iterator
from urllib.error import ContentTooShortError, HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import Request, urlopen

__all__ = ["download_url_to_file", "get_dir", "help", "list", "load",
           "load_state_dict_from_url", "set_dir"]

HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
ENV_MBTORCH_HOME = "MBTORCH_HOME"
ENV_TORCH_HOME = "TORCH_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
VAR_DEPENDENCY = "dependencies"
MODULE_HUBCONF = "hubconf.py"
READ_DATA_CHUNK = 128 * 1024
_SOURCES = ("github", "local")
# seconds a download waits on one network read before it gives up (a stalled mirror would
# otherwise hang the caller forever; torch.hub sets none)
_READ_TIMEOUT = 60.0

_hub_dir: str | None = None


# --- cache layout --------------------------------------------------------------------------

def _torch_home() -> str:
    # PyTorch's rule exactly (an empty TORCH_HOME counts as set there too)
    default = os.path.join(os.getenv(ENV_XDG_CACHE_HOME, DEFAULT_CACHE_DIR), "torch")
    return os.path.expanduser(os.getenv(ENV_TORCH_HOME, default))


def get_dir() -> str:
    """The hub cache folder: what ``set_dir`` set, else ``$MBTORCH_HOME/hub``, else PyTorch's
    ``$TORCH_HOME/hub`` (``$XDG_CACHE_HOME/torch/hub``, ``~/.cache/torch/hub``)."""
    if os.getenv("TORCH_HUB"):
        warnings.warn("TORCH_HUB is deprecated, please use env TORCH_HOME instead", stacklevel=2)
    if _hub_dir is not None:
        return _hub_dir
    home = os.getenv(ENV_MBTORCH_HOME)
    if home:  # an empty MBTORCH_HOME means unset, rather than a relative ``hub`` folder
        return os.path.join(os.path.expanduser(home), "hub")
    return os.path.join(_torch_home(), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use ``d`` as the hub cache folder for the rest of the process (over every variable)."""
    global _hub_dir
    if not isinstance(d, (str, os.PathLike)):
        raise TypeError(f"set_dir(): d must be a path, got {type(d).__name__}")
    _hub_dir = os.path.expanduser(os.fspath(d))


# --- download --------------------------------------------------------------------------------

def _advice(url: str, dst: str, reason: object) -> str:
    return (f"download_url_to_file(): could not download '{url}' ({reason}). If this machine "
            f"is offline, fetch the file elsewhere and place it at '{dst}' (the hub keeps each "
            f"file in its checkpoints folder under its name from the URL), or set "
            f"{ENV_MBTORCH_HOME} to a folder whose hub/checkpoints holds it")


def _content_length(response: Any) -> int | None:
    value = response.info().get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:  # a server's bad header: download without a known size
        return None


def _progress_bar(total: int | None, enabled: bool) -> Any:
    if not enabled:
        return contextlib.nullcontext(None)
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is optional: without tqdm, download silently
        return contextlib.nullcontext(None)
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr)


def _chunks(response: Any, url: str, dst: str) -> Iterator[bytes]:
    """The response's bytes; an error while reading keeps its type and gains the advice (a
    generator, so errors in the caller's writing to disk do not get it)."""
    while True:
        try:
            chunk = response.read(READ_DATA_CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            exc.add_note(_advice(url, dst, f"the transfer broke off: {exc!r}"))
            raise
        if not chunk:
            return
        yield chunk


def _fetch(url: str, dst: str, out: Any, progress: bool) -> str:
    """Stream ``url`` into the open file ``out``; return the sha256 hex digest."""
    sha, got = hashlib.sha256(), 0
    try:
        response = urlopen(Request(url, headers={"User-Agent": "mbtorch.hub"}),
                           timeout=_READ_TIMEOUT)
    except HTTPError as exc:
        raise HTTPError(exc.url, exc.code, _advice(url, dst, f"HTTP {exc.code} {exc.reason}"),
                        exc.headers, None) from exc
    except URLError as exc:
        raise URLError(_advice(url, dst, exc.reason)) from exc
    with response, _progress_bar(total := _content_length(response), progress) as bar:
        for chunk in _chunks(response, url, dst):
            out.write(chunk)
            sha.update(chunk)
            got += len(chunk)
            if bar is not None:
                bar.update(len(chunk))
    if total is not None and got < total:
        raise ContentTooShortError(_advice(url, dst, f"got {got} of {total} bytes"), None)
    return sha.hexdigest()


def _check_download_args(url: Any, dst: Any, hash_prefix: Any) -> str:
    if not isinstance(url, str):
        raise TypeError(f"download_url_to_file(): url must be a str, got {type(url).__name__}")
    if not isinstance(dst, (str, os.PathLike)):
        raise TypeError(f"download_url_to_file(): dst must be a path, got {type(dst).__name__}")
    if hash_prefix is not None and (not isinstance(hash_prefix, str)
                                    or re.fullmatch(r"[0-9a-fA-F]*", hash_prefix) is None):
        raise ValueError(f"download_url_to_file(): hash_prefix must be None or a string of hex "
                         f"digits (the start of the file's sha256), got {hash_prefix!r}")
    path = os.path.abspath(os.path.expanduser(os.fspath(dst)))
    if not os.path.isdir(os.path.dirname(path)):
        raise FileNotFoundError(f"download_url_to_file(): the folder of dst '{path}' does "
                                "not exist")
    return path


def download_url_to_file(url: str, dst: str | os.PathLike, hash_prefix: str | None = None,
                         progress: bool = True) -> None:
    """Download ``url`` to the path ``dst``, atomically (a ``.partial`` file, then a rename).

    ``hash_prefix``: the file's sha256 hex digest must start with it, else ``RuntimeError``
    and nothing is written. ``progress`` shows a bar on stderr when tqdm is installed.

    >>> mbtorch.hub.download_url_to_file("file:///data/resnet18-f37072fd.pth", "/tmp/r18.pth")
    """
    dst = _check_download_args(url, dst, hash_prefix)
    tmp = f"{dst}.{uuid.uuid4().hex}.partial"
    # os.open with 0o666 leaves the permissions to the umask, as for any new file
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(url, dst, out, progress)
            out.flush()
            os.fsync(out.fileno())
        if hash_prefix is not None and not digest.startswith(hash_prefix.lower()):
            raise RuntimeError(f"download_url_to_file(): invalid hash value for '{url}' "
                               f'(expected "{hash_prefix}", got "{digest}"); nothing was saved')
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# --- load_state_dict_from_url -----------------------------------------------------------------

def _file_name(url: str, file_name: str | None) -> str:
    name = os.path.basename(urlparse(url).path) if file_name is None else file_name
    if not isinstance(name, str):
        raise TypeError(f"load_state_dict_from_url(): file_name must be a str, got "
                        f"{type(name).__name__}")
    if name in ("", ".", "..") or os.path.basename(name) != name or "/" in name:
        raise ValueError(f"load_state_dict_from_url(): cannot use {name!r} as the cached "
                         f"file's name (from url '{url}'); pass file_name= a plain file name")
    return name


def _hash_prefix(name: str) -> str:
    match = HASH_REGEX.search(name)
    if match is None or not match.group(1):
        raise ValueError(f"load_state_dict_from_url(): check_hash=True needs a file name of the "
                         f"form 'name-<sha256 prefix>.ext', got '{name}'")
    return match.group(1)


def _is_legacy_zip(path: str) -> bool:
    """A zip holding one file: how pre-1.6 ``torch.save`` files were published zipped (the
    zip checkpoint format always has several records)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        members = zf.infolist()
    return len(members) == 1 and not members[0].is_dir()


def _extract_legacy_zip(path: str, model_dir: str) -> str:
    warnings.warn("load_state_dict_from_url(): falling back to the old format < 1.6 (a zip "
                  "holding one torch.save file); redo torch.save to save it in the zip "
                  "checkpoint format", FutureWarning, stacklevel=3)
    with zipfile.ZipFile(path) as zf:
        member = zf.infolist()[0]
        name = member.filename
        if name in (".", "..") or os.path.basename(name) != name or "\\" in name:
            raise RuntimeError(f"load_state_dict_from_url(): '{path}' holds {name!r}, which "
                               "is not a plain file name; refusing to extract it")
        target = os.path.join(model_dir, name)
        tmp = f"{target}.{uuid.uuid4().hex}.partial"
        try:
            with zf.open(member) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
    return target


def _load_cached(cached: str, model_dir: str, map_location: Any, weights_only: bool) -> Any:
    from .serialization import CheckpointError, WeightsOnlyUnpicklingError
    from .serialization import load as _load

    try:
        path = _extract_legacy_zip(cached, model_dir) if _is_legacy_zip(cached) else cached
        return _load(path, map_location=map_location, weights_only=weights_only)
    except WeightsOnlyUnpicklingError:  # not damage: deleting the file would not help
        raise
    except (CheckpointError, zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(
            f"load_state_dict_from_url(): the cached file '{cached}' cannot be loaded ({exc}). "
            "If it is a damaged or truncated download, delete it and call again to download "
            "it afresh") from exc


def load_state_dict_from_url(url: str, model_dir: str | os.PathLike | None = None,
                             map_location: Any = None, progress: bool = True,
                             check_hash: bool = False, file_name: str | None = None,
                             weights_only: bool = True) -> Any:
    """Download ``url`` into ``model_dir`` (default ``<get_dir()>/checkpoints``) unless a file
    of that name is already there, then ``mbtorch.load`` it (PyTorch's zip or legacy format,
    a zip holding one legacy file, or safetensors).

    ``check_hash``: the file name is ``name-<sha256 prefix>.ext`` and a fresh download must
    match that prefix. ``file_name`` overrides the name taken from the URL.

    >>> sd = mbtorch.hub.load_state_dict_from_url(
    ...     "https://download.pytorch.org/models/resnet18-f37072fd.pth", check_hash=True)
    """
    if not isinstance(url, str):
        raise TypeError(f"load_state_dict_from_url(): url must be a str, got "
                        f"{type(url).__name__}")
    if os.getenv("TORCH_MODEL_ZOO"):
        warnings.warn("TORCH_MODEL_ZOO is deprecated, please use env TORCH_HOME instead",
                      stacklevel=2)
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    model_dir = os.path.expanduser(os.fspath(model_dir))
    name = _file_name(url, file_name)
    hash_prefix = _hash_prefix(name) if check_hash else None
    os.makedirs(model_dir, exist_ok=True)
    cached = os.path.join(model_dir, name)
    if not os.path.exists(cached):
        if progress:
            sys.stderr.write(f'Downloading: "{url}" to {cached}\n')
        download_url_to_file(url, cached, hash_prefix, progress=progress)
    return _load_cached(cached, model_dir, map_location, weights_only)


# --- hubconf.py entry points ------------------------------------------------------------------

def _check_source(fn: str, repo_or_dir: Any, source: Any, trust_repo: Any) -> str:
    if not isinstance(source, str):
        raise TypeError(f"hub.{fn}(): source must be a str, got {type(source).__name__}")
    if source.lower() not in _SOURCES:
        raise ValueError(f'hub.{fn}(): unknown source "{source}". Allowed values: '
                         '"github" | "local".')
    if source.lower() == "github":
        raise NotImplementedError(
            f"hub.{fn}(): source='github' needs the network and mbtorch has no network hub: "
            f"clone the repository (git clone https://github.com/{str(repo_or_dir).split(':')[0]}"
            f", then check out the ref you want) and call "
            f"hub.{fn}('<its folder>', ..., source='local')")
    if not (trust_repo is None or isinstance(trust_repo, bool) or trust_repo == "check"):
        raise ValueError(f"hub.{fn}(): trust_repo must be None, True, False or 'check', got "
                         f"{trust_repo!r}")
    if not isinstance(repo_or_dir, (str, os.PathLike)):
        raise TypeError(f"hub.{fn}(): repo_or_dir must be a path, got "
                        f"{type(repo_or_dir).__name__}")
    folder = os.path.abspath(os.path.expanduser(os.fspath(repo_or_dir)))
    if not os.path.isfile(os.path.join(folder, MODULE_HUBCONF)):
        raise FileNotFoundError(
            f"hub.{fn}(): no {MODULE_HUBCONF} in '{folder}'. mbtorch loads hub repositories "
            "from a local folder only: clone the repository and pass its folder")
    return folder


@contextlib.contextmanager
def _hubconf(folder: str) -> Iterator[ModuleType]:
    """The folder's hubconf.py, imported from its path (not registered in ``sys.modules``)
    with the folder first on ``sys.path`` while the block runs, for its own imports."""
    sys.path.insert(0, folder)
    try:
        path = os.path.join(folder, MODULE_HUBCONF)
        spec = importlib.util.spec_from_file_location("hubconf", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"hub: cannot import '{path}'")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)


def _entry(fn: str, module: ModuleType, model: Any) -> Callable:
    if not isinstance(model, str):
        raise ValueError(f"hub.{fn}(): model must be a string: the name of an entrypoint in "
                         f"{MODULE_HUBCONF}, got {type(model).__name__}")
    deps = getattr(module, VAR_DEPENDENCY, None)
    if deps is not None:
        if isinstance(deps, str) or not all(isinstance(d, str) for d in deps):
            raise TypeError(f"hub.{fn}(): {MODULE_HUBCONF}'s '{VAR_DEPENDENCY}' must be a list "
                            f"of package names, got {deps!r}")
        missing = [d for d in deps if importlib.util.find_spec(d) is None]
        if missing:
            raise RuntimeError(f"Missing dependencies: {', '.join(missing)} (hub.{fn}(): "
                               f"{MODULE_HUBCONF} needs them; pip install them first)")
    func = getattr(module, model, None)
    if func is None or not callable(func):
        raise RuntimeError(f"Cannot find callable {model} in hubconf (hub.{fn}(): entrypoints "
                           f"there: {_entrypoints(module)})")
    return func


def _entrypoints(module: ModuleType) -> builtins.list[str]:
    # names starting with '_' are the hubconf's helpers, as in PyTorch
    return [n for n in dir(module) if callable(getattr(module, n)) and not n.startswith("_")]


def list(github: str | os.PathLike, force_reload: bool = False,  # noqa: A001 - torch's name
         skip_validation: bool = False, trust_repo: bool | str | None = None,
         verbose: bool = True, *, source: str = "local") -> builtins.list[str]:
    """The callable entrypoints of the folder's ``hubconf.py`` (``force_reload``,
    ``skip_validation``, ``verbose`` only matter for GitHub, which mbtorch does not reach)."""
    with _hubconf(_check_source("list", github, source, trust_repo)) as module:
        return _entrypoints(module)


def help(github: str | os.PathLike, model: str, force_reload: bool = False,  # noqa: A001
         skip_validation: bool = False, trust_repo: bool | str | None = None, *,
         source: str = "local") -> str | None:
    """The docstring of entrypoint ``model`` in the folder's ``hubconf.py``."""
    with _hubconf(_check_source("help", github, source, trust_repo)) as module:
        return _entry("help", module, model).__doc__


def load(repo_or_dir: str | os.PathLike, model: str, *args: Any, source: str = "local",
         trust_repo: bool | str | None = None, force_reload: bool = False, verbose: bool = True,
         skip_validation: bool = False, **kwargs: Any) -> Any:
    """Call entrypoint ``model`` of ``repo_or_dir``'s ``hubconf.py`` with ``*args, **kwargs``
    after checking its ``dependencies``; the folder is on ``sys.path`` during the call.

    >>> net = mbtorch.hub.load("./my_models", "tiny_cnn", pretrained=False)
    """
    with _hubconf(_check_source("load", repo_or_dir, source, trust_repo)) as module:
        return _entry("load", module, model)(*args, **kwargs)
