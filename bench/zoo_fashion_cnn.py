"""``python -m bench.zoo_fashion_cnn``: the test accuracy of the shipped Fashion-MNIST weights
(``mbtorch.vision.models.fashion_cnn(weights="FASHION_MNIST")``), measured the way a user
would: the zoo model, its ``weights.transforms()`` on the raw uint8 test images, argmax.

    python -m bench.zoo_fashion_cnn [--data-root DIR] [--limit N] [--device cpu]

Prints the accuracy on the first ``--limit`` (default: all 10,000) test images and, for the
whole test set, whether it equals the ``acc@1`` recorded in the weights' ``meta`` (exit
status 1 if not). This is the command that produced that figure.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import mbtorch
from mbtorch.data.datasets import FashionMNIST
from mbtorch.vision.models import FashionCNN_Weights, fashion_cnn

__all__ = ["evaluate", "main"]


def evaluate(root: str, limit: int | None = None, device: str = "cpu",
             weights: Any = FashionCNN_Weights.FASHION_MNIST, batch_size: int = 1000) -> float:
    """Top-1 accuracy (a fraction) of the zoo model with ``weights`` on the first ``limit``
    Fashion-MNIST test images of ``root``."""
    ds = FashionMNIST(root, train=False)
    images, labels = ds.data, ds.targets
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    model = fashion_cnn(weights=weights, progress=False).eval().to(device)
    preprocess = weights.transforms()
    correct = 0
    with mbtorch.no_grad():
        for i in range(0, images.shape[0], batch_size):
            x = preprocess(images[i:i + batch_size]).to(device)
            pred = model(x).argmax(1).cpu()
            correct += int((pred == labels[i:i + batch_size]).sum().item())
    return correct / images.shape[0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.zoo_fashion_cnn",
                                description=__doc__.split("\n")[0])
    p.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--limit", type=int, metavar="N", help="the first N test images")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        p.error(f"--limit must be at least 1, got {args.limit}")
    weights = FashionCNN_Weights.FASHION_MNIST
    acc = 100 * evaluate(args.data_root, args.limit, args.device, weights)
    n = args.limit or "all"
    print(f"{weights!r} on {args.device}: test accuracy {acc:.2f}% ({n} test images)")
    if args.limit is None:
        recorded = weights.meta["_metrics"]["Fashion-MNIST"]["acc@1"]
        same = round(acc, 2) == recorded
        print(f"meta acc@1 = {recorded}: {'matches' if same else 'DIFFERS'}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
