"""DataLoader throughput on Fashion-MNIST: mbtorch with 0 and 2 workers, beside PyTorch's
DataLoader on the same arrays when PyTorch is installed.

Each case reads ``batches`` batches of 64 training images through a ``ToTensor`` transform
(uint8 28x28 -> float32 1x28x28 in [0, 1]) and the default collate, as a training loop would.
Reported per case: samples per second over the whole run (worker start-up included), the time
to the first batch, and the wall time. Without the dataset installed the same shapes are
generated, and the result says so.

    python bench/bench_dataloader.py [--quick] [--out result.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

import numpy as np

BATCH_SIZE = 64


def _load() -> tuple[np.ndarray, np.ndarray, str]:
    from mbtorch.data.datasets import FashionMNIST

    try:
        ds = FashionMNIST(os.environ.get("MBTORCH_DATA", "data"), train=True)
    except RuntimeError:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8)
        return images, rng.integers(0, 10, 60000).astype(np.int64), "synthetic (not installed)"
    return ds.data.numpy(), ds.targets.numpy(), f"FashionMNIST train ({ds.images_file})"


class _TorchImages:
    """The same samples for torch: torchvision's ToTensor arithmetic on a uint8 array."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        import torch

        img = torch.from_numpy(self.images[i].copy()).unsqueeze(0)
        return img.to(torch.get_default_dtype()).div(255), int(self.labels[i])


class _MbImages:
    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        from mbtorch.data.transforms import ToTensor

        self.images, self.labels, self.to_tensor = images, labels, ToTensor()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        return self.to_tensor(self.images[i].copy()), int(self.labels[i])


def _time_loader(loader: Any, batches: int) -> dict:
    start = time.perf_counter()
    first = None
    seen = 0
    for i, (x, _) in enumerate(loader):
        if first is None:
            first = time.perf_counter() - start
        seen += x.shape[0]
        if i + 1 == batches:
            break
    wall = time.perf_counter() - start
    return {"samples": seen, "seconds": round(wall, 4), "first_batch_s": round(first or 0, 4),
            "samples_per_s": round(seen / wall, 1)}


def _case(impl: str, workers: int, images: np.ndarray, labels: np.ndarray,
          batches: int) -> dict:
    if impl == "mbtorch":
        from mbtorch.utils.data import DataLoader

        ds: Any = _MbImages(images, labels)
    else:
        from torch.utils.data import DataLoader  # type: ignore[no-redef]

        ds = _TorchImages(images, labels)
    loader = DataLoader(ds, batch_size=BATCH_SIZE, shuffle=True, num_workers=workers)
    return {"impl": impl, "num_workers": workers, **_time_loader(loader, batches)}


def run(quick: bool = False) -> dict:
    """Measure every case once; ``quick`` reads fewer batches (a smoke run, not a claim)."""
    images, labels, source = _load()
    batches = 20 if quick else 300
    impls = ["mbtorch"]
    try:
        import torch

        torch.set_num_threads(1)  # as in a worker process; keeps the main process comparable
        impls.append("torch")
    except ImportError:
        pass
    results = [_case(impl, workers, images, labels, batches)
               for workers in (0, 2) for impl in impls]
    return {
        "benchmark": "dataloader", "dataset": source, "batch_size": BATCH_SIZE,
        "batches": batches, "transform": "ToTensor", "quick": quick, "results": results,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "platform": platform.platform()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="read fewer batches")
    parser.add_argument("--out", help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    result = run(quick=args.quick)
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
