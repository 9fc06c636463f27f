"""Knowledge distillation on Fashion-MNIST: a small student learns from a trained teacher CNN.

The teacher is the CNN of ``mbtorch-train`` (``mbtorch.train.build_model``, about 207k
parameters): loaded from ``--teacher`` (a checkpoint written by ``mbtorch-train``, or a plain
state dict such as its ``pruned.pt``), or, when none is given, trained here first for
``--teacher-epochs`` epochs. The student is one convolution and one linear layer (about 16k
parameters, 13 times fewer). It is trained on

    loss = alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
           + (1 - alpha) * cross_entropy(student, labels)

(Hinton et al., 2015): the temperature ``T`` softens both distributions so the student also
learns which wrong classes the teacher finds plausible (a shirt looks more like a T-shirt
than a boot), and ``T^2`` keeps the soft term's gradients on the scale of the hard one's as
``T`` changes. ``--baseline`` also trains the same student, from the same initial weights, on
the labels alone, to show what the teacher adds.

    python examples/distill.py                          # trains a teacher for 1 epoch first
    mbtorch-train --epochs 3 --out runs/teacher
    python examples/distill.py --teacher runs/teacher/checkpoint.pt --epochs 3 --baseline

Only public API is used (``import mbtorch as torch``); the images come from
``--data`` (Debian's ``dataset-fashion-mnist`` package installs them where the default
points).
"""

import argparse
import sys
import time

import mbtorch as torch
from mbtorch.train import build_model, load_split

nn, F = torch.nn, torch.nn.functional


def build_student():
    """One 3x3 convolution (8 channels), 2x2 max pooling, ReLU, and a linear classifier."""
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),
                         nn.Flatten(), nn.Linear(8 * 14 * 14, 10))


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    """``alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * cross-entropy``, the KL
    divergence averaged over the batch (``reduction="batchmean"``, the true per-sample KL)."""
    soft = F.kl_div(F.log_softmax(student_logits / temperature, dim=1),
                    F.log_softmax(teacher_logits / temperature, dim=1),
                    reduction="batchmean", log_target=True)
    hard = F.cross_entropy(student_logits, labels)
    return alpha * temperature ** 2 * soft + (1.0 - alpha) * hard


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def batches(n, batch_size, generator):
    order = torch.randperm(n, generator=generator)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def predict(model, images, batch_size=1000):
    """Logits for ``images`` in eval mode, batch by batch, without recording gradients."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(images[i:i + batch_size])
                          for i in range(0, images.shape[0], batch_size)])


def accuracy(model, images, labels):
    return (predict(model, images).argmax(1) == labels).float().mean().item()


def train(model, images, labels, epochs, lr, seed, teacher_logits=None, temperature=4.0,
          alpha=0.9, batch_size=128):
    """Adam for ``epochs`` epochs; with ``teacher_logits`` (one row per image) the
    distillation loss, otherwise plain cross-entropy. Returns the loss of every step."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        model.train()
        for idx in batches(images.shape[0], batch_size, gen):
            idx = idx.to(images.device)
            logits = model(images[idx])
            if teacher_logits is None:
                loss = F.cross_entropy(logits, labels[idx])
            else:
                loss = distillation_loss(logits, teacher_logits[idx], labels[idx],
                                         temperature, alpha)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


def load_teacher(path, device):
    """The teacher CNN with the weights of ``path``: a checkpoint of ``mbtorch-train``
    (its ``"model"`` entry) or a state dict of the same model."""
    state = torch.load(path, map_location=device)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    teacher = build_model(nn).to(device)
    teacher.load_state_dict(state)
    return teacher


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--teacher", metavar="CHECKPOINT", help="trained teacher (else train one)")
    ap.add_argument("--teacher-epochs", type=int, default=1,
                    help="epochs to train the teacher when --teacher is not given")
    ap.add_argument("--epochs", type=int, default=2, help="student epochs")
    ap.add_argument("--limit", type=int, metavar="N",
                    help="use the first N images of each split (default: all)")
    ap.add_argument("--temperature", type=float, default=4.0)
    ap.add_argument("--alpha", type=float, default=0.9,
                    help="weight of the soft (teacher) term; 1 - alpha weighs the labels")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--baseline", action="store_true",
                    help="also train the student without the teacher, for comparison")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                    help="folder with the Fashion-MNIST IDX files")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not args.temperature > 0:
        ap.error(f"--temperature must be positive, got {args.temperature}")
    if not 0.0 <= args.alpha <= 1.0:
        ap.error(f"--alpha must be in [0, 1], got {args.alpha}")
    for name in ("epochs", "teacher_epochs", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    return args


def main(argv=None):
    args = parse_args(argv)
    dev = args.device
    train_x, train_y = (t.to(dev) for t in load_split(args.data, True, args.limit))
    test_x, test_y = (t.to(dev) for t in load_split(args.data, False, args.limit))
    torch.manual_seed(args.seed)
    if args.teacher:
        teacher = load_teacher(args.teacher, dev)
    else:
        print(f"no --teacher: training one for {args.teacher_epochs} epoch(s)")
        teacher = build_model(nn).to(dev)
        train(teacher, train_x, train_y, args.teacher_epochs, 2e-3, args.seed)
    results = {"teacher_params": count_parameters(teacher),
               "teacher_acc": accuracy(teacher, test_x, test_y)}
    soft_targets = predict(teacher, train_x)  # the teacher is fixed: its logits once
    student = build_student().to(dev)
    start = {k: v.clone() for k, v in student.state_dict().items()}
    results["student_params"] = count_parameters(student)
    t0 = time.perf_counter()
    results["losses"] = train(student, train_x, train_y, args.epochs, args.lr, args.seed + 1,
                              soft_targets, args.temperature, args.alpha)
    results["student_acc"] = accuracy(student, test_x, test_y)
    results["seconds"] = time.perf_counter() - t0
    print(f"teacher: {results['teacher_params']:>7} parameters, test accuracy "
          f"{100 * results['teacher_acc']:.2f}%")
    print(f"student: {results['student_params']:>7} parameters "
          f"({results['teacher_params'] / results['student_params']:.1f}x fewer), distilled "
          f"(T={args.temperature:g}, alpha={args.alpha:g}): test accuracy "
          f"{100 * results['student_acc']:.2f}%")
    if args.baseline:
        baseline = build_student().to(dev)
        baseline.load_state_dict(start)  # the same starting point as the distilled student
        train(baseline, train_x, train_y, args.epochs, args.lr, args.seed + 1)
        results["baseline_acc"] = accuracy(baseline, test_x, test_y)
        print(f"student without distillation (labels only): test accuracy "
              f"{100 * results['baseline_acc']:.2f}%")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
