"""Files for the dataset tests: small IDX and CIFAR binary datasets, tarballs, and a local
HTTP server standing in for the mirrors (the tests never reach the network)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import os
import tarfile
import threading

import numpy as np

from mbtorch.data.idx import write_idx

__all__ = ["IDX_NAMES", "cifar_records", "serve", "write_cifar", "write_idx_split", "write_tar"]

IDX_NAMES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def write_idx_split(folder, train, n, seed, gz=True):
    """``n`` random 28 x 28 images and labels of one split as IDX files in ``folder``."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    suffix = ".gz" if gz else ""
    write_idx(os.path.join(folder, IDX_NAMES[train][0] + suffix), images)
    write_idx(os.path.join(folder, IDX_NAMES[train][1] + suffix), labels)
    return images, labels


def cifar_records(n, label_columns, seed):
    """``(labels n x k, planes n x 3 x 32 x 32, bytes)``: records as the binary version's."""
    rng = np.random.default_rng(seed)
    labels = np.stack([rng.integers(0, c, n) for c in label_columns], axis=1).astype(np.uint8)
    planes = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    raw = np.concatenate([labels, planes.reshape(n, -1)], axis=1).tobytes()
    return labels, planes, raw


def write_cifar(folder, files, label_columns, meta, seed=0):
    """Write each ``name: records`` of ``files`` and the ``meta`` name files into ``folder``;
    returns ``{name: (labels, planes)}``."""
    os.makedirs(folder, exist_ok=True)
    out = {}
    for i, (name, n) in enumerate(files.items()):
        labels, planes, raw = cifar_records(n, label_columns, seed + i)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(raw)
        out[name] = (labels, planes)
    for name, names in meta.items():
        with open(os.path.join(folder, name), "w") as f:
            f.write("\n".join(names) + "\n\n")  # the published files end with blank lines
    return out


def write_tar(path, members):
    """A .tar.gz at ``path`` of ``members``: ``name -> bytes`` (a file), or ``name -> ("sym",
    target)`` (a symlink)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(content, tuple):
                info.type, info.linkname = tarfile.SYMTYPE, content[1]
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@contextlib.contextmanager
def serve(folder):
    """Serve ``folder`` over HTTP on 127.0.0.1; yields ``(base_url, requested_paths)``."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
