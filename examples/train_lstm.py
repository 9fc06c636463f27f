"""An LSTM sequence model: predict the running sum's sign of a noisy sequence.

Runs unchanged with ``import torch`` (``--torch``) or mbtorch.
"""

import argparse
import sys


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--torch", action="store_true")
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    if args.torch:
        import torch
    else:
        import mbtorch as torch
    nn, F = torch.nn, torch.nn.functional

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 24, num_layers=2, batch_first=True)
            self.out = nn.Linear(24, 1)

        def forward(self, x):
            h, _ = self.lstm(x)
            return self.out(h).squeeze(-1)

    torch.manual_seed(0)
    model = Model().to(args.device)
    opt = torch.optim.RMSprop(model.parameters(), lr=5e-3)
    losses = []
    for step in range(args.steps):
        x = torch.randn(32, 12, 1)
        target = (x.squeeze(-1).cumsum(1) > 0).float()
        x, target = x.to(args.device), target.to(args.device)
        loss = F.binary_cross_entropy_with_logits(model(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % 20 == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}")
    print(f"final loss {sum(losses[-10:]) / 10:.4f}")
    return losses


if __name__ == "__main__":
    main(sys.argv[1:])
