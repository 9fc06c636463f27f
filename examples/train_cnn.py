"""A small CNN with BatchNorm and Dropout on synthetic images, with a checkpoint round trip.

Runs unchanged with ``import torch`` (``--torch``) or mbtorch.
"""

import argparse
import os
import sys
import tempfile


def build(nn):
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(16 * 4 * 4, 3))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--torch", action="store_true")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    if args.torch:
        import torch
    else:
        import mbtorch as torch
    nn, F = torch.nn, torch.nn.functional

    torch.manual_seed(0)
    # three classes: a bright horizontal bar, a vertical bar, or noise only
    n = 192
    labels = torch.randint(0, 3, (n,))
    images = torch.randn(n, 1, 16, 16) * 0.3
    pos = torch.randint(2, 14, (n,))
    for i in range(n):
        c, p = int(labels[i]), int(pos[i])
        if c == 0:
            images[i, 0, p, :] += 2.0
        elif c == 1:
            images[i, 0, :, p] += 2.0
    images, labels = images.to(args.device), labels.to(args.device)

    model = build(nn).to(args.device)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for step in range(args.steps):
        model.train()
        idx = torch.randperm(n)[:32].to(args.device)
        loss = F.cross_entropy(model(images[idx]), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % 20 == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        logits = model(images)
    acc = (logits.argmax(1) == labels).float().mean().item()

    path = os.path.join(tempfile.mkdtemp(), "cnn.ckpt")
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, path)
    restored = build(nn).to(args.device)
    state = torch.load(path)
    restored.load_state_dict(state["model"])
    restored.eval()
    with torch.no_grad():
        same = torch.allclose(restored(images), logits)
    print(f"accuracy {acc:.3f}  checkpoint round trip identical: {bool(same)}")
    return losses, acc, bool(same)


if __name__ == "__main__":
    main(sys.argv[1:])
