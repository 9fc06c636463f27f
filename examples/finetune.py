"""Fine-tuning a pre-trained model on a new task: take a zoo model, replace its head, train,
evaluate — beside the same model trained from scratch on the same images.

The default run takes the Fashion-MNIST CNN whose weights ship with mbtorch
(``fashion_cnn(weights="FASHION_MNIST")``), freezes its features and puts a new head in place
of its last ``Linear`` for a coarser task made from Fashion-MNIST's labels:

    tops (T-shirt/top, pullover, coat, shirt) / trousers and dresses / footwear and bags

It trains the head on a small labelled subset (``--limit-train``, the first N training
images), evaluates on the test set, then trains the same architecture from random
initialization (every layer, the same images, optimizer and epochs) for comparison.

    python examples/finetune.py
    python examples/finetune.py --limit-train 100 --epochs 3
    python examples/finetune.py --unfreeze                 # fine-tune every layer
    python examples/finetune.py --model resnet18 --weights DEFAULT --image-size 64 \\
        --limit-train 300 --limit-test 500

``--model`` takes any builder of ``mbtorch.vision.models`` and ``--weights`` a member of its
weight enum (``DEFAULT``, ``IMAGENET1K_V1``...). Weights not yet in the hub cache are
downloaded through ``mbtorch.hub`` (hash-checked; offline, the error says where to put the
file). The grayscale images are repeated to three channels for RGB models and go through the
weights' own preprocessing (``weights.transforms()``; ``--image-size`` sets its resize and
crop). Only public API is used (``import mbtorch as torch``).
"""

import argparse
import sys
import time
from urllib.error import URLError

import mbtorch as torch
from mbtorch.data.datasets import FashionMNIST
from mbtorch.vision import models

nn, F = torch.nn, torch.nn.functional

# the new task: Fashion-MNIST's ten labels grouped into three classes
GROUPS = {"tops": (0, 2, 4, 6), "trousers & dresses": (1, 3), "footwear & bags": (5, 7, 8, 9)}


def relabel(labels):
    """Fashion-MNIST labels (0-9) -> the index of their group in ``GROUPS``."""
    table = [0] * 10
    for new, old in enumerate(GROUPS.values()):
        for label in old:
            table[label] = new
    return torch.tensor(table)[labels]


def load_split(root, train, limit):
    """The first ``limit`` images of one split as uint8 ``(N, 1, 28, 28)``, with new labels."""
    ds = FashionMNIST(root, train=train)
    images, labels = ds.data, ds.targets
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images.unsqueeze(1), relabel(labels)


def replace_head(model, num_classes):
    """Put a new ``Linear(in_features, num_classes)`` in place of the model's last Linear
    layer (``fc`` of a ResNet, ``classifier.6`` of a VGG, ``11`` of the Fashion CNN...)."""
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no Linear layer to replace")
    name, old = linears[-1]
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent), attr, nn.Linear(old.in_features, num_classes))
    return f"'{name}' Linear({old.in_features} -> {old.out_features})"


