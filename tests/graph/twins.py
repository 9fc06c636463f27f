"""Twin training runs for compiled-versus-eager tests: two identical MLPs with SGD momentum on
one device, one trained through ``mbtorch.compile``, the other eagerly, on the same batch."""

from __future__ import annotations

import mbtorch as mt

__all__ = ["train_twins", "training_step", "plans"]


def plans(compiled) -> list:
    """The replay plans a compiled function holds."""
    return [e.plan for entries in compiled._entries.values() for e in entries]


def training_step(x, y):
    """The step the compiled-versus-eager tests compile: ``step(model, opt)`` zeroes the
    gradients, takes the cross-entropy of ``model(x)`` against ``y``, backpropagates and steps."""

    def step(m, opt):
        opt.zero_grad()
        loss = mt.nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def train_twins(device: str, sizes: tuple = (12, 16, 3), batch: int = 8, steps: int = 4,
                lr: float = 0.1) -> tuple[list, list, object]:
    """``(losses, parameters, compiled step)``: per step the (compiled, eager) losses as
    Python floats, then the (compiled, eager) parameter pairs after the last step."""
    mt.manual_seed(0)

    def make():
        return mt.nn.Sequential(mt.nn.Linear(sizes[0], sizes[1]), mt.nn.ReLU(),
                                mt.nn.Linear(sizes[1], sizes[2])).to(device)

    model, twin = make(), make()
    twin.load_state_dict(model.state_dict())
    opts = [mt.optim.SGD(m.parameters(), lr=lr, momentum=0.9) for m in (model, twin)]
    x = mt.randn(batch, sizes[0], device=device)
    y = mt.randint(0, sizes[2], (batch,), device=device)

    step = training_step(x, y)
    compiled = mt.compile(step)
    losses = [(compiled(model, opts[0]).item(), step(twin, opts[1]).item())
              for _ in range(steps)]
    return losses, list(zip(model.parameters(), twin.parameters())), compiled
