"""An MLP on a synthetic classification task, written as PyTorch code.

Runs unchanged with ``import torch`` (pass ``--torch``) or mbtorch; prints the loss curve.
"""

import argparse
import sys


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--torch", action="store_true", help="run with PyTorch instead")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    if args.torch:
        import torch
    else:
        import mbtorch as torch
    nn, F = torch.nn, torch.nn.functional

    torch.manual_seed(0)
    x = torch.randn(512, 20)
    true_w = torch.randn(20, 4)
    y = (x @ true_w).argmax(dim=1)
    x, y = x.to(args.device), y.to(args.device)

    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 4)).to(args.device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for step in range(args.steps):
        idx = torch.randint(0, 512, (64,)).to(args.device)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % 50 == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}")
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    print(f"final loss {sum(losses[-20:]) / 20:.4f}  train accuracy {acc:.3f}")
    return losses, acc


if __name__ == "__main__":
    main(sys.argv[1:])
