"""A small causal transformer learning to continue a repeating token sequence.

Runs unchanged with ``import torch`` (``--torch``) or mbtorch.
"""

import argparse
import math
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

    class TinyGPT(nn.Module):
        def __init__(self, vocab, d_model=32, heads=4, layers=2, context=16):
            super().__init__()
            self.tok = nn.Embedding(vocab, d_model)
            self.pos = nn.Parameter(torch.randn(context, d_model) * 0.02)
            layer = nn.TransformerEncoderLayer(d_model, heads, 64, dropout=0.0,
                                               batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, layers)
            self.head = nn.Linear(d_model, vocab)

        def forward(self, idx):
            t = idx.shape[1]
            x = self.tok(idx) * math.sqrt(self.tok.embedding_dim) + self.pos[:t]
            mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1).to(idx.device)
            return self.head(self.blocks(x, mask=mask))

    torch.manual_seed(0)
    vocab, context = 8, 16
    pattern = torch.tensor([0, 3, 1, 4, 1, 5, 2, 6])
    data = pattern.repeat(64)
    model = TinyGPT(vocab, context=context).to(args.device)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for step in range(args.steps):
        starts = torch.randint(0, data.shape[0] - context - 1, (16,))
        x = torch.stack([data[s:s + context] for s in starts.tolist()]).to(args.device)
        y = torch.stack([data[s + 1:s + context + 1] for s in starts.tolist()]).to(args.device)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 20 == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}")
    print(f"final loss {losses[-1]:.4f}")
    return losses


if __name__ == "__main__":
    main(sys.argv[1:])
