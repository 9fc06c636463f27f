"""Tiny Fashion-MNIST-format IDX files for the tests of ``mbtorch.train`` and the programs
built on it (pruning, quantization, distillation, the compression benchmark)."""

from __future__ import annotations

import os

import numpy as np

from mbtorch.data.idx import write_idx

__all__ = ["FILES", "write_split", "write_dataset", "train_args"]

FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def write_split(root, train_split, n, seed):
    # two easy classes (bright top half vs bright bottom half) so a few steps learn something
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(labels):
        images[i, :14] += 150 if c == 0 else 0
        images[i, 14:] += 150 if c == 1 else 0
    names = FILES[train_split]
    write_idx(os.path.join(root, names[0] + ".gz"), images)
    write_idx(os.path.join(root, names[1]), labels)


def write_dataset(root) -> str:
    """64 training and 40 test images under ``root`` (created); returns it as a string."""
    os.makedirs(root, exist_ok=True)
    write_split(str(root), True, 64, 0)
    write_split(str(root), False, 40, 1)
    return str(root)


def train_args(data_root, out, *extra):
    """``mbtorch-train`` arguments for a few seconds' run on those files."""
    return ["--data-root", data_root, "--out", str(out), "--batch-size", "16",
            "--limit-train", "48", "--limit-test", "32", "--no-progress",
            "--no-malloc-tuning", *extra]