def in_channels(model):
    """The channels the first convolution expects (3 for the ImageNet models)."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    return convs[0].in_channels if convs else 1


def preprocess_in_batches(preprocess, images, channels, batch_size=500):
    """``preprocess`` (the weights' transforms) over uint8 ``(N, 1, H, W)`` images, a batch at
    a time; grayscale repeated to ``channels`` channels."""
    if channels != 1:
        images = images.expand(-1, channels, -1, -1)
    return torch.cat([preprocess(images[i:i + batch_size])
                      for i in range(0, images.shape[0], batch_size)])


def fit(model, x, y, args, frozen):
    """Adam over the parameters that require gradients, ``args.epochs`` epochs of shuffled
    mini-batches. Frozen features stay in eval mode (batch norm keeps its statistics from
    pre-training); otherwise the model trains as usual."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    model.train(not frozen)
    for _ in range(args.epochs):
        order = torch.randperm(x.shape[0], generator=gen)
        for i in range(0, x.shape[0], args.batch_size):
            idx = order[i:i + args.batch_size].to(x.device)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return sum(p.numel() for p in params)


def accuracy(model, preprocess, images, labels, channels, device, batch_size=500):
    """Test accuracy (a fraction) in eval mode, preprocessing batch by batch."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, images.shape[0], batch_size):
            x = preprocess_in_batches(preprocess, images[i:i + batch_size], channels)
            pred = model(x.to(device)).argmax(1).cpu()
            correct += int((pred == labels[i:i + batch_size]).sum().item())
    return correct / images.shape[0]


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="fashion_cnn", choices=models.list_models(),
                    help="a builder of mbtorch.vision.models")
    ap.add_argument("--weights", default="DEFAULT", help="a member of the model's weight enum")
    ap.add_argument("--image-size", type=int, metavar="PX",
                    help="resize and crop size for models whose transforms resize (ImageNet)")
    ap.add_argument("--unfreeze", action="store_true",
                    help="fine-tune every layer instead of the new head alone")
    ap.add_argument("--limit-train", type=int, default=500, metavar="N",
                    help="labelled training images (the first N)")
    ap.add_argument("--limit-test", type=int, metavar="N", help="test images (default: all)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                    help="folder with the Fashion-MNIST IDX files")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for name in ("image_size", "limit_train", "limit_test", "epochs", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if not args.lr > 0:
        ap.error(f"--lr must be positive, got {args.lr}")
    try:
        args.weights = models.get_model_weights(args.model).verify(args.weights)
    except ValueError as exc:
        ap.error(str(exc))
    if args.image_size is None:
        args.preprocess = args.weights.transforms()
    else:
        try:
            args.preprocess = args.weights.transforms(crop_size=args.image_size,
                                                      resize_size=args.image_size)
        except TypeError:
            ap.error(f"--image-size: the transforms of {args.weights!r} take no size")
    return args


def run(label, model, args, data, frozen):
    """Train ``model`` (already given its new head), evaluate it, print one line."""
    (train_x, train_y), (test_images, test_y), channels = data
    model.to(args.device)
    start = time.perf_counter()
    trained = fit(model, train_x, train_y, args, frozen)
    acc = accuracy(model, args.preprocess, test_images, test_y, channels, args.device)
    print(f"{label} ({trained:,} trainable parameters): test accuracy {100 * acc:.2f}% "
          f"({time.perf_counter() - start:.1f} s)")
    return acc


def main(argv=None):
    args = parse_args(argv)
    builder = models.get_model_builder(args.model)
    torch.manual_seed(args.seed)
    model = builder(weights=args.weights)  # downloads through mbtorch.hub if not cached
    total = sum(p.numel() for p in model.parameters())
    channels = in_channels(model)
    train_images, train_y = load_split(args.data, True, args.limit_train)
    test_images, test_y = load_split(args.data, False, args.limit_test)
    train_x = preprocess_in_batches(args.preprocess, train_images, channels).to(args.device)
    data = ((train_x, train_y.to(args.device)), (test_images, test_y), channels)

    if not args.unfreeze:
        model.requires_grad_(False)  # the pre-trained features stay as they are
    old = replace_head(model, len(GROUPS))
    print(f"{args.model} with {args.weights!r} ({total:,} parameters): head {old} replaced "
          f"by Linear(-> {len(GROUPS)})")
    majority = max(int((test_y == k).sum().item()) for k in range(len(GROUPS)))
    print(f"task: {len(GROUPS)} classes ({', '.join(GROUPS)}); {train_x.shape[0]} training "
          f"images, {test_images.shape[0]} test images; always guessing the most common class: "
          f"{100 * majority / test_images.shape[0]:.2f}%")
    what = "every layer" if args.unfreeze else "pre-trained features frozen"
    results = {"chance": majority / test_images.shape[0],
               "finetuned": run(f"fine-tuned, {what}", model, args, data, not args.unfreeze)}

    torch.manual_seed(args.seed)
    scratch = builder(weights=None)
    replace_head(scratch, len(GROUPS))
    results["scratch"] = run("from scratch, random init, every layer", scratch, args, data,
                             frozen=False)
    return results


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except URLError as exc:  # offline, or refused: mbtorch.hub's message says what to do
        sys.exit(f"finetune.py: {exc.reason}")
